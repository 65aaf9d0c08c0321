"""curriclip.stats at its edges and by exact values: boundaries (n = 2 and 3, p = alpha, t = 0 and 1), defaults,
refusals word for word, and the internals whose mistakes a coverage-only test would not notice (fast, torch-free)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from curriclip.stats import aa, bootstrap, conclusion, intervals, over_trials, paired, power, sequential, verdicts
from curriclip.stats.compare import compare_family
from curriclip.stats.equivalence import tost_p
from curriclip.stats.multiplicity import holm_adjust, holm_alphas
from curriclip.stats.result import ComparisonResult, Verdict

# --- the A/A test ---------------------------------------------------------------------------------


def _aa_result(**fields) -> aa.AAResult:
    base = dict(
        repeats=10, false_positives=1, rate=0.1, ci=(0.05, 0.4), confidence=0.95, comparison_rate=0.05,
        alpha=0.05, margin=0.1, pairs_per_split=2, distinct_splits=3,
    )  # fmt: skip
    return aa.AAResult(**{**base, **fields})


def test_within_nominal_is_the_lower_bound_at_or_below_alpha():
    assert _aa_result(ci=(0.05, 0.4)).within_nominal
    assert not _aa_result(ci=(0.0501, 0.04)).within_nominal


def test_one_split_pairs_the_first_seeds_of_a_permutation():
    values = {0.1: np.array([0.0, 10.0, 20.0, 30.0, 40.0]), 0.3: np.array([1.0, 2.0, 3.0, 4.0, 5.0])}
    order = np.random.default_rng(4).permutation(5)
    diffs, key = aa._split_differences(values, 5, 2, np.random.default_rng(4), shift=0.5)
    arm, reference = order[:2], order[2:4]
    assert key == tuple(int(i) for i in [*arm, *reference]) and len(key) == 4
    for level, level_values in values.items():
        np.testing.assert_array_equal(diffs[level], level_values[arm] + 0.5 - level_values[reference])


class _Family:
    """compare_family replaced: the verdicts of each call in turn, and the arguments it was called with."""

    def __init__(self, verdicts_per_call):
        self.verdicts = list(verdicts_per_call)
        self.calls = []

    def __call__(self, diffs, margin, alpha, n_resamples):
        self.calls.append((dict(diffs), margin, alpha, n_resamples))
        verdicts_now = self.verdicts[len(self.calls) - 1]
        return {key: type("R", (), {"verdict": v})() for key, v in zip(diffs, verdicts_now)}


def test_the_false_positive_rate_counts_families_and_comparisons(monkeypatch):
    b, w, i, e = Verdict.BETTER, Verdict.WORSE, Verdict.INCONCLUSIVE, Verdict.EQUIVALENT
    family = _Family([(i, i), (b, w), (e, i), (i, w)])
    monkeypatch.setattr(aa, "compare_family", family)
    values = {0.1: np.arange(6.0), 0.3: np.arange(6.0) * 2}
    result = aa.aa_false_positive_rate(values, margin=0.02, repeats=4, confidence=0.9, seed=3)
    assert (result.repeats, result.false_positives, result.rate) == (4, 2, 0.5)
    assert result.comparison_rate == 3 / 8 and result.pairs_per_split == 3
    assert (result.alpha, result.margin, result.confidence) == (0.05, 0.02, 0.9)
    interval = stats.binomtest(2, 4).proportion_ci(confidence_level=0.9, method="exact")
    assert result.ci == (pytest.approx(interval.low), pytest.approx(interval.high))
    assert [call[1:] for call in family.calls] == [(0.02, 0.05, 199)] * 4
    assert all(len(d[0.1]) == 3 for d, *_ in family.calls)
    expected = {
        aa._split_differences(values, 6, 3, rng, 0.0)[1] for rng in [np.random.default_rng(3)] for _ in range(4)
    }
    assert result.distinct_splits == len(expected) >= 1


def test_the_default_plan_is_a_thousand_repeats_at_alpha_five_percent(monkeypatch):
    family = _Family([(Verdict.INCONCLUSIVE,)] * 1000)
    monkeypatch.setattr(aa, "compare_family", family)
    result = aa.aa_false_positive_rate({0.1: np.arange(4.0)}, margin=0.1)
    assert result.repeats == 1000 and result.false_positives == 0 and result.rate == 0.0
    assert result.alpha == 0.05 and result.confidence == 0.95 and result.pairs_per_split == 2
    assert result.ci == (0.0, pytest.approx(stats.binomtest(0, 1000).proportion_ci(0.95, method="exact").high))
    assert result.distinct_splits <= 24  # 4! orders of 4 seeds


def test_aa_refusals_word_for_word(monkeypatch):
    monkeypatch.setattr(aa, "compare_family", _Family([(Verdict.INCONCLUSIVE,)] * 3))
    with pytest.raises(ValueError) as error:
        aa.aa_false_positive_rate({0.1: [1, 2, 3, 4], 0.3: [1, 2, 3]}, margin=0.1)
    assert str(error.value) == "every level needs the same seeds; got [3, 4] values per level"
    with pytest.raises(ValueError) as error:
        aa.aa_false_positive_rate({0.1: [1, 2, 3, 4, 5]}, margin=0.1, pairs=3)
    assert str(error.value) == "an A/A split needs 2 x pairs <= seeds with pairs >= 2 (seeds 5, pairs 3)"
    with pytest.raises(ValueError, match=r"\(seeds 6, pairs 1\)"):
        aa.aa_false_positive_rate({0.1: [1, 2, 3, 4, 5, 6]}, margin=0.1, pairs=1)
    with pytest.raises(ValueError) as error:
        aa.aa_false_positive_rate({0.1: [1, 2, 3, 4]}, margin=0.1, repeats=0)
    assert str(error.value) == "repeats must be >= 1, got 0"
    assert aa.aa_false_positive_rate({0.1: [1, 2, 3, 4, 5, 6]}, margin=0.1, pairs=3, repeats=1).pairs_per_split == 3
    assert aa.aa_false_positive_rate({0.1: [1, 2, 3, 4]}, margin=0.1, pairs=2, repeats=1).repeats == 1


def test_single_task_values_leave_out_missing_values_other_arms_and_metrics():
    confirm = pd.DataFrame(
        {
            "level": [0.1, 0.1, 0.1, 0.3, 0.3, 0.1],
            "arm": ["single_task", "single_task", "single_task", "single_task", "single_task", "multitask"],
            "seed": [2, 1, 3, 1, 2, 1],
            "clip_score": [0.2, 0.1, np.nan, 0.4, 0.5, 9.0],
            "retrieval_auc": [0.6, 0.7, 0.8, 0.9, 1.0, 9.0],
        }
    )
    assert aa.single_task_values(confirm) == {0.1: [0.1, 0.2], 0.3: [0.4, 0.5]}
    assert aa.single_task_values(confirm, metric="retrieval_auc") == {0.1: [0.7, 0.6], 0.3: [0.9, 1.0]}
    assert aa.single_task_values(confirm, arm="multitask") == {0.1: [9.0]}
    assert aa.single_task_values(confirm, arm="curriculum") == {}


# --- bootstrap ------------------------------------------------------------------------------------


def test_the_crossed_and_nested_tables_sum_and_count_each_cell():
    seeds, patients, values = [7, 7, 7, 9, 9], ["b", "a", "b", "a", "b"], np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    sums, counts = bootstrap._crossed_table(seeds, patients, values)
    np.testing.assert_array_equal(sums, [[2.0, 4.0], [4.0, 5.0]])
    np.testing.assert_array_equal(counts, [[1.0, 2.0], [1.0, 1.0]])
    nested_sums, nested_counts, per_seed = bootstrap._nested_table([7, 7, 7, 9], ["b", "a", "b", "c"], values[:4])
    np.testing.assert_array_equal(nested_sums, [[2.0, 4.0], [4.0, 0.0]])
    np.testing.assert_array_equal(nested_counts, [[1.0, 2.0], [1.0, 0.0]])
    np.testing.assert_array_equal(per_seed, [2, 1])
    np.testing.assert_array_equal(bootstrap._codes(["z", "a", "z"]), [1, 0, 1])


def test_multiplicities_draw_every_item_n_times_in_all():
    counts = bootstrap._multiplicities(np.random.default_rng(0), 50, 7)
    assert counts.shape == (50, 7) and counts.dtype == float and (counts.sum(axis=1) == 7).all()
    assert len({tuple(row) for row in counts}) > 1


def test_nested_means_in_chunks_equal_one_chunk(monkeypatch):
    sums, counts, per_seed = bootstrap._nested_table([0, 0, 1, 1, 1], list("abcde"), np.arange(5.0))
    whole = bootstrap._nested_means(sums, counts, per_seed, 7, np.random.default_rng(1))
    assert whole.shape == (7,)
    monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", 12)  # two resamples per chunk of 2 seeds x 3 patients
    chunked = bootstrap._nested_means(sums, counts, per_seed, 7, np.random.default_rng(1))
    assert chunked.shape == (7,) and np.isfinite(chunked).all()
    monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", 1)  # fewer elements than one resample: one per chunk
    assert bootstrap._nested_means(sums, counts, per_seed, 3, np.random.default_rng(1)).shape == (3,)


def test_nested_means_by_hand_for_one_patient_per_seed():
    """Seed 0 has one patient of mean 1, seed 1 one of mean 3: a resample's mean is the drawn seeds' pair mean."""
    sums, counts, per_seed = bootstrap._nested_table([0, 0, 1], ["a", "a", "b"], np.array([0.5, 1.5, 3.0]))
    rng = np.random.default_rng(5)
    means = bootstrap._nested_means(sums, counts, per_seed, 200, rng)
    drawn = np.random.default_rng(5).integers(0, 2, size=(200, 2))
    pair_sums, pair_counts = np.array([2.0, 3.0]), np.array([2.0, 1.0])
    expected = pair_sums[drawn].sum(axis=1) / pair_counts[drawn].sum(axis=1)
    np.testing.assert_allclose(means, expected)


def test_crossed_means_by_hand():
    sums, counts = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 1.0], [1.0, 2.0]])
    means = bootstrap._crossed_means(sums, counts, 3, np.random.default_rng(2))
    rng = np.random.default_rng(2)
    seed_w = rng.multinomial(2, [0.5, 0.5], size=3).astype(float)
    patient_w = rng.multinomial(2, [0.5, 0.5], size=3).astype(float)
    expected = ((seed_w @ sums) * patient_w).sum(axis=1) / ((seed_w @ counts) * patient_w).sum(axis=1)
    np.testing.assert_allclose(means, expected)


def test_seed_bootstrap_by_hand_and_its_edges():
    seeds, values = [0, 0, 1, 2], [1.0, 3.0, 5.0, 9.0]
    drawn = np.random.default_rng(3).integers(0, 3, size=(500, 3))
    sums, counts = np.array([4.0, 5.0, 9.0]), np.array([2.0, 1.0, 1.0])
    means = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
    expected = tuple(np.quantile(means, [0.05, 0.95]))
    assert bootstrap.seed_bootstrap(seeds, values, alpha=0.1, n_resamples=500, seed=3) == pytest.approx(expected)
    default = bootstrap.seed_bootstrap(seeds, values)
    drawn = np.random.default_rng(0).integers(0, 3, size=(2000, 3))
    means = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
    assert default == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    for few in (([], []), ([1, 1], [0.1, 0.2])):
        assert all(math.isnan(v) for v in bootstrap.seed_bootstrap(*few))
    with pytest.raises(ValueError) as error:
        bootstrap.seed_bootstrap([0, 1, 2], [0.1, 0.2])
    assert str(error.value) == "seed_ids, patient_ids and values must have one entry per pair, got lengths {2, 3}"
    with pytest.raises(ValueError, match="per-pair differences: 1 non-finite"):
        bootstrap.seed_bootstrap([0, 1], [0.1, math.inf])


def test_two_level_bootstrap_defaults_and_edges():
    seeds, patients, values = [0, 0, 1, 1], ["a", "b", "a", "b"], np.array([1.0, 2.0, 4.0, 8.0])
    sums, counts = bootstrap._crossed_table(seeds, patients, values)
    expected = bootstrap._percentile_interval(
        bootstrap._crossed_means(sums, counts, 2000, np.random.default_rng(0)), 0.05
    )
    assert bootstrap.two_level_bootstrap(seeds, patients, values) == expected
    nested = bootstrap.two_level_bootstrap(seeds, patients, values, shared_patients=False, seed=4, alpha=0.2)
    table = bootstrap._nested_table(seeds, patients, values)
    nested_means = bootstrap._nested_means(*table, 2000, np.random.default_rng(4))
    assert nested == bootstrap._percentile_interval(nested_means, 0.2)
    assert all(math.isnan(v) for v in bootstrap.two_level_bootstrap([], [], []))
    assert all(math.isnan(v) for v in bootstrap.two_level_bootstrap([3, 3], ["a", "b"], [0.1, 0.2]))
    with pytest.raises(ValueError) as error:
        bootstrap.two_level_bootstrap([0, 0, 1], ["a", "b", "a"], [0.1, 0.2, 0.3])
    assert str(error.value) == (
        "1 (seed, patient) cells have no pairs: shared_patients=True needs every seed to score the same patients "
        "(use shared_patients=False otherwise)"
    )
    assert bootstrap._percentile_interval(np.arange(101.0), 0.1) == (5.0, 95.0)


# --- intervals ------------------------------------------------------------------------------------


def test_as_finite_array_flattens_and_names_the_bad_values():
    np.testing.assert_array_equal(intervals.as_finite_array([[1, 2], [3, 4]]), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError) as error:
        intervals.as_finite_array([1.0, math.nan, -math.inf])
    assert str(error.value) == "values: 2 non-finite value(s); drop failed runs before computing statistics"


def test_bootstrap_interval_by_hand_its_fallback_and_edges(monkeypatch):
    values = np.array([0.1, 0.4, 0.2, 0.9, 0.5, 0.3, 0.7, 0.2, 0.6, 0.8])
    expected = stats.bootstrap((values,), np.mean, n_resamples=300, confidence_level=0.9, method="BCa",
                               vectorized=True, rng=np.random.default_rng(2)).confidence_interval  # fmt: skip
    assert intervals.bootstrap_interval(values, 0.9, n_resamples=300, seed=2) == (expected.low, expected.high)
    default = stats.bootstrap((values,), np.mean, n_resamples=9999, confidence_level=0.95, method="BCa",
                              vectorized=True, rng=np.random.default_rng(0)).confidence_interval  # fmt: skip
    assert intervals.bootstrap_interval(values, 0.95) == (default.low, default.high)
    assert all(math.isnan(v) for v in intervals.bootstrap_interval([0.3], 0.95))
    assert intervals.bootstrap_interval([0.3, 0.3, 0.3], 0.95) == (0.3, 0.3)
    real = stats.bootstrap
    methods = []

    def bca_fails(data, statistic, **kwargs):
        methods.append(kwargs["method"])
        result = real(data, statistic, **kwargs)
        if kwargs["method"] == "BCa":
            return type("R", (), {"confidence_interval": type("CI", (), {"low": math.nan, "high": 1.0})()})()
        return result

    monkeypatch.setattr(intervals.stats, "bootstrap", bca_fails)
    percentile = real((values,), np.mean, n_resamples=300, confidence_level=0.9, method="percentile",
                      vectorized=True, rng=np.random.default_rng(2)).confidence_interval  # fmt: skip
    assert intervals.bootstrap_interval(values, 0.9, n_resamples=300, seed=2) == (percentile.low, percentile.high)
    assert methods == ["BCa", "percentile"]
    monkeypatch.setattr(
        intervals.stats,
        "bootstrap",
        lambda *a, **k: type("R", (), {"confidence_interval": type("CI", (), {"low": 0.0, "high": math.inf})()})(),
    )
    assert all(math.isnan(v) for v in intervals.bootstrap_interval(values, 0.9))


def test_mean_interval_switches_at_ten_values_and_passes_its_settings():
    nine, ten = np.linspace(0.0, 1.0, 9), np.linspace(0.0, 1.0, 10)
    assert mean_interval_method(nine) == "t" and mean_interval_method(ten) == "bootstrap"
    assert intervals.mean_interval(nine, 0.1) == (intervals.t_interval(nine, 0.9), "t")
    assert intervals.mean_interval(nine) == (intervals.t_interval(nine, 0.95), "t")
    assert intervals.mean_interval(ten, 0.1, n_resamples=200, seed=3) == (
        intervals.bootstrap_interval(ten, 0.9, n_resamples=200, seed=3),
        "bootstrap",
    )
    assert intervals.mean_interval(ten)[0] == intervals.bootstrap_interval(ten, 0.95)
    assert intervals.t_interval([1.0, 3.0], 0.5) == pytest.approx(
        stats.t.interval(0.5, 1, loc=2.0, scale=stats.sem([1.0, 3.0]))
    )


def test_intervals_take_float_arrays_and_their_documented_defaults():
    """Integers become floats; the defaults are 9,999 resamples and seed 0; a spread of exactly 1 is a spread."""
    assert intervals.as_finite_array([1, 2]).dtype == np.float64
    values = np.random.default_rng(5).normal(size=12)  # continuous: resample counts change the interval

    def scipy_bca(n_resamples):
        result = stats.bootstrap((values,), np.mean, n_resamples=n_resamples, confidence_level=0.95, method="BCa",
                                 vectorized=True, rng=np.random.default_rng(0)).confidence_interval  # fmt: skip
        return (result.low, result.high)

    assert scipy_bca(9999) != scipy_bca(10000)
    assert intervals.bootstrap_interval(values, 0.95) == scipy_bca(9999)
    assert intervals.mean_interval(values) == (scipy_bca(9999), "bootstrap")
    unit_spread = [0.0, 1.0, 0.0, 1.0]
    assert intervals.t_interval(unit_spread, 0.95) == pytest.approx(
        stats.t.interval(0.95, 3, loc=0.5, scale=stats.sem(unit_spread))
    )
    low, high = intervals.bootstrap_interval(unit_spread, 0.9, n_resamples=200)
    assert low < 0.5 < high


def test_bootstrap_interval_of_two_values_is_an_interval():
    low, high = intervals.bootstrap_interval([0.1, 0.5], 0.9, n_resamples=200, seed=1)
    assert 0.1 <= low < high <= 0.5


def test_bootstrap_silences_only_scipys_degenerate_data_warning(recwarn):
    """BCa on two resamples of [0, 0, 1] is degenerate: that warning is the fallback's business, others are not."""
    warnings.simplefilter("always")
    percentile = stats.bootstrap(([0.0, 0.0, 1.0],), np.mean, n_resamples=2, confidence_level=0.9, method="percentile",
                                 rng=np.random.default_rng(4)).confidence_interval  # fmt: skip
    recwarn.clear()
    interval = intervals.bootstrap_interval([0.0, 0.0, 1.0], 0.9, n_resamples=2, seed=4)
    assert interval == (percentile.low, percentile.high)
    categories = {w.category for w in recwarn}
    assert stats.DegenerateDataWarning not in categories
    assert RuntimeWarning in categories


