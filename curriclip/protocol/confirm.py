"""The confirm phase: re-run each arm's validation winner with K fresh paired seeds, evaluated once on test.

Each call is one or more Ray Tune experiments inside the run directory
(``confirm-1/``, ``confirm-2/``, ...), so it runs on a cluster, stores where the search
stores, and resumes like a search: an interrupted confirm experiment is restored first
(finished runs stay finished, unfinished ones continue from their checkpoints); then
the runs the plan still lacks, keyed by (arm, level, seed), start in a new experiment.
Calling it again with the same K therefore runs nothing. K is a planned look
(``protocol.looks``): the first runs every arm; a later one adds seeds only to the arms
that a comparison still undecided at the previous look reads (``curriclip.protocol.looks``),
and only once that look has been taken. The tables, the answer and the report follow in
``curriclip.pipeline``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from curriclip.cluster import init_ray
from curriclip.config import parse_experiment
from curriclip.errors import CurriclipError
from curriclip.names import ENDED_STATUSES, Phase, RunFile, Status
from curriclip.names import TrialColumn as Col
from curriclip.protocol.select import ConfirmRun, check_selected_on_validate, confirm_plan, select_winners
from curriclip.rundir.export import collect_experiment, export_results
from curriclip.rundir.launch import concurrency, fit, run_config, trainable_for, trial_dirname
from curriclip.rundir.progress import ProgressPrinter
from curriclip.rundir.reading import read_run
from curriclip.rundir.storage import RunLocation, confirm_dirs, join
from curriclip.tracking import require_trackers, tracker_callbacks


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
            name,
            run.uri,
            [
                ProgressPrinter(len(missing), experiment.search.metric, experiment.training.epochs, "test"),
                *tracker_callbacks(experiment, run.uri),
            ],
        ),
    )
    return fit(tuner)


def _check_look(experiment, k: int) -> None:
    """K must be a look declared before the run (optional stopping otherwise); without any plan, K >= 2 is the plan."""
    looks = experiment.protocol.planned_looks
    if looks and k not in looks:
        raise CurriclipError(
            f"--seeds {k}: not a planned look (protocol.looks: {looks}); seeds are added only at looks declared "
            "before the run"
        )
    if k < 2:
        raise CurriclipError(f"--seeds {k}: a paired comparison needs at least 2 seeds (a verdict at least 3)")


def _with_plan(experiment, k: int, meta: dict):
    """The experiment of a run declared without confirm seeds (``confirm_seeds: 0``), given K as its one look.

    The first K such a run is confirmed with is recorded in ``run.json`` and stays its only look:
    a second, larger K after reading the answer would be optional stopping.
    """
    if experiment.protocol.planned_looks:
        return experiment
    declared = int(meta.get("confirm_seeds") or 0)
    if declared and k != declared:
        raise CurriclipError(
            f"--seeds {k}: this run declared no looks (protocol.confirm_seeds: 0) and its confirm phase took "
            f"{declared} seeds; more seeds after reading its answer would be optional stopping"
        )
    raw = experiment.model_dump(mode="json")
    raw["protocol"]["confirm_seeds"] = k
    raw["protocol"]["looks"] = None
    return parse_experiment(raw, source=f"--seeds {k}")


def _look_plan(experiment, trials: pd.DataFrame, winners: dict, k: int) -> tuple[list[ConfirmRun], list[str]]:
    """The runs look K needs: every arm at the first look; later, the previous looks' runs and new seeds only
    for the arms an undecided comparison reads."""
    from curriclip.protocol.looks import analyse_looks
    from curriclip.protocol.tables import confirm_table

    plan, notes = confirm_plan(experiment, winners, k)
    looks = experiment.protocol.planned_looks
    index = looks.index(k)
    if index == 0:
        return plan, notes
    confirm = confirm_table(trials, experiment, winners)
    if confirm.empty:
        raise CurriclipError(f"--seeds {k}: take the first planned look ({looks[0]} seeds) first")
    levels = sorted(float(v) for v in confirm["level"].unique())
    arms = [arm for arm in experiment.protocol.arms if (confirm["arm"] == arm).any()]
    analysis = analyse_looks(experiment, confirm, levels, arms)
    previous = looks[index - 1]
    if analysis.looks[analysis.reached - 1] < previous:
        raise CurriclipError(
            f"--seeds {k}: take the planned look at {previous} seeds first (curriclip confirm --seeds {previous})"
        )
    if analysis.reached > index:  # this look was already started: its plan is what it needed then
        analysis = analyse_looks(experiment, confirm[confirm["seed_index"] < previous], levels, arms)
    needs = analysis.needs()
    kept = [r for r in plan if r.seed_index < previous or (str(r.arm), round(r.level, 9)) in needs]
    notes.append(
        f"look at {k} seeds: {len(analysis.undecided())} comparison(s) undecided at {previous} seeds; "
        f"adding seeds to {len(needs)} arm x level pair(s)"
        if needs
        else f"every comparison was decided at {previous} seeds: no seeds to add"
    )
    return kept, notes


def run_confirm(run_dir: str, seeds: int | None = None, address: str | None = None, trainable=None) -> ConfirmRuns:
    """Run (or extend to the next planned look, or resume) the confirm phase of a finished search."""
    experiment, meta = read_run(run_dir)
    run = RunLocation(run_dir)
    run.require_writable("the confirm phase")
    k = seeds if seeds is not None else experiment.protocol.confirm_seeds or int(meta.get("confirm_seeds") or 0)
    if not k:
        raise CurriclipError(
            f"{run.uri}/{RunFile.EXPERIMENT}: protocol.confirm_seeds: 0: this run declared no confirm seeds; "
            "give --seeds K"
        )
    _check_look(experiment, k)
    experiment = _with_plan(experiment, k, meta)
    if not run.remote and run.exists(RunFile.TRIALS):  # refused before Ray starts when the export is at hand
        check_selected_on_validate(pd.read_parquet(Path(run.path) / RunFile.TRIALS))
    require_trackers(experiment.tracking)
    init_ray(address)
    slots = concurrency(experiment)
    trainable = trainable or trainable_for(experiment)
    names = confirm_dirs(run)
    if names and _restore_unfinished(run, trainable, names[-1]):
        return ConfirmRuns([], set(), [], interrupted=True)
    trials = export_results(run).trials
    _check_search_finished(run, trials, int(meta["total_trials"]))
    check_selected_on_validate(trials)
    plan, notes = _look_plan(experiment, trials, select_winners(trials, experiment), k)
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
