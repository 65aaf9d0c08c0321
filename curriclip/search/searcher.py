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

``CurriculumLimiter`` is Ray Tune's concurrency limiter; with ``batch=True`` (a synchronous
search) Optuna's proposal number s is made with exactly proposals 0 .. s - slots told, in
proposal order, and the ones after them still pending, so its proposals do not depend on
which trial finished first, and no slot waits for a whole batch to end. The baselines,
drawn up front, wait for no proposal: each starts as soon as a slot is free and no earlier
trial of its (arm, level) group runs.
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
from curriclip.search.scheduler import scheduler_group

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


def default_sampler(metric: str | list[str], seed: int, n_startup_trials: int) -> optuna.samplers.BaseSampler:
    """TPE (multivariate, grouped, with constant liar) for one objective; NSGA-II for several."""
    with warnings.catch_warnings():  # multivariate/group/constant_liar are flagged experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if isinstance(metric, list):  # multi-objective: e.g. CLIP score up, compute down
            return optuna.samplers.NSGAIISampler(seed=seed)
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=n_startup_trials, multivariate=True, group=True, constant_liar=True
        )


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
        sampler: optuna.samplers.BaseSampler | None = None,
    ) -> None:
        """``sampler``: another Optuna sampler in place of TPE (``benchmarks/bench_search_efficiency.py``)."""
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = sampler or default_sampler(metric, seed, n_startup_trials)
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
        self._running_baselines: dict[str, tuple[str, float]] = {}  # handed-out, unfinished baseline -> group
        self._epochs = epochs
        self._metric_name = metric if isinstance(metric, str) else None  # centred only with one objective
        self._single_task: dict[float, list[float]] = {}  # level -> completed single-task validation scores
        self._reference: dict[float, float] = {}  # level -> the centre, frozen at the level's first tell
        self._levels: dict[str, float] = {}  # curriculum trial -> its level

    @property
    def study(self) -> optuna.Study:
        return self._ot_study

    def suggest(self, trial_id: str) -> dict | None:
        """The next baseline, in order; once they are all handed out, Optuna's proposal."""
        if self._baseline_queue:
            return self.suggest_baseline(trial_id)
        return self.suggest_study(trial_id)

    def ready_baseline(self) -> int | None:
        """The queue index of the first baseline no earlier trial of whose group still runs (None: none).

        A baseline started only then is compared by its group's scheduler with every earlier
        trial of the group, finished, whatever the timing: its pruning is reproducible.
        """
        running = set(self._running_baselines.values())
        return next((i for i, cfg in enumerate(self._baseline_queue) if scheduler_group(cfg) not in running), None)

    def queued_baselines(self) -> int:
        """Baselines not yet handed out."""
        return len(self._baseline_queue)

    def baselines_done(self) -> bool:
        """Every baseline handed out and finished (so each level's centre is final)."""
        return not self._baseline_queue and not self._running_baselines

    def suggest_baseline(self, trial_id: str, index: int = 0) -> dict:
        """Hand out the baseline at ``index`` of the queue (it never enters the study)."""
        if trial_id in self._baseline_trials:
            raise RuntimeError(f"trial {trial_id} asked for a second config")
        cfg = self._baseline_queue.pop(index)
        self._baseline_trials.add(trial_id)
        self._running_baselines[trial_id] = scheduler_group(cfg)
        return {"trial": cfg}

    def suggest_study(self, trial_id: str) -> dict | None:
        """Optuna's next curriculum proposal."""
        config = super().suggest(trial_id)
        if isinstance(config, dict) and "trial" in config and trial_id in self._ot_trials:
            self._proposed[_config_key(config["trial"])] = self._ot_trials[trial_id].number
            self._levels[trial_id] = trial_level(config["trial"])
        return config

    def reference(self, level: float) -> float:
        """The centre of ``level``: the mean single-task validation score there, frozen when first used.

        In a synchronous search every baseline has finished before a curriculum trial's
        first result or its end is told (``CurriculumLimiter`` holds both), so the centre is
        the same in every run; asynchronously it is the mean of the single-task trials
        finished by then (0 when none has).
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
        self._running_baselines.pop(trial_id, None)
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
    """Ray Tune's concurrency limiter, with a lagged window for Optuna, which also passes on trials it did not hand out.

    With ``batch=True`` the study's proposal s waits until proposals 0 .. s - max_concurrent
    have been told, and proposal t is told only once it has finished, every earlier proposal
    has been told, every baseline has finished, and proposal t + max_concurrent - 1 has been
    made (or never will be). A proposal's intermediate results wait for its tell too (Optuna
    scores a pruned trial by its last one, and each is centred on its level's single-task
    mean, which is final only once every baseline has finished). So proposal s sees the same
    told trials (0 .. s - max_concurrent), with the same values, and the same pending ones
    (constant liar) whatever the timing, and a slot waits only when
    a proposal finished before one ``max_concurrent`` places earlier: the window slides one
    trial at a time, where a batch barrier held every slot until the batch's slowest trial
    ended. Baselines need no window: their configurations are fixed, and each starts only
    when no earlier trial of its scheduler group runs (``CurriculumSearcher.ready_baseline``),
    so its rungs compare with the same finished trials whatever the timing.

    The stock limiter drops ``on_trial_complete`` for any trial it did not hand out, and
    errored trials re-run by ``resume --resume-errored / --restart-errored`` are such
    trials: without this, their Optuna trials would stay RUNNING forever.
    """

    def __init__(
        self, searcher: Searcher, max_concurrent: int, batch: bool = False, study_trials: int | None = None
    ) -> None:
        """``study_trials``: how many proposals the study will make (the last ones are told without a successor)."""
        super().__init__(searcher, max_concurrent=max_concurrent, batch=batch)
        if batch and study_trials is None:
            raise ValueError("a synchronous limiter needs study_trials (how many proposals the study makes)")
        self.study_trials = study_trials or 0
        self.study_told = 0  # proposals told, in proposal order
        self.untold: list[str] = []  # the proposals made and not yet told, in proposal order
        self.running: set[str] = set()  # handed out and not finished
        self.finished: dict[str, tuple[dict | None, bool]] = {}  # study trial finished, not yet told -> result
        self.results: dict[str, list[dict]] = {}  # study trial not yet told -> its intermediate results

    def suggest(self, trial_id: str) -> dict | None:
        if not self.batch:
            suggestion = super().suggest(trial_id)
        elif len(self.running) >= self.max_concurrent:
            return None
        elif (index := self.searcher.ready_baseline()) is not None:
            suggestion = self.searcher.suggest_baseline(trial_id, index)
        elif self._study_may_propose():
            suggestion = self.searcher.suggest_study(trial_id)
            if suggestion not in (None, Searcher.FINISHED):
                self.untold.append(trial_id)
                self._tell_finished()  # a finished proposal may have waited for this one
        else:
            return None
        if self.batch and suggestion not in (None, Searcher.FINISHED):
            self.running.add(trial_id)
        return suggestion

    @property
    def study_proposed(self) -> int:
        """How many proposals the study has made."""
        return self.study_told + len(self.untold)

    def _study_may_propose(self) -> bool:
        """A proposal is left, and every proposal ``max_concurrent`` or more places before it has been told."""
        left = self.study_proposed < self.study_trials
        return left and self.study_told >= self.study_proposed - self.max_concurrent + 1

    def _may_tell(self, index: int) -> bool:
        """Proposal ``index`` may be told: the last proposal that must not see it has been made (or never will)."""
        last_blind = index + self.max_concurrent - 1
        return self.study_proposed > last_blind or last_blind >= self.study_trials

    def _tell_finished(self) -> None:
        """Tell the study its finished proposals, in proposal order, as far as the window allows."""
        while self.untold and self.searcher.baselines_done():
            trial_id = self.untold[0]
            if trial_id not in self.finished or not self._may_tell(self.study_told):
                return
            done_result, done_error = self.finished.pop(trial_id)
            self.untold.pop(0)
            self.study_told += 1
            for result in self.results.pop(trial_id, []):
                self.searcher.on_trial_result(trial_id, result)
            self.searcher.on_trial_complete(trial_id, result=done_result, error=done_error)

    def set_state(self, state: dict) -> None:
        """Restores a saved limiter, converting one saved by the batch rule (``batch_of``) to the window's state."""
        state = dict(state)
        if "batch_of" in state:  # its told proposals are a prefix; the untold ones follow in proposal order
            order = state.pop("proposal_order", {})
            state["untold"] = sorted(state.pop("batch_of"), key=lambda trial_id: order.get(trial_id, 0))
            state["study_told"] = state.pop("study_proposed", 0) - len(state["untold"])
            state.pop("baselines", None)
        super().set_state(state)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if self.batch and trial_id in self.untold:  # a proposal not yet told: its results wait for its tell
            self.results.setdefault(trial_id, []).append(result)
            return
        self.searcher.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        if not self.batch:
            if trial_id in self.live_trials:
                super().on_trial_complete(trial_id, result=result, error=error)
            else:
                self.searcher.on_trial_complete(trial_id, result=result, error=error)
            return
        if trial_id not in self.running:
            self.searcher.on_trial_complete(trial_id, result=result, error=error)
            return
        self.running.discard(trial_id)
        if trial_id in self.untold:
            self.finished[trial_id] = (result, error)
        else:  # a baseline: nothing waits on its order
            self.searcher.on_trial_complete(trial_id, result=result, error=error)
        self._tell_finished()