def mean_interval_method(values) -> str:
    return intervals.mean_interval(values, n_resamples=50)[1]


# --- Holm -----------------------------------------------------------------------------------------


def test_holm_of_nothing_testable_is_all_nan():
    assert np.isnan(holm_adjust([math.nan, math.nan])).all() and holm_adjust([]).size == 0
    assert np.isnan(holm_alphas([math.nan])).all()
    np.testing.assert_allclose(holm_alphas([0.01, math.nan, 0.5]), [0.025, math.nan, 0.05])
    np.testing.assert_allclose(holm_alphas([0.2, 0.3]), [0.025, 0.025])  # nothing rejected: every rank the first's
    np.testing.assert_allclose(holm_alphas([0.025, 0.2], alpha=0.1), [0.05, 0.1])
    np.testing.assert_allclose(holm_alphas([0.025, 0.025]), [0.025, 0.025])  # p = alpha/m is not rejected (<)
    np.testing.assert_allclose(holm_alphas([0.01]), [0.05])
    np.testing.assert_allclose(holm_alphas([0.01, None]), [0.05, math.nan])  # None is an untestable p too
    np.testing.assert_allclose(holm_adjust([0.01, None]), [0.01, math.nan])


def test_tied_p_values_keep_their_input_order_in_a_large_family():
    """40 p-values of two tied kinds, all rejected: among equals, the earlier input gets the earlier step."""
    pvalues = np.random.default_rng(0).choice([1e-6, 2e-6], 40)
    expected = np.empty(40)
    expected[np.argsort(pvalues, kind="stable")] = 0.05 / np.arange(40, 0, -1)
    assert not np.array_equal(np.argsort(pvalues), np.argsort(pvalues, kind="stable"))  # the default sort is not
    np.testing.assert_allclose(holm_alphas(pvalues), expected)
    rejected, levels = sequential.sequential_holm(pvalues, 0, [5], 0.05)
    assert rejected.all()
    np.testing.assert_allclose(levels, expected)


