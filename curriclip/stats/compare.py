"""One family of paired comparisons (e.g. every level x arm of one metric against the reference arm).

Each comparison gets its uncorrected interval, its t-test and TOST p-values; Holm then runs
across the family (separately for difference and for equivalence), the corrected intervals
take the Holm step each hypothesis was decided at, and power is judged at that same level.
With planned looks (``looks``) each Holm step's share of alpha is spent over the looks
(``curriclip.stats.sequential``); one look is the fixed design, plain Holm.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

import numpy as np

from curriclip.stats.equivalence import tost_p
from curriclip.stats.intervals import as_finite_array, mean_interval, t_interval
from curriclip.stats.multiplicity import holm_adjust
from curriclip.stats.paired import difference_p, sample_sd, t_statistic, untestable_reason
from curriclip.stats.power import detectable_effect, seeds_needed
from curriclip.stats.result import ComparisonResult
from curriclip.stats.sequential import sequential_holm
from curriclip.stats.verdicts import decide_verdict


def compare_family(
    diffs: Mapping[Hashable, Sequence[float]],
    margin: float,
    alpha: float = 0.05,
    power: float = 0.8,
    n_resamples: int = 9999,
    seed: int = 0,
    *,
    looks: Sequence[int] | None = None,
    look: int = 0,
    spending: str = "obrien_fleming",
    held: int = 0,
) -> dict[Hashable, ComparisonResult]:
    """Compare every key's paired differences (arm - reference, one per seed) with Holm across the family.

    Keys with fewer than three differences, or with no spread, are untestable: they get NaN
    p-values and intervals, an infinite detectable effect, INCONCLUSIVE with a ``reason``, and
    do not count towards Holm's m. ``looks`` (planned seed counts) and ``look`` (0-based): this
    analysis is that look of a group-sequential plan; ``held``: hypotheses of the family not
    tested now and not rejected earlier (they keep their share of alpha, see ``sequential_holm``).
    """
    keys = list(diffs)
    arrays = [as_finite_array(diffs[key], f"differences for {key!r}") for key in keys]
    p_raw = np.array([difference_p(array) for array in arrays])
    tost_raw = np.array([tost_p(array, margin) for array in arrays])
    p_adjusted, tost_adjusted = holm_adjust(p_raw), holm_adjust(tost_raw)
    plan = list(looks) if looks else [1]
    rejected, corrected_alphas = sequential_holm(p_raw, look, plan, alpha, spending, held)
    equivalent, _ = sequential_holm(tost_raw, look, plan, alpha, spending, held)
    results = {}
    for index, (key, array) in enumerate(zip(keys, arrays)):
        results[key] = _one_result(
            array,
            rejected=bool(rejected[index]),
            equivalent=bool(equivalent[index]),
            p=float(p_raw[index]),
            p_holm=float(p_adjusted[index]),
            tost=float(tost_raw[index]),
            tost_holm=float(tost_adjusted[index]),
            corrected_alpha=float(corrected_alphas[index]),
            alpha=alpha,
            margin=margin,
            power=power,
            n_resamples=n_resamples,
            seed=seed,
        )
    return results


def _one_result(
    array: np.ndarray,
    *,
    rejected: bool,
    equivalent: bool,
    p: float,
    p_holm: float,
    tost: float,
    tost_holm: float,
    corrected_alpha: float,
    alpha: float,
    margin: float,
    power: float,
    n_resamples: int,
    seed: int,
) -> ComparisonResult:
    n = int(array.size)
    diff_mean = float(array.mean()) if n else math.nan
    diff_sd = sample_sd(array)
    ci, ci_method = mean_interval(array, alpha, n_resamples=n_resamples, seed=seed)
    testable = not math.isnan(corrected_alpha)
    corrected_ci = t_interval(array, 1 - corrected_alpha) if testable else (math.nan, math.nan)
    return ComparisonResult(
        n=n,
        diff_mean=diff_mean,
        diff_sd=diff_sd,
        ci=ci,
        ci_method=ci_method,
        p=p,
        p_holm=p_holm,
        corrected_ci=corrected_ci,
        corrected_confidence=1 - corrected_alpha,
        tost_p=tost,
        tost_p_holm=tost_holm,
        verdict=decide_verdict(
            diff_mean,
            p_holm,
            tost_holm,
            alpha,
            corrected_ci,
            margin,
            rejected=rejected,
            equivalence_rejected=equivalent,
        ),
        detectable_effect=detectable_effect(n, diff_sd, corrected_alpha, power) if testable else math.inf,
        seeds_needed=seeds_needed(diff_mean, diff_sd, corrected_alpha, power) if testable else None,
        power=power,
        statistic=t_statistic(array),
        reason=untestable_reason(array),
    )
