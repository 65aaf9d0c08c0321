"""End to end through Ray: a tiny real search, its exports and report, and Ctrl-C + resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "curriclip.cli"]


def _experiment(tmp_path: Path, name: str, **search) -> Path:
    exp = {
        "name": name,
        "data": {"n": 240, "image_size": 64},
        "training": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "eval_batch_size": 64},
        "space": {"sparsity": [0.5, 1.0], "pacing": ["linear", "step"]},
        "search": {"num_trials": 3, "seeds": [0], "grace_period": 1, "n_startup_trials": 2, **search},
        "storage": str(tmp_path / "runs"),
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(exp))
    return path


def _env(cache_dir: Path) -> dict:
    return {**os.environ, "CURRICLIP_CACHE": str(cache_dir), "PYTHONUNBUFFERED": "1"}


def test_tiny_search_end_to_end(tmp_path, tiny_dataset, cache_dir):
    exp = _experiment(tmp_path, "e2e")
    done = subprocess.run([*CLI, "search", str(exp)], env=_env(cache_dir), capture_output=True, text=True,
                          timeout=600)  # generous: a loaded CI box starts Ray slowly
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = tmp_path / "runs" / "e2e"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")

    assert len(trials) == 7 and trials["trial_id"].is_unique
    baseline = trials[trials["arm"] == "single_task"]
    assert sorted(baseline["sparsity"]) == [0.5, 1.0]  # the single-task arm at every level
    assert (baseline["status"] == "completed").all() and (baseline["epochs_done"] == 2).all()
    assert (baseline["ordering"] == "itc").all() and (baseline["pacing"] == "none").all()
    control = trials[trials["arm"] == "shuffled_control"]  # the negative control at every level, never pruned
    assert sorted(control["sparsity"]) == [0.5, 1.0] and (control["epochs_done"] == 2).all()
    curriculum = trials[trials["arm"] == "curriculum"]
    assert len(curriculum) == 3
    assert set(curriculum["pacing"]) <= {"linear", "step"}
    assert all(sorted(o.split(" > ")) == ["findings", "itc", "rotation"] for o in curriculum["ordering"])
    assert set(trials["status"]) <= {"completed", "pruned"}
    # one epoch row per trial and epoch, and it agrees with the trial table
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    assert epochs.groupby("trial_id").size().to_dict() == trials.set_index("trial_id")["epochs_done"].to_dict()
    assert (trials["final_clip_score"] >= 0).all() and trials["init_clip_score"].notna().all()
    # the Optuna study lives in SQLite in the run directory: curriculum trials only, all finished
    import optuna

    study = optuna.load_study(study_name="e2e", storage=f"sqlite:///{run_dir / 'optuna.db'}")
    assert sorted(t.state.name for t in study.trials) == sorted(
        "PRUNED" if s == "pruned" else "COMPLETE" for s in curriculum["status"])
    # the test split is the same for every trial
    assert epochs["test_pairs"].nunique() == 1 and epochs["test_split_hash"].nunique() == 1
    assert trials["test_split_hash"].nunique() == 1
    report = (run_dir / "report.html").read_text()
    assert "single_task" in report or "single-task" in report
    # re-rendering from the run directory alone
    again = subprocess.run([*CLI, "report", str(run_dir), "--out", str(tmp_path / "r.html")], env=_env(cache_dir),
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert (tmp_path / "r.html").stat().st_size > 1_000_000  # plotly.js embedded: works offline
    # an existing run directory is not overwritten
    clash = subprocess.run([*CLI, "search", str(exp)], env=_env(cache_dir), capture_output=True, text=True,
                           timeout=120)
    assert clash.returncode == 2 and "already exists" in clash.stderr


def test_ctrl_c_then_resume_finishes_without_rerunning(tmp_path, tiny_dataset, cache_dir):
    exp = _experiment(tmp_path, "resumable", num_trials=4, max_concurrent=1)
    run_dir = tmp_path / "runs" / "resumable"
    proc = subprocess.Popen([*CLI, "search", str(exp)], env=_env(cache_dir), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    finished_lines = 0
    deadline = time.monotonic() + 240
    assert proc.stderr is not None
    for line in proc.stderr:
        if "] done" in line or "] pruned" in line:
            finished_lines += 1
            if finished_lines == 2:
                break
        assert time.monotonic() < deadline, "search did not finish two trials in time"
    proc.send_signal(signal.SIGINT)
    proc.stderr.read()
    assert proc.wait(timeout=120) == 130  # interrupted, with a resume hint

    before = pd.read_parquet(run_dir / "trials.parquet")
    finished = before[before["status"].isin(["completed", "pruned"])]
    assert 2 <= len(finished) < 8
    stamps = {t: (run_dir / f"trial_{t}" / "result.json").stat().st_mtime_ns for t in finished["trial_id"]}

    resumed = subprocess.run([*CLI, "resume", str(run_dir)], env=_env(cache_dir), capture_output=True, text=True,
                             timeout=600)  # generous: a loaded CI box starts Ray slowly
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = pd.read_parquet(run_dir / "trials.parquet")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")
    assert len(after) == 8 and after["trial_id"].is_unique  # 2 single-task + 2 controls + 4 curriculum
    assert set(after["status"]) <= {"completed", "pruned"}
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    for trial_id, stamp in stamps.items():  # finished trials were not run again
        assert (run_dir / f"trial_{trial_id}" / "result.json").stat().st_mtime_ns == stamp
    assert sorted(after[after["arm"] == "single_task"]["sparsity"]) == [0.5, 1.0]


def test_sigkill_of_the_driver_then_resume(tmp_path, tiny_dataset, cache_dir):
    """The driver dies without any chance to save (SIGKILL to its whole process group, Ray included)."""
    exp = _experiment(tmp_path, "killed", num_trials=3, max_concurrent=1)
    run_dir = tmp_path / "runs" / "killed"
    proc = subprocess.Popen([*CLI, "search", str(exp)], env=_env(cache_dir), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    assert proc.stderr is not None
    finished = 0
    for line in proc.stderr:
        finished += "] done" in line or "] pruned" in line
        if finished == 2:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)

    resumed = subprocess.run([*CLI, "resume", str(run_dir)], env=_env(cache_dir), capture_output=True, text=True,
                             timeout=600)  # generous: a loaded CI box starts Ray slowly
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    import json

    total = json.loads((run_dir / "run.json").read_text())["total_trials"]
    trials = pd.read_parquet(run_dir / "trials.parquet")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")
    assert len(trials) == total and trials["trial_id"].is_unique
    assert set(trials["status"]) <= {"completed", "pruned"}
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
