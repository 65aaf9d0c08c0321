"""The protocol's guarantees without Ray: the search phase cannot read test, confirm seeds pair the arms,
a dataset without validate gets one carved per patient, and winners are chosen on validation alone."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import tiny_trial

from curriclip.config import ExperimentConfig, TrialConfig
from curriclip.data import heldout
from curriclip.data.heldout import PhaseError, held_out_split, load_phase_splits
from curriclip.names import Arm, Phase, Split
from curriclip.protocol.select import Winner, _confirm_config, confirm_plan, select_winners
from curriclip.trainables.data import load_trial_data
from curriclip.trainables.parallel import DataParallel
from curriclip.trainables.trial import build_trial


def test_the_search_phase_cannot_ask_for_test():
    with pytest.raises(PhaseError, match="never reads the test split"):
        held_out_split(Phase.SEARCH, Split.TEST)
    assert held_out_split(Phase.SEARCH) == Split.VALIDATE and held_out_split(Phase.CONFIRM) == Split.TEST


@pytest.fixture
def split_spy(monkeypatch):
    """The splits a trial's data loading asked the loader for."""
    asked: list[str] = []
    real = heldout.load_split_for

    def spy(dataset_dir, split, image_size, needs):
        asked.append(str(split))
        return real(dataset_dir, split, image_size, needs)

    monkeypatch.setattr(heldout, "load_split_for", spy)
    return asked


def test_a_search_trial_never_loads_test_rows(tiny_dataset, split_spy):
    cfg = TrialConfig.model_validate(tiny_trial(tiny_dataset))
    assert cfg.phase == Phase.SEARCH
    data = load_trial_data(cfg, 64, lambda texts: torch.zeros(len(texts), 4, dtype=torch.long))
    assert "test" not in split_spy and set(split_spy) == {"train", "validate"}
    test_ids = set(load_phase_splits(str(tiny_dataset), Phase.CONFIRM, 64, ["text"], 0.15)[1].sample_ids)
    assert not set(data.held_out.sample_ids) & test_ids  # the held-out rows are validate rows
    confirm = TrialConfig.model_validate(tiny_trial(tiny_dataset, phase="confirm"))
    data = load_trial_data(confirm, 64, lambda texts: torch.zeros(len(texts), 4, dtype=torch.long))
    assert set(data.held_out.sample_ids) == test_ids and split_spy[-1] == "test"


def test_a_dataset_without_validate_gets_one_carved_per_patient(tiny_dataset, monkeypatch):
    real = heldout.load_split_for

    def no_validate(dataset_dir, split, image_size, needs):
        arrays = real(dataset_dir, split, image_size, needs)
        return arrays.take(np.zeros(0, dtype=np.int64)) if split == Split.VALIDATE else arrays

    monkeypatch.setattr(heldout, "load_split_for", no_validate)
    train, validate = load_phase_splits(str(tiny_dataset), Phase.SEARCH, 64, ["text"], 0.2)
    again_train, _ = load_phase_splits(str(tiny_dataset), Phase.CONFIRM, 64, ["text"], 0.2)
    full = real(str(tiny_dataset), Split.TRAIN, 64, ["text"])
    assert not set(train.subject_ids) & set(validate.subject_ids)  # whole patients
    assert len(train) + len(validate) == len(full)
    assert 0.1 * len(full) <= len(validate) <= 0.3 * len(full)
    assert list(again_train.sample_ids) == list(train.sample_ids)  # both phases train on the same rows


def _built(cfg: dict):
    trial = build_trial(TrialConfig.model_validate(cfg), DataParallel())
    batch = trial.curriculum.batch(0, trial.rng)
    return trial, batch


