"""Early stopping that compares like with like, and lets a curriculum act before it is judged.

Plain ASHA (or the median stopping rule) ranks every trial against every other, so a
trial at 10% of the data would be stopped for scoring below trials at 100%, and a
multitask configuration by a single-task one. ``PerLevelScheduler`` keeps one inner
scheduler per (tuned arm, sparsity level): every tuned arm is pruned by the same rule
(``protocol.tuning: matched``), each only against its own kind. Other arms are never
stopped.

A curriculum trial's results reach its scheduler only from the epoch at which its last
task has joined and its pacing has reached the full pool (``ready_epoch``): before
that it is a different, unfinished recipe, and stopping it would judge the ordering
before it acts. ASHA then records the trial at the highest rung it has passed.

Every tuned arm gets the same chance of being stopped: no trial of any arm is judged
before ``judge_from``, the latest ready epoch a curriculum of the search space can have
(``latest_ready_epoch``). Otherwise a baseline could be stopped from its first rung
while most curricula become judgeable only after the last rung and escape pruning: the
arms would be tuned by different rules. When that epoch is the last one (wide pacing or
stage-span ranges, as in the default space), nothing is stopped: matched tuning without
pruning.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, MedianStoppingRule, TrialScheduler

from curriclip.config import trial_level
from curriclip.curriculum import pacing
from curriclip.curriculum.schedule import DEFAULT_STAGE_PACING, DEFAULT_STAGE_PACING_PARAMS, TaskSchedule
from curriclip.names import TUNED_ARMS, Arm


def scheduler_group(cfg: dict) -> tuple[str, float]:
    """The trials one inner scheduler compares with each other: (arm, sparsity level)."""
    return str(cfg.get("arm")), trial_level(cfg)


def ready_epoch(cfg: dict) -> int:
    """The first epoch (1-based) after which every task of a trial trains and its pacing admits the whole pool."""
    epochs, steps = int(cfg.get("epochs", 1)), int(cfg.get("steps_per_epoch", 1))
    if cfg.get("arm") != Arm.CURRICULUM or "tasks" not in cfg:
        return 1
    total = epochs * steps
    schedule = TaskSchedule(
        tuple(cfg["tasks"]),
        float(cfg.get("stage_span", 0.0)),
        cfg.get("schedule", "cumulative"),
        cfg.get("stage_pacing", "linear"),
        dict(cfg.get("stage_pacing_params") or {"a": 1.0}),
    )
    joined = max(schedule.start_steps(total))
    fraction = pacing.get(cfg.get("pacing", "none"))
    params = dict(cfg.get("pacing_params") or {})
    full = next((step for step in range(total) if fraction(step, total, **params) >= 1.0 - 1e-9), total)
    return min(epochs, max(joined, full) // steps + 1)


def _grid(low: float, high: float, integer: bool, points: int = 5) -> list[float]:
    values = [low + (high - low) * i / (points - 1) for i in range(points)]
    return sorted({float(round(v)) for v in values}) if integer else values


def _param_grid(name: str, ranges: dict) -> list[dict[str, float]]:
    """Parameter settings of pacing function ``name`` over its searched ranges (5 values per parameter)."""
    settings: list[dict[str, float]] = [{}]
    for param, declared in pacing.get(name).params.items():
        low, high = ranges.get(param, (declared.low, declared.high))
        settings = [{**s, param: v} for s in settings for v in _grid(float(low), float(high), declared.integer)]
    return settings


def _full_step(name: str, params: dict, total: int) -> int:
    """The first step at which pacing ``name`` admits the whole pool (``total`` if it never does)."""
    fraction = pacing.get(name)
    return next((step for step in range(total) if fraction(step, total, **params) >= 1.0 - 1e-9), total)


def latest_ready_epoch(space, epochs: int, steps_per_epoch: int) -> int:
    """The latest ``ready_epoch`` over the curriculum space (``space``: the experiment's ``space:`` section).

    Joining and pacing are independent, so it is the later of the latest step at which the
    last task joins (stage span at its upper bound, every schedule mode and stage pacing) and
    the latest step at which a pacing function admits the whole pool, each over a grid of 5
    values per parameter range, bounds included.
    """
    total = epochs * steps_per_epoch
    tasks = ("itc", *space.tasks)
    if space.stage_pacing:
        stages = [(name, params) for name, ranges in space.stage_pacing.items() for params in _param_grid(name, ranges)]
    else:  # equal stages, as every trial of such a space has them
        stages = [(DEFAULT_STAGE_PACING, dict(DEFAULT_STAGE_PACING_PARAMS))]
    joined = 0
    for mode in space.schedule:
        for name, params in stages:
            schedule = TaskSchedule(tasks, float(space.stage_span[1]), mode, name, params)
            joined = max(joined, max(schedule.start_steps(total)))
    full = max(
        (
            _full_step(name, params, total)
            for name, ranges in space.pacing.items()
            for params in _param_grid(name, ranges)
        ),
        default=0,
    )
    return min(epochs, max(joined, full) // steps_per_epoch + 1)


class PerLevelScheduler(FIFOScheduler):
    def __init__(
        self,
        make: Callable[[float], TrialScheduler],
        name: str,
        final_epoch: int | None = None,
        arms: tuple[Arm, ...] = TUNED_ARMS,
        judge_from: int = 1,
    ) -> None:
        """``make(level)`` builds one group's scheduler. ``final_epoch``: a trial's last report never
        reaches the inner scheduler, so the trial ends there (PBT would otherwise pause a finished
        trial to exploit, again and again). ``arms``: the arms it schedules (the others run their budget).
        ``judge_from``: no trial of any arm is judged before this epoch (see the module docstring)."""
        super().__init__()
        self._make, self._name, self._final_epoch, self._arms = make, name, final_epoch, arms
        self._judge_from = judge_from
        self._groups: dict[tuple, TrialScheduler] = {}
        self._members: dict[tuple, set[str]] = {}
        self._ready: dict[str, int] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, **spec) -> bool:
        return True  # metric and mode are fixed at construction

    def _level(self, trial) -> tuple | None:
        """The trial's group: (arm, level) for the tuned arms, None for arms that are never stopped."""
        cfg = trial.config.get("trial", {})
        arm = cfg.get("arm")
        return scheduler_group(cfg) if arm in self._arms and cfg.get("phase", "search") == "search" else None

    def _ready_epoch(self, trial) -> int:
        if trial.trial_id not in self._ready:
            self._ready[trial.trial_id] = ready_epoch(trial.config.get("trial", {}))
        return self._ready[trial.trial_id]

    def _group(self, trial, add: bool = False) -> TrialScheduler | None:
        level = self._level(trial)
        if level is None:
            return None
        if level not in self._groups:
            self._groups[level], self._members[level] = self._make(level[1]), set()
        if add:
            self._members[level].add(trial.trial_id)
        elif trial.trial_id not in self._members[level]:
            return None
        return self._groups[level]

    def on_trial_add(self, tune_controller, trial) -> None:
        group = self._group(trial, add=True)
        if group is not None:
            group.on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        group = self._group(trial)
        if group is None:
            return TrialScheduler.CONTINUE
        epoch = int(result.get("epoch", result.get("training_iteration", 0)))
        if self._final_epoch is not None and epoch >= self._final_epoch:
            return TrialScheduler.CONTINUE
        if epoch < max(self._judge_from, self._ready_epoch(trial)):  # not every arm can be judged yet
            return TrialScheduler.CONTINUE
        return group.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        group = self._group(trial)
        if group is not None:
            group.on_trial_complete(tune_controller, trial, result)
            self._members[self._level(trial)].discard(trial.trial_id)

    def on_trial_remove(self, tune_controller, trial) -> None:
        group = self._group(trial)
        if group is not None:
            group.on_trial_remove(tune_controller, trial)
            self._members[self._level(trial)].discard(trial.trial_id)

    def debug_string(self) -> str:
        groups = ", ".join(f"{arm} {level:g}: {len(m)} running" for (arm, level), m in sorted(self._members.items()))
        return f"{self._name} per arm and sparsity level; controls never stopped [{groups}]"


def make_scheduler(
    kind: str, metric: str, mode: str, max_t: int, grace_period: int, reduction_factor: int, judge_from: int = 1
) -> TrialScheduler:
    """The search's scheduler by name: asha (default), median, fifo; no arm is judged before ``judge_from``."""
    if kind == "fifo":
        return FIFOScheduler()
    grace = min(grace_period, max_t)
    if kind == "asha":
        asha = functools.partial(
            AsyncHyperBandScheduler,
            time_attr="training_iteration",
            metric=metric,
            mode=mode,
            max_t=max_t,
            grace_period=grace,
            reduction_factor=reduction_factor,
        )
        return PerLevelScheduler(lambda level: asha(), "ASHA", judge_from=judge_from)
    if kind == "median":
        median = functools.partial(
            MedianStoppingRule,
            time_attr="training_iteration",
            metric=metric,
            mode=mode,
            grace_period=grace,
            min_samples_required=3,
        )
        return PerLevelScheduler(lambda level: median(), "median stopping", judge_from=judge_from)
    raise ValueError(f"unknown scheduler {kind!r}")
