"""A search replayed over stored learning curves: the searcher and scheduler of a real search, at no training cost.

Tabular benchmarks of hyperparameter optimisation (HPOBench, NAS-Bench-201) train every
configuration once, store its learning curve, and then run a search thousands of times by
looking its trials up. ``replay_search`` does that for curriclip's own search loop: the same
``CurriculumSearcher`` behind the same ``CurriculumLimiter`` (window, constant liar), the same
scheduler object (``make_scheduler``: per arm and level, judged from the same epoch), fed the
results in the order Ray Tune would feed them, with ``slots`` trials running at a time on a
virtual clock that advances by each stored epoch's wall time. A configuration the curves do
not hold is refused: the search space must be the table's.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Protocol

import optuna
from ray.tune.schedulers import TrialScheduler

from curriclip.config import trial_level
from curriclip.names import Arm
from curriclip.search.searcher import CurriculumLimiter, CurriculumSearcher


@dataclass(frozen=True)
class Curve:
    """One run's validate metric after each epoch and each epoch's wall time (seconds)."""

    values: tuple[float, ...]
    times: tuple[float, ...]


class Curves(Protocol):
    """Where a replay looks up what a trial would report: ``curve(cfg)`` or a ``KeyError`` naming the config."""

    def curve(self, cfg: dict) -> Curve: ...


def config_key(cfg: dict) -> tuple:
    """What identifies a trial's run in a table: arm, level, seed, lr and, for curricula, the curriculum."""
    key: tuple = (str(cfg["arm"]), round(trial_level(cfg), 6), int(cfg["seed"]), float(f"{float(cfg['lr']):.6g}"))
    if cfg["arm"] != Arm.CURRICULUM:
        return key
    params = tuple(sorted((name, round(float(v), 6)) for name, v in (cfg.get("pacing_params") or {}).items()))
    return (*key, tuple(cfg["tasks"]), str(cfg["pacing"]), params, round(float(cfg["stage_span"]), 6))


class TableCurves:
    """Curves from a long table (one row per run and epoch), as ``benchmarks/curriculum_table`` stores them."""

    def __init__(self, frame, metric: str) -> None:
        self.metric = metric
        self._curves: dict[tuple, Curve] = {}
        self._numbers: dict[tuple, int] = {}  # run -> the table's configuration number (its grid cell)
        for _, run in frame.sort_values("epoch").groupby(["arm", "config", "level", "seed"], sort=False):
            first = run.iloc[0]
            cfg = {"arm": first["arm"], "sparsity": first["level"], "seed": first["seed"], "lr": first["lr"]}
            if first["arm"] == Arm.CURRICULUM:
                cfg |= {
                    "tasks": first["ordering"].split(">"),
                    "pacing": first["pacing"],
                    "pacing_params": {"a": first["a"], "b": first["b"]},
                    "stage_span": first["stage_span"],
                }
            curve = Curve(tuple(map(float, run[metric])), tuple(map(float, run["epoch_time_s"])))
            self._curves[config_key(cfg)] = curve
            self._numbers[config_key(cfg)] = int(first["config"])

    def __len__(self) -> int:
        return len(self._curves)

    def curve(self, cfg: dict) -> Curve:
        return self._curves[self._key(cfg)]

    def config_number(self, cfg: dict) -> int:
        """The table's number of the configuration (the same for every seed and level it was run at)."""
        return self._numbers[self._key(cfg)]

    def _key(self, cfg: dict) -> tuple:
        key = config_key(cfg)
        if key not in self._curves:
            raise KeyError(f"configuration outside the table: {key}")
        return key


class GridTrial:
    """An Optuna trial whose float parameters take only the table's values: the searched space is the table's.

    ``grid`` maps a parameter name to its values (evenly spaced, as ``suggest_float``'s ``step``
    needs); a parameter the grid does not name is passed through unchanged (random keys, whose
    every value decodes to one of the table's orderings).
    """

    def __init__(self, trial: optuna.trial.BaseTrial, grid: dict[str, list[float]]) -> None:
        self._trial, self._grid = trial, grid

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False, step: float | None = None):
        values = self._grid.get(name)
        if values is None:
            return self._trial.suggest_float(name, low, high, log=log, step=step)
        if len(values) == 1:
            return self._trial.suggest_float(name, values[0], values[0])
        spacing = (values[-1] - values[0]) / (len(values) - 1)
        return round(self._trial.suggest_float(name, values[0], values[-1], step=spacing), 6)


class GridSpace:
    """A define-by-run space (e.g. ``CurriculumSpace``) asked through ``GridTrial``."""

    def __init__(self, space, grid: dict[str, list[float]]) -> None:
        self.space, self.grid = space, grid

    def __call__(self, trial: optuna.trial.BaseTrial) -> dict:
        return self.space(GridTrial(trial, self.grid))