# --- search-phase intervals -------------------------------------------------------------------------


def test_over_trials_intervals_by_hand():
    np.testing.assert_array_equal(over_trials.finite_values([1, None, math.nan, 2.5]), [1.0, 2.5])
    assert math.isnan(over_trials.t975(0)) and math.isnan(over_trials.t975(math.nan))
    assert over_trials.t975(1) == pytest.approx(12.7062047)
    n, mean, hw = over_trials.mean_ci([])
    assert n == 0 and math.isnan(mean) and math.isnan(hw)
    n, mean, hw = over_trials.mean_ci([1.0, 2.0, 6.0])
    assert (n, mean) == (3, 3.0) and hw == pytest.approx(stats.t.ppf(0.975, 2) * stats.sem([1.0, 2.0, 6.0]))
    a, b = [1.0, 2.0, 3.0], [2.0, 4.0, 9.0, 5.0]
    var_a, var_b = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 4
    dof = (var_a + var_b) ** 2 / (var_a**2 / 2 + var_b**2 / 3)
    diff, hw = over_trials.welch_ci(a, b)
    assert diff == pytest.approx(3.0) and hw == pytest.approx(
        stats.t.ppf(0.975, math.floor(dof)) * math.sqrt(var_a + var_b)
    )
    assert over_trials.welch_ci([1.0, 1.0], [2.0, 2.0]) == (1.0, 0.0)
    diff, hw = over_trials.welch_ci([1.0], [2.0, 3.0])
    assert diff == 1.5 and math.isnan(hw)
    diff, hw = over_trials.welch_ci([1.0, 2.0], [2.0])
    assert diff == 0.5 and math.isnan(hw)
    assert all(math.isnan(v) for v in over_trials.welch_ci([], [1.0, 2.0]))
    assert all(math.isnan(v) for v in over_trials.welch_ci([1.0, 2.0], []))


