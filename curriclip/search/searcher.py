"""Optuna through Ray Tune, with the single-task arm and honest pruning.

``CurriculumSearcher`` is Ray Tune's ``OptunaSearch`` (define-by-run, TPE) with two
changes. It first hands out the fixed single-task baseline configs, which never enter
the Optuna study (they are not a point of the curriculum space). And a trial that the
scheduler stopped before its last epoch reaches Optuna as PRUNED with its intermediate
values, not as COMPLETE with a truncated score, which would mislead TPE.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState
from ray.tune.search.optuna import OptunaSearch

log = logging.getLogger(__name__)


class CurriculumSearcher(OptunaSearch):
    def __init__(
        self,
        space: Any,
        baselines: list[dict],
        epochs: int,
        metric: str | list[str],
        mode: str | list[str] = "max",
        points_to_evaluate: list[dict] | None = None,
        seed: int = 0,
        n_startup_trials: int = 8,
        storage_url: str | None = None,
        study_name: str = "curriclip",
    ) -> None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():  # multivariate/group/constant_liar are flagged experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if isinstance(metric, list):  # multi-objective: e.g. CLIP score up, compute down
                sampler = optuna.samplers.NSGAIISampler(seed=seed)
            else:
                sampler = optuna.samplers.TPESampler(
                    seed=seed,
                    n_startup_trials=n_startup_trials,
                    multivariate=True,
                    group=True,
                    constant_liar=True,
                )
        # An RDB study (SQLite in the run directory by default) opens in optuna.load_study and optuna-dashboard.
        storage = optuna.storages.RDBStorage(storage_url) if storage_url else None
        super().__init__(
            space=space,
            metric=metric,
            mode=mode,
            points_to_evaluate=points_to_evaluate,
            sampler=sampler,
            storage=storage,
            study_name=study_name,
        )
        self._baseline_queue = list(baselines)
        self._baseline_trials: set[str] = set()
        self._epochs = epochs

    @property
    def study(self) -> optuna.Study:
        return self._ot_study

    def suggest(self, trial_id: str) -> dict | None:
        if trial_id in self._baseline_trials:
            raise RuntimeError(f"trial {trial_id} asked for a second config")
        if self._baseline_queue:
            self._baseline_trials.add(trial_id)
            return {"trial": self._baseline_queue.pop(0)}
        return super().suggest(trial_id)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id not in self._baseline_trials:
            super().on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self._baseline_trials or trial_id not in self._ot_trials:
            return
        epochs_done = int((result or {}).get("epoch", 0))
        if not error and result and epochs_done < self._epochs and trial_id not in self._completed_trials:
            # Stopped early by the scheduler: PRUNED keeps its intermediate values in the study.
            try:
                self._ot_study.tell(self._ot_trials[trial_id], state=TrialState.PRUNED)
            except Exception as exc:  # noqa: BLE001 - a refused tell must not end the search
                log.warning("optuna refused the pruned trial %s: %s", trial_id, exc)
            self._completed_trials.add(trial_id)
            return
        super().on_trial_complete(trial_id, result, error)
