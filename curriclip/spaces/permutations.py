"""Task orderings as Optuna parameters.

An ordering of n tasks is sampled as its Lehmer code: digit i is an integer in
[0, n-1-i] choosing among the tasks not yet placed. Every code is a valid permutation
(no rejection, no repair), and digit 0 alone says which task comes first, so a
sampler learns "which task leads" from one parameter.
"""

from __future__ import annotations

from collections.abc import Sequence


def lehmer_decode(code: Sequence[int], items: Sequence[str]) -> list[str]:
    """The permutation of ``items`` whose Lehmer code is ``code`` (len(items)-1 digits suffice)."""
    remaining = list(items)
    out = []
    for i, digit in enumerate(code):
        if not 0 <= digit < len(remaining):
            raise ValueError(f"Lehmer digit {i} = {digit} outside [0, {len(remaining) - 1}]")
        out.append(remaining.pop(digit))
    return out + remaining


def lehmer_encode(permutation: Sequence[str], items: Sequence[str]) -> list[int]:
    """Inverse of ``lehmer_decode`` (without the always-zero last digit)."""
    remaining = list(items)
    code = []
    for item in permutation[:-1]:
        digit = remaining.index(item)
        code.append(digit)
        remaining.pop(digit)
    return code
