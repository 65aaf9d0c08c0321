"""Sparsity subsets: deterministic, nested, per-patient subsets of the training split.

A subject's rank is a keyed hash of (seed, subject_id), so the order does not depend
on row order and every level is a prefix of the same ranking: 5% ⊂ 10% ⊂ 100% for one
seed. Whole subjects are taken so that no patient's studies straddle a level.
Validation and test splits are never passed through here.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _rank_key(seed: int, subject: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{subject}".encode(), digest_size=8).digest()


def sparsity_subset(subject_ids: list[str] | np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Row indices (sorted) of the training rows kept at ``fraction`` of the training pairs."""
    if not 0 < fraction <= 1:
        raise ValueError(f"sparsity fraction must lie in (0, 1], got {fraction}")
    subjects = np.asarray(subject_ids, dtype=object)
    n = len(subjects)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    unique, inverse, sizes = np.unique(subjects, return_inverse=True, return_counts=True)
    ranking = sorted(range(len(unique)), key=lambda i: _rank_key(seed, str(unique[i])))
    target = max(1, int(round(fraction * n)))
    kept_subjects = np.zeros(len(unique), dtype=bool)
    total = 0
    for i in ranking:
        if total >= target:
            break
        kept_subjects[i] = True
        total += sizes[i]
    return np.flatnonzero(kept_subjects[inverse])
