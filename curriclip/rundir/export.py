"""Results export: a run directory's Ray Tune records -> ``trials.parquet``, ``epochs.parquet`` and more.

Exactly one row per trial and one row per (trial, epoch): a trial restored from a
checkpoint re-reports epochs it had already reported, and the last report of each
epoch wins. Works while a search is still running (it reads the periodically saved
experiment state), and writes atomically so a reader never sees half a file.

A run holds the search phase's Tune experiment (the run directory itself) and the
confirm phase's (``confirm-<n>/`` inside it); both land in the same tables, told apart
by the ``phase`` and ``split_evaluated`` columns. Each curriculum's planned schedule is
exported beside them (``schedules.parquet``), so the report draws it without the
curriculum engine. The protocol's tables are written from these by ``curriclip.protocol``.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.fs as pafs

from curriclip.config import trial_level
from curriclip.errors import CurriclipError
from curriclip.names import (
    FINAL_PREFIX,
    HEADLINE_METRIC,
    PARAM_PREFIX,
    PER_PAIR_FILE,
    Arm,
    EpochColumn,
    Phase,
    RunFile,
    SparsityMode,
    Split,
    Status,
)
from curriclip.names import TrialColumn as Col
from curriclip.rundir.atomic import atomic_parquet
from curriclip.rundir.schedules import schedules_table
from curriclip.rundir.storage import RunLocation, confirm_dirs

RAY_STATUS = {
    "TERMINATED": Status.COMPLETED,
    "ERROR": Status.ERRORED,
    "RUNNING": Status.RUNNING,
    "PENDING": Status.PENDING,
    "PAUSED": Status.PENDING,
}
SKIP_METRICS = {
    "trial_id",
    "date",
    "hostname",
    "node_ip",
    "pid",
    "timestamp",
    "config",
    "checkpoint_dir_name",
    "done",
    "should_checkpoint",
    "time_this_iter_s",
    "time_total_s",
    "time_since_restore",
    "iterations_since_restore",
    "training_iteration",
}


class DamagedRecordsError(CurriclipError):
    """A trial's ``result.json`` holds a line that is not a JSON record: its results cannot be trusted."""


def _read_results(run: RunLocation, trial_dir: str, trial_id: str, writing: bool = False) -> list[dict]:
    """Every record of a trial's ``result.json``, in order.

    Only the last line of a trial that is still running may be incomplete (it is being
    written); any other unreadable line means the file was damaged, and skipping it would
    silently change the trial's epochs (and so its status and the answer).
    """
    path = f"{trial_dir}/result.json"
    if run.fs.get_file_info(path).type == pafs.FileType.NotFound:
        return []
    with run.fs.open_input_stream(path) as f:
        lines = f.read().decode("utf-8", errors="replace").splitlines()
    rows = []
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a record")
        except ValueError:
            if writing and i == last:
                continue  # a line being written right now
            raise DamagedRecordsError(
                f"{path}: line {i + 1}: damaged record of trial {trial_id} (not JSON); its results cannot be "
                "trusted: restore the file from a copy or delete the trial's directory and resume"
            ) from None
        rows.append(record)
    return rows


def check_records(run: RunLocation) -> None:
    """Raise ``DamagedRecordsError`` naming the first trial whose records are damaged (before a resume)."""
    selector = pafs.FileSelector(run.path, allow_not_found=True)
    for info in run.fs.get_file_info(selector):
        if info.type == pafs.FileType.Directory and Path(info.path).name.startswith("trial_"):
            _read_results(run, info.path, Path(info.path).name.removeprefix("trial_"))


def _error_summary(run: RunLocation, trial_dir: str) -> str | None:
    path = f"{trial_dir}/error.txt"
    if run.fs.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    with run.fs.open_input_stream(path) as f:
        text = f.read().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else "error (no message)"


def has_ray_state(run: RunLocation) -> bool:
    selector = pafs.FileSelector(run.path, allow_not_found=True)
    return any(Path(info.path).name.startswith("experiment_state-") for info in run.fs.get_file_info(selector))


