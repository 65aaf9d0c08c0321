"""The protocol's bookkeeping by exact values, without Ray: the confirm tables, damaged trials, the confirm phase's
plan and counts (the Ray-running parts replaced), the direct measurement's recipes, and the answer's parts."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from curriclip.config import ExperimentConfig
from curriclip.errors import CurriclipError
from curriclip.names import Arm
from curriclip.protocol import answer as answer_module
from curriclip.protocol import confirm as confirm_module
from curriclip.protocol import select
from curriclip.protocol.select import ConfirmRun, Winner
from curriclip.protocol.tables import (
    confirm_table,
    damaged_dependencies,
    mark_damaged,
    per_pair_table,
)


def _trial_row(tid, phase, arm, level, seed, status="completed", **extra) -> dict:
    cfg = {"arm": arm, "sparsity": level, "seed": seed, **extra.pop("cfg", {})}
    return {
        "trial_id": tid,
        "phase": phase,
        "status": status,
        "arm": arm,
        "sparsity": level,
        "seed": seed,
        "config_json": json.dumps(cfg),
        **extra,
    }


def _experiment(**protocol) -> ExperimentConfig:
    return ExperimentConfig.model_validate({"space": {"sparsity": [0.1, 0.3]}, "protocol": protocol})


# --- confirm.parquet and per_pair.parquet --------------------------------------------------------


def test_the_confirm_table_row_by_row():
    trials = pd.DataFrame(
        [
            _trial_row("s1", "search", "curriculum", 0.1, 1),
            _trial_row(
                "c2", "confirm", "curriculum_random", 0.1, 10_001,
                **{"final/clip_score": 0.7, "final/i2t_r1": 0.2, "final/t2i_r1": 0.4, "final/init_clip_score": 0.1},
            ),
            _trial_row("c1", "confirm", "curriculum", 0.1, 10_000, status="errored", **{"final/clip_score": 0.6}),
            _trial_row(
                "c3", "confirm", "single_task", 0.3, 10_000,
                cfg={"sparsity_mode": "labels", "label_fraction": 0.3, "sparsity": 1.0},
            ),
            _trial_row("c4", "confirm", "multitask", 0.1, 10_002),  # no winner: no source
        ]
    )  # fmt: skip
    winners = {
        ("curriculum", 0.1): Winner(Arm.CURRICULUM, 0.1, "s1", 0.9, {}),
        ("single_task", 0.3): Winner(Arm.SINGLE_TASK, 0.3, "s9", 0.8, {}),
    }
    table = confirm_table(trials, _experiment(confirm_seed_offset=10_000), winners)
    assert list(table.columns) == [
        "level", "arm", "seed", "seed_index", "trial_id", "source_trial_id", "status", "search_score",
        "clip_score", "retrieval_auc", "clip_score_gap", "collapsed", "mean_r1",
        "init_clip_score", "init_retrieval_auc", "init_clip_score_gap", "init_collapsed", "init_mean_r1",
    ]  # fmt: skip
    assert table[["level", "arm", "seed", "seed_index", "trial_id", "status"]].values.tolist() == [
        [0.1, "curriculum", 10_000, 0, "c1", "errored"],
        [0.1, "curriculum_random", 10_001, 1, "c2", "completed"],
        [0.1, "multitask", 10_002, 2, "c4", "completed"],
        [0.3, "single_task", 10_000, 0, "c3", "completed"],
    ]
    sources = table["source_trial_id"].tolist()
    assert sources[:2] == ["s1", "s1"] and pd.isna(sources[2]) and sources[3] == "s9"
    assert table["search_score"].tolist()[:2] == [0.9, 0.9] and math.isnan(table["search_score"][2])
    assert table["search_score"][3] == 0.8
    assert table["clip_score"].tolist()[:2] == [0.6, 0.7] and table["clip_score"][2:].isna().all()
    assert table["mean_r1"][1] == pytest.approx(0.3) and table["mean_r1"].isna().sum() == 3
    assert table["init_clip_score"][1] == 0.1 and table["retrieval_auc"].isna().all()
    assert table.index.tolist() == [0, 1, 2, 3]
    assert str(table["seed"].dtype) == str(table["seed_index"].dtype) == "int64"
    float_columns = ["level", "search_score", "clip_score", "retrieval_auc", "mean_r1", "init_retrieval_auc"]
    assert all(str(table[c].dtype) == "float64" for c in float_columns)
    offset = confirm_table(trials, _experiment(confirm_seed_offset=10_001), winners)
    assert offset["seed_index"].tolist() == [-1, 0, 1, -1]


def test_the_per_pair_table_joins_each_runs_level_arm_and_seed():
    confirm = pd.DataFrame(
        {
            "trial_id": ["t1", "t2", "t3"],  # t3 has no pairs, t9's run is not in the table: neither is kept
            "level": [0.1, 0.1, 0.3],
            "arm": ["single_task", "curriculum", "curriculum"],
            "seed": [10_000, 10_000, 10_000],
            "seed_index": [0, 0, 0],
            "status": ["completed", "completed", "completed"],
        }
    )
    per_pair = pd.DataFrame(
        {"trial_id": ["t2", "t1", "t1", "t9"], "sample_id": ["b", "b", "a", "a"], "clip_score": [1.0, 2.0, 3.0, 4.0]}
    )
    table = per_pair_table(per_pair, confirm)
    assert list(table.columns) == ["level", "arm", "seed", "seed_index", "sample_id", "clip_score"]
    assert table.values.tolist() == [
        [0.1, "curriculum", 10_000, 0, "b", 1.0],
        [0.1, "single_task", 10_000, 0, "a", 3.0],
        [0.1, "single_task", 10_000, 0, "b", 2.0],
    ]
    assert table.index.tolist() == [0, 1, 2]
    empty = pd.DataFrame(columns=["trial_id", "sample_id"])
    assert per_pair_table(empty, confirm) is empty


def test_damaged_trials_and_the_verdicts_that_depend_on_them():
    trials = pd.DataFrame(
        [
            _trial_row("s1", "search", "single_task", 0.1, 1, status="damaged"),
            _trial_row("s2", "search", "curriculum", 0.3, 1, status="damaged"),
            _trial_row("c1", "confirm", "single_task", 0.1000000002, 10_000, status="damaged"),
            _trial_row("c2", "confirm", "multitask", 0.1, 10_000, status="completed"),
        ]
    )
    depends = damaged_dependencies(trials)
    assert depends == {
        ("single_task", 0.1): ["s1", "c1"],
        ("shuffled_control", 0.1): ["s1"],
        ("curriculum", 0.3): ["s2"],
        ("curriculum_random", 0.3): ["s2"],
    }
    assert damaged_dependencies(pd.DataFrame()) == {}
    assert damaged_dependencies(pd.DataFrame({"trial_id": ["a"]})) == {}
    answer = {
        "comparisons": [
            {"level": 0.1000000003, "arm": "multitask", "reference": "single_task", "sentence": "m."},
            {"level": 0.3, "arm": "multitask", "reference": "single_task", "sentence": "n."},
            {"level": 0.3, "arm": "curriculum", "reference": "curriculum_random", "sentence": "c."},
        ]
    }
    marked = mark_damaged(answer, depends)
    first, second, third = marked["comparisons"]
    assert first["damaged_trials"] == ["c1", "s1"]
    assert first["sentence"] == (
        "m. This verdict depends on damaged trial(s) c1, s1, whose records were cut short "
        "(trials.parquet's error column names each file)."
    )
    assert "damaged_trials" not in second and second["sentence"] == "n."
    assert third["damaged_trials"] == ["s2"]
    assert marked["damaged_trials"] == ["c1", "s1", "s2"]


# --- the confirm phase's bookkeeping ---------------------------------------------------------


def _confirm_trials() -> pd.DataFrame:
    return pd.DataFrame(
        [
            _trial_row("a", "confirm", "single_task", 0.1, 10_000),
            _trial_row("b", "confirm", "curriculum", 0.1000000001, 10_000),
            _trial_row("c", "confirm", "curriculum", 0.1, 10_001, status="errored"),
            _trial_row("d", "confirm", "multitask", 0.1, 10_001, status="errored"),
            _trial_row("d2", "confirm", "multitask", 0.1, 10_001),  # the errored run was re-run
            _trial_row("e", "search", "single_task", 0.1, 3),
        ]
    )


def test_finished_keys_and_the_outcome_of_a_call():
    trials = _confirm_trials()
    assert confirm_module.finished_keys(trials) == {
        ("single_task", 0.1, 10_000),
        ("curriculum", 0.1, 10_000),
        ("multitask", 0.1, 10_001),
    }
    assert confirm_module.finished_keys(trials, ("errored",)) == {
        ("curriculum", 0.1, 10_001),
        ("multitask", 0.1, 10_001),
    }
    assert confirm_module.finished_keys(pd.DataFrame()) == set()
    assert confirm_module.finished_keys(pd.DataFrame({"status": ["completed"]})) == set()

    def run(arm, seed):
        return ConfirmRun(Arm(arm), 0.1, seed - 10_000, "w", 0.5, {"seed": seed})

    plan = [run("single_task", 10_000), run("curriculum", 10_001), run("multitask", 10_001), run("curriculum", 10_002)]
    started = {("curriculum", 0.1, 10_001), ("multitask", 0.1, 10_001), ("curriculum", 0.1, 10_002)}
    outcome = confirm_module.ConfirmRuns(plan, started, ["note"], interrupted=True).outcome(trials)
    assert outcome == confirm_module.ConfirmOutcome(
        planned=4, done=2, errored=1, ran=1, notes=["note"], interrupted=True
    )
    assert confirm_module.ConfirmRuns(plan, set(), []).outcome(trials).interrupted is False


def test_the_search_must_have_ended_every_trial_before_confirming(tmp_path):
    from curriclip.rundir.storage import RunLocation

    run = RunLocation(str(tmp_path))
    trials = pd.DataFrame(
        [_trial_row(t, "search", "single_task", 0.1, 1, status=s) for t, s in
         (("a", "completed"), ("b", "pruned"), ("c", "errored"), ("d", "damaged"), ("e", "running"))]
        + [_trial_row("f", "confirm", "single_task", 0.1, 10_000)]
    )  # fmt: skip
    confirm_module._check_search_finished(run, trials, total=4)
    with pytest.raises(CurriclipError) as error:
        confirm_module._check_search_finished(run, trials, total=5)
    assert str(error.value) == (
        f"{run.uri}: the search phase has finished 4 of 5 trials; finish it first (curriclip resume {run.uri}), "
        "then confirm"
    )
    confirm_module._check_search_finished(run, pd.DataFrame(), total=0)
    with pytest.raises(CurriclipError, match="finished 0 of 1 trials"):
        confirm_module._check_search_finished(run, pd.DataFrame(), total=1)


def test_looks_and_the_seed_count_refusals():
    unplanned = _experiment(confirm_seeds=0)
    confirm_module._check_look(unplanned, 2)
    with pytest.raises(CurriclipError) as error:
        confirm_module._check_look(unplanned, 1)
    assert str(error.value) == "--seeds 1: a paired comparison needs at least 2 seeds (a verdict at least 3)"
    with pytest.raises(CurriclipError) as error:
        confirm_module._check_look(_experiment(looks=[3, 6]), 4)
    assert str(error.value) == (
        "--seeds 4: not a planned look (protocol.looks: [3, 6]); seeds are added only at looks declared before the run"
    )
    planned = _experiment(looks=[3, 6])
    assert confirm_module._with_plan(planned, 6, {"confirm_seeds": 3}) is planned
    given = confirm_module._with_plan(unplanned, 4, {"confirm_seeds": 0})
    assert given.protocol.confirm_seeds == 4 and given.protocol.looks is None and given.protocol.planned_looks == [4]
    from curriclip.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^--seeds 1: "):  # the refusal names where the seed count came from
        confirm_module._with_plan(unplanned, 1, {})
    with pytest.raises(CurriclipError) as error:
        confirm_module._with_plan(unplanned, 5, {"confirm_seeds": 4})
    assert str(error.value) == (
        "--seeds 5: this run declared no looks (protocol.confirm_seeds: 0) and its confirm phase took 4 seeds; "
        "more seeds after reading its answer would be optional stopping"
    )


def _two_arm_trials(k: int, values: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        _trial_row(f"s-{arm}", "search", arm, 0.1, 1, cfg=RECIPES[arm], **{"final/retrieval_auc": 0.5})
        for arm in values
    ]
    for arm, arm_values in values.items():
        for i in range(k):
            rows.append(
                _trial_row(
                    f"{arm}{i}", "confirm", arm, 0.1, 10_000 + i,
                    **{"final/clip_score": arm_values[i], "final/clip_score_gap": arm_values[i],
                       "final/retrieval_auc": arm_values[i]},
                )
            )  # fmt: skip
    return pd.DataFrame(rows)


#: A search configuration each arm's winner may have (what the confirm plan validates as a trial config).
RECIPES = {
    "single_task": {"dataset_dir": "/d", "tasks": ["itc"], "pacing": "none", "sparsity": 0.1},
    "multitask": {
        "dataset_dir": "/d",
        "tasks": ["itc", "rotation"],
        "pacing": "none",
        "stage_span": 0.0,
        "sparsity": 0.1,
    },
}


def _winners(arms) -> dict:
    return {(arm, 0.1): Winner(Arm(arm), 0.1, f"s-{arm}", 0.5, {**RECIPES[arm], "arm": arm}) for arm in arms}


def _look_experiment(arms=("single_task", "multitask")) -> ExperimentConfig:
    return ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "protocol": {"looks": [3, 6], "arms": list(arms)}}
    )


def test_the_first_look_plans_every_arm_and_a_later_one_only_the_undecided():
    experiment = _look_experiment()
    plan, notes = confirm_module._look_plan(experiment, pd.DataFrame(), _winners(["single_task", "multitask"]), 3)
    assert sorted((str(r.arm), r.seed_index) for r in plan) == [
        (a, k) for a in ("multitask", "single_task") for k in range(3)
    ]
    assert notes == []
    with pytest.raises(CurriclipError, match=r"--seeds 6: take the first planned look \(3 seeds\) first"):
        confirm_module._look_plan(
            experiment,
            _two_arm_trials(0, {"single_task": [], "multitask": []}),
            _winners(["single_task", "multitask"]),
            6,
        )
    # undecided at 3 seeds (noisy): the second look adds seeds to both arms
    noisy = _two_arm_trials(3, {"single_task": [1.0, 1.0, 1.0], "multitask": [1.2, 0.7, 1.1]})
    plan, notes = confirm_module._look_plan(experiment, noisy, _winners(["single_task", "multitask"]), 6)
    assert len(plan) == 12 and notes == [
        "look at 6 seeds: 2 comparison(s) undecided at 3 seeds; adding seeds to 2 arm x level pair(s)"
    ]
    # decided at 3 seeds: the later look keeps the first look's runs and adds none
    decided = _two_arm_trials(3, {"single_task": [1.0, 1.0, 1.0], "multitask": [3.0, 3.1, 3.05]})
    plan, notes = confirm_module._look_plan(experiment, decided, _winners(["single_task", "multitask"]), 6)
    assert sorted((str(r.arm), r.seed_index) for r in plan) == [
        (a, k) for a in ("multitask", "single_task") for k in range(3)
    ]
    assert notes == ["every comparison was decided at 3 seeds: no seeds to add"]
    # an arm of the protocol with no confirm runs (no winner) is not read: it leaves nothing undecided
    three_arms = _look_experiment(("single_task", "multitask", "curriculum"))
    plan, notes = confirm_module._look_plan(three_arms, decided, _winners(["single_task", "multitask"]), 6)
    assert len(plan) == 6 and notes[-1] == "every comparison was decided at 3 seeds: no seeds to add"


def test_a_started_look_is_replanned_from_the_previous_looks_seeds_only():
    """Looks at 3, 4 and 6 seeds, all 6 run: undecided at 3 seeds, decided at 4. Re-asking for the look at 4
    plans what it needed after 3 seeds (every arm), not what 4 seeds would say (nothing)."""
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "protocol": {"looks": [3, 4, 6], "arms": ["single_task", "multitask"]}}
    )
    six = _two_arm_trials(6, {"single_task": [1.0] * 6, "multitask": [1.5, 1.6, 1.4, 1.5, 1.5, 1.5]})
    plan, notes = confirm_module._look_plan(experiment, six, _winners(["single_task", "multitask"]), 4)
    assert len(plan) == 8
    assert notes == ["look at 4 seeds: 2 comparison(s) undecided at 3 seeds; adding seeds to 2 arm x level pair(s)"]


def test_a_later_look_before_the_previous_one_is_refused_and_a_started_one_keeps_its_plan():
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "protocol": {"looks": [3, 6, 9], "arms": ["single_task", "multitask"]}}
    )
    winners = _winners(["single_task", "multitask"])
    three = _two_arm_trials(3, {"single_task": [1.0, 1.0, 1.0], "multitask": [1.2, 0.7, 1.1]})
    with pytest.raises(CurriclipError) as error:
        confirm_module._look_plan(experiment, three, winners, 9)
    assert str(error.value) == "--seeds 9: take the planned look at 6 seeds first (curriclip confirm --seeds 6)"
    # the look at 6 was started (6 seeds ran) and decided everything: re-asking for it plans what it needed then
    six = _two_arm_trials(6, {"single_task": [1.0] * 6, "multitask": [1.5, 1.9, 1.1, 1.5, 1.5, 1.5]})
    plan, notes = confirm_module._look_plan(experiment, six, winners, 6)
    assert len(plan) == 12
    assert notes == ["look at 6 seeds: 2 comparison(s) undecided at 3 seeds; adding seeds to 2 arm x level pair(s)"]


class _FakeRun:
    """What ``run_confirm`` reads of a run directory, in memory."""

    def __init__(self, uri: str, trials: pd.DataFrame):
        self.uri, self.path, self.remote, self._trials = uri, uri, False, trials
        self.written: dict[str, str] = {}

    def require_writable(self, what: str) -> None:
        assert what == "the confirm phase"

    def exists(self, name: str) -> bool:
        assert name == "trials.parquet"
        return False

    def write_text(self, name: str, text: str) -> None:
        self.written[name] = text


def _patched_confirm(monkeypatch, experiment, meta, trials, *, restored=False, interrupted=False, dirs=()):
    """run_confirm with Ray, the run directory and the export replaced; what it started and wrote.

    Each replacement checks that it is handed the run, the experiment and the trainable the phase works on.
    """
    run = _FakeRun("/runs/r", trials)
    calls: dict = {"missing": None}

    def read_run(run_dir):
        assert run_dir == "/runs/r"
        return experiment, dict(meta)

    def is_experiment(value) -> bool:
        return isinstance(value, ExperimentConfig)

    def restore(at, trainable, name):
        assert at is run and trainable == "trainable" and name == dirs[-1]
        return restored

    def export(at):
        assert at is run
        return type("Export", (), {"trials": trials})

    def run_missing(at, exp, trainable, missing, slots, name):
        assert at is run and is_experiment(exp)
        calls.update(missing=missing, slots=slots, name=name, trainable=trainable)
        return interrupted

    monkeypatch.setattr(confirm_module, "read_run", read_run)
    monkeypatch.setattr(confirm_module, "RunLocation", lambda run_dir: run if run_dir == "/runs/r" else None)
    monkeypatch.setattr(confirm_module, "require_trackers", lambda tracking: calls.setdefault("tracking", tracking))
    monkeypatch.setattr(confirm_module, "init_ray", lambda address: calls.setdefault("address", address))
    monkeypatch.setattr(confirm_module, "concurrency", lambda exp: 3 if is_experiment(exp) else None)
    monkeypatch.setattr(confirm_module, "trainable_for", lambda exp: "trainable" if is_experiment(exp) else None)
    monkeypatch.setattr(confirm_module, "confirm_dirs", lambda at: list(dirs) if at is run else None)
    monkeypatch.setattr(confirm_module, "_restore_unfinished", restore)
    monkeypatch.setattr(confirm_module, "export_results", export)
    monkeypatch.setattr(confirm_module, "_run_missing", run_missing)
    return run, calls


def test_run_confirm_starts_only_the_missing_runs_and_records_the_seeds(monkeypatch, capsys):
    experiment = _look_experiment()
    trials = _two_arm_trials(2, {"single_task": [1.0, 1.0], "multitask": [1.1, 1.2]})
    meta = {"total_trials": 2, "confirm_seeds": 0}
    run, calls = _patched_confirm(monkeypatch, experiment, meta, trials, dirs=["confirm-1"])
    result = confirm_module.run_confirm("/runs/r", address="ray://x")
    assert calls["address"] == "ray://x" and calls["slots"] == 3 and calls["trainable"] == "trainable"
    assert calls["tracking"] == experiment.tracking and result.notes == [] and result.interrupted is False
    assert calls["name"] == "confirm-2"
    assert sorted(r.key for r in calls["missing"]) == [
        ("multitask", 0.1, 10_002), ("single_task", 0.1, 10_002)
    ]  # fmt: skip
    assert len(result.plan) == 6 and result.started == {r.key for r in calls["missing"]} and not result.interrupted
    assert json.loads(run.written["run.json"]) == {"total_trials": 2, "confirm_seeds": 3}
    err = capsys.readouterr().err
    assert "curriclip: confirm: 2 of 6 runs (4 already done), 3 at a time, into /runs/r/confirm-2" in err


def test_run_confirm_refusals_and_interruptions(monkeypatch, capsys):
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "protocol": {"confirm_seeds": 0, "arms": ["single_task", "multitask"]}}
    )
    trials = _two_arm_trials(3, {"single_task": [1.0] * 3, "multitask": [1.1, 1.2, 1.0]})
    _patched_confirm(monkeypatch, experiment, {"total_trials": 2}, trials)
    with pytest.raises(CurriclipError) as error:
        confirm_module.run_confirm("/runs/r")
    assert str(error.value) == (
        "/runs/r/experiment.yaml: protocol.confirm_seeds: 0: this run declared no confirm seeds; give --seeds K"
    )
    # every run done already: nothing starts, the seeds are recorded (never lowered)
    run, calls = _patched_confirm(monkeypatch, experiment, {"total_trials": 2, "confirm_seeds": 3}, trials)
    result = confirm_module.run_confirm("/runs/r")
    assert calls["missing"] is None and result.started == set() and len(result.plan) == 6
    assert result.interrupted is False
    assert json.loads(run.written["run.json"])["confirm_seeds"] == 3
    run, calls = _patched_confirm(monkeypatch, _look_experiment(), {"total_trials": 2, "confirm_seeds": 6}, trials)
    confirm_module.run_confirm("/runs/r", seeds=3)
    assert json.loads(run.written["run.json"])["confirm_seeds"] == 6
    # the second look: its plan reads the trials, and its notes are printed
    run, calls = _patched_confirm(monkeypatch, _look_experiment(), {"total_trials": 2}, trials)
    result = confirm_module.run_confirm("/runs/r", seeds=6)
    assert (
        len(result.plan) == 12
        and len(calls["missing"]) == 6
        and result.notes
        == ["look at 6 seeds: 2 comparison(s) undecided at 3 seeds; adding seeds to 2 arm x level pair(s)"]
    )
    assert json.loads(run.written["run.json"]) == {"total_trials": 2, "confirm_seeds": 6}
    assert "curriclip: confirm: look at 6 seeds: 2 comparison(s) undecided" in capsys.readouterr().err
    _patched_confirm(monkeypatch, _look_experiment(), {"total_trials": 5}, trials)
    with pytest.raises(CurriclipError, match="^/runs/r: the search phase has finished 2 of 5 trials"):
        confirm_module.run_confirm("/runs/r", seeds=3)
    # an interrupted experiment is continued first, and nothing else runs
    run, calls = _patched_confirm(
        monkeypatch, _look_experiment(), {"total_trials": 2}, trials, restored=True, dirs=["confirm-1"]
    )
    result = confirm_module.run_confirm("/runs/r", seeds=3)
    assert result == confirm_module.ConfirmRuns([], set(), [], interrupted=True) and not run.written
    # a run cut off by Ctrl-C does not record its seeds
    run, calls = _patched_confirm(
        monkeypatch, _look_experiment(), {"total_trials": 2}, trials.iloc[:4], interrupted=True
    )
    result = confirm_module.run_confirm("/runs/r", seeds=3)
    assert result.interrupted and calls["name"] == "confirm-1" and not run.written


# --- the direct measurement --------------------------------------------------------------------


def test_the_direct_measurements_fixed_recipes():
    from curriclip.protocol.direct import SELECTION_PACING, fixed_recipes

    recipes = fixed_recipes(["rotation", "findings"])
    assert recipes == {
        "single_task": {"tasks": ["itc"], "pacing": "none"},
        "shuffled_control": {"tasks": ["itc"], "pacing": "none"},
        "multitask": {"tasks": ["itc", "rotation", "findings"], "pacing": "none", "stage_span": 0.0},
        "curriculum": {"tasks": ["itc", "rotation", "findings"], "stage_span": 0.0, **SELECTION_PACING},
        "curriculum_random": {
            "tasks": ["itc", "rotation", "findings"], "stage_span": 0.0, **SELECTION_PACING, "control": "random"
        },
    }  # fmt: skip
    assert SELECTION_PACING == {"pacing": "step", "pacing_params": {"a": 1.0, "b": 0.7}}
    linear = {"pacing": "linear", "pacing_params": {"a": 0.5, "b": 0.2}}
    assert fixed_recipes([], linear)["curriculum"] == {"tasks": ["itc"], "stage_span": 0.0, **linear}


def test_direct_runs_build_each_runs_fields_and_collect_its_metrics(monkeypatch, capsys):
    import concurrent.futures

    import curriclip.data.sources
    import curriclip.spaces.space
    from curriclip.protocol import direct

    seen, workers = [], []

    class InProcess:
        def __init__(self, max_workers, mp_context):
            assert mp_context.get_start_method() == "spawn"
            workers.append(max_workers)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def submit(self, fn, fields, metrics):
            future = concurrent.futures.Future()
            seen.append((fn, fields, metrics))
            future.set_result({m: fields["seed"] + (0.5 if fields["arm"] == "curriculum" else 0.0) for m in metrics})
            return future

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", InProcess)
    experiment = ExperimentConfig.model_validate({"space": {"sparsity": [0.1], "sparsity_mode": "labels"}})

    def resolve(source, **options):
        assert source == experiment.data.source and options == experiment.data.source_options()
        return "/data/set"

    def base_trial_fields(exp, dataset_dir):
        assert exp is experiment
        return {"dataset_dir": dataset_dir, "lr": 1e-3}

    monkeypatch.setattr(curriclip.data.sources, "resolve", resolve)
    monkeypatch.setattr(curriclip.spaces.space, "base_trial_fields", base_trial_fields)
    linear = {"pacing": "linear", "pacing_params": {"a": 0.5, "b": 0.2}}
    table = direct.direct_runs(
        experiment,
        [(0.1, "single_task", 20_000), (0.1, "curriculum", 20_001)],
        ["clip_score"],
        jobs=2,
        label="x",
        curriculum_pacing=linear,
    )
    assert table.to_dict("records") == [
        {"level": 0.1, "arm": "single_task", "seed": 20_000, "clip_score": 20_000.0},
        {"level": 0.1, "arm": "curriculum", "seed": 20_001, "clip_score": 20_001.5},
    ]
    assert [fn for fn, _, _ in seen] == [direct._run, direct._run]
    fields = seen[1][1]
    assert fields["dataset_dir"] == "/data/set" and fields["device"] == "cpu" and fields["threads"] == 1
    assert fields["phase"] == "confirm" and fields["seed"] == 20_001 and fields["arm"] == "curriculum"
    assert fields["label_fraction"] == 0.1 and fields["sparsity"] == 1.0 and fields["sparsity_mode"] == "labels"
    assert fields["pacing"] == "linear" and fields["lr"] == 1e-3
    assert seen[0][1]["tasks"] == ["itc"]
    assert capsys.readouterr().err == "x: 1/2 runs\nx: 2/2 runs\n"
    direct.direct_runs(experiment, [(0.1, "curriculum", 20_000)], ["clip_score"])
    assert workers == [2, 1] and seen[-1][1]["pacing"] == "step"  # one job and the selection pacing by default
    assert capsys.readouterr().err == "direct: 1/1 runs\n"


def test_one_direct_run_returns_the_asked_metrics(monkeypatch):
    import sys
    import types

    from curriclip.protocol import direct

    def run_trial(config, report):
        assert config == {"arm": "single_task"} and report({}, None) is None
        return {"clip_score": 0.4, "retrieval_auc": 0.7, "other": 1.0}

    monkeypatch.setitem(sys.modules, "curriclip.trainables", types.SimpleNamespace(run_trial=run_trial))
    monkeypatch.setattr("curriclip.config.TrialConfig", lambda **fields: fields)
    assert direct._run({"arm": "single_task"}, ["retrieval_auc", "clip_score"]) == {
        "retrieval_auc": 0.7,
        "clip_score": 0.4,
    }


# --- the answer's parts ------------------------------------------------------------------------


def test_pair_differences_at_a_level_on_the_seeds_given():
    pairs = pd.DataFrame(
        {
            "level": [0.1, 0.1, 0.1, 0.1, 0.3, 0.1, 0.1],
            "arm": [
                "curriculum",
                "single_task",
                "curriculum",
                "single_task",
                "curriculum",
                "curriculum",
                "single_task",
            ],
            "seed": [1, 1, 1, 1, 1, 2, 2],
            "sample_id": ["a", "a", "b", "b", "a", "a", "a"],
            "subject_id": ["p", "p", "q", "q", "p", "p", "p"],
            "r1": [1.0, 0.5, 0.0, 0.25, 9.0, 0.75, 0.5],
            "clip_score": [np.nan] * 7,
        }
    )
    diffs = answer_module._pair_diffs(pairs, 0.1, "curriculum", "single_task", "mean_r1", seeds=[1])
    assert diffs.values.tolist() == [[1, "a", "p", 0.5], [1, "b", "q", -0.25]]
    assert list(diffs.columns) == ["seed", "sample_id", "subject_id", "diff"]
    both = answer_module._pair_diffs(pairs, 0.1 + 1e-12, "curriculum", "single_task", "mean_r1", seeds=[1, 2])
    assert both["diff"].tolist() == [0.5, -0.25, 0.25]
    assert answer_module._pair_diffs(pairs, 0.1, "curriculum", "single_task", "clip_score", seeds=[1]).empty


def test_arm_summary_intervals_and_the_untrained_model_once_per_seed():
    assert all(math.isnan(v) for v in answer_module._interval(np.array([1.0]), 0.05))
    values = np.array([1.0, 2.0, 4.0])
    from scipy import stats

    expected = stats.t.interval(0.9, 2, loc=values.mean(), scale=stats.sem(values))
    assert answer_module._interval(values, 0.1) == pytest.approx(list(expected))
    row = answer_module._summary_row(0.1, "multitask", "clip_score", values, 0.1)
    assert row == {"level": 0.1, "arm": "multitask", "metric": "clip_score", "n": 3, "mean": pytest.approx(7 / 3),
                   "ci": pytest.approx(list(expected))}  # fmt: skip
    empty = answer_module._summary_row(0.1, "multitask", "clip_score", np.array([]), 0.1)
    assert empty["n"] == 0 and math.isnan(empty["mean"]) and all(math.isnan(v) for v in empty["ci"])
    confirm = pd.DataFrame(
        {
            "level": [0.1, 0.1, 0.1, 0.1, 0.1, 0.3],
            "arm": ["single_task", "single_task", "multitask", "multitask", "single_task", "single_task"],
            "seed": [1, 2, 1, 2, 3, 1],
            "status": ["completed", "completed", "completed", "completed", "errored", "completed"],
            "clip_score": [1.0, 2.0, 3.0, np.nan, 9.0, 5.0],
            "init_clip_score": [0.1, 0.2, 0.3, 0.4, 0.9, 0.5],
        }
    )
    rows = answer_module._arm_summary(confirm, [0.1], ["single_task", "multitask"], ["clip_score"], 0.05)
    assert [(r["arm"], r["n"], r["mean"]) for r in rows] == [
        ("single_task", 2, 1.5), ("multitask", 1, 3.0), ("untrained", 2, pytest.approx(0.25))
    ]  # fmt: skip


def test_collapse_counts_and_the_winners_curse():
    confirm = pd.DataFrame(
        {
            "level": [0.1, 0.1, 0.1, 0.1, 0.3],
            "arm": ["curriculum", "curriculum", "curriculum", "shuffled_control", "curriculum"],
            "status": ["completed", "completed", "errored", "completed", "completed"],
            "collapsed": [1.0, 0.0, 1.0, np.nan, 2.0],
            "search_score": [0.9, 0.9, 0.9, 0.4, 0.8],
            "source_trial_id": ["w1", "w1", "w1", "w0", "w2"],
            "clip_score": [0.5, 0.7, 0.1, 0.2, 0.6],
        }
    )
    assert answer_module._collapse(confirm, [0.1], ["curriculum", "shuffled_control"]) == [
        {"level": 0.1, "arm": "curriculum", "runs": 2, "collapsed": 1},
        {"level": 0.1, "arm": "shuffled_control", "runs": 0, "collapsed": 0},
    ]
    no_flag = answer_module._collapse(confirm.drop(columns="collapsed"), [0.3], ["curriculum"])
    assert no_flag == [{"level": 0.3, "arm": "curriculum", "runs": 0, "collapsed": 0}]
    winners = answer_module._winners(confirm, "clip_score")
    assert winners == [
        {"level": 0.1, "arm": "curriculum", "trial_id": "w1", "metric": "clip_score", "search_score": 0.9,
         "confirm_mean": pytest.approx(0.6), "gap": pytest.approx(0.3)},
        {"level": 0.3, "arm": "curriculum", "trial_id": "w2", "metric": "clip_score", "search_score": 0.8,
         "confirm_mean": 0.6, "gap": pytest.approx(0.2)},
    ]  # fmt: skip
    missing = answer_module._winners(confirm, "retrieval_auc")[0]
    assert math.isnan(missing["confirm_mean"]) and math.isnan(missing["gap"])


def _comparison(level, arm, reference, metric, verdict, diff_mean, n=5) -> dict:
    return {"level": level, "arm": arm, "reference": reference, "metric": metric, "verdict": verdict,
            "diff_mean": diff_mean, "n": n}  # fmt: skip


def test_disagreements_between_clip_score_and_alignment_in_words():
    comparisons = [
        _comparison(0.1, "curriculum", "single_task", "clip_score", "better", 0.2),
        _comparison(0.1, "curriculum", "single_task", "retrieval_auc", "inconclusive", 0.0),
        _comparison(0.1, "multitask", "single_task", "clip_score", "inconclusive", 0.0),
        _comparison(0.1, "multitask", "single_task", "retrieval_auc", "better", 0.05),
        _comparison(0.3, "curriculum", "single_task", "clip_score", "inconclusive", 0.08),
        _comparison(0.3, "curriculum", "single_task", "retrieval_auc", "inconclusive", -0.01),
        _comparison(0.3, "curriculum", "curriculum_random", "clip_score", "inconclusive", 0.08),
        _comparison(0.3, "curriculum", "curriculum_random", "retrieval_auc", "inconclusive", 0.0),  # did not rise
        _comparison(0.3, "multitask", "single_task", "clip_score", "inconclusive", 0.05),  # not above the margin
        _comparison(0.3, "multitask", "single_task", "retrieval_auc", "inconclusive", -0.01),
        _comparison(0.3, "curriculum_random", "single_task", "clip_score", "inconclusive", 0.08),
        _comparison(0.3, "curriculum_random", "single_task", "retrieval_auc", "inconclusive", 0.01),  # it rose
        _comparison(0.3, "curriculum", "multitask", "clip_score", "better", 0.3),
        _comparison(0.3, "curriculum", "multitask", "retrieval_auc", "better", 0.03),  # both better: agree
        _comparison(0.3, "multitask", "curriculum", "clip_score", "better", 0.3),  # no robust row
    ]
    summary = [
        {"level": 0.1, "arm": "shuffled_control", "metric": "clip_score", "mean": 0.6},
        {"level": 0.1, "arm": "single_task", "metric": "clip_score", "mean": 0.6},
        {"level": 0.3, "arm": "shuffled_control", "metric": "clip_score", "mean": 0.5},
        {"level": 0.3, "arm": "single_task", "metric": "clip_score", "mean": 0.6},
    ]
    collapse = [
        {"level": 0.1, "arm": "curriculum", "runs": 5, "collapsed": 2},
        {"level": 0.3, "arm": "curriculum", "runs": 5, "collapsed": 0},
    ]
    out = answer_module._disagreements(comparisons, summary, "retrieval_auc", collapse, 0.05)
    assert out == [
        {"level": 0.1, "arm": "curriculum", "reference": "single_task",
         "sentence": "curriculum vs single_task: CLIP score rose but the retrieval AUC did not (inconclusive): "
                     "geometry, not alignment"},
        {"level": 0.1, "arm": "multitask", "reference": "single_task",
         "sentence": "multitask vs single_task: the retrieval AUC rose but CLIP score did not (inconclusive)"},
        {"level": 0.3, "arm": "curriculum", "reference": "single_task",
         "sentence": "curriculum vs single_task: CLIP score rose (+0.080, inconclusive) while the retrieval AUC did "
                     "not (-0.010, inconclusive): geometry, not alignment"},
        {"level": 0.3, "arm": "curriculum", "reference": "curriculum_random",
         "sentence": "curriculum vs curriculum_random: CLIP score rose (+0.080, inconclusive) while the retrieval AUC "
                     "did not (+0.000, inconclusive): geometry, not alignment"},
        {"level": 0.1, "arm": "shuffled_control", "reference": "single_task",
         "sentence": "at 10% the shuffled-pairs control scores 0.600 CLIP score against single_task's 0.600: CLIP "
                     "score alone does not show alignment here"},
        {"level": 0.1, "arm": "curriculum", "reference": "single_task",
         "sentence": "curriculum: 2 of 5 confirm runs collapsed (the images' or the reports' embeddings nearly "
                     "coincide): their CLIP score is geometry, not alignment"},
    ]  # fmt: skip
    same = answer_module._disagreements(comparisons[:2], [], "clip_score", [], 0.05)
    assert same == []


def test_the_summary_paragraph_names_the_headline_comparisons():
    comparisons = [
        _comparison(0.1, "curriculum", "single_task", "clip_score", "better", 0.0314, n=6),
        _comparison(0.1, "curriculum_random", "single_task", "clip_score", "better", 0.5),
        _comparison(0.3, "multitask", "single_task", "retrieval_auc", "equivalent", -0.001),
        _comparison(0.3, "curriculum", "multitask", "mean_r1", "inconclusive", 0.0),
    ]
    assert answer_module._summary(comparisons) == (
        "Confirmed on the test split, Holm-corrected at the planned looks: curriculum vs single_task at 10% on CLIP "
        "score: better (+0.031, n=6); multitask vs single_task at 30% on retrieval AUC: equivalent (-0.001, n=5); "
        "curriculum vs multitask at 30% on mean R@1: inconclusive (+0.000, n=5)."
    )
    assert answer_module._summary(comparisons[1:2]) == "No confirmed comparison yet."


# --- selection on validate ---------------------------------------------------------------------


def test_search_trials_are_the_rows_of_no_phase_or_the_search_phase():
    trials = pd.DataFrame({"trial_id": ["a", "b", "c"], "phase": ["search", None, "confirm"]})
    assert select.search_trials(trials)["trial_id"].tolist() == ["a", "b"]
    old = pd.DataFrame({"trial_id": ["a"]})
    assert select.search_trials(old) is old
    empty = pd.DataFrame()
    assert select.search_trials(empty) is empty


def test_a_search_scored_on_test_is_refused_word_for_word():
    trials = pd.DataFrame(
        {
            "trial_id": ["a", "b", "c"],
            "phase": ["search", None, "confirm"],
            "split_evaluated": ["test", "test", "test"],
        }
    )
    with pytest.raises(CurriclipError) as error:
        select.check_selected_on_validate(trials)
    assert str(error.value) == (
        "2 search trial(s) of this run were evaluated on test (split_evaluated = test): winners must be selected on "
        "validate; re-run the search with this curriclip"
    )
    select.check_selected_on_validate(trials.iloc[2:])  # confirm runs are scored on test
    select.check_selected_on_validate(trials.drop(columns="split_evaluated"))
    select.check_selected_on_validate(pd.DataFrame())


def test_winners_per_arm_and_level_with_their_search_records():
    experiment = ExperimentConfig.model_validate({"space": {"sparsity": [0.1, 0.5]}})
    rows = [
        _trial_row("m5", "search", "multitask", 0.5, 1, **{"final/retrieval_auc": 0.6}),
        _trial_row("s1", "search", "single_task", 0.1, 1, **{"final/retrieval_auc": 0.4}),
        _trial_row("s5", "search", "single_task", 0.5, 1, **{"final/retrieval_auc": 0.9}),
        _trial_row("c1", "search", "curriculum", 0.1, 1, **{"final/retrieval_auc": 0.7}),
        _trial_row("c1b", "search", "curriculum", 0.1, 2, **{"final/retrieval_auc": math.nan}),
    ]
    winners = select.select_winners(pd.DataFrame(rows), experiment)
    assert list(winners) == [("single_task", 0.1), ("single_task", 0.5), ("multitask", 0.5), ("curriculum", 0.1)]
    multitask = winners[("multitask", 0.5)]
    assert multitask == Winner(Arm.MULTITASK, 0.5, "m5", 0.6, {"arm": "multitask", "sparsity": 0.5, "seed": 1})
    assert type(multitask.arm) is Arm and type(multitask.trial_id) is str and type(multitask.search_score) is float
    for trials in (pd.DataFrame(), pd.DataFrame(rows).drop(columns="final/retrieval_auc")):
        with pytest.raises(CurriclipError) as error:
            select.select_winners(trials, experiment)
        assert str(error.value) == "no search-phase results to select from (did the search run?)"


def test_the_confirm_plan_runs_by_level_arm_and_seed():
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1]}, "protocol": {"arms": ["single_task", "shuffled_control"], "confirm_seeds": 2}}
    )
    runs, notes = select.confirm_plan(experiment, _winners(["single_task"]), 2)
    assert notes == []
    assert [(str(r.arm), r.level, r.seed_index, r.source_trial_id, r.search_score) for r in runs] == [
        ("single_task", 0.1, 0, "s-single_task", 0.5),
        ("single_task", 0.1, 1, "s-single_task", 0.5),
        ("shuffled_control", 0.1, 0, "s-single_task", 0.5),
        ("shuffled_control", 0.1, 1, "s-single_task", 0.5),
    ]
    trial = runs[3].trial
    assert trial["arm"] == "shuffled_control" and trial["seed"] == trial["subset_seed"] == 10_001
    assert trial["phase"] == "confirm" and trial["tasks"] == ["itc"] and trial["dataset_dir"] == "/d"
    assert type(trial["arm"]) is str and type(trial["phase"]) is str  # JSON values, as trials.parquet stores them
    random = select._confirm_config({**RECIPES["multitask"], "arm": "curriculum"}, Arm.CURRICULUM_RANDOM, 7)
    assert random["control"] == "random" and random["arm"] == "curriculum_random"
    assert select._confirm_config(RECIPES["single_task"], Arm.SINGLE_TASK, 7)["control"] == "none"


def test_selection_skips_an_arm_the_protocol_lacks_and_a_level_without_trials():
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1, 0.5]}, "protocol": {"arms": ["single_task", "curriculum"]}}
    )
    rows = [
        _trial_row("s5", "search", "single_task", 0.5, 1, **{"final/retrieval_auc": 0.4}),
        _trial_row("m1", "search", "multitask", 0.1, 1, **{"final/retrieval_auc": 0.9}),
        _trial_row("c1", "search", "curriculum", 0.1, 1, **{"final/retrieval_auc": 0.7}),
    ]
    assert list(select.select_winners(pd.DataFrame(rows), experiment)) == [("single_task", 0.5), ("curriculum", 0.1)]
    counts = select.configuration_counts(pd.DataFrame(rows), experiment)
    assert [(row["arm"], row["level"], row["tried"]) for row in counts] == [
        ("single_task", 0.1, 0), ("single_task", 0.5, 1), ("curriculum", 0.1, 1), ("curriculum", 0.5, 0)
    ]  # fmt: skip


def test_configuration_counts_per_tuned_arm_and_level():
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1, 0.5]}, "protocol": {"arms": ["single_task", "multitask", "shuffled_control"]}}
    )
    statuses = ["completed", "pruned", "errored", "completed", "running"]
    rows = [_trial_row(f"s{i}", "search", "single_task", 0.1, i, status=s) for i, s in enumerate(statuses)]
    rows += [
        _trial_row("m", "search", "multitask", 0.5 + 1e-12, 1, status="pruned"),
        _trial_row("c", "confirm", "single_task", 0.1, 10_000),
    ]
    counts = select.configuration_counts(pd.DataFrame(rows), experiment)
    assert counts == [
        {"arm": "single_task", "level": 0.1, "tried": 5, "completed": 2, "pruned": 1, "errored": 1},
        {"arm": "single_task", "level": 0.5, "tried": 0, "completed": 0, "pruned": 0, "errored": 0},
        {"arm": "multitask", "level": 0.1, "tried": 0, "completed": 0, "pruned": 0, "errored": 0},
        {"arm": "multitask", "level": 0.5, "tried": 1, "completed": 0, "pruned": 1, "errored": 0},
    ]
    assert all(type(row["arm"]) is str and type(row["level"]) is float for row in counts)
    empty = select.configuration_counts(pd.DataFrame(), experiment)
    assert [row["tried"] for row in empty] == [0, 0, 0, 0]


def test_the_protocol_tables_written_from_the_trials(tmp_path, monkeypatch):
    from curriclip.protocol import tables

    experiment = _look_experiment()
    trials = _two_arm_trials(3, {"single_task": [1.0, 1.0, 1.0], "multitask": [1.2, 0.7, 1.1]})
    trials.loc[trials["trial_id"] == "multitask2", "status"] = "damaged"
    monkeypatch.setattr(tables, "read_run", lambda uri: (experiment, {}) if uri == "/runs/r" else None)
    run = type("Run", (), {"uri": "/runs/r"})()
    per_pair = pd.DataFrame(
        {"trial_id": ["single_task0", "multitask0"], "sample_id": ["a", "a"], "subject_id": ["p", "p"],
         "clip_score": [0.5, 0.75], "retrieval_auc": [0.6, 0.8]}
    )  # fmt: skip
    assert tables.write_protocol_tables(run, tmp_path, trials, per_pair) == [
        "confirm.parquet", "per_pair.parquet", "answer.json"
    ]  # fmt: skip
    confirm = pd.read_parquet(tmp_path / "confirm.parquet")
    assert confirm["trial_id"].tolist() == ["multitask0", "multitask1", "multitask2", "single_task0", "single_task1",
                                            "single_task2"]  # fmt: skip
    assert pd.read_parquet(tmp_path / "per_pair.parquet")["clip_score"].tolist() == [0.75, 0.5]
    answer = json.loads((tmp_path / "answer.json").read_text())
    assert answer["damaged_trials"] == ["multitask2"]
    assert answer["configurations"] == select.configuration_counts(trials, experiment)
    assert {c["arm"] for c in answer["comparisons"]} == {"multitask"}
    assert all(c["damaged_trials"] == ["multitask2"] for c in answer["comparisons"])


def test_an_interrupted_confirm_experiment_is_restored_unless_every_run_ended(monkeypatch, capsys):
    from ray import tune

    restored = []

    class Tuner:
        can = True

        @classmethod
        def can_restore(cls, uri):
            restored.append(("can", uri))
            return cls.can

        @classmethod
        def restore(cls, uri, trainable, resume_errored):
            restored.append(("restore", uri, trainable, resume_errored))
            return "tuner"

    statuses = {"value": ["completed", "running"]}
    monkeypatch.setattr(tune, "Tuner", Tuner)
    monkeypatch.setattr(confirm_module, "RunLocation", lambda uri: ("location", uri))

    def collect(location):
        assert location == ("location", restored[0][1])
        return pd.DataFrame({"status": statuses["value"]}), None, None

    monkeypatch.setattr(confirm_module, "collect_experiment", collect)
    monkeypatch.setattr(confirm_module, "fit", lambda tuner: tuner == "tuner")
    run = type("Run", (), {"uri": "s3://b/run"})()
    assert confirm_module._restore_unfinished(run, "T", "confirm-2") is True
    assert restored == [("can", "s3://b/run/confirm-2"), ("restore", "s3://b/run/confirm-2", "T", True)]
    assert capsys.readouterr().err == "curriclip: confirm: continuing the interrupted confirm-2\n"
    statuses["value"] = ["completed", "errored"]
    restored.clear()
    assert confirm_module._restore_unfinished(run, "T", "confirm-2") is False
    statuses["value"] = []
    restored.clear()
    assert confirm_module._restore_unfinished(run, "T", "confirm-2") is True  # nothing finished yet: restore
    Tuner.can = False
    restored.clear()
    assert confirm_module._restore_unfinished(run, "T", "confirm-3") is False and restored == [
        ("can", "s3://b/run/confirm-3")
    ]


def test_the_missing_runs_start_as_one_grid_experiment(monkeypatch):
    import sys
    import types

    from ray import tune

    made = {}
    experiment = _look_experiment()

    def tuner(trainable, param_space, tune_config, run_config):
        made.update(trainable=trainable, param_space=param_space, tune_config=tune_config, run_config=run_config)
        return "tuner"

    monkeypatch.setattr(tune, "Tuner", tuner)
    warm = types.SimpleNamespace(reuse_processes=lambda: "warm")  # the trainable's module imports torch: not needed
    monkeypatch.setitem(sys.modules, "curriclip.trainables.tune_trainable", warm)
    monkeypatch.setattr(confirm_module, "run_config", lambda name, uri, callbacks: (name, uri, callbacks))
    monkeypatch.setattr(confirm_module, "ProgressPrinter", lambda *args: ("progress", *args))
    monkeypatch.setattr(
        confirm_module, "tracker_callbacks", lambda exp, uri: ["tracker", uri] if exp is experiment else None
    )
    monkeypatch.setattr(confirm_module, "fit", lambda t: t == "tuner")
    missing = [ConfirmRun(Arm.SINGLE_TASK, 0.1, k, "w", 0.5, {"seed": 10_000 + k}) for k in range(2)]
    run = type("Run", (), {"uri": "/runs/r"})()
    assert confirm_module._run_missing(run, experiment, "T", missing, 3, "confirm-4") is True
    assert made["trainable"] == "T" and made["param_space"] == {
        "trial": tune.grid_search([{"seed": 10_000}, {"seed": 10_001}])
    }
    config = made["tune_config"]
    assert (config.num_samples, config.max_concurrent_trials, config.reuse_actors) == (1, 3, "warm")
    assert config.trial_dirname_creator is confirm_module.trial_dirname
    name, uri, callbacks = made["run_config"]
    assert (name, uri) == ("confirm-4", "/runs/r")
    metric, epochs = experiment.search.metric, experiment.training.epochs
    assert callbacks == [("progress", 2, metric, epochs, "test"), "tracker", "/runs/r"]