def test_confirm_seed_k_gives_every_arm_the_same_init_order_and_subset(tiny_dataset):
    curriculum = tiny_trial(tiny_dataset, sparsity=0.5, subset_seed=0)
    single = tiny_trial(tiny_dataset, arm="single_task", tasks=["itc"], pacing="none", pacing_params={}, sparsity=0.5)
    multi = tiny_trial(
        tiny_dataset, arm="multitask", tasks=["itc", "rotation", "findings"], pacing="none", pacing_params={}
    )
    multi.update(stage_span=0.0, sparsity=0.5)
    seed = 10_003
    configs = {
        "single_task": _confirm_config(single, Arm.SINGLE_TASK, seed),
        "multitask": _confirm_config(multi, Arm.MULTITASK, seed),
        "curriculum": _confirm_config(curriculum, Arm.CURRICULUM, seed),
        "curriculum_random": _confirm_config(curriculum, Arm.CURRICULUM_RANDOM, seed),
        "shuffled_control": _confirm_config(single, Arm.SHUFFLED_CONTROL, seed),
    }
    assert all(c["subset_seed"] == seed and c["phase"] == "confirm" for c in configs.values())
    built = {arm: _built(cfg) for arm, cfg in configs.items()}
    towers = {arm: trial.model.clip.state_dict() for arm, (trial, _) in built.items()}
    for arm, state in towers.items():  # the same initial image and text towers
        assert all(torch.equal(state[k], towers["single_task"][k]) for k in state), arm
    subsets = {arm: sorted(map(str, trial.data.train.sample_ids)) for arm, (trial, _) in built.items()}
    assert all(subset == subsets["single_task"] for subset in subsets.values())  # the same sparsity-subset draw
    assert np.array_equal(built["single_task"][1], built["multitask"][1])  # the same batch order without pacing
    other = _built(_confirm_config(single, Arm.SINGLE_TASK, seed + 1))
    assert sorted(map(str, other[0].data.train.sample_ids)) != subsets["single_task"]  # seed k+1 draws anew
    assert not torch.equal(
        other[0].model.clip.state_dict()[next(iter(towers["single_task"]))], next(iter(towers["single_task"].values()))
    )


def _trials_table() -> pd.DataFrame:
    def row(tid, arm, level, status, score, lr):
        cfg = {"arm": arm, "lr": lr, "sparsity": level}
        return {
            "trial_id": tid,
            "phase": "search",
            "status": status,
            "arm": arm,
            "sparsity": level,
            "final/retrieval_auc": score,
            "config_json": json.dumps(cfg),
        }

    return pd.DataFrame(
        [
            row("a", "single_task", 0.1, "completed", 0.5, 1e-3),
            row("b", "single_task", 0.1, "completed", 0.7, 2e-3),
            row("c", "single_task", 0.1, "pruned", 0.9, 3e-3),  # pruned: its last score is not a final one
            row("d", "curriculum", 0.1, "completed", 0.7, 1e-3),
            row("e", "curriculum", 0.1, "completed", 0.7, 2e-3),  # a tie: the earlier trial id wins
            {**row("f", "single_task", 0.1, "completed", 5.0, 1e-3), "phase": "confirm"},  # never selects
        ]
    )


def test_winners_are_chosen_on_validation_from_completed_search_trials():
    experiment = ExperimentConfig.model_validate({"space": {"sparsity": [0.1]}})
    winners = select_winners(_trials_table(), experiment)
    assert {key: w.trial_id for key, w in winners.items()} == {("single_task", 0.1): "b", ("curriculum", 0.1): "d"}
    assert winners[("single_task", 0.1)].search_score == 0.7


def test_the_confirm_plan_names_a_missing_winner():
    experiment = ExperimentConfig.model_validate({"space": {"sparsity": [0.1]}})
    single = {"arm": "single_task", "dataset_dir": "/d", "tasks": ["itc"], "pacing": "none", "sparsity": 0.1}
    winners = {("single_task", 0.1): Winner(Arm.SINGLE_TASK, 0.1, "b", 0.7, single)}
    runs, notes = confirm_plan(experiment, winners, seeds=3)
    assert sorted({(r.arm, r.seed_index) for r in runs}) == sorted(
        (arm, k) for arm in ("single_task", "shuffled_control") for k in range(3)
    )
    assert notes == [
        "multitask at 0.1: no completed multitask search trial to confirm",
        "curriculum at 0.1: no completed curriculum search trial to confirm",
        "curriculum_random at 0.1: no completed curriculum search trial to confirm",
    ]


