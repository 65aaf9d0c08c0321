"""Power of the paired t-test: what a given number of seeds can detect, and how many a result needs.

An inconclusive comparison should say whether the experiment could have found anything:
the smallest effect K seeds detect with the target power, and the K that would detect the
effect actually observed. Both use the exact noncentral t power of the two-sided one-sample
t-test (the same formula as statsmodels' TTestPower) at the Holm-corrected level.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

#: seeds_needed gives up beyond this many seeds
MAX_SEEDS = 10_000


def t_test_power(effect_size: float | np.ndarray, n: int | np.ndarray, alpha: float) -> np.ndarray:
    """Power of the two-sided one-sample t-test for standardised effect ``effect_size`` with ``n`` values.

    The far (lower) rejection tail is computed as ``nct.sf(c, df, -nc)``, which equals
    ``nct.cdf(-c, df, nc)`` by symmetry but does not underflow to NaN as the latter does.
    """
    n = np.asarray(n, dtype=float)
    df = n - 1
    critical = stats.t.isf(alpha / 2, df)
    noncentrality = np.abs(effect_size) * np.sqrt(n)
    return stats.nct.sf(critical, df, noncentrality) + stats.nct.sf(critical, df, -noncentrality)


def detectable_effect_size(n: int, alpha: float, power: float = 0.8) -> float:
    """Smallest standardised effect (mean / sd) ``n`` values detect with ``power``; inf if n < 2."""
    if n < 2:
        return math.inf
    upper = 1.0
    while float(t_test_power(upper, n, alpha)) < power:
        upper *= 2
        if upper > 1e9:
            return math.inf
    return float(optimize.brentq(lambda d: float(t_test_power(d, n, alpha)) - power, 0.0, upper, xtol=1e-10))


def detectable_effect(n: int, sd: float, alpha: float, power: float = 0.8) -> float:
    """Smallest |mean difference| ``n`` paired seeds detect with ``power`` at ``alpha``; inf if n < 2."""
    if n < 2 or not math.isfinite(sd):
        return math.inf
    return detectable_effect_size(n, alpha, power) * sd


def seeds_needed(effect: float, sd: float, alpha: float, power: float = 0.8, max_n: int = MAX_SEEDS) -> int | None:
    """Smallest n (>= 2) whose t-test detects |effect| with ``power``; None if effect or sd is 0, or n > max_n.

    Power is evaluated for every n by increasing n, in blocks (2-63, 64-1023, ...) vectorised
    with numpy, so typical answers cost one small block and the worst case stays fast.
    """
    if effect == 0 or not sd > 0 or not math.isfinite(effect) or not math.isfinite(sd):
        return None
    low = 2
    while low <= max_n:
        candidates = np.arange(low, min(16 * max(low, 4), max_n + 1))
        reached = np.flatnonzero(t_test_power(effect / sd, candidates, alpha) >= power)
        if reached.size:
            return int(candidates[reached[0]])
        low = int(candidates[-1]) + 1
    return None
