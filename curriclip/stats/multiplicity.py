"""Holm's step-down correction, and confidence levels for intervals that agree with it.

A family of comparisons (all levels x arms of one metric) is tested together, so a
"better" anywhere must survive the family-wise error rate. Holm controls it without
assuming independence and rejects at least what Bonferroni rejects. The interval levels
follow the step-down: a corrected interval excludes zero exactly when Holm rejects, so a
reader never sees a significant verdict with an interval that straddles zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm_adjust(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values in the input order: max over ranks <= i of (m - rank + 1) * p, capped at 1.

    NaN entries (untestable comparisons) stay NaN and do not count towards the family size m.
    """
    raw = np.asarray(pvalues, dtype=float)
    adjusted = np.full(raw.shape, np.nan)
    testable = np.flatnonzero(~np.isnan(raw))
    if testable.size == 0:
        return adjusted
    order = testable[np.argsort(raw[testable], kind="stable")]
    multipliers = np.arange(order.size, 0, -1)  # m, m-1, ..., 1
    stepped = np.minimum(1.0, np.maximum.accumulate(multipliers * raw[order]))
    adjusted[order] = stepped
    return adjusted


def holm_alphas(pvalues: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """Per-hypothesis significance levels whose (1 - level) intervals agree with Holm's decisions.

    Sorted by p, the hypothesis at rank i (1-based) of m that Holm rejects gets alpha / (m - i + 1);
    every hypothesis from the first non-rejected rank j on gets alpha / (m - j + 1). NaN p stays NaN.
    """
    raw = np.asarray(pvalues, dtype=float)
    levels = np.full(raw.shape, np.nan)
    testable = np.flatnonzero(~np.isnan(raw))
    if testable.size == 0:
        return levels
    order = testable[np.argsort(raw[testable], kind="stable")]
    rejected = holm_adjust(raw[order]) < alpha
    stepped = alpha / np.arange(order.size, 0, -1)
    kept = np.flatnonzero(~rejected)  # rejections form a prefix, since adjusted p rises with rank
    if kept.size:
        stepped[kept[0] :] = stepped[kept[0]]
    levels[order] = stepped
    return levels
