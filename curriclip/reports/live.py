"""A report that follows a running search: where the run stands, when its files change, and a local server.

``run_status`` reads a run directory's files (``run.json``, ``experiment.yaml``,
``trials.parquet``, ``epochs.parquet``, ``answer.json``) and says which phase is running,
how many of its trials have ended and about how long the rest will take, from the trial
times so far; the page prints it under its title. ``watch`` re-renders the page whenever
the run's files change (polling their modification times, so it needs no file-system
events and works on any mount) and stops when the run is finished; ``serve`` serves the
run directory on 127.0.0.1 while it watches, for a browser that refreshes the page itself.
"""

from __future__ import annotations

import functools
import http.server
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from curriclip.errors import CurriclipError
from curriclip.names import Phase, RunFile, Status

ENDED = (Status.COMPLETED, Status.PRUNED, Status.ERRORED)
TRAINING = (Status.RUNNING, Status.PENDING)
#: Files the report itself writes: a change to them is not news from the run.
OWN_FILES = frozenset({RunFile.REPORT})
#: Files an export from Ray Tune's state rewrites on every render (ignored when the run has that state).
EXPORTED_FILES = frozenset(
    {RunFile.TRIALS, RunFile.EPOCHS, RunFile.SCHEDULES, RunFile.CONFIRM, RunFile.PER_PAIR, RunFile.ANSWER}
)


@dataclass(frozen=True)
class RunStatus:
    """Where a run stands: its phase, the trials of that phase ended and planned, the time they still need."""

    phase: str  # search | confirm | finished
    done: int
    total: int
    seconds_left: float | None = None  # None: no trial has ended yet to estimate from
    in_progress: int = 0  # trials running or queued

    @property
    def finished(self) -> bool:
        return self.phase == "finished"

    def sentence(self) -> str:
        """One line for the page: ``search phase running: 5 of 11 trials ended, 2 running or queued, about 3 min
        left (...)``."""
        if self.finished:
            return f"run finished: all {self.total} trials ended and the answer is written"
        text = f"{self.phase} phase running: {self.done} of {self.total} trials ended"
        if self.in_progress:
            text += f", {self.in_progress} running or queued"
        if self.seconds_left is not None:
            text += f", about {_duration(self.seconds_left)} left (estimated from the trial times so far)"
        return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _read(path: Path, reader: Callable, default):
    try:
        return reader(path) if path.exists() else default
    except Exception:  # noqa: BLE001 - a file being rewritten is read again at the next poll
        return default


def _confirm_total(experiment: dict, meta: dict) -> int:
    """Confirm runs the plan holds: K seeds x arms x levels (0 when the run has no confirm phase); fewer when an
    arm has no winner to confirm at some level, which the count of ended runs then shows."""
    protocol = experiment.get("protocol") or {}
    k = int(max(int(meta.get("confirm_seeds") or 0), int(protocol.get("confirm_seeds") or 0)))
    arms = protocol.get("arms") or []
    levels = (experiment.get("space") or {}).get("sparsity") or []
    return k * len(arms) * len(levels)


def _seconds_left(trials: pd.DataFrame, epochs: pd.DataFrame, remaining: int, running: int) -> float | None:
    """Remaining trials x the mean time of the ended ones, shared among the ``running`` trials that train at once."""
    ended = trials[trials["status"].isin(ENDED)]
    if remaining <= 0:
        return 0.0
    if ended.empty or epochs.empty or "time_s" not in epochs.columns:
        return None
    durations = epochs[epochs["trial_id"].isin(set(ended["trial_id"]))].groupby("trial_id")["time_s"].max()
    durations = durations[durations.map(lambda v: math.isfinite(v))]
    if durations.empty:
        return None
    return float(durations.mean()) * remaining / max(running, 1)


