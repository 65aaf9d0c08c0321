"""Which subject each sample belongs to and which split each subject is in.

Why per subject: a subject's 1-3 studies must share one split, or a model could meet
the same patient in training and test.
"""

from __future__ import annotations

import numpy as np

from curriclip.data.schema import SPLITS


def check_fractions(fractions: tuple[float, float, float]) -> np.ndarray:
    """The (train, validate, test) fractions normalised to sum 1; ValueError if not usable."""
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (len(SPLITS),) or not np.all(np.isfinite(f)) or np.any(f < 0) or f.sum() <= 0:
        raise ValueError(f"split_fractions must be {len(SPLITS)} non-negative numbers, got {fractions}")
    return f / f.sum()


def layout(n: int, seed: int, fractions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Subject index and split index of every sample.

    Subjects have 1-3 studies (60/25/15%), consecutive in sample order. Splits are
    assigned per subject: subjects are shuffled and cut where the running SAMPLE
    count crosses the fractions, so the split sizes match the fractions to within one
    subject while no subject straddles two splits.
    """
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    rng = np.random.default_rng([seed, 0x5B1EC7])
    counts = rng.choice(np.array([1, 2, 3]), size=n, p=[0.6, 0.25, 0.15])
    ends = np.cumsum(counts)
    n_subjects = int(np.searchsorted(ends, n, side="left")) + 1
    counts = counts[:n_subjects].copy()
    counts[-1] -= int(ends[n_subjects - 1]) - n  # truncate the last subject
    subject = np.repeat(np.arange(n_subjects, dtype=np.int64), counts)

    order = rng.permutation(n_subjects)
    done_before = np.cumsum(counts[order]) - counts[order]
    middle = (done_before + counts[order] / 2.0) / n
    bounds = np.cumsum(fractions)[:-1]
    split_of_subject = np.empty(n_subjects, dtype=np.int64)
    split_of_subject[order] = np.searchsorted(bounds, middle, side="right")
    return subject, split_of_subject[subject]