def _iteration(result: dict | None) -> int:
    value = (result or {}).get("training_iteration")
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def damage(trial, records: list[dict], path: str) -> str | None:
    """Why an ended trial's records cannot be taken at their word, or None.

    Ray keeps two witnesses beside ``result.json``: the trial's last result in the
    experiment state (its iteration, and ``done`` on a trial that ended) and the result
    its latest checkpoint was saved with. Records that stop short of either lost their
    end (a truncated copy, a disk that filled up); read as they are, a completed trial
    would pass for a pruned one with an epoch fewer, so it is named "damaged" instead.
    A running trial's record may lag its state for a moment, so only ended trials are judged.
    Ray's ``done`` flag is no witness: a trial ended by population-based training has
    ``done`` in its state but not on its last line, whole as its record is.
    """
    if trial.status in ("RUNNING", "PENDING"):
        return None
    got = max((_iteration(r) for r in records), default=0)
    state = getattr(trial, "last_result", None) or {}
    try:
        latest = trial.run_metadata.checkpoint_manager.latest_checkpoint_result
        saved = _iteration(latest.metrics) if latest is not None else 0
    except AttributeError:  # another Ray's bookkeeping: the state's witness alone
        saved = 0
    if saved > got:
        return f"{path}: damaged record of trial {trial.trial_id}: ends at iteration {got}, its checkpoint at {saved}"
    if _iteration(state) > got:
        return (
            f"{path}: damaged record of trial {trial.trial_id}: ends at iteration {got}, "
            f"Ray's experiment state at {_iteration(state)}"
        )
    return None


def _status(trial, cfg: dict, last: dict, damaged: bool = False) -> str:
    """Ray's status in curriclip's words; a finished trial that stopped before its last epoch was pruned."""
    if damaged:
        return Status.DAMAGED
    status = RAY_STATUS.get(trial.status, trial.status.lower())
    if status == Status.COMPLETED and int(last.get("epoch", 0)) < int(cfg.get("epochs", 0)):
        return Status.PRUNED
    return status


def _epoch_rows(trial, by_epoch: dict[int, dict]) -> list[dict]:
    """One row per reported epoch (the last report of an epoch wins)."""
    cfg = trial.config.get("trial", {})
    level = trial_level(cfg) if cfg else None
    rows = []
    for epoch, result in sorted(by_epoch.items()):
        row = {Col.TRIAL_ID: trial.trial_id, Col.ARM: cfg.get("arm"), Col.SPARSITY: level, EpochColumn.EPOCH: epoch}
        for key, value in result.items():
            if key not in SKIP_METRICS and key != "epoch" and isinstance(value, (int, float, str)):
                row[key] = value
        row[EpochColumn.TIME_S] = result.get("time_s", float("nan"))
        rows.append(row)
    return rows


def restarts(trial, records: list[dict]) -> int:
    """How often the trial was restarted from a checkpoint (a lost node, a crash, a resumed search).

    Ray counts failures (``num_failures``), but a trial requeued after its node died is
    not always counted as failed; the records show every restart either way: the first
    report after a restore has ``iterations_since_restore`` 1 at a later iteration.
    """
    restored = sum(1 for r in records if r.get("iterations_since_restore") == 1 and r.get("training_iteration", 1) > 1)
    return max(int(trial.num_failures), restored)


