"""The fresh-seed A/A reads the protocol's whole family on independent repeats, and can fail."""

from __future__ import annotations

import pandas as pd
import pytest

from curriclip.presets import preset_experiment
from curriclip.protocol.fresh_aa import AA_ARMS, FreshAA, aa_runs, fresh_seed_aa, normal_aa_runs


def _values(repeats: int, shift: float, seed: int = 0) -> tuple[object, pd.DataFrame]:
    experiment = preset_experiment("null")  # levels 10% and 30%
    return experiment, normal_aa_runs(experiment, repeats, seed, shift)


def test_every_run_has_its_own_seed_and_an_arm_keeps_it_across_levels():
    runs = pd.DataFrame(aa_runs(3, [0.1, 0.3], 5))
    assert len(runs) == 3 * 2 * len(AA_ARMS) * 5
    per_level = runs.groupby("level")["seed"].apply(sorted)
    assert per_level[0.1] == per_level[0.3] and len(set(per_level[0.1])) == 3 * len(AA_ARMS) * 5
    assert runs["seed"].min() == 30_000


def test_same_recipe_arms_are_called_different_at_about_alpha_and_a_real_shift_always():
    experiment, runs = _values(40, shift=0.0)
    outcome = fresh_seed_aa(experiment, runs)
    assert set(outcome) == set(experiment.protocol.metrics)
    for result in outcome.values():
        assert result.repeats == 40 and result.comparisons == 40 * 2 * 5  # 5 comparisons at each of 2 levels
        assert result.ci[0] <= 0.05 and result.rate <= 0.1  # at most alpha, within sampling error
    _, shifted = _values(15, shift=0.12)  # six SDs of a run: the curriculum's comparisons must be called
    called = fresh_seed_aa(experiment, shifted)
    assert all(result.rate > 0.9 and not result.passes for result in called.values())


@pytest.mark.parametrize(("false_calls", "passes"), [(3, True), (12, False)])
def test_the_pass_rule_is_the_upper_clopper_pearson_bound(false_calls, passes):
    from scipy.stats import binomtest

    ci = binomtest(false_calls, 200).proportion_ci(method="exact")
    result = FreshAA("m", 200, false_calls, (ci.low, ci.high), false_calls, 2000, 0.05)
    assert result.passes is passes and result.rate == false_calls / 200
