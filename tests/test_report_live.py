"""A report that follows a running search (``curriclip report RUN --watch [SECONDS] [--serve PORT]``): the page
says when it was rendered and where the run stands (phase, trials ended of planned, time left from the trial
times so far), re-renders when a trial ends, stops when the run is finished or on Ctrl-C (exit 130), and can be
served on 127.0.0.1 with the page reloading itself. Fake run directories (no Ray) whose files change."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_reports import make_frames, write_run
from typer.testing import CliRunner

from curriclip import cli
from curriclip.reports import build_report
from curriclip.reports import live as live_module
from curriclip.reports.live import run_status, serve, signature, watch

TOTAL = 10  # search trials planned; the fake run starts with 6 ended and 2 running


def _touch_later(path: Path) -> None:
    """A file rewritten within the same clock tick still reads as changed."""
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))


def running_run(run_dir: Path) -> Path:
    trials, epochs = make_frames(levels=(0.1, 0.3), n_single=2, n_curr=2, epochs=3, extra=False)
    trials.loc[trials.index[-2:], "status"] = "running"
    epochs["time_s"] = epochs["epoch"] * 10.0  # every ended trial took 30 s
    write_run(run_dir, trials, epochs, yaml=yaml.safe_dump({"name": "live", "protocol": {"confirm_seeds": 0}}))
    (run_dir / "run.json").write_text(json.dumps({"total_trials": TOTAL, "dataset_dir": "/nowhere"}))
    return run_dir


def end_trials(run_dir: Path, running: int = 0, new: int = 0) -> None:
    """``running`` of the running trials end; ``new`` further trials start and end."""
    trials = pd.read_parquet(run_dir / "trials.parquet")
    ending = trials.index[trials["status"] == "running"][:running]
    trials.loc[ending, "status"] = "completed"
    extra = [{**trials.iloc[0].to_dict(), "trial_id": f"late_{i}", "status": "completed"} for i in range(new)]
    pd.concat([trials, pd.DataFrame(extra)], ignore_index=True).to_parquet(run_dir / "trials.parquet")
    _touch_later(run_dir / "trials.parquet")


def test_status_counts_trials_and_estimates_time_left(tmp_path):
    status = run_status(running_run(tmp_path / "run"))
    assert (status.phase, status.done, status.total, status.in_progress) == ("search", 6, TOTAL, 2)
    assert status.seconds_left == pytest.approx(30.0 * 4 / 2)  # 4 trials left x 30 s, 2 at a time
    assert status.sentence() == (
        "search phase running: 6 of 10 trials ended, 2 running or queued, "
        "about 60 s left (estimated from the trial times so far)"
    )
    assert run_status(tmp_path) is None  # not a run: no run.json
    run = tmp_path / "run"
    trials = pd.read_parquet(run / "trials.parquet")
    trials.loc[trials.index[-1], "status"] = "pending"  # Ray's saved state lags: it has reported epochs
    queued = {**trials.iloc[0].to_dict(), "trial_id": "queued", "status": "pending"}  # no epoch yet
    pd.concat([trials, pd.DataFrame([queued])], ignore_index=True).to_parquet(run / "trials.parquet")
    status = run_status(run)
    assert status.in_progress == 3 and status.seconds_left == pytest.approx(60.0)  # still 2 at a time


def test_status_of_the_confirm_phase_and_of_a_finished_run(tmp_path):
    run = running_run(tmp_path / "run")
    (run / "experiment.yaml").write_text(
        yaml.safe_dump({"protocol": {"confirm_seeds": 2, "arms": ["single_task", "curriculum"]},
                        "space": {"sparsity": [0.1, 0.3]}})
    )  # fmt: skip
    end_trials(run, running=2, new=2)
    trials = pd.read_parquet(run / "trials.parquet")
    confirm = trials.iloc[:3].assign(trial_id=["c0", "c1", "c2"], phase="confirm", status="completed")
    pd.concat([trials, confirm]).to_parquet(run / "trials.parquet")
    status = run_status(run)
    assert (status.phase, status.done, status.total) == ("confirm", 3, 8)  # 2 seeds x 2 arms x 2 levels
    (run / "answer.json").write_text("{}")
    assert run_status(run).phase == "confirm"  # an answer over part of the plan: not finished
    done = trials.iloc[:8].assign(trial_id=[f"c{i}" for i in range(8)], phase="confirm", status="completed")
    pd.concat([trials, done]).to_parquet(run / "trials.parquet")
    assert run_status(run).phase == "confirm"  # every run ended, but the confirm phase has not said it is done
    (run / "run.json").write_text(json.dumps({"total_trials": TOTAL, "dataset_dir": "/nowhere", "confirm_seeds": 2}))
    assert run_status(run).finished and run_status(run).sentence().startswith("run finished: all 18 trials")


def test_watch_rerenders_when_a_trial_ends_and_stops_when_the_run_is_finished(tmp_path):
    run = running_run(tmp_path / "run")
    pages: list[str] = []
    script = iter([lambda: end_trials(run, running=1), lambda: None, lambda: end_trials(run, running=1, new=2)])

    def render() -> None:
        pages.append(build_report(run, refresh=2).read_text(encoding="utf-8"))

    def sleep(seconds: float) -> None:
        assert seconds == 0.25
        next(script)()

    renders = watch(run, render, every=0.25, sleep=sleep)
    assert renders == len(pages) == 3  # at the start, after the first trial ended, after the last; none idle
    assert "search phase running: 6 of 10 trials ended, 2 running or queued" in pages[0]
    assert "search phase running: 7 of 10 trials ended, 1 running or queued" in pages[1]
    assert "run finished: all 10 trials ended" in pages[2]
    assert all('<meta http-equiv="refresh" content="2">' in page for page in pages[:2])
    assert "http-equiv" not in pages[2]  # a finished run's page stops reloading
    assert all(" · generated 20" in page for page in pages)  # when it was rendered


def test_the_signature_ignores_the_report_and_checkpoints(tmp_path):
    run = running_run(tmp_path / "run")
    before = signature(run)
    build_report(run)
    (run / "trial_x" / "checkpoint_000001").mkdir(parents=True)
    (run / "trial_x" / "checkpoint_000001" / "model.pt").write_bytes(b"0")
    assert signature(run) == before
    (run / "trial_x" / "result.json").write_text("{}")
    assert signature(run) != before


def test_with_ray_state_the_signature_ignores_the_tables_every_render_rewrites(tmp_path):
    run = running_run(tmp_path / "run")
    (run / "experiment_state-2026-01-01_00-00-00.json").write_text("{}")  # Ray Tune's state: renders export it
    before = signature(run)
    end_trials(run, running=1)  # the render's own export rewrites trials.parquet: not news from the run
    assert signature(run) == before
    (run / "trial_x").mkdir()
    (run / "trial_x" / "result.json").write_text("{}")  # a trial reported an epoch
    assert signature(run) != before


def test_cli_watch_renders_a_finished_run_once_and_ctrl_c_exits_130(tmp_path, monkeypatch):
    run = running_run(tmp_path / "run")
    end_trials(run, running=2, new=2)
    result = CliRunner().invoke(cli.app, ["report", str(run), "--watch", "0.05"])
    assert result.exit_code == 0, result.output
    assert result.output.count("report.html rendered: run finished") == 1
    assert "run finished: all 10 trials ended" in (run / "report.html").read_text(encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(live_module, "watch", interrupted)
    result = CliRunner().invoke(cli.app, ["report", str(run), "--watch", "0.05"])
    assert result.exit_code == 130 and "curriclip: interrupted" in result.output


def test_watch_without_seconds_takes_the_default(tmp_path, monkeypatch):
    assert cli.optional_values(["report", "R", "--watch"], {"--watch": "5"}) == ["report", "R", "--watch", "5"]
    assert cli.optional_values(["report", "--watch", "R"], {"--watch": "5"}) == ["report", "--watch", "5", "R"]
    assert cli.optional_values(["report", "R", "--watch", "2"], {"--watch": "5"}) == ["report", "R", "--watch", "2"]
    run = running_run(tmp_path / "run")
    end_trials(run, running=2, new=2)
    monkeypatch.setattr(sys, "argv", ["curriclip", "report", str(run), "--watch"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 0


def test_serve_shows_the_self_refreshing_page_on_localhost_until_the_watch_ends(tmp_path):
    run = running_run(tmp_path / "run")
    build_report(run, refresh=3)
    with serve(run, 0) as url:
        assert url.startswith("http://127.0.0.1:")
        page = urllib.request.urlopen(url, timeout=10).read().decode()
    assert '<meta http-equiv="refresh" content="3">' in page and "6 of 10 trials ended" in page
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)  # stopped with the block
