"""The two-sided one-sample t-test of paired differences, with the degenerate cases decided.

scipy returns NaN (and warns) when every difference is identical. That is not "no
information": identical nonzero differences on every seed mean the arms differ without
any spread, so p = 0; all-zero differences show no difference at all, so p = 1. Below two
pairs there is no variance to test against and p is NaN (the comparison is untestable).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from curriclip.stats.intervals import as_finite_array


def difference_p(differences: Sequence[float]) -> float:
    """Two-sided p of H0: mean difference = 0 (scipy.stats.ttest_1samp), NaN if n < 2."""
    array = as_finite_array(differences, "differences")
    if array.size < 2:
        return math.nan
    if np.ptp(array) == 0:
        return 0.0 if array[0] != 0 else 1.0
    return float(stats.ttest_1samp(array, 0.0).pvalue)


def sample_sd(differences: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1); NaN below two values."""
    array = as_finite_array(differences, "differences")
    return float(array.std(ddof=1)) if array.size >= 2 else math.nan
