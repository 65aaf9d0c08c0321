"""Optuna through Ray Tune, with the baseline arms, honest pruning and a level-centred objective.

``CurriculumSearcher`` is Ray Tune's ``OptunaSearch`` (define-by-run, TPE) with three
changes. It first hands out the baseline arms' search configurations (single-task and
multitask, drawn up front by ``curriclip.spaces``), which never enter the Optuna study
(they are not points of the curriculum space). A trial that the scheduler stopped
before its last epoch reaches Optuna as PRUNED with its intermediate values, not as
COMPLETE with a truncated score, which would mislead TPE. And with one objective, the
value Optuna learns from is centred per sparsity level: the trial's score minus the
mean validation score of the single-task configurations at its level, so that 100%
trials, which score higher whatever their curriculum, do not dominate what TPE learns.

``CurriculumLimiter`` is Ray Tune's concurrency limiter; with ``batch=True`` it hands
out one batch of trials, waits for all of them, and tells the searcher their results
in the order they were proposed, so Optuna's proposals do not depend on which trial
finished first.
"""

from __future__ import annotations

import json
import logging
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState
from ray.tune.search import ConcurrencyLimiter, Searcher
from ray.tune.search.optuna import OptunaSearch

from curriclip.config import trial_level
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
        self._metric_name = metric if isinstance(metric, str) else None  # centred only with one objective
        self._single_task: dict[float, list[float]] = {}  # level -> completed single-task validation scores
        self._reference: dict[float, float] = {}  # level -> the centre, frozen at the level's first tell
        self._levels: dict[str, float] = {}  # curriculum trial -> its level

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
            self._levels[trial_id] = trial_level(config["trial"])
        return config

    def reference(self, level: float) -> float:
        """The centre of ``level``: the mean single-task validation score there, frozen when first used.

        In a synchronous search every baseline has finished before the first curriculum
        trial is told, so the centre is the same in every run; asynchronously it is the
        mean of the single-task trials finished by then (0 when none has).
        """
        if level not in self._reference:
            scores = self._single_task.get(level, [])
            self._reference[level] = sum(scores) / len(scores) if scores else 0.0
        return self._reference[level]

    def _centred(self, trial_id: str, result: dict | None) -> dict | None:
        """The result with the metric centred on its level's reference (what Optuna learns from)."""
        name = self._metric_name
        if not result or name is None or name not in result or trial_id not in self._levels:
            return result
        return {**result, name: float(result[name]) - self.reference(self._levels[trial_id])}

    def _record_baseline(self, result: dict | None) -> None:
        cfg = _trial_config(result)
        name = self._metric_name
        if not cfg or cfg.get("arm") != Arm.SINGLE_TASK or name is None or result.get(name) is None:
            return
        if int(result.get("epoch", 0)) >= self._epochs:  # completed, not pruned
            self._single_task.setdefault(trial_level(cfg), []).append(float(result[name]))

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
            super().on_trial_result(trial_id, self._centred(trial_id, result))

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if not self._adopt(trial_id, result):
            return
        if trial_id in self._baseline_trials:
            if not error:
                self._record_baseline(result)
            return
        if trial_id not in self._levels and (cfg := _trial_config(result)):  # adopted after a restart
            self._levels[trial_id] = trial_level(cfg)
        result = self._centred(trial_id, result)
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
    """Ray Tune's concurrency limiter, in proposal order, which also passes on the end of trials it did not hand out.

    The stock limiter drops ``on_trial_complete`` for any trial it does not count as live,
    and errored trials re-run by ``resume --resume-errored / --restart-errored`` are such
    trials: without this, their Optuna trials would stay RUNNING forever. In batch mode
    the stock limiter tells a finished batch in completion order; this one tells it in
    the order the trials were proposed.
    """

    def __init__(self, searcher: Searcher, max_concurrent: int, batch: bool = False) -> None:
        super().__init__(searcher, max_concurrent=max_concurrent, batch=batch)
        self.proposal_order: dict[str, int] = {}

    def suggest(self, trial_id: str) -> dict | None:
        suggestion = super().suggest(trial_id)
        if suggestion not in (None, Searcher.FINISHED):
            self.proposal_order[trial_id] = len(self.proposal_order)
        return suggestion

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if trial_id not in self.live_trials:
            self.searcher.on_trial_complete(trial_id, result=result, error=error)
            return
        if not self.batch:
            super().on_trial_complete(trial_id, result=result, error=error)
            return
        self.cached_results[trial_id] = (result, error)
        self.num_unfinished_live_trials -= 1
        if self.num_unfinished_live_trials > 0:
            return
        for done in sorted(self.cached_results, key=lambda t: self.proposal_order.get(t, len(self.proposal_order))):
            done_result, done_error = self.cached_results[done]
            self.searcher.on_trial_complete(done, result=done_result, error=done_error)
            self.live_trials.discard(done)
        self.cached_results = {}
        self.num_unfinished_live_trials = 0