def run_status(run_dir: str | Path) -> RunStatus | None:
    """The run's phase and progress from its files; None when it is not a curriclip run (no ``run.json``)."""
    run_dir = Path(run_dir)
    meta = _read(run_dir / RunFile.RUN, lambda p: json.loads(p.read_text()), None)
    if not isinstance(meta, dict) or "total_trials" not in meta:
        return None
    experiment = _read(run_dir / RunFile.EXPERIMENT, lambda p: yaml.safe_load(p.read_text()), {}) or {}
    trials = _read(run_dir / RunFile.TRIALS, pd.read_parquet, pd.DataFrame())
    epochs = _read(run_dir / RunFile.EPOCHS, pd.read_parquet, pd.DataFrame())
    for column in ("trial_id", "status", "phase"):
        if column not in trials.columns:
            trials[column] = pd.Series(dtype=object)
    trials["phase"] = trials["phase"].fillna(Phase.SEARCH)
    search, confirm = trials[trials["phase"] == Phase.SEARCH], trials[trials["phase"] == Phase.CONFIRM]
    search_total, confirm_total = int(meta["total_trials"]), _confirm_total(experiment, meta)
    search_done = int(search["status"].isin(ENDED).sum())
    if search_done < search_total:
        phase, part, done, total = Phase.SEARCH, search, search_done, search_total
    else:
        confirm_done = int(confirm["status"].isin(ENDED).sum())
        # run.json records confirm_seeds when a confirm phase has run to its end; answer.json follows it
        confirmed = "confirm_seeds" in meta and (run_dir / RunFile.ANSWER).exists()
        training = bool(confirm["status"].isin(TRAINING).any())
        if confirm_total and (training or not confirmed):
            total = max(confirm_total, confirm_done + int(confirm["status"].isin(TRAINING).sum()))
            phase, part, done = Phase.CONFIRM, confirm, confirm_done
        else:
            return RunStatus("finished", search_total + confirm_done, search_total + confirm_done, 0.0)
    waiting = part[part["status"].isin(TRAINING)]
    # Ray's saved state may still say pending for a trial that has reported epochs: that one is training
    reported = set(epochs["trial_id"]) if "trial_id" in epochs.columns else set()
    started = int(((waiting["status"] == Status.RUNNING) | waiting["trial_id"].isin(reported)).sum())
    return RunStatus(str(phase), done, total, _seconds_left(part, epochs, total - done, started), len(waiting))


def _has_ray_state(run_dir: Path) -> bool:
    return any(p.name.startswith("experiment_state-") for p in run_dir.glob("experiment_state-*"))


def signature(run_dir: str | Path) -> tuple[int, int]:
    """(newest modification time, number of files) of what the run writes: changes when a trial reports or ends.

    Checkpoint folders are skipped (large, and every result that matters is also in the trial's
    ``result.json``); so are the report and, when the run has Ray Tune state to export from, the
    tables every render rewrites.
    """
    run_dir = Path(run_dir)
    ignored = OWN_FILES | (EXPORTED_FILES if _has_ray_state(run_dir) else frozenset())
    newest, count = 0, 0
    for root, dirs, files in os.walk(run_dir):
        dirs[:] = [d for d in dirs if not d.startswith(("checkpoint_", ".", "wandb", "mlartifacts"))]
        for name in files:
            if name in ignored or name.startswith("."):
                continue
            try:
                newest = max(newest, os.stat(os.path.join(root, name)).st_mtime_ns)
            except FileNotFoundError:  # replaced while we walked: the next poll sees the new file
                continue
            count += 1
    return newest, count


def watch(
    run_dir: str | Path,
    render: Callable[[], object],
    every: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
    on_render: Callable[[RunStatus | None], None] | None = None,
) -> int:
    """Render now and again whenever the run's files change (polled every ``every`` s); return the renders made.

    Stops once a render finds the run finished (or not a curriclip run, which cannot progress); Ctrl-C stops it
    earlier (``KeyboardInterrupt`` reaches the caller).
    """
    seen, renders = None, 0
    while True:
        current = signature(run_dir)
        if current != seen:
            seen = current
            render()
            renders += 1
            status = run_status(run_dir)
            if on_render is not None:
                on_render(status)
            if status is None or status.finished:
                return renders
        sleep(every)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(directory: str | Path, port: int) -> Iterator[str]:
    """Serve ``directory`` on http://127.0.0.1:PORT/ (0: any free port) until the block ends; yields the URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    try:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise CurriclipError(f"--serve {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror})") from None
    thread = threading.Thread(target=server.serve_forever, name="curriclip-report-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/report.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