def test_welch_interval_matches_scipys_welch_degrees_of_freedom_rounded_down():
    """Unequal sizes and spreads, many trials: every term of the Welch-Satterthwaite formula moves the floor."""
    rng = np.random.default_rng(2)  # Welch df 47.8
    a, b = rng.normal(0.0, 1.0, 25), rng.normal(0.5, 3.0, 40)
    welch = stats.ttest_ind(b, a, equal_var=False)
    se = math.sqrt(np.var(a, ddof=1) / a.size + np.var(b, ddof=1) / b.size)
    diff, hw = over_trials.welch_ci(a, b)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert hw == pytest.approx(stats.t.ppf(0.975, math.floor(welch.df)) * se, rel=1e-12)
    assert math.floor(welch.df) != round(welch.df)  # rounded down, not to the nearest
    rng = np.random.default_rng(0)  # both terms of the denominator of a like size (df 35.x)
    a, b = rng.normal(0.0, 2.0, 12), rng.normal(0.5, 3.0, 30)
    welch = stats.ttest_ind(b, a, equal_var=False)
    se = math.sqrt(np.var(a, ddof=1) / a.size + np.var(b, ddof=1) / b.size)
    assert over_trials.welch_ci(a, b)[1] == pytest.approx(stats.t.ppf(0.975, math.floor(welch.df)) * se, rel=1e-12)


def test_search_phase_intervals_at_their_smallest_sizes(recwarn):
    """Two trials give an interval, one a mean, none nothing; no empty-slice warning on the way."""
    warnings.simplefilter("always")
    n, mean, hw = over_trials.mean_ci([1.0, 3.0])
    assert (n, mean) == (2, 2.0) and hw == pytest.approx(stats.t.ppf(0.975, 1) * stats.sem([1.0, 3.0]))
    n, mean, hw = over_trials.mean_ci([4.0])
    assert (n, mean) == (1, 4.0) and math.isnan(hw)
    assert over_trials.mean_ci([None])[0] == 0
    assert all(math.isnan(v) for v in over_trials.welch_ci([], [1.0, 2.0]))
    assert all(math.isnan(v) for v in over_trials.welch_ci([1.0, 2.0], []))
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert math.isnan(over_trials.t975(0.5)) and math.isnan(over_trials.t975(-2))
    assert over_trials.t975(1.5) == pytest.approx(stats.t.ppf(0.975, 1.5))
    assert over_trials.finite_values([1, 2]).dtype == np.float64


def test_over_trials_verdicts_word_for_word():
    assert over_trials.verdict(2, 1, 0.1, 0.05) == (
        "not enough trials (need ≥ 2 per arm; single-task n=2, curriculum n=1)"
    )
    assert over_trials.verdict(2, 2, 0.1, math.nan, arm="multitask").startswith("not enough trials")
    assert over_trials.verdict(2, 2, 0.1, 0.05, arm="multitask") == (
        "multitask better by 0.1000: the 95% interval over trials excludes zero (half-width 0.0500)"
    )
    assert over_trials.verdict(2, 2, -0.1, 0.05).startswith("curriculum worse by 0.1000")
    assert over_trials.verdict(2, 2, 0.05, 0.05) == (
        "no clear difference (|diff| 0.0500 < 95% interval half-width 0.0500, over trials)"
    )


# --- paired t-test and power --------------------------------------------------------------------------


def test_paired_statistics_at_three_seeds():
    assert paired.untestable_reason([1.0, 2.0]) == "too few seeds"
    assert paired.untestable_reason([1.0, 2.0, 3.0]) is None
    assert paired.untestable_reason([2.0, 2.0, 2.0]) == "no variance"
    assert paired.t_statistic([1.0, 2.0, 3.0]) == pytest.approx(2.0 / (1.0 / math.sqrt(3)))
    assert math.isnan(paired.t_statistic([1.0, 1.0, 1.0])) and math.isnan(paired.t_statistic([1.0]))
    assert paired.sample_sd([1.0, 3.0]) == pytest.approx(math.sqrt(2.0))
    assert math.isnan(paired.sample_sd([1.0]))
    assert paired.MIN_SEEDS == 3


