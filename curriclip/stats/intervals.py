"""Confidence intervals of a mean: the t interval for few seeds, a seeded bootstrap for many.

With fewer than ten paired seeds a bootstrap only reshuffles a handful of numbers and
undercovers, so the t interval is the honest choice; from ten on, the BCa bootstrap no
longer assumes normal differences. Both are scipy's; this module only picks and guards.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

#: from this many values on, ``mean_interval`` uses the bootstrap instead of the t interval
BOOTSTRAP_MIN_N = 10

NAN_INTERVAL = (math.nan, math.nan)


def as_finite_array(values: Sequence[float], what: str = "values") -> np.ndarray:
    """``values`` as a float array; non-finite entries are a caller's bug (a failed run left in), not data."""
    array = np.asarray(values, dtype=float).ravel()
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise ValueError(f"{what}: {bad} non-finite value(s); drop failed runs before computing statistics")
    return array


def t_interval(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """Two-sided t interval of the mean at ``confidence``; a point when every value is equal, NaN below n=2."""
    array = as_finite_array(values)
    if array.size < 2:
        return NAN_INTERVAL
    mean = float(array.mean())
    if np.ptp(array) == 0:  # scipy would divide by a zero standard error
        return (mean, mean)
    interval = stats.ttest_1samp(array, 0.0).confidence_interval(confidence_level=confidence)
    return (float(interval.low), float(interval.high))


def bootstrap_interval(
    values: Sequence[float], confidence: float, n_resamples: int = 9999, seed: int = 0
) -> tuple[float, float]:
    """Seeded BCa bootstrap interval of the mean, falling back to the percentile interval.

    BCa is undefined when the jackknife is degenerate (e.g. many tied values); scipy then
    returns NaN with a warning, and the percentile interval is the sensible replacement.
    """
    array = as_finite_array(values)
    if array.size < 2:
        return NAN_INTERVAL
    mean = float(array.mean())
    if np.ptp(array) == 0:
        return (mean, mean)
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            result = stats.bootstrap(
                (array,),
                np.mean,
                n_resamples=n_resamples,
                confidence_level=confidence,
                method=method,
                vectorized=True,
                rng=np.random.default_rng(seed),
            )
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return (low, high)
    return NAN_INTERVAL


def mean_interval(
    values: Sequence[float], alpha: float = 0.05, n_resamples: int = 9999, seed: int = 0
) -> tuple[tuple[float, float], str]:
    """The uncorrected (1 - alpha) interval of the mean and its method: "t" below 10 values, else "bootstrap"."""
    array = as_finite_array(values)
    if array.size < BOOTSTRAP_MIN_N:
        return t_interval(array, 1 - alpha), "t"
    return bootstrap_interval(array, 1 - alpha, n_resamples=n_resamples, seed=seed), "bootstrap"
