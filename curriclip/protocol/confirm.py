"""The confirm phase: re-run each arm's validation winner with K fresh paired seeds, evaluated once on test.

Each call is one or more Ray Tune experiments inside the run directory
(``confirm-1/``, ``confirm-2/``, ...), so it runs on a cluster, stores where the search
stores, and resumes like a search: an interrupted confirm experiment is restored first
(finished runs stay finished, unfinished ones continue from their checkpoints); then
the runs the plan still lacks, keyed by (arm, level, seed), start in a new experiment.
Calling it again with the same K therefore runs nothing, and a larger K adds seeds.
The tables, the answer and the report follow in ``curriclip.pipeline``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass

import pandas as pd

from curriclip.cluster import init_ray
from curriclip.config import MIN_CONFIRM_SEEDS, parse_experiment
from curriclip.errors import CurriclipError
from curriclip.names import ENDED_STATUSES, Phase, RunFile, Status
from curriclip.names import TrialColumn as Col
from curriclip.protocol.select import ConfirmRun, confirm_plan, select_winners
from curriclip.rundir.export import collect_experiment, export_results
from curriclip.rundir.launch import concurrency, fit, run_config, trainable_for, trial_dirname
from curriclip.rundir.progress import ProgressPrinter
from curriclip.rundir.reading import read_run
from curriclip.rundir.storage import RunLocation, confirm_dirs, join


@dataclass
class ConfirmOutcome:
    planned: int
    done: int
    errored: int
    ran: int  # runs this call finished (not those it started and Ctrl-C cut off)
    notes: list[str]
    interrupted: bool = False


@dataclass
class ConfirmRuns:
    """What one call of the confirm phase planned and started; ``outcome`` counts them in the exported trials."""

    plan: list[ConfirmRun]
    started: set  # keys of the runs this call started
    notes: list[str]
    interrupted: bool = False

    def outcome(self, trials: pd.DataFrame) -> ConfirmOutcome:
        finished = finished_keys(trials)
        errored = finished_keys(trials, (Status.ERRORED,)) - finished
        keys = {r.key for r in self.plan}
        ran = len(self.started & finished)
        return ConfirmOutcome(len(self.plan), len(keys & finished), len(errored), ran, self.notes, self.interrupted)


def _key(row) -> tuple[str, float, int]:
    cfg = json.loads(row[Col.CONFIG_JSON])
    return (str(cfg["arm"]), round(float(row[Col.SPARSITY]), 9), int(cfg["seed"]))


def finished_keys(trials: pd.DataFrame, statuses: tuple[str, ...] = (Status.COMPLETED,)) -> set:
    """(arm, level, seed) of the confirm runs in ``trials`` with one of ``statuses``."""
    if trials.empty or Col.PHASE not in trials.columns:
        return set()
    rows = trials[(trials[Col.PHASE] == Phase.CONFIRM) & trials[Col.STATUS].isin(statuses)]
    return {_key(row) for _, row in rows.iterrows()}


def _check_search_finished(run: RunLocation, trials: pd.DataFrame, total: int) -> None:
    """Winners are selected from the whole search budget, never from part of it (arms would differ in budget)."""
    search = trials[trials[Col.PHASE] == Phase.SEARCH] if not trials.empty else trials
    ended = int(search[Col.STATUS].isin(ENDED_STATUSES).sum()) if len(search) else 0
    if ended < total:
        raise CurriclipError(
            f"{run.uri}: the search phase has finished {ended} of {total} trials; "
            f"finish it first (curriclip resume {run.uri}), then confirm"
        )


def _restore_unfinished(run: RunLocation, trainable, name: str) -> bool:
    """Continue an interrupted confirm experiment (Ctrl-C, a lost driver) from its checkpoints; interrupted again?"""
    from ray import tune

    uri = join(run.uri, name)
    if not tune.Tuner.can_restore(uri):
        return False
    trials, _, _ = collect_experiment(RunLocation(uri))
    if not trials.empty and trials[Col.STATUS].isin([Status.COMPLETED, Status.ERRORED]).all():
        return False
    print(f"curriclip: confirm: continuing the interrupted {name}", file=sys.stderr, flush=True)
    return fit(tune.Tuner.restore(uri, trainable=trainable, resume_errored=True))


def _run_missing(
    run: RunLocation, experiment, trainable, missing: list[ConfirmRun], concurrency: int, name: str
) -> bool:
    from ray import tune

    from curriclip.trainables.tune_trainable import reuse_processes

    param_space = {"trial": tune.grid_search([r.trial for r in missing])}
    tuner = tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(
            num_samples=1,
            max_concurrent_trials=concurrency,
            trial_dirname_creator=trial_dirname,
            reuse_actors=reuse_processes(),  # warm trial processes (curriclip.trainables.tune_trainable)
        ),
        run_config=run_config(
            name, run.uri, [ProgressPrinter(len(missing), experiment.search.metric, experiment.training.epochs, "test")]
        ),
    )
    return fit(tuner)


def run_confirm(run_dir: str, seeds: int | None = None, address: str | None = None, trainable=None) -> ConfirmRuns:
    """Run (or extend, or resume) the confirm phase of a finished search."""
    experiment, meta = read_run(run_dir)
    run = RunLocation(run_dir)
    run.require_writable("the confirm phase")
    k = experiment.protocol.confirm_seeds if seeds is None else seeds
    if k < MIN_CONFIRM_SEEDS:
        field = "--seeds" if seeds is not None else f"{run.uri}/{RunFile.EXPERIMENT}: protocol.confirm_seeds"
        raise CurriclipError(
            f"{field}: {k}: the confirm phase needs at least {MIN_CONFIRM_SEEDS} seeds to test a comparison"
            + (" (give --seeds K)" if seeds is None else "")
        )
    if k != experiment.protocol.confirm_seeds:  # re-validated: the added seeds must still miss search.seeds
        raw = experiment.model_dump(mode="json")
        raw["protocol"]["confirm_seeds"] = k
        experiment = parse_experiment(raw, source=f"{run.uri} with --seeds {k}")
    init_ray(address)
    slots = concurrency(experiment)
    trainable = trainable or trainable_for(experiment)
    names = confirm_dirs(run)
    if names and _restore_unfinished(run, trainable, names[-1]):
        return ConfirmRuns([], set(), [], interrupted=True)
    trials = export_results(run).trials
    _check_search_finished(run, trials, int(meta["total_trials"]))
    plan, notes = confirm_plan(experiment, select_winners(trials, experiment), k)
    for note in notes:
        print(f"curriclip: confirm: {note}", file=sys.stderr, flush=True)
    done = finished_keys(trials)
    missing = [r for r in plan if r.key not in done]
    interrupted = False
    if missing:
        name = f"confirm-{len(names) + 1}"
        print(
            f"curriclip: confirm: {len(missing)} of {len(plan)} runs ({len(plan) - len(missing)} already done), "
            f"{slots} at a time, into {join(run.uri, name)}",
            file=sys.stderr,
            flush=True,
        )
        interrupted = _run_missing(run, experiment, trainable, missing, slots, name)
    if not interrupted:
        run.write_text(RunFile.RUN, json.dumps({**meta, "confirm_seeds": max(k, int(meta.get("confirm_seeds", 0)))}))
    return ConfirmRuns(plan, {r.key for r in missing}, notes, interrupted)