def _confirm(effects: dict[str, tuple[float, float]], robust: dict[str, float], k: int = 8) -> pd.DataFrame:
    """A hand-made confirm table at one level: arm -> (mean shift of CLIP score, its spread over seeds)."""
    rng = np.random.default_rng(0)
    base = 1.0 + rng.normal(0, 0.05, k)  # seed effects shared by every arm (what pairing removes)
    rows = []
    for arm, (shift, spread) in effects.items():
        noise = rng.normal(0, spread, k) if spread else np.zeros(k)
        for i in range(k):
            rows.append(
                {
                    "level": 0.1,
                    "arm": arm,
                    "seed": 10_000 + i,
                    "seed_index": i,
                    "trial_id": f"{arm}{i}",
                    "source_trial_id": f"w-{arm}",
                    "status": "completed",
                    "search_score": 1.5,
                    "clip_score": base[i] + shift + noise[i],
                    "clip_score_gap": 0.2 + robust.get(arm, 0.0) + 0.001 * noise[i] + 0.0001 * i,
                    "retrieval_auc": 0.8 + robust.get(arm, 0.0) + 0.001 * noise[i] + 0.0001 * i,
                    "mean_r1": 0.1,
                    "init_clip_score": 0.01,
                    "init_clip_score_gap": 0.0,
                    "init_retrieval_auc": 0.5,
                    "init_mean_r1": 0.0,
                }
            )
    return pd.DataFrame(rows)


def test_the_answer_gives_each_of_the_four_verdicts_and_flags_geometry():
    from curriclip.protocol.answer import build_answer

    # selected on CLIP score, so the winner's curse below is on CLIP score; the robust metric is retrieval AUC
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "search": {"metric": "clip_score"}, "protocol": {"confirm_seeds": 8}}
    )
    confirm = _confirm(
        {
            "single_task": (0.0, 0.0),
            "multitask": (0.002, 0.004),  # well inside the 0.05 margin: equivalent
            "curriculum": (0.20, 0.02),  # better on CLIP score ...
            "curriculum_random": (0.10, 0.40),  # noisy: inconclusive
            "shuffled_control": (-0.5, 0.02),  # worse
        },
        robust={"curriculum": 0.0},  # ... while the retrieval AUC does not move: geometry, not alignment
    )
    answer = build_answer(experiment, confirm, pd.DataFrame())
    verdicts = {(c["arm"], c["reference"]): c["verdict"] for c in answer["comparisons"] if c["metric"] == "clip_score"}
    assert verdicts == {
        ("multitask", "single_task"): "equivalent",
        ("curriculum", "single_task"): "better",
        ("curriculum_random", "single_task"): "inconclusive",
        ("curriculum", "curriculum_random"): "inconclusive",
        ("curriculum", "multitask"): "better",  # staging and pacing, beyond the auxiliary tasks
        ("shuffled_control", "single_task"): "worse",
    }
    better = next(c for c in answer["comparisons"] if c["arm"] == "curriculum" and c["metric"] == "clip_score")
    assert better["corrected_ci"][0] > 0 and better["corrected_confidence"] > 0.95  # Holm over 5 comparisons
    assert better["diff_mean"] == pytest.approx(
        (
            confirm[confirm.arm == "curriculum"].clip_score.to_numpy()
            - confirm[confirm.arm == "single_task"].clip_score.to_numpy()
        ).mean()
    )
    noisy = next(c for c in answer["comparisons"] if c["arm"] == "curriculum_random" and c["metric"] == "clip_score")
    assert "inconclusive" in noisy["sentence"] and noisy["detectable_effect"] > abs(noisy["diff_mean"])
    assert [(d["arm"], d["reference"]) for d in answer["disagreements"]] == [
        ("curriculum", "single_task"),
        ("curriculum", "multitask"),
    ]
    assert "geometry, not alignment" in answer["disagreements"][0]["sentence"]
    assert answer["looks"]["planned"] == [8] and answer["looks"]["done"][0]["seeds"] == 8
    assert answer["looks"]["done"][0]["nominal_level"] == pytest.approx(0.05)  # one look: the fixed design
    assert answer["looks"]["next_look"] is None
    assert "conditional on this test set" in answer["claim"]
    winners = {w["arm"]: w for w in answer["winners"]}
    assert winners["curriculum"]["gap"] == pytest.approx(1.5 - confirm[confirm.arm == "curriculum"].clip_score.mean())
    assert "seed noise" not in json.dumps(answer)
    # a search that selects on the gap has its winner's curse on the gap, not on CLIP score
    on_gap = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "search": {"metric": "clip_score_gap"}, "protocol": {"confirm_seeds": 8}}
    )
    gap_winners = {w["arm"]: w for w in build_answer(on_gap, confirm, pd.DataFrame())["winners"]}
    gap_mean = confirm[confirm.arm == "curriculum"].clip_score_gap.mean()
    assert gap_winners["curriculum"]["metric"] == "clip_score_gap"
    assert gap_winners["curriculum"]["confirm_mean"] == pytest.approx(gap_mean)
    untrained = next(r for r in answer["arm_summary"] if r["arm"] == "untrained" and r["metric"] == "clip_score")
    assert untrained["n"] == 8  # one untrained model per seed, shared by the five arms: not 5 x 8 values


