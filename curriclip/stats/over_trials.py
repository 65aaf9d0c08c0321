"""Intervals and verdicts over search-phase trials (configurations, not seeds): Student-t and Welch.

Intervals are 95% two-sided (``scipy.stats``); a Welch interval uses the Welch-Satterthwaite
degrees of freedom rounded down (conservative: a slightly wider interval, never a narrower one).
They describe the search phase; the confirmed answer's verdicts are ``curriclip.stats.compare``'s.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from curriclip.names import Arm


def t975(dof: float) -> float:
    """The 0.975 quantile of Student's t with ``dof`` degrees of freedom (NaN when dof < 1)."""
    if not dof or dof < 1 or math.isnan(dof):
        return float("nan")
    return float(scipy_stats.t.ppf(0.975, dof))


def finite_values(values) -> np.ndarray:
    """The numbers among ``values`` as a float array (non-numbers and NaN dropped)."""
    return pd.to_numeric(pd.Series(values, dtype="float64"), errors="coerce").dropna().to_numpy()


def mean_ci(values) -> tuple[int, float, float]:
    """(n, mean, 95% t-interval half-width); the half-width is NaN when n < 2."""
    sample = finite_values(values)
    n = int(sample.size)
    if n == 0:
        return 0, float("nan"), float("nan")
    mean = float(sample.mean())
    if n < 2:
        return n, mean, float("nan")
    return n, mean, t975(n - 1) * float(scipy_stats.sem(sample))


def welch_ci(a, b) -> tuple[float, float]:
    """(mean(b) - mean(a), Welch 95% half-width); half-width NaN unless both have n >= 2."""
    a, b = finite_values(a), finite_values(b)
    if a.size == 0 or b.size == 0:
        return float("nan"), float("nan")
    diff = float(b.mean() - a.mean())
    if a.size < 2 or b.size < 2:
        return diff, float("nan")
    var_a, var_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se2 = var_a + var_b
    if se2 == 0:
        return diff, 0.0
    dof = se2**2 / (var_a**2 / (a.size - 1) + var_b**2 / (b.size - 1))
    return diff, t975(math.floor(dof)) * math.sqrt(se2)


NO_CLEAR_DIFFERENCE = "no clear difference"


def verdict(n_single: int, n_curr: int, diff: float, hw: float, arm: str = Arm.CURRICULUM) -> str:
    """The search phase's verdict on a difference of means over trials (configurations, not seeds)."""
    arm = str(arm)
    if n_single < 2 or n_curr < 2 or math.isnan(hw):
        return f"not enough trials (need ≥ 2 per arm; single-task n={n_single}, {arm} n={n_curr})"
    if abs(diff) > hw:
        word = "better" if diff > 0 else "worse"
        return f"{arm} {word} by {abs(diff):.4f}: the 95% interval over trials excludes zero (half-width {hw:.4f})"
    return f"{NO_CLEAR_DIFFERENCE} (|diff| {abs(diff):.4f} < 95% interval half-width {hw:.4f}, over trials)"
