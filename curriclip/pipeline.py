"""The conductor: search phase -> confirm phase -> protocol tables -> report, in that order.

``curriclip search``, ``resume``, ``confirm`` and ``report`` all call this module; the
phases themselves (``curriclip.search``, ``curriclip.protocol``) know nothing of each
other or of the report. After each phase the run's Ray Tune records are exported to
Parquet (``curriclip.rundir.export``), the confirm phase's tables and the answer are
written when confirm runs exist (``curriclip.protocol.tables``), and the report is
rendered from those files alone (``curriclip.reports``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from curriclip.config import ExperimentConfig
from curriclip.errors import CurriclipError
from curriclip.names import Phase, RunFile, Status
from curriclip.names import TrialColumn as Col
from curriclip.rundir.storage import RunLocation


@dataclass
class SearchOutcome:
    run_dir: str  # local path or URI
    finished: int
    total: int
    errored: int
    confirm_planned: int = 0  # confirm runs of the plan (0: no confirm phase)
    confirm_missing: int = 0  # confirm runs the plan still lacks (an interrupted or failed confirm phase)

    @property
    def complete(self) -> bool:
        return self.finished >= self.total


def publish(
    run_dir: str | Path | RunLocation, out: str | Path | None = None, refresh: float | None = None
) -> tuple[pd.DataFrame, Path]:
    """Export the run's records, write the protocol's tables when confirm runs exist, render the report.

    Returns the exported trials and the report's path (``out``, or the run directory's ``report.html``,
    uploaded when the run is remote). ``refresh``: seconds after which the page reloads itself.
    """
    from curriclip.protocol.tables import write_protocol_tables
    from curriclip.reports import build_report
    from curriclip.rundir.export import export_results

    run = run_dir if isinstance(run_dir, RunLocation) else RunLocation(run_dir)
    exported = export_results(run)
    trials = exported.trials
    if not trials.empty and (trials[Col.PHASE] == Phase.CONFIRM).any():
        run.upload(write_protocol_tables(run, exported.staging, trials, exported.per_pair))
    if run.remote and run.exists(RunFile.EXPERIMENT):
        (exported.staging / RunFile.EXPERIMENT).write_text(run.read_text(RunFile.EXPERIMENT))
    report = build_report(exported.staging, out, refresh=refresh)
    if out is None:
        run.upload([RunFile.REPORT])
    return trials, report


def _outcome(run: RunLocation, trials: pd.DataFrame, total: int) -> SearchOutcome:
    if trials.empty:
        return SearchOutcome(run.uri, 0, total, 0)
    search = trials[trials[Col.PHASE] == Phase.SEARCH]
    finished = int(search[Col.STATUS].isin([Status.COMPLETED, Status.PRUNED, Status.ERRORED]).sum())
    errored = int((search[Col.STATUS] == Status.ERRORED).sum())
    return SearchOutcome(run.uri, finished, total, errored)


def _after_search(
    experiment: ExperimentConfig, run: RunLocation, total: int, address: str | None, trainable
) -> SearchOutcome:
    """Publish the search phase; then, when it finished and the protocol asks for it, confirm."""
    trials, _ = publish(run)
    outcome = _outcome(run, trials, total)
    if experiment.protocol.confirm_seeds and outcome.complete:  # idempotent: runs only what is missing
        confirmed = confirm(run.uri, address=address, trainable=trainable)
        outcome.confirm_planned, outcome.confirm_missing = confirmed.planned, confirmed.planned - confirmed.done
    return outcome


def run_search(
    experiment: ExperimentConfig,
    name: str | None = None,
    storage: str | None = None,
    address: str | None = None,
    num_trials: int | None = None,
    trainable=None,
) -> SearchOutcome:
    """The whole protocol (blocking): the search phase, then the confirm phase, the answer and the report.

    ``trainable`` replaces curriclip's Ray Tune trainable (benchmarks of the search machinery only).
    """
    from curriclip.search import run_search_phase

    experiment, run, total = run_search_phase(experiment, name, storage, address, num_trials, trainable)
    return _after_search(experiment, run, total, address, trainable)


def resume_search(
    run_dir: str | Path, address: str | None = None, resume_errored: bool = False, restart_errored: bool = False
) -> SearchOutcome:
    """Continue an interrupted run: the search phase where it stopped, then whatever of the protocol is missing."""
    from curriclip.search import resume_search_phase

    experiment, run, total = resume_search_phase(run_dir, address, resume_errored, restart_errored)
    return _after_search(experiment, run, total, address, None)


def confirm(run_dir: str, seeds: int | None = None, address: str | None = None, trainable=None):
    """Run (or extend, or resume) the confirm phase of a finished search, publish, and log the answer to the
    experiment's trackers (once per answer); a ``ConfirmOutcome``."""
    from curriclip.protocol.confirm import run_confirm
    from curriclip.rundir.reading import read_run
    from curriclip.tracking import log_answer

    runs = run_confirm(run_dir, seeds=seeds, address=address, trainable=trainable)
    trials, _ = publish(run_dir)
    run = RunLocation(run_dir)
    experiment, _ = read_run(run_dir)
    log_answer(experiment, run.uri, run.read_text(RunFile.ANSWER) if run.exists(RunFile.ANSWER) else None)
    return runs.outcome(trials)


def report(run_dir: str, out: str | Path | None = None) -> str | Path:
    """Render a run's report (exporting its records first when Ray Tune's state is there); where it went."""
    from curriclip.reports import build_report
    from curriclip.rundir.export import has_ray_state

    run = RunLocation(run_dir)
    if not run.exists():
        raise CurriclipError(f"{run.uri}: run directory not found")
    if has_ray_state(run):
        _, path = publish(run, out)
        return f"{run.uri}/{RunFile.REPORT}" if run.remote and out is None else path
    if not run.remote and run.exists(RunFile.TRIALS):
        return build_report(run.path, out)
    raise CurriclipError(f"{run.uri}: neither Ray Tune state nor {RunFile.TRIALS} found (not a run directory)")