def test_confirm_refuses_a_search_that_has_not_finished(tmp_path):
    from curriclip.errors import CurriclipError
    from curriclip.protocol.confirm import _check_search_finished
    from curriclip.rundir.storage import RunLocation

    trials = _trials_table()  # 5 search trials, all ended
    _check_search_finished(RunLocation(str(tmp_path)), trials, total=5)
    with pytest.raises(CurriclipError, match="finished 5 of 7 trials; finish it first"):
        _check_search_finished(RunLocation(str(tmp_path)), trials, total=7)


def test_no_curriculum_is_searched_when_no_arm_confirms_one():
    """``arms: [single_task, multitask]`` spends the search on the baselines only, at their usual budget
    (curriculum_random needs the curriculum arm, so the curriculum arm alone decides)."""
    from curriclip.spaces import configs_per_level, curriculum_trials

    both = ExperimentConfig.model_validate({"space": {"sparsity": [0.1, 0.3]}, "search": {"num_trials": 8}})
    baselines_only = ExperimentConfig.model_validate(
        {
            "space": {"sparsity": [0.1, 0.3]},
            "search": {"num_trials": 8},
            "protocol": {"arms": ["single_task", "multitask"]},
        }
    )
    assert curriculum_trials(both) == 8
    assert curriculum_trials(baselines_only) == 0
    assert configs_per_level(baselines_only) == configs_per_level(both) == 4


def _looked_confirm() -> pd.DataFrame:
    """Six seeds: curriculum far above single_task from the first seed on, multitask alike it."""
    return _confirm(
        {
            "single_task": (0.0, 0.0),
            "multitask": (0.0, 0.05),
            "curriculum": (2.0, 0.01),
            "curriculum_random": (2.0, 0.01),
            "shuffled_control": (-2.0, 0.01),
        },
        robust={"curriculum": 1.0, "curriculum_random": 1.0},
        k=6,
    )


def test_each_planned_look_tests_only_what_is_undecided_and_is_recorded():
    from curriclip.protocol.answer import build_answer

    experiment = ExperimentConfig.model_validate({"space": {"sparsity": [0.1]}, "protocol": {"looks": [3, 6]}})
    assert experiment.protocol.confirm_seeds == 3  # the first look
    answer = build_answer(experiment, _looked_confirm(), pd.DataFrame())
    looks = answer["looks"]
    assert [look["seeds"] for look in looks["done"]] == [3, 6] and looks["next_look"] is None
    assert looks["done"][0]["nominal_level"] < looks["done"][1]["nominal_level"] < 0.05
    assert looks["alpha_spent"][-1] == pytest.approx(0.05)
    verdicts = {(c["arm"], c["reference"], c["metric"]): c for c in answer["comparisons"]}
    decided = verdicts[("curriculum", "single_task", "clip_score")]
    assert decided["verdict"] == "better" and decided["look"] == 1 and decided["n"] == 3  # no more seeds for it
    open_one = verdicts[("multitask", "single_task", "clip_score")]
    assert open_one["look"] == 2 and open_one["n"] == 6  # undecided at 3 seeds: tested again at 6
    second = {(r["arm"], r["reference"], r["metric"]) for r in looks["done"][1]["comparisons"]}
    assert ("multitask", "single_task", "clip_score") in second
    assert ("curriculum", "single_task", "clip_score") not in second
    rows = looks["done"][0]["comparisons"]
    assert all({"statistic", "p", "level_tested", "decision", "n"} <= set(r) for r in rows)


def _two_arms(curriculum: list[float]) -> pd.DataFrame:
    rows = []
    for arm, values in (("single_task", [1.0] * len(curriculum)), ("curriculum", curriculum)):
        for i, value in enumerate(values):
            rows.append(
                {
                    "level": 0.1, "arm": arm, "seed": 10_000 + i, "seed_index": i, "status": "completed",
                    "clip_score": value, "clip_score_gap": value, "retrieval_auc": value - 0.4, "mean_r1": 0.1,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def test_a_later_look_adds_seeds_only_where_a_comparison_is_undecided():
    from curriclip.protocol.looks import analyse_looks

    arms = ["single_task", "curriculum"]
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "protocol": {"looks": [3, 6], "arms": arms}}
    )
    confirm = _two_arms([1.05, 1.01, 1.09, 1.06, 1.04, 1.07])
    first = analyse_looks(experiment, confirm[confirm.seed_index < 3], [0.1], arms)
    assert first.reached == 1 and first.next_look == 6
    assert len(first.undecided()) == 2 and first.needs() == {("single_task", 0.1), ("curriculum", 0.1)}
    both = analyse_looks(experiment, confirm, [0.1], arms)
    assert both.reached == 2 and not both.undecided() and both.needs() == set() and both.next_look is None
    assert both.final("main", "clip_score", (0.1, "curriculum", "single_task")).result.verdict == "better"