def test_power_by_exact_values():
    nc = 0.5 * math.sqrt(10)
    critical = stats.t.isf(0.025, 9)
    expected = stats.nct.sf(critical, 9, nc) + stats.nct.cdf(-critical, 9, nc)
    assert float(power.t_test_power(0.5, 10, 0.05)) == pytest.approx(expected, rel=1e-9)
    assert float(power.t_test_power(-0.5, 10, 0.05)) == pytest.approx(expected, rel=1e-9)
    assert math.isinf(power.detectable_effect_size(1, 0.05))
    size = power.detectable_effect_size(2, 0.05)
    assert size > 2 and float(power.t_test_power(size, 2, 0.05)) == pytest.approx(0.8, abs=1e-8)
    assert power.detectable_effect_size(5, 0.05, 0.5) < power.detectable_effect_size(5, 0.05)
    assert math.isinf(power.detectable_effect_size(2, 1e-300))  # no effect reaches 80% power: the doubling gives up
    assert power.detectable_effect(3, 2.0, 0.05) == pytest.approx(2.0 * power.detectable_effect_size(3, 0.05))
    assert math.isinf(power.detectable_effect(3, math.nan, 0.05)) and math.isinf(power.detectable_effect(1, 1.0, 0.05))
    assert power.detectable_effect(2, 1.0, 0.05) == pytest.approx(power.detectable_effect_size(2, 0.05))


def test_seeds_needed_in_blocks_and_its_limits():
    nobs = [n for n in range(2, 400) if float(power.t_test_power(0.2, n, 0.05)) >= 0.8][0]
    assert power.seeds_needed(0.2, 1.0, 0.05) == nobs > 63  # found in the second block
    assert power.seeds_needed(0.2, 1.0, 0.05, max_n=nobs) == nobs
    assert power.seeds_needed(0.2, 1.0, 0.05, max_n=nobs - 1) is None
    assert power.seeds_needed(5.0, 1.0, 0.05) == 3
    assert power.seeds_needed(50.0, 1.0, 0.05) == 2
    assert power.seeds_needed(1.0, 1.0, 0.05, power=0.5) < power.seeds_needed(1.0, 1.0, 0.05)
    for effect, sd in ((math.inf, 1.0), (1.0, math.inf), (1.0, -1.0), (math.nan, 1.0)):
        assert power.seeds_needed(effect, sd, 0.05) is None
    assert power.MAX_SEEDS == 10_000


def test_seeds_needed_at_the_edges_of_its_blocks_and_of_max_n(monkeypatch):
    """The first n of a block is tried (64 here), max_n itself is tried, and a non-finite input computes nothing."""
    effect = 1.0000001 * optimize.brentq(lambda d: float(power.t_test_power(d, 64, 0.05)) - 0.8, 0.1, 1.0)
    assert float(power.t_test_power(effect, 63, 0.05)) < 0.8
    assert power.seeds_needed(effect, 1.0, 0.05) == 64
    assert power.seeds_needed(50.0, 1.0, 0.05, max_n=2) == 2

    def no_power(*args, **kwargs):
        raise AssertionError("power computed for an input that has none")

    monkeypatch.setattr(power, "t_test_power", no_power)
    for effect, sd in ((math.inf, 1.0), (1.0, math.inf), (math.nan, 1.0), (1.0, math.nan)):
        assert power.seeds_needed(effect, sd, 0.05) is None


def test_nominal_levels_round_alpha_at_fifteen_digits_and_holm_takes_none_as_untestable():
    assert sequential.nominal_levels([4], 0.05 + 1e-16) == (0.05,)
    rejected, levels = sequential.sequential_holm([0.01, None], 0, [5], 0.05)
    assert rejected.tolist() == [True, False]
    np.testing.assert_allclose(levels, [0.05, math.nan])


# --- planned looks --------------------------------------------------------------------------------------


def test_spending_functions_by_value():
    assert sequential.obrien_fleming(0.0, 0.05) == 0.0 and sequential.pocock(0.0, 0.05) == 0.0
    assert sequential.obrien_fleming(-1.0, 0.05) == 0.0 and sequential.pocock(-0.5, 0.05) == 0.0
    z = stats.norm.isf(0.0125)
    assert sequential.obrien_fleming(0.5, 0.05) == pytest.approx(4 * stats.norm.sf(z / math.sqrt(0.5)))
    assert sequential.obrien_fleming(2.0, 0.05) == pytest.approx(0.05)
    assert sequential.pocock(0.5, 0.05) == pytest.approx(0.05 * math.log(1 + (math.e - 1) * 0.5))
    assert sequential.pocock(3.0, 0.05) == pytest.approx(0.05)
    assert sequential.SPENDING == {"obrien_fleming": sequential.obrien_fleming, "pocock": sequential.pocock}


def test_information_fractions_alpha_spent_and_nominal_levels():
    assert sequential.information_fractions([2, 5, 10]) == (0.2, 0.5, 1.0)
    spent = sequential.alpha_spent([5, 10], 0.05, "pocock")
    assert spent == pytest.approx((0.05 * math.log(1 + (math.e - 1) * 0.5), 0.05))
    assert sequential.alpha_spent([5, 10], 0.05) == pytest.approx((sequential.obrien_fleming(0.5, 0.05), 0.05))
    first = sequential.nominal_levels([5, 10], 0.05, "pocock")
    bounds = sequential.z_boundaries((0.5, 1.0), 0.05, "pocock")
    assert first == pytest.approx(tuple(2 * stats.norm.sf(c) for c in bounds))
    assert first[0] == pytest.approx(spent[0])  # the first look spends exactly its share
    assert sequential.nominal_levels([4], 0.05 + 1e-17) == (0.05,)  # rounded: one cache entry per alpha
    assert sequential.nominal_levels([4.0], 0.01) == (0.01,)


def test_the_z_boundary_of_one_look_is_the_fixed_designs():
    assert sequential.z_boundaries((1.0,), 0.05) == pytest.approx((stats.norm.isf(0.025),))
    assert sequential.z_boundaries((1.0,), 0.01, "pocock") == pytest.approx((stats.norm.isf(0.005),))


def test_z_boundaries_are_converged_in_the_integration_grid(monkeypatch):
    """The recursive integration's grid is fine enough: four times as many points moves no boundary by 1e-8."""
    plans = [((0.25, 0.5, 0.75, 1.0), 0.05, "obrien_fleming"), ((0.3, 0.6, 1.0), 0.1, "pocock")]
    default = [sequential.z_boundaries(*plan) for plan in plans]
    sequential.z_boundaries.cache_clear()
    monkeypatch.setattr(sequential, "_GRID_PER_UNIT", 4 * sequential._GRID_PER_UNIT)
    try:
        finer = [sequential.z_boundaries(*plan) for plan in plans]
    finally:
        sequential.z_boundaries.cache_clear()
    for coarse, fine in zip(default, finer):
        np.testing.assert_allclose(coarse, fine, rtol=0, atol=1e-8)
    assert default[0][0] > default[0][-1] > stats.norm.isf(0.025)  # O'Brien-Fleming: strict early, above 1.96 last