def _trial_row(
    run: RunLocation, trial, by_epoch: dict[int, dict], restart_count: int, damaged: str | None = None
) -> dict:
    """The trial's row of ``trials.parquet``: what it was, how far it got, its last epoch's metrics."""
    cfg = trial.config.get("trial", {})
    last = by_epoch[max(by_epoch)] if by_epoch else {}
    status = _status(trial, cfg, last, damaged is not None)
    scores = [r.get(HEADLINE_METRIC) for r in by_epoch.values() if r.get(HEADLINE_METRIC) is not None]
    stamps = [r["timestamp"] for r in by_epoch.values() if isinstance(r.get("timestamp"), (int, float))]
    row = {
        Col.TRIAL_ID: trial.trial_id,
        Col.STATUS: status,
        Col.ARM: cfg.get("arm"),
        Col.PHASE: cfg.get("phase", Phase.SEARCH),
        # runs from before the protocol evaluated every epoch on test
        Col.SPLIT_EVALUATED: last.get("split_evaluated", Split.TEST if "phase" not in cfg else None),
        Col.SPARSITY: trial_level(cfg) if cfg else None,
        Col.SPARSITY_MODE: cfg.get("sparsity_mode", SparsityMode.PAIRS),
        Col.SEED: cfg.get("seed"),
        Col.PACING: cfg.get("pacing"),
        Col.ORDERING: " > ".join(cfg.get("tasks", [])),
        Col.LR: cfg.get("lr"),
        Col.STAGE_SPAN: cfg.get("stage_span") if cfg.get("arm") == Arm.CURRICULUM else math.nan,
        Col.EPOCHS_DONE: int(last.get("epoch", 0)),
        Col.RESTARTS: restart_count,
        Col.FINAL_CLIP_SCORE: last.get(HEADLINE_METRIC, math.nan),
        Col.BEST_CLIP_SCORE: max(scores) if scores else math.nan,
        Col.INIT_CLIP_SCORE: last.get(f"init_{HEADLINE_METRIC}", math.nan),
        Col.TEST_SPLIT_HASH: last.get("test_split_hash"),
        Col.THREADS: last.get("threads"),
        Col.VERSIONS: last.get("versions"),
        Col.ERROR: _error_summary(run, trial.path) if status == Status.ERRORED else damaged,
        Col.CONFIG_JSON: json.dumps(cfg, sort_keys=True),
        # first report's wall-clock time (the report's optimisation history orders trials by it)
        Col.STARTED_AT: min(stamps) if stamps else math.nan,
    }
    for key, value in trial.config.items():
        if key != "trial":
            row[f"{PARAM_PREFIX}{key}"] = value
    for key, value in last.items():
        if (
            key not in SKIP_METRICS
            and key != "epoch"
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            row[f"{FINAL_PREFIX}{key}"] = value
    return row


def _per_pair(trial) -> pd.DataFrame | None:
    """A completed confirm run's per-pair test scores (the JSON file in its last checkpoint)."""
    checkpoint = trial.checkpoint
    if checkpoint is None:
        return None
    path = f"{checkpoint.path}/{PER_PAIR_FILE}"
    if checkpoint.filesystem.get_file_info(path).type == pafs.FileType.NotFound:
        return None
    with checkpoint.filesystem.open_input_stream(path) as f:
        table = pd.DataFrame(json.loads(f.read().decode("utf-8")))
    table.insert(0, Col.TRIAL_ID, trial.trial_id)
    return table


def collect_experiment(run: RunLocation) -> tuple[pd.DataFrame, pd.DataFrame, list[pd.DataFrame]]:
    """(trials, epochs, per-pair tables) of one Ray Tune experiment directory (empty when nothing ran yet)."""
    from ray.tune import ExperimentAnalysis

    if not has_ray_state(run):
        return pd.DataFrame(), pd.DataFrame(), []
    # Ray warns about trials without results (not started yet); the export records them as pending.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    try:
        analysis = ExperimentAnalysis(run.uri)
    except Exception as exc:  # noqa: BLE001 - Ray raises many types for unreadable state
        raise CurriclipError(f"{run.uri}: cannot read Ray Tune experiment state ({exc})") from None
    trial_rows, epoch_rows, per_pair = [], [], []
    for trial in analysis.trials:
        records = _read_results(run, trial.path, trial.trial_id, writing=trial.status == "RUNNING")
        by_epoch = {int(r["epoch"]): r for r in records if "epoch" in r}  # the last report of an epoch wins
        epoch_rows += _epoch_rows(trial, by_epoch)
        damaged = damage(trial, records, f"{trial.path}/result.json")
        if damaged:
            print(f"curriclip: warning: {damaged}; reported as damaged, never as pruned", file=sys.stderr, flush=True)
        row = _trial_row(run, trial, by_epoch, restarts(trial, records), damaged)
        trial_rows.append(row)
        if row[Col.PHASE] == Phase.CONFIRM and row[Col.STATUS] == Status.COMPLETED:
            table = _per_pair(trial)
            if table is not None:
                per_pair.append(table)
    return pd.DataFrame(trial_rows).rename(columns=str), pd.DataFrame(epoch_rows).rename(columns=str), per_pair


def collect_all(run_dir: str | Path | RunLocation) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Trial, epoch and per-pair tables of a run (search and confirm phases; empty tables when nothing ran)."""
    run = run_dir if isinstance(run_dir, RunLocation) else RunLocation(run_dir)
    parts = [collect_experiment(run)]
    if has_ray_state(run):
        parts += [collect_experiment(RunLocation(f"{run.uri}/{name}")) for name in confirm_dirs(run)]
    trials = pd.concat([p[0] for p in parts if not p[0].empty] or [pd.DataFrame()], ignore_index=True)
    epochs = pd.concat([p[1] for p in parts if not p[1].empty] or [pd.DataFrame()], ignore_index=True)
    pairs = [t for p in parts for t in p[2]]
    per_pair = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame()
    if not trials.empty:
        trials = trials.sort_values([Col.PHASE, Col.ARM, Col.SPARSITY, Col.TRIAL_ID]).reset_index(drop=True)
    if not epochs.empty:
        epochs = epochs.sort_values([EpochColumn.TRIAL_ID, EpochColumn.EPOCH]).reset_index(drop=True)
    check_test_split(epochs)
    return trials, epochs, per_pair


def collect(run_dir: str | Path | RunLocation) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trial and epoch tables of a run directory or URI (empty tables when nothing has run yet)."""
    trials, epochs, _ = collect_all(run_dir)
    return trials, epochs


def check_test_split(epochs: pd.DataFrame) -> str | None:
    """The held-out split's fingerprint shared by every evaluation of a run; an error if any differs.

    Every trial reports ``test_split_hash`` (the fingerprint of the split it evaluates on) after each
    evaluation; comparing arms is only fair on the same pairs. Each evaluated split (validate in the search
    phase, test in the confirm phase) is checked on its own; the return value is the test split's.
    """
    if epochs.empty or "test_split_hash" not in epochs.columns:
        return None
    if "split_evaluated" in epochs.columns and epochs["split_evaluated"].nunique() > 1:
        found = None
        for split, part in epochs.groupby(epochs["split_evaluated"].fillna(Split.TEST)):
            found = check_test_split(part.drop(columns="split_evaluated")) if split == Split.TEST else found
            if split != Split.TEST:
                check_test_split(part.drop(columns="split_evaluated"))
        return found
    hashes = epochs["test_split_hash"].dropna()
    if hashes.empty:
        return None
    counts = hashes.value_counts()
    if len(counts) > 1:
        common = counts.index[0]
        odd = sorted(
            set(epochs.loc[epochs["test_split_hash"].notna() & (epochs["test_split_hash"] != common), "trial_id"])
        )
        raise CurriclipError(
            f"trials of this run were evaluated on different held-out splits (test_split_hash {common} for most, "
            f"another for trial(s) {', '.join(map(str, odd[:5]))}); their scores are not comparable"
        )
    return str(counts.index[0])


@dataclass
class Exported:
    """What ``export_results`` wrote, and the tables it read (the confirm phase's tables are built from them)."""

    staging: Path  # the local directory holding the files (the run directory itself when local)
    trials: pd.DataFrame
    per_pair: pd.DataFrame
    written: list[str]


def export_results(run_dir: str | Path | RunLocation) -> Exported:
    """Write ``trials.parquet``, ``epochs.parquet`` and ``schedules.parquet`` into the run directory.

    Remote runs are written in a local staging directory and uploaded.
    """
    run = run_dir if isinstance(run_dir, RunLocation) else RunLocation(run_dir)
    trials, epochs, per_pair = collect_all(run)
    staging = run.staging()
    atomic_parquet(trials, staging / RunFile.TRIALS)
    atomic_parquet(epochs, staging / RunFile.EPOCHS)
    atomic_parquet(schedules_table(trials), staging / RunFile.SCHEDULES)
    written = [RunFile.TRIALS, RunFile.EPOCHS, RunFile.SCHEDULES]
    run.upload(written)
    return Exported(staging, trials, per_pair, written)
