"""The two-sided one-sample t-test of paired differences, and when there is nothing to test.

A verdict needs at least ``MIN_SEEDS`` paired seeds and some spread between them. With two
seeds a t-test has one degree of freedom and its interval is mostly tails; with identical
differences on every seed the standard error is zero and any nonzero mean would get p = 0,
a certainty no handful of training runs can give (a deterministic pipeline, a seed that does
not reach the randomness, or too coarse a metric produce it just as well as a real effect).
Such comparisons are untestable: p is NaN and ``untestable_reason`` says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from curriclip.stats.intervals import as_finite_array

#: The fewest paired seeds a verdict is given from.
MIN_SEEDS = 3
TOO_FEW_SEEDS = "too few seeds"
NO_VARIANCE = "no variance"


def untestable_reason(differences: Sequence[float]) -> str | None:
    """Why no verdict can come from ``differences``: "too few seeds", "no variance", or None (testable)."""
    array = as_finite_array(differences, "differences")
    if array.size < MIN_SEEDS:
        return TOO_FEW_SEEDS
    if np.ptp(array) == 0:
        return NO_VARIANCE
    return None


def difference_p(differences: Sequence[float]) -> float:
    """Two-sided p of H0: mean difference = 0 (scipy.stats.ttest_1samp); NaN when untestable."""
    if untestable_reason(differences) is not None:
        return math.nan
    return float(stats.ttest_1samp(as_finite_array(differences), 0.0).pvalue)


def t_statistic(differences: Sequence[float]) -> float:
    """The paired t statistic mean / (sd / sqrt(n)); NaN when untestable."""
    if untestable_reason(differences) is not None:
        return math.nan
    return float(stats.ttest_1samp(as_finite_array(differences), 0.0).statistic)


def sample_sd(differences: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1); NaN below two values."""
    array = as_finite_array(differences, "differences")
    return float(array.std(ddof=1)) if array.size >= 2 else math.nan