def test_sequential_holm_levels_with_held_hypotheses():
    rejected, levels = sequential.sequential_holm([0.01, math.nan, 0.03], 0, [5], 0.05, held=1)
    # m' = 2 testable + 1 held: ranks judged at 0.05/3 and 0.05/2
    assert rejected.tolist() == [True, False, False]
    np.testing.assert_allclose(levels, [0.05 / 3, math.nan, 0.025])
    rejected, levels = sequential.sequential_holm([0.04, 0.01], 0, [5], 0.05)
    assert rejected.tolist() == [True, True]
    np.testing.assert_allclose(levels, [0.05, 0.025])
    rejected, levels = sequential.sequential_holm([0.025, 0.03], 0, [5], 0.05)  # p equal to its level: not rejected
    assert rejected.tolist() == [False, False]
    np.testing.assert_allclose(levels, [0.025, 0.025])
    rejected, levels = sequential.sequential_holm([math.nan], 0, [5], 0.05)
    assert rejected.tolist() == [False] and math.isnan(levels[0])
    rejected, levels = sequential.sequential_holm([0.001, 0.2], 1, [5, 10], 0.05, "pocock")
    second = [sequential.nominal_levels([5, 10], 0.05 / m, "pocock")[1] for m in (2, 1)]
    assert rejected.tolist() == [True, False]
    np.testing.assert_allclose(levels, second)


# --- verdicts -----------------------------------------------------------------------------------------------


def test_format_p_and_confidence():
    assert verdicts.format_p(0.0009) == "<0.001" and verdicts.format_p(0.001) == "=0.001"
    assert verdicts.format_p(0.01234) == "=0.012"
    assert verdicts.format_confidence(0.98333) == "98.33" and verdicts.format_confidence(0.95) == "95"


def test_decide_verdict_with_and_without_the_familys_decisions():
    assert verdicts.decide_verdict(0.1, 0.049, 1.0) == Verdict.BETTER
    assert verdicts.decide_verdict(0.1, 0.05, 1.0) == Verdict.INCONCLUSIVE  # p = alpha is not significant
    assert verdicts.decide_verdict(-0.1, 0.01, 1.0) == Verdict.WORSE
    assert verdicts.decide_verdict(0.0, 0.01, 1.0) == Verdict.INCONCLUSIVE  # significant but no direction
    assert verdicts.decide_verdict(0.0, 0.5, 0.049) == Verdict.EQUIVALENT
    assert verdicts.decide_verdict(0.0, 0.5, 0.05) == Verdict.INCONCLUSIVE
    assert verdicts.decide_verdict(0.1, 0.5, 1.0, alpha=0.6) == Verdict.BETTER
    assert verdicts.decide_verdict(0.1, 0.01, 1.0, rejected=False) == Verdict.INCONCLUSIVE
    assert verdicts.decide_verdict(-0.1, 0.9, 1.0, rejected=True) == Verdict.WORSE
    assert verdicts.decide_verdict(0.0, 0.9, 0.9, equivalence_rejected=True) == Verdict.EQUIVALENT
    assert verdicts.decide_verdict(0.0, 0.9, 0.01, equivalence_rejected=False) == Verdict.INCONCLUSIVE
    inside = {"corrected_ci": (-0.04, 0.04), "margin": 0.05}
    assert verdicts.decide_verdict(0.0, 0.9, 0.01, **inside) == Verdict.EQUIVALENT
    for ci in ((-0.05, 0.04), (-0.04, 0.05)):  # touching the margin is not inside it
        assert verdicts.decide_verdict(0.0, 0.9, 0.01, corrected_ci=ci, margin=0.05) == Verdict.INCONCLUSIVE
    assert verdicts.decide_verdict(0.0, 0.9, 0.01, corrected_ci=(-0.07, 0.07)) == Verdict.EQUIVALENT  # no margin
    assert verdicts.decide_verdict(0.0, 0.9, 0.01, margin=0.05) == Verdict.EQUIVALENT  # no interval


def _result(**fields) -> ComparisonResult:
    base = dict(
        n=4, diff_mean=0.02, diff_sd=0.01, ci=(0.0, 0.04), ci_method="t", p=0.2, p_holm=0.4,
        corrected_ci=(-0.01, 0.05), corrected_confidence=0.975, tost_p=0.3, tost_p_holm=0.6,
        verdict=Verdict.INCONCLUSIVE, detectable_effect=0.03, seeds_needed=None,
    )  # fmt: skip
    return ComparisonResult(**{**base, **fields})


def test_why_inconclusive_in_every_case():
    sentence = verdicts.verdict_sentence
    assert sentence("x", _result(n=1, reason="too few seeds"), 0.05) == (
        "x: inconclusive: too few seeds (n=1 paired; a verdict needs at least 3)"
    )
    assert sentence("x", _result(diff_mean=0.02, reason="no variance"), 0.05) == (
        "x: inconclusive: no variance (the difference is +0.020 on every one of n=4 seeds: nothing to test against)"
    )
    assert sentence("x", _result(detectable_effect=math.inf, power=0.9), 0.05) == (
        "x: inconclusive: this K=4 cannot reach 90% power at the corrected level"
    )
    assert sentence("x", _result(diff_mean=0.0), 0.05) == (
        "x: inconclusive: this K=4 detects |difference| >= 0.030 with 80% power; the observed difference is +0.000"
    )
    assert sentence("x", _result(diff_sd=0.0), 0.05).endswith("; the observed difference is +0.020")
    assert sentence("x", _result(diff_sd=math.nan), 0.05).endswith("; the observed difference is +0.020")
    assert sentence("x", _result(), 0.05).endswith("; the observed +0.020 would need more than K=10000")
    assert sentence("x", _result(seeds_needed=9), 0.05).endswith("; the observed +0.020 would need K=9")


def test_verdict_sentences_for_one_seed_and_equivalence():
    one = _result(n=1, verdict=Verdict.BETTER, corrected_ci=(0.01, 0.03), corrected_confidence=0.95)
    assert (
        verdicts.verdict_sentence("x", one, 0.05)
        == "x: better: +0.020 (Holm-corrected 95% CI +0.010 to +0.030, n=1 paired seed)"
    )
    equivalent = _result(verdict=Verdict.EQUIVALENT, tost_p_holm=0.0004, corrected_ci=(-0.01, 0.02))
    assert verdicts.verdict_sentence("x", equivalent, 0.025) == (
        "x: equivalent within the declared margin ±0.025 (TOST p<0.001, Holm; Holm-corrected 97.5% CI -0.010 to "
        "+0.020; observed +0.020, n=4 paired seeds)"
    )


# --- families -----------------------------------------------------------------------------------------------


