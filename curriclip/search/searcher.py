"""Optuna through Ray Tune, with the single-task arm and honest pruning.

``CurriculumSearcher`` is Ray Tune's ``OptunaSearch`` (define-by-run, TPE) with two
changes. It first hands out the fixed single-task baseline configs, which never enter
the Optuna study (they are not a point of the curriculum space). And a trial that the
scheduler stopped before its last epoch reaches Optuna as PRUNED with its intermediate
values, not as COMPLETE with a truncated score, which would mislead TPE.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch

from curriclip.names import Arm

log = logging.getLogger(__name__)


def _config_key(cfg: dict) -> str:
    """A trial config as text, with empty dicts left out: Tune's flattened results drop them."""

    def prune(value):
        if isinstance(value, dict):
            return {k: prune(v) for k, v in value.items() if not (isinstance(v, dict) and not v)}
        return value

    return json.dumps(prune(cfg), sort_keys=True, default=str)


def _trial_config(result: dict | None) -> dict | None:
    """The ``trial`` config inside a Tune result (nested, or flattened to ``config/trial/...`` keys)."""
    if not result:
        return None
    config = result.get("config")
    if isinstance(config, dict) and isinstance(config.get("trial"), dict):
        return config["trial"]
    prefix = "config/trial/"
    flat = {key[len(prefix) :]: value for key, value in result.items() if key.startswith(prefix)}
    if not flat:
        return None
    nested: dict = {}
    for key, value in flat.items():  # Tune flattens nested dicts with "/" (pacing_params/a, ...)
        *parents, leaf = key.split("/")
        node = nested
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return nested


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
        self._proposed: dict[str, int] = {}  # trial config -> Optuna trial number (to adopt re-run trials)
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
        config = super().suggest(trial_id)
        if isinstance(config, dict) and "trial" in config and trial_id in self._ot_trials:
            self._proposed[_config_key(config["trial"])] = self._ot_trials[trial_id].number
        return config

    def _adopt(self, trial_id: str, result: dict | None) -> bool:
        """Whether the searcher knows ``trial_id``, adopting a trial Ray re-created from an errored one.

        ``resume --restart-errored`` hands errored trials back to Ray Tune under new ids the
        searcher never proposed; ``--resume-errored`` under their old ids, already told FAIL.
        Either way a curriculum trial gets a fresh Optuna trial with the errored one's
        parameters (that one stays FAIL in the study), so its result still teaches the
        sampler; a baseline stays outside the study.
        """
        if trial_id in self._baseline_trials:
            return True
        if trial_id in self._ot_trials:
            if trial_id in self._completed_trials and result:  # results after the end: --resume-errored
                number = self._ot_trials[trial_id].number
                if self._ot_study.trials[number].state == TrialState.FAIL:
                    self._completed_trials.discard(trial_id)
                    self._rerun(trial_id, number)
            return True
        cfg = _trial_config(result)
        if cfg is None:
            return False
        if cfg.get("arm") != Arm.CURRICULUM:
            self._baseline_trials.add(trial_id)
            return True
        number = self._proposed.get(_config_key(cfg))
        if number is None:
            log.warning("trial %s was not proposed by this search; its results stay out of the study", trial_id)
            return False
        self._rerun(trial_id, number)
        return True

    def _rerun(self, trial_id: str, number: int) -> None:
        """Tracks ``trial_id`` as a fresh Optuna trial with the parameters of study trial ``number``."""
        old = self._ot_study.trials[number]
        self._ot_study.enqueue_trial(old.params, skip_if_exists=False)
        self._ot_trials[trial_id] = self._ot_study.ask(old.distributions)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if self._adopt(trial_id, result) and trial_id not in self._baseline_trials:
            super().on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if not self._adopt(trial_id, result) or trial_id in self._baseline_trials:
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


class CurriculumLimiter(ConcurrencyLimiter):
    """Ray Tune's concurrency limiter, which also passes on the end of trials it did not hand out.

    The stock limiter drops ``on_trial_complete`` for any trial it does not count as live,
    and errored trials re-run by ``resume --resume-errored / --restart-errored`` are such
    trials: without this, their Optuna trials would stay RUNNING forever.
    """

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id in self.live_trials:
            super().on_trial_complete(trial_id, result=result, error=error)
        else:
            self.searcher.on_trial_complete(trial_id, result=result, error=error)