def test_confirm_takes_only_planned_looks():
    from curriclip.errors import CurriclipError
    from curriclip.protocol.confirm import _check_look

    experiment = ExperimentConfig.model_validate({"protocol": {"looks": [5, 10, 20]}})
    _check_look(experiment, 10)
    with pytest.raises(CurriclipError, match=r"--seeds 8: not a planned look \(protocol.looks: \[5, 10, 20\]\)"):
        _check_look(experiment, 8)


def test_confirm_refuses_winners_scored_on_test():
    from curriclip.errors import CurriclipError
    from curriclip.protocol.select import check_selected_on_validate

    trials = _trials_table().assign(split_evaluated="validate")
    check_selected_on_validate(trials)
    old = trials.assign(split_evaluated=np.where(trials.trial_id == "a", "test", "validate"))
    with pytest.raises(CurriclipError, match=r"1 search trial\(s\) of this run were evaluated on test"):
        check_selected_on_validate(old)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"protocol": {"confirm_seeds": 1}}, "protocol.confirm_seeds: 1 seed gives no paired comparison"),
        ({"data": {"seed": 10_002}}, "experiment: data.seed: 10002 is also a confirm seed"),
        ({"data": {"seed": 10_012}, "protocol": {"looks": [5, 10, 20]}}, "data.seed: 10012 is also a confirm seed"),
        ({"protocol": {"looks": [5, 5]}}, "protocol.looks: [5, 5] must be increasing"),
        ({"protocol": {"looks": [5, 10], "confirm_seeds": 4}}, "the first look 5 must equal confirm_seeds 4"),
    ],
)
def test_protocol_seeds_are_checked_before_the_run(raw, message):
    from curriclip.config import parse_experiment
    from curriclip.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_experiment(raw)
    parse_experiment({"data": {"seed": 10_012}})  # beyond the one planned look: not a confirm seed


def _stored_run(tmp_path, trials: pd.DataFrame | None = None):
    import yaml

    run = tmp_path / "run"
    run.mkdir()
    experiment = ExperimentConfig.model_validate({"protocol": {"looks": [5, 10]}})
    (run / "experiment.yaml").write_text(yaml.safe_dump(experiment.model_dump(mode="json")))
    (run / "run.json").write_text(json.dumps({"dataset_dir": str(tmp_path / "data"), "total_trials": 5}))
    if trials is not None:
        trials.to_parquet(run / "trials.parquet")
    return run


@pytest.mark.parametrize(
    ("seeds", "split", "expected"),
    [
        ("7", "validate", "--seeds 7: not a planned look (protocol.looks: [5, 10])"),
        ("5", "test", "5 search trial(s) of this run were evaluated on test (split_evaluated = test)"),
    ],
)
def test_confirm_refusals_are_one_line_and_exit_2(tmp_path, seeds, split, expected):
    from typer.testing import CliRunner

    from curriclip.cli import app

    run = _stored_run(tmp_path, _trials_table().assign(split_evaluated=split))
    result = CliRunner().invoke(app, ["confirm", str(run), "--seeds", seeds], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("curriclip: error: "), result.output
    assert expected in result.output


def test_a_run_without_looks_keeps_the_seeds_of_its_first_confirm():
    from curriclip.errors import CurriclipError
    from curriclip.protocol.confirm import _with_plan

    experiment = ExperimentConfig.model_validate({"protocol": {"confirm_seeds": 0}})
    assert _with_plan(experiment, 6, {}).protocol.planned_looks == [6]  # the first K given is the plan
    assert _with_plan(experiment, 6, {"confirm_seeds": 6}).protocol.planned_looks == [6]  # resuming it
    with pytest.raises(CurriclipError, match="took 6 seeds; more seeds after reading its answer would be optional"):
        _with_plan(experiment, 12, {"confirm_seeds": 6})