def test_compare_family_fields_and_defaults():
    diffs = {"a": [0.3, 0.1, 0.2, 0.25], "b": [0.01, -0.02, 0.015, 0.0], "c": [0.1]}
    results = compare_family(diffs, 0.05)
    a, b, c = results["a"], results["b"], results["c"]
    assert a.power == 0.8 and a.statistic == pytest.approx(stats.ttest_1samp(diffs["a"], 0).statistic)
    assert a.reason is None and c.reason == "too few seeds" and math.isnan(c.statistic)
    assert a.p_holm == pytest.approx(min(1.0, 2 * a.p)) and a.tost_p == pytest.approx(tost_p(diffs["a"], 0.05))
    assert math.isnan(c.corrected_confidence) and c.n == 1 and c.diff_mean == 0.1 and math.isnan(c.diff_sd)
    assert b.tost_p_holm == pytest.approx(min(1.0, 2 * tost_p(diffs["b"], 0.05)))
    assert a.seeds_needed == power.seeds_needed(a.diff_mean, a.diff_sd, 1 - a.corrected_confidence)
    stronger = compare_family(diffs, 0.05, power=0.95)["a"]
    assert stronger.power == 0.95 and stronger.detectable_effect > a.detectable_effect
    assert compare_family({"e": []}, 0.05)["e"].n == 0 and math.isnan(compare_family({"e": []}, 0.05)["e"].diff_mean)
    ten = {"t": list(np.linspace(0.0, 0.9, 10))}
    boot = compare_family(ten, 0.05, n_resamples=100, seed=4)["t"]
    assert boot.ci == intervals.bootstrap_interval(ten["t"], 0.95, n_resamples=100, seed=4)
    assert compare_family(ten, 0.05, alpha=0.2, n_resamples=100)["t"].ci_method == "bootstrap"


def test_compare_family_held_hypotheses_and_spending():
    diffs = {"a": [0.11, 0.1, 0.13, 0.09, 0.12]}
    held = compare_family(diffs, 0.05, held=1)["a"]
    assert held.corrected_confidence == pytest.approx(1 - 0.025)
    pocock = compare_family(diffs, 0.05, looks=[5, 10], look=0, spending="pocock")["a"]
    assert pocock.corrected_confidence == pytest.approx(1 - sequential.nominal_levels([5, 10], 0.05, "pocock")[0])
    obf = compare_family(diffs, 0.05, looks=[5, 10], look=1)["a"]
    assert obf.corrected_confidence == pytest.approx(1 - sequential.nominal_levels([5, 10], 0.05)[1])
    equivalent = compare_family({"e": [0.001, -0.002, 0.0005, 0.0, 0.001]}, 0.05, alpha=0.1)["e"]
    assert equivalent.verdict == Verdict.EQUIVALENT and equivalent.corrected_confidence == pytest.approx(0.9)


def test_tost_refuses_a_margin_that_is_not_positive():
    for margin in (0.0, -0.1, math.nan):
        with pytest.raises(ValueError) as error:
            tost_p([0.1, 0.2, 0.3], margin)
        assert str(error.value) == f"equivalence margin must be positive, got {margin!r}"
    assert math.isnan(tost_p([0.1, 0.2], 0.05))
    lower = stats.ttest_1samp([0.01, 0.02, 0.0], -0.05, alternative="greater").pvalue
    upper = stats.ttest_1samp([0.01, 0.02, 0.0], 0.05, alternative="less").pvalue
    assert tost_p([0.01, 0.02, 0.0], 0.05) == pytest.approx(max(lower, upper))


# --- the conclusion sentence ----------------------------------------------------------------------------


def test_conclusion_helpers():
    assert conclusion._level(0.1) == "10%" and conclusion._level(0.01) == "1%" and conclusion._level(0.005) == "0.5%"
    assert conclusion._number(2) == 2.0 and conclusion._number(0.5) == 0.5
    assert (
        math.isnan(conclusion._number(True))
        and math.isnan(conclusion._number("1"))
        and math.isnan(conclusion._number(None))
    )
    assert conclusion._range([0.1234, 0.1231], ".3f") == "0.123"
    assert conclusion._range([0.2, 0.1], ".2f") == "0.10–0.20"
    rows = [{"level": 0.1, "verdict": "better"}, {"level": 0.3, "verdict": "better"}]
    assert conclusion._by_verdict(rows, [0.1, 0.3]) == "better at every level"
    assert conclusion._by_verdict(rows[:1], [0.1]) == "better at 10%"
    assert conclusion._by_verdict(rows[:1], [0.1, 0.3]) == "better at 10%"
    mixed = [*rows, {"level": 0.05, "verdict": "worse"}, {"level": 0.5, "verdict": "worse"}]
    assert conclusion._by_verdict(mixed, [0.05, 0.1, 0.3, 0.5]) == "worse at 5% and 50%, better at 10% and 30%"


def _row(arm, metric, level, verdict, effect=0.03, sd=0.01, reference=None) -> dict:
    row = {"arm": arm, "metric": metric, "level": level, "verdict": verdict, "detectable_effect": effect, "diff_sd": sd}
    return row if reference is None else {**row, "reference": reference}


def test_conclusion_sentence_defaults_and_what_cannot_be_estimated():
    answer = {"comparisons": [_row("multitask", "clip_score", 0.1, "worse", effect=math.inf)], "k": 4}
    assert conclusion.conclusion_sentence(answer) == (
        "Multitask vs single_task on CLIP score: worse at 10%; with K = 4 seeds it cannot estimate what it could "
        "detect."
    )
    answer = {
        "headline_metric": "clip_score",
        "robust_metric": "mean_r1",
        "reference_arm": "multitask",
        "comparisons": [
            _row("curriculum", "mean_r1", 0.3, "better", reference="multitask"),
            _row("curriculum", "mean_r1", 0.3, "worse", reference="single_task"),
            _row("curriculum", "clip_score", 0.3, "better", reference="multitask"),
            _row("shuffled_control", "mean_r1", 0.3, "worse", effect=0.05, sd=0.0, reference="multitask"),
            "not a comparison",
        ],
    }
    assert conclusion.conclusion_sentence(answer) == (
        "Curriculum vs multitask on mean R@1: better at 30% (CLIP score alike); the shuffled-pairs control is worse "
        "at every level, so the run sees alignment; with these seeds it detects mean R@1 differences of 0.030 or "
        "more (3.00 σ of the paired differences, 80% power, Holm-corrected)."
    )


def test_conclusion_falls_back_on_the_control_for_power():
    answer = {
        "robust_metric": "retrieval_auc",
        "comparisons": [_row("shuffled_control", "retrieval_auc", 0.1, "inconclusive", effect=0.04, sd=0.02)],
        "k": "3",
    }
    assert conclusion.conclusion_sentence(answer) == (
        "The shuffled-pairs control is not called worse at 10%, so there the run cannot show that training on true "
        "pairs aligns better than on shuffled ones; with these seeds it detects retrieval AUC differences of 0.040 "
        "or more (2.00 σ of the paired differences, 80% power, Holm-corrected)."
    )


