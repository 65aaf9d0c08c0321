"""Equivalence by two one-sided t-tests (TOST) against a declared margin.

"Not significantly different" is not "the same": with few seeds almost nothing is
significant. TOST turns the question around and asks whether the mean difference lies
inside (-margin, +margin); its p is the larger of the two one-sided p-values, so
equivalence needs both bounds rejected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

from curriclip.stats.intervals import as_finite_array
from curriclip.stats.paired import untestable_reason


def tost_p(differences: Sequence[float], margin: float) -> float:
    """TOST p of H0: |mean difference| >= margin; NaN when untestable (fewer than 3 seeds, or no spread)."""
    if not margin > 0:
        raise ValueError(f"equivalence margin must be positive, got {margin!r}")
    array = as_finite_array(differences, "differences")
    if untestable_reason(array) is not None:
        return math.nan
    above_lower = stats.ttest_1samp(array, -margin, alternative="greater").pvalue
    below_upper = stats.ttest_1samp(array, margin, alternative="less").pvalue
    return float(max(above_lower, below_upper))
