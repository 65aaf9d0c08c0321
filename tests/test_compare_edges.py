"""compare_family by whole ComparisonResults computed independently: levels, defaults, held hypotheses, the
interval shown beside "equivalent", and untestable comparisons (fast, torch-free)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from curriclip.stats.compare import compare_family
from curriclip.stats.equivalence import tost_p
from curriclip.stats.power import detectable_effect, seeds_needed
from curriclip.stats.result import ComparisonResult, Verdict

NAN2 = (math.nan, math.nan)


def _holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values written out: sorted, times (m - rank), running maximum, capped at 1."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted, running = [0.0] * len(pvalues), 0.0
    for rank, index in enumerate(order):
        running = max(running, (len(pvalues) - rank) * pvalues[index])
        adjusted[index] = min(1.0, running)
    return adjusted


def _expected(
    values: list[float],
    *,
    alpha: float,
    margin: float,
    power: float,
    corrected_alpha: float,
    p_holm: float,
    tost_holm: float,
    verdict: Verdict,
    ci: tuple[float, float] | None = None,
    ci_method: str = "t",
) -> ComparisonResult:
    """A testable comparison's result from scipy's t-test at the levels the test states."""
    array = np.asarray(values, dtype=float)
    mean, sd = float(array.mean()), float(array.std(ddof=1))
    test = stats.ttest_1samp(array, 0.0)
    if ci is None:
        shown = test.confidence_interval(confidence_level=1 - alpha)
        ci = (float(shown.low), float(shown.high))
    corrected = test.confidence_interval(confidence_level=1 - corrected_alpha)
    return ComparisonResult(
        n=array.size,
        diff_mean=mean,
        diff_sd=sd,
        ci=ci,
        ci_method=ci_method,
        p=float(test.pvalue),
        p_holm=p_holm,
        corrected_ci=(float(corrected.low), float(corrected.high)),
        corrected_confidence=1 - corrected_alpha,
        tost_p=tost_p(array, margin),
        tost_p_holm=tost_holm,
        verdict=verdict,
        detectable_effect=detectable_effect(array.size, sd, corrected_alpha, power),
        seeds_needed=seeds_needed(mean, sd, corrected_alpha, power),
        power=power,
        statistic=float(test.statistic),
        reason=None,
    )


def _same(value, expected) -> bool:
    if isinstance(expected, tuple):
        return isinstance(value, tuple) and len(value) == len(expected) and all(map(_same, value, expected))
    if isinstance(expected, float):
        return isinstance(value, float) and (
            (math.isnan(expected) and math.isnan(value)) or value == pytest.approx(expected, rel=1e-12, abs=1e-15)
        )
    return type(value) is type(expected) and value == expected


def _assert_result(actual: ComparisonResult, expected: ComparisonResult) -> None:
    """Every field equal (floats to 1e-12, NaN where NaN is expected, None and ints exactly)."""
    for field in dataclasses.fields(ComparisonResult):
        value, wanted = getattr(actual, field.name), getattr(expected, field.name)
        assert _same(value, wanted), f"{field.name}: {value!r} != {wanted!r}"


def test_equivalence_needs_the_shown_corrected_interval_inside_the_margin_at_any_alpha_and_power():
    """TOST rejects at alpha = 0.1 (p ~ 0.073) but the 90% corrected interval leaves ±1: inconclusive, not
    equivalent; the shown interval is at 1 - alpha and seeds_needed uses the requested power."""
    values = [-0.8, -0.25, 0.3, 0.85, 1.4]
    tost = tost_p(values, 1.0)
    assert 0.05 < tost < 0.1  # TOST rejects at 0.1, yet the 90% interval (TOST at 0.05 on each side) leaves ±1
    result = compare_family({"k": values}, 1.0, alpha=0.1, power=0.9)["k"]
    p = float(stats.ttest_1samp(values, 0.0).pvalue)
    expected = _expected(
        values, alpha=0.1, margin=1.0, power=0.9, corrected_alpha=0.1, p_holm=p, tost_holm=tost,
        verdict=Verdict.INCONCLUSIVE,
    )  # fmt: skip
    _assert_result(result, expected)
    assert result.corrected_ci[1] > 1.0 and result.ci == pytest.approx((-0.5291, 1.1291), abs=1e-4)
    assert result.seeds_needed == 74 and seeds_needed(0.3, expected.diff_sd, 0.1) == 54


def test_held_hypotheses_keep_their_share_of_alpha_in_the_equivalence_step():
    """Three clear differences and one near-zero comparison whose TOST p (~0.011) passes Holm among four
    (0.05 / 4) but not among five with one held hypothesis (0.05 / 5): held=1 leaves it inconclusive."""
    family = {
        "up": [3.0, 3.1, 2.9, 3.05, 2.95],
        "down": [-1.5, -1.7, -1.4, -1.55, -1.45],
        "far": [2.0, 2.4, 1.6, 2.2, 1.9],
        "near": [-0.6, -0.25, 0.1, 0.45, 0.8],
    }
    keys = list(family)
    p = [float(stats.ttest_1samp(family[key], 0.0).pvalue) for key in keys]
    tost = [tost_p(family[key], 1.0) for key in keys]
    assert 0.05 / 5 <= tost[3] < 0.05 / 4 and max(p[:3]) < 0.05 / 5 < 0.05 / 2 < p[3]
    p_holm, tost_holm = _holm(p), _holm(tost)
    verdicts = {"up": Verdict.BETTER, "down": Verdict.WORSE, "far": Verdict.BETTER}
    for held, near_verdict in ((1, Verdict.INCONCLUSIVE), (0, Verdict.EQUIVALENT)):
        m = len(keys) + held
        ranks = sorted(range(3), key=lambda i: p[i])  # the three differences are rejected in this order
        levels = {keys[i]: 0.05 / (m - rank) for rank, i in enumerate(ranks)} | {"near": 0.05 / (m - 3)}
        results = compare_family(family, 1.0, held=held)
        assert list(results) == keys
        for index, key in enumerate(keys):
            expected = _expected(
                family[key], alpha=0.05, margin=1.0, power=0.8, corrected_alpha=levels[key],
                p_holm=p_holm[index], tost_holm=tost_holm[index], verdict=verdicts.get(key, near_verdict),
            )  # fmt: skip
            _assert_result(results[key], expected)
    assert tost_holm[3] < 0.05  # plain Holm (no held hypotheses) would have called "near" equivalent


def test_from_ten_differences_the_bootstrap_defaults_to_9999_resamples_and_seed_zero():
    """The uncorrected interval from 10 seeds on is scipy's BCa bootstrap with 9,999 resamples drawn from seed 0."""
    values = [0.100185, 0.144812, 0.058879, -0.033589, 0.031799, -0.048747, 0.109022, 0.301032, 0.026169, 0.006929]

    def bca(n_resamples: int, seed: int) -> tuple[float, float]:
        interval = stats.bootstrap(
            (np.asarray(values),), np.mean, n_resamples=n_resamples, confidence_level=0.95, method="BCa",
            vectorized=True, rng=np.random.default_rng(seed),
        ).confidence_interval  # fmt: skip
        return (float(interval.low), float(interval.high))

    assert bca(9999, 0) != bca(10000, 0) and bca(9999, 0) != bca(9999, 1)  # both settings move the interval
    result = compare_family({"k": values}, 0.1)["k"]
    p = float(stats.ttest_1samp(values, 0.0).pvalue)
    tost = tost_p(values, 0.1)
    expected = _expected(
        values, alpha=0.05, margin=0.1, power=0.8, corrected_alpha=0.05, p_holm=p, tost_holm=tost,
        verdict=Verdict.INCONCLUSIVE, ci=bca(9999, 0), ci_method="bootstrap",
    )  # fmt: skip
    _assert_result(result, expected)
    assert 0.05 < p < 0.1 and result.ci[0] > 0  # the t-test decides; the bootstrap interval is only shown


