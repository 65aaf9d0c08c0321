"""Expected best validation score after n configurations (Dodge et al. 2019, "Show Your Work", EMNLP).

A tuned comparison depends on its budget: an arm given more configurations finds a better
best one. Given the validation scores of N configurations an arm could draw, the expected
maximum of n draws (with replacement) is ``sum_i v_(i) [(i/N)^n - ((i-1)/N)^n]`` over the
sorted scores; where it stops rising, more configurations stop changing the comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def expected_max(values: Sequence[float], n: int) -> float:
    """The expected maximum of ``n`` draws with replacement from ``values`` (exact, not sampled)."""
    if n < 1:
        raise ValueError(f"n = {n}: at least one configuration is drawn")
    v = np.sort(np.asarray(values, dtype=float))
    if v.size == 0 or not np.isfinite(v).all():
        raise ValueError("expected_max needs at least one finite value")
    below = np.arange(v.size + 1) / v.size
    return float(np.sum(v * (below[1:] ** n - below[:-1] ** n)))


def saturating_budget(values: Sequence[float], tolerance: float, budgets: Sequence[int]) -> int:
    """The smallest budget of ``budgets`` whose expected maximum is within ``tolerance`` of the largest's."""
    ordered = sorted(budgets)
    ceiling = expected_max(values, ordered[-1])
    return next(n for n in ordered if ceiling - expected_max(values, n) <= tolerance)