@dataclass
class Finished:
    """A replayed trial as it ended: its config, epochs trained, last reported value, and the clock and the
    curriculum trial-epochs spent by then."""

    trial_id: str
    cfg: dict
    epochs: int
    value: float
    pruned: bool
    end: float
    curriculum_spent: int


@dataclass
class Replay:
    """What a replayed search did, in order: trials in the order they ended, and the compute it took."""

    finished: list[Finished] = field(default_factory=list)
    proposals: list[dict] = field(default_factory=list)  # every config handed out, in order
    trial_epochs: int = 0
    curriculum_epochs: int = 0
    wall: float = 0.0


@dataclass(order=True)
class _Running:
    next_end: float
    order: int
    trial_id: str = field(compare=False)
    cfg: dict = field(compare=False)
    curve: Curve = field(compare=False)
    epoch: int = field(default=0, compare=False)
    trial: Any = field(default=None, compare=False)


def replay_search(
    curves: Curves,
    searcher: CurriculumSearcher,
    scheduler: TrialScheduler,
    *,
    slots: int,
    study_trials: int,
    epochs: int,
    metric: str,
    stop: Callable[[Replay], bool] | None = None,
) -> Replay:
    """Run a search over ``curves``: ``searcher``'s baselines, then ``study_trials`` proposals, ``slots`` at a time.

    Ray Tune's order of calls: a trial is added to the scheduler when it starts; after each
    epoch the scheduler decides, the searcher sees the result unless the decision was STOP, and
    a trial that was stopped or trained its last epoch is completed in the scheduler, then the
    searcher. The synchronous window (``CurriculumLimiter(batch=True)``) is the searcher's way in,
    as in a real search. ``stop(replay)``, asked after each trial ends, ends the replay early.
    """
    limiter = CurriculumLimiter(searcher, max_concurrent=slots, batch=True, study_trials=study_trials)
    total = searcher.queued_baselines() + study_trials
    replay = Replay()
    running: list[_Running] = []
    started = 0
    clock = 0.0
    while True:
        while len(running) < slots and started < total:
            trial_id = f"replay_{started:05d}"
            suggestion = limiter.suggest(trial_id)
            if suggestion is None:
                break
            cfg = suggestion["trial"]
            curve = curves.curve(cfg)
            trial = SimpleNamespace(trial_id=trial_id, config={"trial": cfg})
            scheduler.on_trial_add(None, trial)
            heapq.heappush(running, _Running(clock + curve.times[0], started, trial_id, cfg, curve, trial=trial))
            replay.proposals.append(cfg)
            started += 1
        if not running:
            if started < total:
                raise RuntimeError(f"the search proposed {started} of {total} trials and then nothing")
            break
        run = heapq.heappop(running)
        clock = run.next_end
        run.epoch += 1
        replay.trial_epochs += 1
        replay.curriculum_epochs += run.cfg["arm"] == Arm.CURRICULUM
        value = run.curve.values[run.epoch - 1]
        result = {"epoch": run.epoch, "training_iteration": run.epoch, metric: value, "config": {"trial": run.cfg}}
        decision = scheduler.on_trial_result(None, run.trial, result)
        if decision != TrialScheduler.STOP:
            limiter.on_trial_result(run.trial_id, result)
        if decision == TrialScheduler.STOP or run.epoch >= epochs:
            scheduler.on_trial_complete(None, run.trial, result)
            limiter.on_trial_complete(run.trial_id, result=result)
            replay.finished.append(
                Finished(
                    run.trial_id,
                    run.cfg,
                    run.epoch,
                    value,
                    run.epoch < epochs,
                    clock,
                    replay.curriculum_epochs,
                )
            )
            if stop is not None and stop(replay):
                break
        else:
            run.next_end = clock + run.curve.times[run.epoch]
            heapq.heappush(running, run)
    replay.wall = clock
    return replay


def incumbents(replay: Replay, epochs: int) -> dict[float, list[tuple[Finished, dict]]]:
    """Per level, each change of the best curriculum so far: (the trial whose end changed it, the best's config).

    What the protocol would select at that moment: the completed (not pruned) curriculum with
    the highest validate score at the level.
    """
    best: dict[float, float] = {}
    out: dict[float, list[tuple[Finished, dict]]] = {}
    for done in replay.finished:
        if done.cfg["arm"] != Arm.CURRICULUM or done.epochs < epochs:
            continue
        level = trial_level(done.cfg)
        if done.value > best.get(level, -math.inf):
            best[level] = done.value
            out.setdefault(level, []).append((done, done.cfg))
    return out