def test_a_non_finite_difference_is_refused_naming_its_comparison():
    """A failed run left in the differences is a caller's bug; the message names the comparison's key."""
    with pytest.raises(ValueError) as error:
        compare_family({("cosine", "arm b"): [0.1, 0.2, 0.3], ("cosine", "arm c"): [0.1, math.inf, 0.2]}, 0.05)
    assert str(error.value) == (
        "differences for ('cosine', 'arm c'): 1 non-finite value(s); drop failed runs before computing statistics"
    )


def test_untestable_comparisons_have_nan_fields_no_power_and_do_not_count_towards_holm():
    """No seeds, one, two, or no spread: NaN p-values and corrected interval, infinite detectable effect, no
    seeds_needed, inconclusive with a reason, and no warning (an empty comparison's mean is NaN, not numpy's)."""
    family = {
        "none": [],
        "one": [0.1],
        "pair": [0.2, 0.5],
        "flat": [0.3, 0.3, 0.3, 0.3],
        "real": [0.1, 0.2, 0.15, 0.3],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = compare_family(family, 0.05)
    pair_ci = stats.ttest_1samp([0.2, 0.5], 0.0).confidence_interval(confidence_level=0.95)
    shown = {"none": NAN2, "one": NAN2, "pair": (float(pair_ci.low), float(pair_ci.high)), "flat": (0.3, 0.3)}
    for key, ci in shown.items():
        array = np.asarray(family[key], dtype=float)
        expected = ComparisonResult(
            n=array.size,
            diff_mean=float(array.mean()) if array.size else math.nan,
            diff_sd=float(array.std(ddof=1)) if array.size >= 2 else math.nan,
            ci=ci,
            ci_method="t",
            p=math.nan,
            p_holm=math.nan,
            corrected_ci=NAN2,
            corrected_confidence=math.nan,
            tost_p=math.nan,
            tost_p_holm=math.nan,
            verdict=Verdict.INCONCLUSIVE,
            detectable_effect=math.inf,
            seeds_needed=None,
            power=0.8,
            statistic=math.nan,
            reason="no variance" if key == "flat" else "too few seeds",
        )
        _assert_result(results[key], expected)
    p = float(stats.ttest_1samp(family["real"], 0.0).pvalue)
    expected = _expected(
        family["real"], alpha=0.05, margin=0.05, power=0.8, corrected_alpha=0.05, p_holm=p,
        tost_holm=tost_p(family["real"], 0.05), verdict=Verdict.BETTER,
    )  # fmt: skip
    _assert_result(results["real"], expected)  # a family of one: Holm's m counts only the testable comparison


def test_one_planned_look_is_the_fixed_design_and_two_looks_spend_alpha():
    """looks=[n] (one look) reproduces the fixed design; the first of two looks runs its test at a smaller level."""
    family = {"a": [0.11, 0.1, 0.13, 0.09, 0.12], "b": [0.01, -0.02, 0.015, 0.0, 0.02]}
    fixed = compare_family(family, 0.05)
    for looks in ([5], [7], []):
        planned = compare_family(family, 0.05, looks=looks, look=0)
        for key in family:
            _assert_result(planned[key], fixed[key])
    first = compare_family(family, 0.05, looks=[5, 10], look=0)
    assert all(first[key].corrected_confidence > fixed[key].corrected_confidence for key in family)