def test_conclusion_names_the_declared_metrics_and_unknown_ones_by_their_own_names():
    """The headline metric is the answer's, not CLIP score; a metric without words is named as it is spelt."""
    answer = {
        "headline_metric": "mean_r1",
        "robust_metric": "retrieval_auc",
        "comparisons": [
            _row("curriculum", "retrieval_auc", 0.1, "inconclusive"),
            _row("curriculum", "mean_r1", 0.1, "better"),
            _row("curriculum", "clip_score", 0.1, "worse"),
        ],
        "k": 5,
    }
    assert conclusion.conclusion_sentence(answer) == (
        "Curriculum vs single_task on retrieval AUC: inconclusive at 10% (mean R@1: better at 10%); with K = 5 seeds "
        "it detects retrieval AUC differences of 0.030 or more (3.00 σ of the paired differences, 80% power, "
        "Holm-corrected)."
    )
    custom = {
        "headline_metric": "my_headline",
        "robust_metric": "my_alignment",
        "comparisons": [
            _row("multitask", "my_alignment", 0.3, "better"),
            _row("multitask", "my_headline", 0.3, "worse"),
        ],
    }
    assert conclusion.conclusion_sentence(custom).startswith(
        "Multitask vs single_task on my_alignment: better at 30% (my_headline: worse at 30%); with these seeds it "
        "detects my_alignment differences"
    )


def test_conclusion_lists_every_level_the_control_misses_and_skips_rows_without_spread():
    answer = {
        "robust_metric": "retrieval_auc",
        "comparisons": [
            _row("shuffled_control", "retrieval_auc", 0.3, "inconclusive", sd=0.0),
            _row("shuffled_control", "retrieval_auc", 0.1, "equivalent", sd=0.02, effect=0.04),
        ],
    }
    assert conclusion.conclusion_sentence(answer) == (
        "The shuffled-pairs control is not called worse at 10% and 30%, so there the run cannot show that training "
        "on true pairs aligns better than on shuffled ones; with these seeds it detects retrieval AUC differences of "
        "0.030–0.040 or more (2.00 σ of the paired differences, 80% power, Holm-corrected)."
    )
    no_spread = {"comparisons": [_row("curriculum", "clip_score", 0.1, "inconclusive", sd=0.0)], "k": 3}
    assert conclusion.conclusion_sentence(no_spread) == (
        "Curriculum vs single_task on CLIP score: inconclusive at 10%; with K = 3 seeds it cannot estimate what it "
        "could detect."
    )


def test_aa_default_seed_is_zero_and_repeats_itself():
    values = {0.1: np.random.default_rng(1).normal(0.0, 0.05, 12)}
    default = aa.aa_false_positive_rate(values, margin=0.01, repeats=40, shift=0.04, n_resamples=9)
    assert default == aa.aa_false_positive_rate(values, margin=0.01, repeats=40, shift=0.04, n_resamples=9, seed=0)
    assert 0 < default.false_positives < 40  # a split-dependent count: another seed gives another one
    others = {aa.aa_false_positive_rate(values, margin=0.01, repeats=40, shift=0.04, n_resamples=9, seed=s).rate
              for s in (1, 2, 3)}  # fmt: skip
    assert others - {default.rate}


def _nested_reference(sums, counts, per_seed, n_resamples, rng, chunk):
    """The nested resampling written out draw by draw, drawing from ``rng`` chunk by chunk as the function does."""
    n_seeds, max_patients = sums.shape
    means = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        drawn = rng.integers(0, n_seeds, size=(size, n_seeds))
        uniform = rng.random((size, n_seeds, max_patients))
        for r in range(size):
            total = count = 0.0
            for j, seed in enumerate(drawn[r]):
                for slot in range(per_seed[seed]):
                    patient = int(np.floor(uniform[r, j, slot] * per_seed[seed]))
                    total, count = total + sums[seed, patient], count + counts[seed, patient]
            means.append(total / count)
    return np.array(means)


def test_nested_means_against_draws_written_out_with_unequal_patients(monkeypatch):
    seeds, patients = [0, 0, 0, 0, 1, 1, 2], ["a", "a", "b", "c", "d", "e", "f"]
    values = np.array([1.0, 3.0, 2.0, 7.0, 4.0, 5.0, 11.0])
    sums, counts, per_seed = bootstrap._nested_table(seeds, patients, values)
    expected = _nested_reference(sums, counts, per_seed, 30, np.random.default_rng(3), chunk=30)
    np.testing.assert_allclose(bootstrap._nested_means(sums, counts, per_seed, 30, np.random.default_rng(3)), expected)
    monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", 1)  # less than one resample: one resample per chunk
    expected = _nested_reference(sums, counts, per_seed, 5, np.random.default_rng(4), chunk=1)
    np.testing.assert_allclose(bootstrap._nested_means(sums, counts, per_seed, 5, np.random.default_rng(4)), expected)


def test_seed_bootstrap_and_two_level_defaults_on_many_seeds():
    rng = np.random.default_rng(8)
    seeds = np.repeat(np.arange(8), 3)
    patients = np.tile(["a", "b", "c"], 8)
    values = rng.normal(0.0, 1.0, seeds.size)
    sums, counts = np.bincount(seeds, weights=values), np.bincount(seeds).astype(float)
    drawn = np.random.default_rng(0).integers(0, 8, size=(2000, 8))
    expected = np.quantile(sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1), [0.025, 0.975])
    assert bootstrap.seed_bootstrap(seeds, values) == pytest.approx(tuple(expected), rel=1e-12)
    table = bootstrap._crossed_table(seeds, patients, values)
    crossed = bootstrap._crossed_means(*table, 2000, np.random.default_rng(0))
    assert bootstrap.two_level_bootstrap(seeds, patients, values) == bootstrap._percentile_interval(crossed, 0.05)
    two = bootstrap.seed_bootstrap([0, 1], [1.0, 3.0], n_resamples=50)
    assert 1.0 <= two[0] <= two[1] <= 3.0  # two seeds are enough for an interval


def test_non_finite_differences_are_named_as_differences():
    for check in (paired.untestable_reason, paired.sample_sd, lambda d: tost_p(d, 0.05)):
        with pytest.raises(ValueError) as error:
            check([0.1, math.nan, 0.2])
        assert str(error.value) == ("differences: 1 non-finite value(s); drop failed runs before computing statistics")


def test_tost_near_the_lower_margin_is_decided_by_the_lower_one_sided_test():
    values = [-0.04, -0.05, -0.045]
    lower = stats.ttest_1samp(values, -0.05, alternative="greater").pvalue
    upper = stats.ttest_1samp(values, 0.05, alternative="less").pvalue
    assert lower > upper and tost_p(values, 0.05) == pytest.approx(lower)
