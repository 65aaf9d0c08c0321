"""Progress output for long searches: one line per finished trial, plus the running best."""

from __future__ import annotations

import sys
import time

from ray.tune import Callback

from curriclip.config import trial_level
from curriclip.names import Arm


def _describe(config: dict) -> str:
    cfg = config.get("trial", {})
    if cfg.get("phase") == "confirm":
        return f"confirm {cfg.get('arm', '?'):<17} sparsity {trial_level(cfg):g} seed {cfg.get('seed')}"
    if cfg.get("arm") == Arm.SINGLE_TASK:
        return f"single-task  sparsity {trial_level(cfg):g} seed {cfg.get('seed')} lr {cfg.get('lr', 0):.2g}"
    ordering = " > ".join(cfg.get("tasks", []))
    return f"{cfg.get('arm', '?'):<12} sparsity {trial_level(cfg):g} {cfg.get('pacing')} [{ordering}]"


class ProgressPrinter(Callback):
    """Prints trial starts, ends (with CLIP score) and errors to stderr."""

    def __init__(self, total: int, metric: str, epochs: int, split: str = "validate") -> None:
        self.total, self.metric, self.epochs, self.split = total, metric, epochs, split
        self.done = 0
        self.best: float | None = None
        self.started = time.monotonic()

    def setup(self, **info) -> None:
        """Called at every (re)start of the experiment, also after ``Tuner.restore``."""
        self.started = time.monotonic()

    def _count_done(self, trials, trial) -> None:
        finished = sum(1 for t in trials if t is not trial and t.status in ("TERMINATED", "ERROR"))
        self.done = finished + 1

    def _print(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"[{elapsed:6.0f}s {self.done:>3}/{self.total}] {text}", file=sys.stderr, flush=True)

    def on_trial_start(self, iteration, trials, trial, **info) -> None:
        self._print(f"start  {trial.trial_id}  {_describe(trial.config)}")

    def on_trial_complete(self, iteration, trials, trial, **info) -> None:
        self._count_done(trials, trial)
        result = trial.last_result or {}
        score = result.get(self.metric)
        epoch = result.get("epoch", 0)
        cfg = trial.config.get("trial", {})
        if score is not None and cfg.get("arm") == Arm.CURRICULUM and cfg.get("phase", "search") == "search":
            self.best = score if self.best is None else max(self.best, score)
        state = "done  " if epoch >= self.epochs else "pruned"
        score_text = (
            f"{self.split} {self.metric} {score:.3f} (untrained {result.get(f'init_{self.metric}', float('nan')):.3f})"
            if score is not None
            else "no result"
        )
        best = f"  best curriculum {self.best:.3f}" if self.best is not None else ""
        self._print(f"{state} {trial.trial_id}  epoch {epoch}/{self.epochs}  {score_text}{best}")

    def on_trial_error(self, iteration, trials, trial, **info) -> None:
        self._count_done(trials, trial)
        self._print(f"ERROR  {trial.trial_id}  {_describe(trial.config)}  (see {trial.path}/error.txt)")
