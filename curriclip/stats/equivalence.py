"""Equivalence by two one-sided t-tests (TOST) against a declared margin.

"Not significantly different" is not "the same": with few seeds almost nothing is
significant. TOST turns the question around and asks whether the mean difference lies
inside (-margin, +margin); its p is the larger of the two one-sided p-values, so
equivalence needs both bounds rejected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from curriclip.stats.intervals import as_finite_array


def tost_p(differences: Sequence[float], margin: float) -> float:
    """TOST p of H0: |mean difference| >= margin; NaN if n < 2.

    Identical differences have no spread: each one-sided p is 0 when the mean lies strictly
    on the equivalence side of its bound and 1 otherwise (as for ``difference_p``).
    """
    if not margin > 0:
        raise ValueError(f"equivalence margin must be positive, got {margin!r}")
    array = as_finite_array(differences, "differences")
    if array.size < 2:
        return math.nan
    if np.ptp(array) == 0:
        mean = float(array[0])
        return 0.0 if -margin < mean < margin else 1.0
    above_lower = stats.ttest_1samp(array, -margin, alternative="greater").pvalue
    below_upper = stats.ttest_1samp(array, margin, alternative="less").pvalue
    return float(max(above_lower, below_upper))
