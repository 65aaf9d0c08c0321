"""curriclip.stats against scipy/statsmodels references and hand-made cases (fast, torch-free)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.weightstats import ttost_paired

from curriclip.stats import (
    ComparisonResult,
    Verdict,
    compare_family,
    detectable_effect,
    difference_p,
    holm_adjust,
    holm_alphas,
    mean_interval,
    seed_bootstrap,
    seeds_needed,
    t_interval,
    t_test_power,
    tost_p,
    two_level_bootstrap,
    verdict_sentence,
)

MARGIN = 0.05

# hand-made differences (arm - reference, five paired seeds), one per verdict
BETTER = [0.030, 0.035, 0.028, 0.040, 0.031]  # large and tight above 0
WORSE = [-0.30, -0.28, -0.31, -0.29, -0.33]  # large and tight below 0
EQUIVALENT = [0.001, -0.002, 0.0005, 0.0, 0.001]  # tight around 0, far inside +-0.05
INCONCLUSIVE = [0.08, -0.06, 0.10, -0.04, 0.02]  # wide: neither different nor provably within the margin


# --- Holm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("m", [1, 2, 5, 17])
def test_holm_matches_statsmodels(m):
    rng = np.random.default_rng(m)
    pvalues = rng.uniform(0, 0.2, m) ** 2
    pvalues[: m // 3] = pvalues[0]  # ties
    expected_reject, expected_adjusted, _, _ = multipletests(pvalues, alpha=0.05, method="holm")
    adjusted = holm_adjust(pvalues)
    np.testing.assert_allclose(adjusted, expected_adjusted, rtol=1e-12)
    np.testing.assert_array_equal(adjusted <= 0.05, expected_reject)


def test_holm_leaves_untestable_out_of_the_family():
    adjusted = holm_adjust([0.01, math.nan, 0.04])
    assert math.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], multipletests([0.01, 0.04], method="holm")[1])
    np.testing.assert_allclose(holm_adjust([0.3, 0.6]), [0.6, 0.6])  # monotone, not 0.6 then 0.6 * 1
    assert holm_adjust([0.7, 0.9]).tolist() == [1.0, 1.0]  # capped at 1


def test_holm_alphas_follow_the_step_down_by_hand():
    # thresholds 0.05/4, 0.05/3, 0.05/2, 0.05: rank 1 (0.001) rejected, rank 2 (0.02 > 0.0167) stops Holm
    levels = holm_alphas([0.3, 0.001, 0.04, 0.02], alpha=0.05)
    np.testing.assert_allclose(levels, [0.05 / 3, 0.05 / 4, 0.05 / 3, 0.05 / 3])
    # everything rejected: each hypothesis keeps its own step
    np.testing.assert_allclose(holm_alphas([0.001, 0.002, 0.003], 0.05), [0.05 / 3, 0.05 / 2, 0.05])


# --- tests of one comparison --------------------------------------------------------------------


def test_t_interval_matches_scipy():
    values = np.array([0.01, 0.03, -0.02, 0.04, 0.025, 0.0])
    for confidence in (0.95, 0.9875):
        expected = stats.t.interval(confidence, values.size - 1, loc=values.mean(), scale=stats.sem(values))
        np.testing.assert_allclose(t_interval(values, confidence), expected, rtol=1e-12)
    assert t_interval([0.02, 0.02, 0.02], 0.95) == (0.02, 0.02)
    assert all(math.isnan(bound) for bound in t_interval([0.02], 0.95))


def test_tost_matches_two_one_sided_scipy_tests_and_statsmodels():
    rng = np.random.default_rng(3)
    reference = rng.normal(0.6, 0.02, 7)
    arm = reference + rng.normal(0.01, 0.02, 7)
    differences = arm - reference
    lower = stats.ttest_1samp(differences, -MARGIN, alternative="greater").pvalue
    upper = stats.ttest_1samp(differences, MARGIN, alternative="less").pvalue
    assert tost_p(differences, MARGIN) == pytest.approx(max(lower, upper), rel=1e-12)
    statsmodels_p = ttost_paired(arm, reference, -MARGIN, MARGIN)[0]
    assert tost_p(differences, MARGIN) == pytest.approx(statsmodels_p, rel=1e-9)
    assert tost_p(INCONCLUSIVE, MARGIN) > 0.05 > tost_p(EQUIVALENT, MARGIN)


def test_degenerate_differences_are_untestable():
    """No spread or fewer than three seeds: no p-value, so no verdict (never p = 0 from a zero standard error)."""
    for values in ([0.02] * 4, [0.0] * 4, [0.07] * 4, [0.5], [0.1, 0.3]):
        assert math.isnan(difference_p(values)) and math.isnan(tost_p(values, MARGIN))
    assert difference_p([0.1, 0.3, 0.2]) == pytest.approx(stats.ttest_1samp([0.1, 0.3, 0.2], 0).pvalue)
    with pytest.raises(ValueError, match="non-finite"):
        difference_p([0.1, math.nan])


def test_mean_interval_uses_t_below_ten_and_a_seeded_bootstrap_from_ten():
    rng = np.random.default_rng(5)
    few, many = rng.normal(0.02, 0.01, 9), rng.normal(0.02, 0.01, 40)
    interval, method = mean_interval(few, 0.05)
    assert method == "t" and interval == t_interval(few, 0.95)
    interval, method = mean_interval(many, 0.05, n_resamples=2000, seed=1)
    assert method == "bootstrap"
    assert mean_interval(many, 0.05, n_resamples=2000, seed=1)[0] == interval  # seeded: reproducible
    t_low, t_high = t_interval(many, 0.95)
    assert interval[0] == pytest.approx(t_low, abs=0.001) and interval[1] == pytest.approx(t_high, abs=0.001)


# --- power --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "alpha"), [(2, 0.05), (5, 0.05), (5, 0.0125), (12, 0.01), (40, 0.05)])
def test_power_matches_statsmodels(n, alpha):
    reference = TTestPower()
    effect_size = reference.solve_power(nobs=n, alpha=alpha, power=0.8, alternative="two-sided")
    assert detectable_effect(n, 0.02, alpha, 0.8) == pytest.approx(effect_size * 0.02, rel=1e-5)
    assert float(t_test_power(0.9, n, alpha)) == pytest.approx(reference.power(0.9, n, alpha), rel=1e-9)


@pytest.mark.parametrize(("effect", "sd", "alpha"), [(0.01, 0.02, 0.05), (0.03, 0.02, 0.0125), (0.002, 0.02, 0.01)])
def test_seeds_needed_matches_statsmodels(effect, sd, alpha):
    nobs = TTestPower().solve_power(effect_size=effect / sd, alpha=alpha, power=0.8, alternative="two-sided")
    assert seeds_needed(effect, sd, alpha) == math.ceil(nobs)
    assert seeds_needed(-effect, sd, alpha) == math.ceil(nobs)  # only the size of the difference counts


def test_power_edge_cases():
    assert detectable_effect(1, 0.02, 0.05) == math.inf
    assert seeds_needed(0.0, 0.02, 0.05) is None
    assert seeds_needed(0.01, 0.0, 0.05) is None
    assert seeds_needed(1e-5, 0.1, 0.05) is None  # would need more than 10 000 seeds


# --- two-level bootstrap ------------------------------------------------------------------------


def _confirm_pairs(rng, n_seeds=10, n_patients=100, pairs_per_patient=5, true_mean=0.05, patient_sd=0.1):
    """Per-pair differences: seed, patient (shared by all seeds) and pair effects around a population ``true_mean``."""
    seeds = np.repeat(np.arange(n_seeds), n_patients * pairs_per_patient)
    patients = np.tile(np.repeat(np.arange(n_patients), pairs_per_patient), n_seeds)
    patient_effect = rng.normal(0, patient_sd, n_patients)
    values = true_mean + rng.normal(0, 0.01, n_seeds)[seeds] + patient_effect[patients]
    return seeds, [f"p{p}" for p in patients], values + rng.normal(0, 0.02, seeds.size)


def test_two_level_bootstrap_covers_the_mean_and_is_wider_than_seeds_alone():
    seeds, patients, values = _confirm_pairs(np.random.default_rng(0))
    low, high = two_level_bootstrap(seeds, patients, values, alpha=0.05, n_resamples=2000, seed=0)
    assert low < 0.05 < high
    nested_low, nested_high = two_level_bootstrap(seeds, patients, values, shared_patients=False)
    seed_low, seed_high = seed_bootstrap(seeds, values, alpha=0.05, n_resamples=2000, seed=0)
    # patients vary 10x more than seeds: seeds alone < patients nested in seeds < patients shared by seeds
    assert (seed_high - seed_low) < (nested_high - nested_low) < (high - low)
    assert (high - low) > 2 * (seed_high - seed_low)
    assert two_level_bootstrap(seeds, patients, values, n_resamples=2000, seed=0) == (low, high)


def test_two_level_bootstrap_coverage_when_seeds_share_their_test_patients():
    covered = {"shared": 0, "seeds only": 0}
    repeats = 60
    for repeat in range(repeats):
        seeds, patients, values = _confirm_pairs(np.random.default_rng(100 + repeat), 5, 60, 3)
        low, high = two_level_bootstrap(seeds, patients, values, n_resamples=500, seed=repeat)
        covered["shared"] += low < 0.05 < high
        low, high = seed_bootstrap(seeds, values, n_resamples=500, seed=repeat)
        covered["seeds only"] += low < 0.05 < high
    assert covered["shared"] >= 0.88 * repeats  # nominal 95%
    assert covered["seeds only"] <= 0.7 * repeats  # ignoring the test set's patients undercovers


def test_two_level_bootstrap_is_a_pair_weighted_mean():
    same = two_level_bootstrap([0, 0, 1, 1], ["a", "b", "a", "b"], [0.3, 0.3, 0.3, 0.3])
    assert same == pytest.approx((0.3, 0.3))
    # patient "a" has three pairs of 1, "b" one pair of 0: a resample drawing a and b has mean 0.75
    lone = two_level_bootstrap([0, 0, 0, 0, 1, 1, 1, 1], list("aaabaaab"), [1, 1, 1, 0] * 2, n_resamples=4000)
    assert lone[0] == 0.0 and lone[1] == 1.0  # all-b and all-a resamples occur (1/4 chance per seed)
    seeds, patients, values = _confirm_pairs(np.random.default_rng(1), n_seeds=10, n_patients=500, pairs_per_patient=1)
    for shared in (True, False):  # a confirm phase's size: an interval around the mean of the values
        low, high = two_level_bootstrap(seeds, patients, values, n_resamples=2000, shared_patients=shared)
        assert low < np.mean(values) < high
    with pytest.raises(ValueError, match="one entry per pair"):
        two_level_bootstrap([0, 1], ["a"], [0.1, 0.2])
    with pytest.raises(ValueError, match="same patients"):  # seed 1 lacks patient "b"
        two_level_bootstrap([0, 0, 1], ["a", "b", "a"], [0.1, 0.2, 0.3])
    disjoint = two_level_bootstrap([0, 0, 1], ["a", "b", "a"], [0.1, 0.2, 0.3], shared_patients=False)
    assert 0.1 <= disjoint[0] < disjoint[1] <= 0.3


# --- families and verdicts ----------------------------------------------------------------------


def test_each_verdict_from_a_constructed_case():
    results = compare_family(
        {"better": BETTER, "worse": WORSE, "equivalent": EQUIVALENT, "inconclusive": INCONCLUSIVE}, MARGIN
    )
    assert {key: result.verdict for key, result in results.items()} == {
        "better": Verdict.BETTER,
        "worse": Verdict.WORSE,
        "equivalent": Verdict.EQUIVALENT,
        "inconclusive": Verdict.INCONCLUSIVE,
    }
    better = results["better"]
    assert better.n == 5 and better.diff_mean == pytest.approx(np.mean(BETTER))
    assert better.diff_sd == pytest.approx(np.std(BETTER, ddof=1))
    assert better.p == pytest.approx(stats.ttest_1samp(BETTER, 0).pvalue)
    assert better.ci_method == "t" and better.ci == pytest.approx(t_interval(BETTER, 0.95))
    # m = 4; "worse" has the smallest p (step 0.05/4), "better" the next (0.05/3)
    assert results["worse"].corrected_confidence == pytest.approx(1 - 0.05 / 4)
    assert better.corrected_confidence == pytest.approx(1 - 0.05 / 3)
    assert better.corrected_ci == pytest.approx(t_interval(BETTER, 1 - 0.05 / 3))
    expected_tost = multipletests([tost_p(d, MARGIN) for d in (BETTER, WORSE, EQUIVALENT, INCONCLUSIVE)], method="holm")
    assert [r.tost_p_holm for r in results.values()] == pytest.approx(list(expected_tost[1]))
    inconclusive = results["inconclusive"]
    alpha_used = 1 - inconclusive.corrected_confidence
    sd = np.std(INCONCLUSIVE, ddof=1)
    assert inconclusive.detectable_effect == pytest.approx(detectable_effect(5, sd, alpha_used))
    assert inconclusive.seeds_needed == seeds_needed(np.mean(INCONCLUSIVE), sd, alpha_used)
    assert inconclusive.seeds_needed > 5 and inconclusive.detectable_effect > abs(inconclusive.diff_mean)


def test_corrected_intervals_exclude_zero_exactly_when_holm_rejects():
    rng = np.random.default_rng(11)
    checked = rejected = 0
    for _ in range(40):
        m = int(rng.integers(2, 9))
        family = {key: rng.normal(rng.normal(0, 0.02), 0.02, int(rng.integers(3, 9))) for key in range(m)}
        for result in compare_family(family, MARGIN, n_resamples=200).values():
            low, high = result.corrected_ci
            assert (low > 0 or high < 0) == (result.p_holm < 0.05)
            checked += 1
            rejected += result.p_holm < 0.05
    assert checked > 150 and 10 < rejected < checked - 10  # both outcomes were exercised


def test_too_few_seeds_is_inconclusive_without_raising():
    results = compare_family({"one": [0.1], "none": [], "pair": [0.5, 0.6], "two": BETTER}, MARGIN)
    for key in ("one", "none", "pair"):
        result = results[key]
        assert result.verdict is Verdict.INCONCLUSIVE
        assert result.detectable_effect == math.inf and result.seeds_needed is None
        assert all(math.isnan(bound) for bound in result.corrected_ci)
        assert all(math.isnan(bound) for bound in result.ci) == (key != "pair")  # two seeds: a descriptive interval
        assert math.isnan(result.p) and math.isnan(result.p_holm) and math.isnan(result.tost_p_holm)
        assert result.reason == "too few seeds"
    assert results["two"].p_holm == pytest.approx(results["two"].p)  # the untestable ones are not in m
    assert verdict_sentence("a vs b", results["pair"], MARGIN) == (
        "a vs b: inconclusive: too few seeds (n=2 paired; a verdict needs at least 3)"
    )


def test_zero_variance_differences_give_no_verdict():
    """Identical nonzero differences once gave p = 0 and "better" even at K = 2."""
    results = compare_family({"constant": [0.02] * 5, "zero": [0.0] * 5, "k2": [0.3, 0.3]}, MARGIN)
    for key in ("constant", "zero"):
        assert results[key].verdict is Verdict.INCONCLUSIVE and results[key].reason == "no variance"
        assert math.isnan(results[key].p) and results[key].seeds_needed is None
    assert results["k2"].verdict is Verdict.INCONCLUSIVE and results["k2"].reason == "too few seeds"
    assert verdict_sentence("a vs b", results["constant"], MARGIN).startswith("a vs b: inconclusive: no variance")


def _result(verdict: Verdict, **fields) -> ComparisonResult:
    base = dict(
        n=5,
        diff_mean=0.031,
        diff_sd=0.01,
        ci=(0.02, 0.04),
        ci_method="t",
        p=0.001,
        p_holm=0.003,
        corrected_ci=(0.012, 0.050),
        corrected_confidence=1 - 0.05 / 3,
        tost_p=0.004,
        tost_p_holm=0.01,
        verdict=verdict,
        detectable_effect=0.042,
        seeds_needed=38,
    )
    return ComparisonResult(**{**base, **fields})


def test_verdict_sentences():
    label = "curriculum vs single_task at 10%"
    assert verdict_sentence(label, _result(Verdict.BETTER), MARGIN) == (
        f"{label}: better: +0.031 (Holm-corrected 98.33% CI +0.012 to +0.050, n=5 paired seeds)"
    )
    worse = _result(Verdict.WORSE, diff_mean=-0.031, corrected_ci=(-0.05, -0.012), corrected_confidence=0.9875)
    assert verdict_sentence(label, worse, MARGIN) == (
        f"{label}: worse: -0.031 (Holm-corrected 98.75% CI -0.050 to -0.012, n=5 paired seeds)"
    )
    equivalent = _result(Verdict.EQUIVALENT, diff_mean=0.004, corrected_ci=(-0.02, 0.028))
    assert verdict_sentence(label, equivalent, MARGIN) == (
        f"{label}: equivalent within the declared margin ±0.05 (TOST p=0.01, Holm; Holm-corrected 98.33% CI "
        "-0.020 to +0.028; observed +0.004, n=5 paired seeds)"
    )

    inconclusive = _result(Verdict.INCONCLUSIVE, diff_mean=0.012)
    assert verdict_sentence(label, inconclusive, MARGIN) == (
        f"{label}: inconclusive: this K=5 detects |difference| >= 0.042 with 80% power; "
        "the observed +0.012 would need K=38"
    )
    too_small = _result(Verdict.INCONCLUSIVE, diff_mean=0.0001, seeds_needed=None)
    assert verdict_sentence(label, too_small, MARGIN).endswith("the observed +0.000 would need more than K=10000")
    for result in (_result(Verdict.BETTER), worse, equivalent, inconclusive, too_small):
        assert "seed noise" not in verdict_sentence(label, result, MARGIN)


def test_the_package_imports_neither_torch_nor_ray():
    code = "import sys, curriclip.stats; print(sorted({'torch', 'ray', 'optuna', 'statsmodels'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_equivalent_needs_the_shown_corrected_interval_inside_the_margin():
    """TOST at a Holm level can pass while the wider two-sided corrected interval leaves the margin: inconclusive."""
    from curriclip.stats import decide_verdict

    assert decide_verdict(0.0, 0.9, 0.01, 0.05, corrected_ci=(-0.04, 0.04), margin=0.05) == Verdict.EQUIVALENT
    assert decide_verdict(0.0, 0.9, 0.01, 0.05, corrected_ci=(-0.07, 0.06), margin=0.05) == Verdict.INCONCLUSIVE
    assert decide_verdict(0.0, 0.9, 0.01, 0.05) == Verdict.EQUIVALENT  # TOST alone when no interval is given
