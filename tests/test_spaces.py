import itertools

import optuna
import pytest

from curriclip.config import ExperimentConfig, TrialConfig
from curriclip.names import Arm
from curriclip.spaces import (
    CurriculumSpace,
    baseline_configs,
    lehmer_decode,
    lehmer_encode,
    search_baselines,
    sparsity_grid,
)


def test_lehmer_round_trip_covers_all_permutations():
    items = ["itc", "findings", "rotation", "x"]
    seen = set()
    for code in itertools.product(range(4), range(3), range(2)):
        perm = lehmer_decode(code, items)
        assert sorted(perm) == sorted(items)
        assert lehmer_encode(perm, items) == list(code)
        seen.add(tuple(perm))
    assert len(seen) == 24


def test_space_yields_valid_trial_configs_with_conditional_params():
    exp = ExperimentConfig.model_validate({"space": {"pacing": {"linear": {"a": [0.3, 0.4]}, "step": {}}}})
    space = CurriculumSpace(exp, "/data/x")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        out = space(trial)
        cfg = TrialConfig.model_validate(out["trial"])
        assert cfg.arm == "curriculum" and sorted(cfg.tasks) == ["findings", "itc", "rotation"]
        assert cfg.sparsity in exp.space.sparsity
        if cfg.pacing == "linear":
            assert 0.3 <= cfg.pacing_params["a"] <= 0.4
            assert "step_a" not in trial.params
        study.tell(trial, 0.0)


def test_fixed_tuning_runs_each_baseline_once_per_level_and_seed_at_training_lr():
    exp = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1, 0.5, 1.0]}, "search": {"seeds": [0, 1, 2]}, "protocol": {"tuning": "fixed"}}
    )
    configs = [TrialConfig.model_validate(c) for c in baseline_configs(exp, "/d", Arm.SINGLE_TASK)]
    assert {(c.sparsity, c.seed) for c in configs} == {(s, k) for s in (0.1, 0.5, 1.0) for k in (0, 1, 2)}
    assert all(c.tasks == ["itc"] and c.pacing == "none" and c.arm == "single_task" for c in configs)
    assert {c.lr for c in configs} == {exp.training.lr}
    space = CurriculumSpace(exp, "/d")
    assert all(space(optuna.create_study().ask())["trial"]["lr"] == exp.training.lr for _ in range(3))


def test_matched_tuning_gives_every_tuned_arm_the_curriculum_budget_and_the_same_lrs():
    exp = ExperimentConfig.model_validate({"space": {"sparsity": [0.1, 1.0]}, "search": {"num_trials": 6}})
    single = [TrialConfig.model_validate(c) for c in baseline_configs(exp, "/d", Arm.SINGLE_TASK)]
    multi = [TrialConfig.model_validate(c) for c in baseline_configs(exp, "/d", Arm.MULTITASK)]
    assert len(single) == len(multi) == 6  # 3 per level, as the curriculum gets 6 / 2 levels
    assert [c.lr for c in single] == [c.lr for c in multi]  # the two arms' tuning differs in nothing
    low, high = exp.space.lr
    assert all(low <= c.lr <= high for c in single) and len({c.lr for c in single}) == 6
    assert all(c.tasks == ["itc", *exp.space.tasks] and c.stage_span == 0 and c.pacing == "none" for c in multi)
    order = [(c["arm"], c["sparsity"]) for c in search_baselines(exp, "/d")]
    assert order[:4] == [("single_task", 0.1), ("multitask", 0.1), ("single_task", 1.0), ("multitask", 1.0)]


def test_sparsity_grid_gives_each_level_the_same_budget():
    exp = ExperimentConfig.model_validate({"space": {"sparsity": [0.1, 1.0, 0.3]}, "search": {"num_trials": 9}})
    points = sparsity_grid(exp)
    assert [p["sparsity"] for p in points].count(0.1) == 3
    assert {p["sparsity"] for p in points} == {0.1, 0.3, 1.0}


def test_curricula_take_the_baselines_learning_rates():
    """lr is shared by every tuned arm: the j-th curriculum at a level gets the baselines' j-th lr there, not TPE's."""
    import optuna

    from curriclip.spaces import CurriculumSpace, baseline_lrs, matched_points

    exp = ExperimentConfig.model_validate({"space": {"sparsity": [0.1, 1.0]}, "search": {"num_trials": 6}})
    points = matched_points(exp)
    by_level = {0.1: baseline_lrs(exp, 0), 1.0: baseline_lrs(exp, 1)}
    assert [p["sparsity"] for p in points] == [0.1, 1.0] * 3
    assert [p["lr"] for p in points if p["sparsity"] == 0.1] == by_level[0.1]
    assert [p["lr"] for p in points if p["sparsity"] == 1.0] == by_level[1.0]
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=0))
    for point in points:
        study.enqueue_trial(point)
    space = CurriculumSpace(exp, "/d")
    trials = [space(study.ask())["trial"] for _ in points]
    assert [t["lr"] for t in trials] == [p["lr"] for p in points]
    fixed = ExperimentConfig.model_validate({"protocol": {"tuning": "fixed"}, "search": {"num_trials": 4}})
    assert all("lr" not in p for p in matched_points(fixed))
    searched = ExperimentConfig.model_validate({"space": {"sparsity_axis": "searched"}, "search": {"num_trials": 4}})
    low, high = searched.space.lr
    assert len(matched_points(searched)) == 4 and all(low <= p["lr"] <= high for p in matched_points(searched))


def test_trial_config_contract_rejects_inconsistent_arms():
    base = {"dataset_dir": "/d", "tasks": ["itc", "findings"], "arm": "single_task"}
    with pytest.raises(ValueError, match="single_task arm trains ITC alone"):
        TrialConfig.model_validate(base)
    with pytest.raises(ValueError, match="must include 'itc'"):
        TrialConfig.model_validate({**base, "arm": "curriculum", "tasks": ["findings"]})
    cfg = TrialConfig.model_validate({**base, "arm": "curriculum", "pacing": "linear", "pacing_params": {"a": 0.3}})
    # the contract is a plain JSON round trip
    import json

    assert TrialConfig.model_validate(json.loads(json.dumps(cfg.model_dump()))) == cfg


def test_random_keys_orderings_are_the_default_and_valid():
    from curriclip.spaces import random_keys_decode

    assert random_keys_decode([0.9, 0.1, 0.5], ["itc", "findings", "rotation"]) == ["findings", "rotation", "itc"]
    exp = ExperimentConfig.model_validate({})
    assert exp.space.ordering_encoding == "random_keys"
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
    orderings = set()
    for _ in range(30):
        trial = study.ask()
        cfg = CurriculumSpace(exp, "/d")(trial)["trial"]
        assert {f"key_{t}" for t in ("itc", "findings", "rotation")} <= set(trial.params)
        orderings.add(tuple(cfg["tasks"]))
        study.tell(trial, 0.0)
    assert len(orderings) == 6  # every ordering of three tasks is reachable
