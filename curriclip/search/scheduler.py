"""ASHA that compares like with like.

Plain ASHA ranks every trial against every other, so a trial at 10% of the data would
be stopped for scoring below trials at 100%, and baseline trials could be stopped by
curriculum trials. ``ArmAwareASHA`` keeps one ASHA per sparsity level for the
curriculum arm and never stops single-task baseline trials: the comparison the
research question asks for needs every baseline to run its full budget.
"""

from __future__ import annotations

from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, TrialScheduler


class ArmAwareASHA(FIFOScheduler):
    def __init__(self, metric: str, mode: str, max_t: int, grace_period: int, reduction_factor: int) -> None:
        super().__init__()
        self._metric, self._mode = metric, mode
        self._asha_args = dict(
            time_attr="training_iteration",
            metric=metric,
            mode=mode,
            max_t=max_t,
            grace_period=min(grace_period, max_t),
            reduction_factor=reduction_factor,
        )
        self._groups: dict[float, AsyncHyperBandScheduler] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, **spec) -> bool:
        return True  # metric and mode are fixed at construction

    def _group(self, trial) -> AsyncHyperBandScheduler | None:
        cfg = trial.config.get("trial", {})
        if cfg.get("arm") != "curriculum":
            return None
        level = float(cfg.get("sparsity", 1.0))
        if level not in self._groups:
            self._groups[level] = AsyncHyperBandScheduler(**self._asha_args)
        return self._groups[level]

    def on_trial_add(self, tune_controller, trial) -> None:
        group = self._group(trial)
        if group is not None:
            group.on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        group = self._group(trial)
        if group is None:
            return TrialScheduler.CONTINUE
        return group.on_trial_result(tune_controller, trial, result)

    def on_trial_complete(self, tune_controller, trial, result: dict) -> None:
        group = self._group(trial)
        if group is not None and trial in group._trial_info:
            group.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller, trial) -> None:
        group = self._group(trial)
        if group is not None and trial in group._trial_info:
            group.on_trial_remove(tune_controller, trial)

    def debug_string(self) -> str:
        levels = ", ".join(f"{level:g}: {len(g._trial_info)} trials" for level, g in sorted(self._groups.items()))
        return f"ArmAwareASHA (per sparsity level; baselines never stopped) [{levels}]"
