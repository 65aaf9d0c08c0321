"""Experiment trackers through Ray Tune's callbacks: one tiny tracked search (both phases) leaves an MLflow store
with one run per trial (config as parameters, every epoch's metrics, arm/phase/level/seed tags) plus one answer
run, and W&B offline run folders; a missing optional package is one line and exit 2 before anything starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.config import parse_experiment
from curriclip.errors import ConfigError
from curriclip.tracking import fields, mlflow_uri, require_trackers, tracker_callbacks, wandb_dir
from curriclip.tracking.answer import answer_metrics, answer_tags

CLI = [sys.executable, "-m", "curriclip.cli"]
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "NO_PROXY": "*", "WANDB_SILENT": "true"}
CONFIG = {
    "trial": {"arm": "curriculum", "phase": "confirm", "seed": 10001, "sparsity": 0.3, "tasks": ["itc", "rotation"],
              "pacing": "linear", "pacing_params": {"a": 0.5, "b": 0.25}, "lr": 0.001, "scorer": None}
}  # fmt: skip


def test_a_trial_reads_as_parameters_tags_and_metrics():
    params = fields.trial_params(CONFIG)
    assert params["pacing_params/a"] == "0.5" and params["tasks"] == '["itc", "rotation"]'
    assert params["pacing"] == "linear" and params["scorer"] == "null"
    assert fields.trial_tags(CONFIG) == {"arm": "curriculum", "phase": "confirm", "level": "0.3", "seed": "10001"}
    assert fields.trial_tags({"trial": {"arm": "single_task", "seed": 0}})["phase"] == "search"
    assert fields.run_name(CONFIG, "ab12") == "confirm curriculum 0.3 seed 10001 (ab12)"
    result = {"epoch": 2, "clip_score": 0.61, "loss/itc": 1.5, "done": False, "config": {"trial": {"lr": 1.0}},
              "timing": {"setup_s": 3.0}, "threads": 1, "nan_metric": float("nan"), "active_tasks": "itc"}  # fmt: skip
    assert fields.result_metrics(result) == {"epoch": 2.0, "clip_score": 0.61, "loss/itc": 1.5, "threads": 1.0}
    assert fields.result_step(result) == 2 and fields.result_step({"training_iteration": 3}) == 3


def test_no_tracking_section_means_no_callbacks():
    assert tracker_callbacks(parse_experiment({}), "/tmp/run") == []


def test_stores_default_to_the_run_directory(tmp_path):
    experiment = parse_experiment({"tracking": {"mlflow": {}, "wandb": {"project": "p"}}})
    assert mlflow_uri(experiment, str(tmp_path)) == f"sqlite:///{tmp_path}/mlflow.db"
    assert wandb_dir(experiment, str(tmp_path)) == str(tmp_path)
    with pytest.raises(ConfigError, match=r"^tracking\.mlflow\.tracking_uri: a remote run directory"):
        mlflow_uri(experiment, "s3://bucket/runs/x")
    given = parse_experiment({"tracking": {"mlflow": {"tracking_uri": "http://mlflow:5000"}}})
    assert mlflow_uri(given, "s3://bucket/runs/x") == "http://mlflow:5000"


def test_answer_as_tracker_metrics_and_verdict_tags():
    answer = {"comparisons": [{"level": 0.3, "arm": "curriculum", "reference": "single_task", "metric": "clip_score",
                               "diff_mean": 0.02, "corrected_ci": [-0.01, 0.05], "detectable_effect": None,
                               "verdict": "inconclusive"}]}  # fmt: skip
    key = "curriculum_vs_single_task/clip_score/0.3"
    assert answer_metrics(answer) == {f"{key}/diff_mean": 0.02, f"{key}/ci_low": -0.01, f"{key}/ci_high": 0.05}
    assert answer_tags(answer) == {f"verdict/{key}": "inconclusive"}


def test_online_wandb_without_a_key_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    pytest.importorskip("wandb")
    tracking = parse_experiment({"tracking": {"wandb": {"project": "p", "mode": "online"}}}).tracking
    with pytest.raises(ConfigError, match=r"^tracking\.wandb\.mode: online needs a W&B API key"):
        require_trackers(tracking)
    with pytest.raises(ConfigError, match=r"tracking\.wandb\.mode"):
        parse_experiment({"tracking": {"wandb": {"project": "p", "mode": "sometimes"}}})


@pytest.mark.parametrize("tracker, section", [("mlflow", {"mlflow": {}}), ("wandb", {"wandb": {"project": "p"}})])
def test_a_missing_package_is_one_line_and_exit_2_before_anything_starts(tmp_path, monkeypatch, tracker, section):
    monkeypatch.setitem(sys.modules, tracker, None)  # import mlflow / wandb now raises ImportError
    exp = tmp_path / "exp.yaml"
    exp.write_text(yaml.safe_dump({"name": "t", "storage": str(tmp_path / "runs"), "tracking": section}))
    result = CliRunner().invoke(app, ["search", str(exp)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        f"curriclip: error: tracking.{tracker}: the {tracker} package is not installed "
        f"(pip install 'curriclip[{tracker}]')"
    ]
    assert not (tmp_path / "runs").exists()  # nothing started, nothing written


# --- one tracked search, both phases ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tracked_run(tmp_path_factory, tiny_dataset, cache_dir):
    """Search (1 single-task + 1 curriculum configuration, one level) and confirm (2 arms x 2 seeds), tracked."""
    pytest.importorskip("mlflow")
    pytest.importorskip("wandb")
    keep = os.environ.get("CURRICLIP_TRACKED_KEEP")  # DIR: keep (or reuse) the run, as CURRICLIP_E2E_KEEP does
    directory = Path(keep) if keep else tmp_path_factory.mktemp("tracked")
    if (directory / "runs" / "tracked" / "answer.json").is_file():
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    exp = {
        "name": "tracked",
        "data": {"n": 240, "image_size": 64},
        "training": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "eval_batch_size": 64},
        "space": {"sparsity": [1.0], "pacing": ["linear"]},
        "search": {"num_trials": 1, "seeds": [0], "grace_period": 1, "n_startup_trials": 1},
        "protocol": {"arms": ["single_task", "curriculum"], "confirm_seeds": 2},
        "storage": str(directory / "runs"),
        "tracking": {
            "mlflow": {"tracking_uri": f"sqlite:///{directory}/mlflow.db", "experiment": "curriclip-test"},
            "wandb": {"project": "curriclip-test", "mode": "offline", "dir": str(directory / "wandb-files")},
        },
    }
    path = directory / "tracked.yaml"
    path.write_text(yaml.safe_dump(exp))
    env = {**os.environ, **OFFLINE, "CURRICLIP_CACHE": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    env.pop("WANDB_API_KEY", None)
    done = subprocess.run([*CLI, "search", str(path)], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return directory


@pytest.mark.slow
def test_mlflow_holds_one_run_per_trial_and_the_answer(tracked_run):
    import mlflow
    from mlflow.tracking import MlflowClient

    run_dir = tracked_run / "runs" / "tracked"
    trials = pd.read_parquet(run_dir / "trials.parquet").set_index("trial_id")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")
    uri = f"sqlite:///{tracked_run}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["curriclip-test"])
    trial_runs = runs[runs["tags.curriclip.kind"] == "trial"]
    assert sorted(trial_runs["tags.trial_id"]) == sorted(trials.index)  # one run per trial, both phases
    assert set(trial_runs["tags.phase"]) == {"search", "confirm"}
    client = MlflowClient(uri)
    for _, run in trial_runs.iterrows():
        row = trials.loc[run["tags.trial_id"]]
        config = json.loads(row["config_json"])
        assert run["tags.arm"] == row["arm"] and run["tags.phase"] == row["phase"]
        assert float(run["tags.level"]) == row["sparsity"] and int(run["tags.seed"]) == row["seed"]
        assert run["params.arm"] == config["arm"] and run["params.lr"] == json.dumps(config["lr"])
        if row["arm"] == "curriculum":
            assert run["params.pacing"] == config["pacing"] and json.loads(run["params.tasks"]) == config["tasks"]
        trial_epochs = epochs[epochs["trial_id"] == run["tags.trial_id"]].sort_values("epoch")
        losses = client.get_metric_history(run["run_id"], "loss")
        assert [m.step for m in losses] == list(trial_epochs["epoch"]) == list(range(1, int(row["epochs_done"]) + 1))
        assert [m.value for m in losses] == pytest.approx(list(trial_epochs["loss"]))
        scores = client.get_metric_history(run["run_id"], "clip_score")
        evaluated = trial_epochs[trial_epochs["clip_score"].notna()]
        assert [m.step for m in scores] == list(evaluated["epoch"])  # a confirm run reads test once, at its end
        assert len(scores) == (1 if row["phase"] == "confirm" else int(row["epochs_done"]))
        assert scores[-1].value == pytest.approx(row["final_clip_score"])
        assert run["status"] == "FINISHED"
    answers = runs[runs["tags.curriclip.kind"] == "answer"]
    assert len(answers) == 1
    answer = json.loads((run_dir / "answer.json").read_text())
    answer_run = answers.iloc[0]
    for c in answer["comparisons"]:
        key = f"{c['arm']}_vs_{c['reference']}/{c['metric']}/{c['level']:g}"
        assert answer_run[f"tags.verdict/{key}"] == c["verdict"]
        assert answer_run[f"metrics.{key}/diff_mean"] == pytest.approx(c["diff_mean"])
    assert json.loads(answer_run["params.k"]) == answer["k"] == 2
    assert [a.path for a in client.list_artifacts(answer_run["run_id"])] == ["answer.json"]
    assert (tracked_run / "mlartifacts").is_dir()  # beside the SQLite store, not in the working directory


@pytest.mark.slow
def test_wandb_offline_writes_one_run_folder_per_trial_and_the_answer(tracked_run):
    trials = pd.read_parquet(tracked_run / "runs" / "tracked" / "trials.parquet")
    folders = sorted((tracked_run / "wandb-files" / "wandb").glob("offline-run-*"))
    ids = {folder.name.rsplit("-", 1)[-1] for folder in folders}
    assert set(trials["trial_id"]) <= ids and len(folders) == len(trials) + 1  # + the answer run
    for folder in folders:
        assert list(folder.glob("run-*.wandb")), folder


@pytest.mark.slow
def test_ray_writes_tensorboard_files_in_every_trial_directory(tracked_run):
    run_dir = tracked_run / "runs" / "tracked"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    event_files = {p.parent.name for p in run_dir.glob("**/events.out.tfevents.*")}
    assert {f"trial_{t}" for t in trials["trial_id"]} <= event_files
