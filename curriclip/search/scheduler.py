"""Early stopping that compares like with like.

Plain ASHA (or the median stopping rule) ranks every trial against every other, so a
trial at 10% of the data would be stopped for scoring below trials at 100%, and
baseline trials could be stopped by curriculum trials. ``PerLevelScheduler`` keeps one
inner scheduler per sparsity level for the curriculum arm and never stops the
single-task baselines or the controls: the comparison the research question asks for
needs every one of them to run its full budget.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, MedianStoppingRule, TrialScheduler

from curriclip.config import trial_level
from curriclip.names import Arm


class PerLevelScheduler(FIFOScheduler):
    def __init__(self, make: Callable[[float], TrialScheduler], name: str, final_epoch: int | None = None) -> None:
        """``make(level)`` builds one level's scheduler. ``final_epoch``: a trial's last report never
        reaches the inner scheduler, so the trial ends there (PBT would otherwise pause a finished
        trial to exploit, again and again)."""
        super().__init__()
        self._make, self._name, self._final_epoch = make, name, final_epoch
        self._groups: dict[float, TrialScheduler] = {}
        self._members: dict[float, set[str]] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, **spec) -> bool:
        return True  # metric and mode are fixed at construction

    def _level(self, trial) -> float | None:
        cfg = trial.config.get("trial", {})
        return trial_level(cfg) if cfg.get("arm") == Arm.CURRICULUM else None

    def _group(self, trial, add: bool = False) -> TrialScheduler | None:
        level = self._level(trial)
        if level is None:
            return None
        if level not in self._groups:
            self._groups[level], self._members[level] = self._make(level), set()
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
        if self._final_epoch is not None and int(result.get("epoch", 0)) >= self._final_epoch:
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
        levels = ", ".join(f"{level:g}: {len(m)} running" for level, m in sorted(self._members.items()))
        return f"{self._name} per sparsity level; baselines and controls never stopped [{levels}]"


def make_scheduler(
    kind: str, metric: str, mode: str, max_t: int, grace_period: int, reduction_factor: int
) -> TrialScheduler:
    """The search's scheduler by name: asha (default), median, fifo."""
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
        return PerLevelScheduler(lambda level: asha(), "ASHA")
    if kind == "median":
        median = functools.partial(
            MedianStoppingRule,
            time_attr="training_iteration",
            metric=metric,
            mode=mode,
            grace_period=grace,
            min_samples_required=3,
        )
        return PerLevelScheduler(lambda level: median(), "median stopping")
    raise ValueError(f"unknown scheduler {kind!r}")
