"""End to end through Ray, beside the shared run of ``test_search_e2e.py`` (a file runs on one xdist worker, so
these two long searches of their own run on the other): a search taken through Ctrl-C, resume, SIGKILL and
resume again, and the smoke preset as the README runs it."""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest
import yaml
from test_search_e2e import (
    FINISHED,
    SEARCH_TIMEOUT,
    _cli,
    _experiment,
    _finished_in,
    _finished_stamps,
    _in_process,
    _records,
    _start,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # Ray end to end: past the 300 s default


def test_ctrl_c_resume_sigkill_resume_finishes_without_rerunning(tmp_path, tiny_dataset, cache_dir):
    """Ctrl-C prints the resume command; a resumed search survives SIGKILL; finished trials never run again;
    Optuna's state comes back (one finished study trial per curriculum trial). The search also covers the median
    scheduler and label sparsity (every pair for ITC, fewer finding labels)."""
    exp = _experiment(
        tmp_path,
        "resumable",
        {"sparsity_mode": "labels"},
        {"confirm_seeds": 0, "arms": ["single_task", "curriculum"]},
        num_trials=4,
        max_concurrent=1,
        scheduler="median",
    )
    run_dir = tmp_path / "runs" / "resumable"

    proc, lines = _start(["search", str(exp)], cache_dir)
    lines.wait_for(FINISHED, 2, timeout=SEARCH_TIMEOUT)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) == 130  # interrupted
    assert f"curriclip resume {run_dir}" in lines.rest(timeout=30)  # ... with the command that continues it
    first = _finished_stamps(run_dir)
    assert 2 <= len(first) < 8

    proc, lines = _start(["resume", str(run_dir)], cache_dir)
    lines.wait_for(FINISHED, 1, timeout=SEARCH_TIMEOUT)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver dies with no chance to save, Ray included
    proc.wait(timeout=60)
    during_kill = _finished_in(lines.seen)
    assert during_kill and not during_kill & set(first)  # a trial finished in the killed phase, not before it
    killed_scores = {t: _records(run_dir, t)[-1]["clip_score"] for t in during_kill}

    resumed = _cli(["resume", str(run_dir)], cache_dir, timeout=SEARCH_TIMEOUT)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    total = json.loads((run_dir / "run.json").read_text())["total_trials"]
    trials = pd.read_parquet(run_dir / "trials.parquet")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")
    assert len(trials) == total == 8 and trials["trial_id"].is_unique  # 2 x 2 single-task + 4 curricula
    assert set(trials["status"]) <= {"completed", "pruned"}
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    for trial_id, stamp in first.items():  # finished (and saved) before Ctrl-C: not run again
        assert (run_dir / f"trial_{trial_id}" / "result.json").stat().st_mtime_ns == stamp, trial_id
    # reported its last epoch just before SIGKILL, its completion maybe not saved: resumed from its checkpoint at
    # most, never from scratch, and its result is the one it had reported
    by_id = trials.set_index("trial_id")
    for trial_id, score in killed_scores.items():
        records = _records(run_dir, trial_id)
        starts = [r["epoch"] for r in records if r.get("iterations_since_restore") == 1]
        assert starts[0] == 1 and all(epoch >= 2 for epoch in starts[1:]), (trial_id, starts)
        assert by_id.loc[trial_id, "final_clip_score"] == score, trial_id
    assert sorted(trials[trials["arm"] == "single_task"]["sparsity"]) == [0.5, 0.5, 1.0, 1.0]
    assert (trials["sparsity_mode"] == "labels").all()  # levels are label fractions: every trial keeps every pair
    assert trials["final/train_pairs"].nunique() == 1
    configs = trials["config_json"].map(json.loads)
    assert sorted({(c["sparsity"], c["label_fraction"]) for c in configs}) == [(1.0, 0.5), (1.0, 1.0)]
    stored = yaml.safe_load((run_dir / "experiment.yaml").read_text())
    assert stored["search"]["scheduler"] == "median" and stored["space"]["sparsity_mode"] == "labels"
    import optuna

    study = optuna.load_study(study_name="resumable", storage=f"sqlite:///{run_dir / 'optuna.db'}")
    curriculum = trials[trials["arm"] == "curriculum"]
    states = sorted(t.state.name for t in study.trials if t.state.name in ("COMPLETE", "PRUNED"))
    assert states == sorted("PRUNED" if s == "pruned" else "COMPLETE" for s in curriculum["status"])


def test_smoke_preset_end_to_end_matches_its_dry_run(tmp_path, cache_dir):
    """`curriclip search --preset smoke`, as the README runs it: the plan --dry-run printed is what ran."""
    storage = tmp_path / "runs"
    plan = _in_process(["search", "--preset", "smoke", "--storage", storage, "--dry-run"])
    assert plan.returncode == 0 and not storage.exists(), plan.stderr
    assert "search phase: 6 trials (single_task 2, multitask 2, curriculum 2)" in plan.stdout
    assert "confirm phase: 10 runs (5 arms x 1 levels x K = 2 seeds)" in plan.stdout
    done = _cli(["search", "--preset", "smoke", "--storage", str(storage)], cache_dir, timeout=SEARCH_TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = storage / "smoke"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    assert trials.groupby("phase").size().to_dict() == {"search": 6, "confirm": 10}
    assert set(trials["status"]) <= {"completed", "pruned"}
    answer = json.loads((run_dir / "answer.json").read_text())
    assert answer["k"] == 2 and answer["levels"] == [0.3] and len(answer["arms"]) == 5
    assert {c["verdict"] for c in answer["comparisons"]} <= {"better", "worse", "equivalent", "inconclusive"}
    assert (run_dir / "report.html").stat().st_size > 100_000
