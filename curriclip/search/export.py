"""Results export: a run directory's Ray Tune records -> ``trials.parquet`` and ``epochs.parquet``.

Exactly one row per trial and one row per (trial, epoch): a trial restored from a
checkpoint re-reports epochs it had already reported, and the last report of each
epoch wins. Works while a search is still running (it reads the periodically saved
experiment state), and writes atomically so a reader never sees half a file.
"""

from __future__ import annotations

import json
import logging
import math
import os
import uuid
from pathlib import Path

import pandas as pd

from curriclip.errors import CurriclipError

RAY_STATUS = {
    "TERMINATED": "completed",
    "ERROR": "errored",
    "RUNNING": "running",
    "PENDING": "pending",
    "PAUSED": "pending",
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


def _read_results(trial_dir: Path) -> list[dict]:
    path = trial_dir / "result.json"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line:
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written right now
    return rows


def _error_summary(trial_dir: Path) -> str | None:
    path = trial_dir / "error.txt"
    if not path.is_file():
        return None
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:500] if lines else "error (no message)"


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def collect(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trial and epoch tables of a run directory (empty tables when nothing has run yet)."""
    from ray.tune import ExperimentAnalysis

    root = Path(run_dir).resolve()
    if not any(root.glob("experiment_state-*.json")):
        return pd.DataFrame(), pd.DataFrame()
    # Ray warns about trials without results (not started yet); the export records them as pending.
    logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
    try:
        analysis = ExperimentAnalysis(str(root))
    except Exception as exc:  # noqa: BLE001 - Ray raises many types for unreadable state
        raise CurriclipError(f"{root}: cannot read Ray Tune experiment state ({exc})") from None
    trial_rows, epoch_rows = [], []
    for trial in analysis.trials:
        cfg = trial.config.get("trial", {})
        trial_dir = Path(trial.path)
        by_epoch: dict[int, dict] = {}
        for result in _read_results(trial_dir):
            if "epoch" in result:
                by_epoch[int(result["epoch"])] = result
        epochs_target = int(cfg.get("epochs", 0))
        status = RAY_STATUS.get(trial.status, trial.status.lower())
        last = by_epoch[max(by_epoch)] if by_epoch else {}
        if status == "completed" and int(last.get("epoch", 0)) < epochs_target:
            status = "pruned"
        for epoch, result in sorted(by_epoch.items()):
            row = {"trial_id": trial.trial_id, "arm": cfg.get("arm"), "sparsity": cfg.get("sparsity"), "epoch": epoch}
            for key, value in result.items():
                if key not in SKIP_METRICS and key != "epoch" and isinstance(value, (int, float, str)):
                    row[key] = value
            row["time_s"] = result.get("time_s", float("nan"))
            epoch_rows.append(row)
        scores = [r.get("clip_score") for r in by_epoch.values() if r.get("clip_score") is not None]
        row = {
            "trial_id": trial.trial_id,
            "status": status,
            "arm": cfg.get("arm"),
            "sparsity": cfg.get("sparsity"),
            "seed": cfg.get("seed"),
            "pacing": cfg.get("pacing"),
            "ordering": " > ".join(cfg.get("tasks", [])),
            "lr": cfg.get("lr"),
            "stage_span": cfg.get("stage_span") if cfg.get("arm") == "curriculum" else math.nan,
            "epochs_done": int(last.get("epoch", 0)),
            "final_clip_score": last.get("clip_score", math.nan),
            "best_clip_score": max(scores) if scores else math.nan,
            "init_clip_score": last.get("init_clip_score", math.nan),
            "error": _error_summary(trial_dir) if status == "errored" else None,
            "config_json": json.dumps(cfg, sort_keys=True),
        }
        for key, value in trial.config.items():
            if key != "trial":
                row[f"param/{key}"] = value
        for key, value in last.items():
            if (
                key not in SKIP_METRICS
                and key != "epoch"
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            ):
                row[f"final/{key}"] = value
        trial_rows.append(row)
    trials = pd.DataFrame(trial_rows)
    epochs = pd.DataFrame(epoch_rows)
    if not trials.empty:
        trials = trials.sort_values(["arm", "sparsity", "trial_id"]).reset_index(drop=True)
    if not epochs.empty:
        epochs = epochs.sort_values(["trial_id", "epoch"]).reset_index(drop=True)
    return trials, epochs


def export_results(run_dir: str | Path) -> tuple[Path, Path]:
    """Write ``trials.parquet`` and ``epochs.parquet`` into the run directory."""
    root = Path(run_dir).resolve()
    trials, epochs = collect(root)
    trials_path, epochs_path = root / "trials.parquet", root / "epochs.parquet"
    _atomic_parquet(trials, trials_path)
    _atomic_parquet(epochs, epochs_path)
    return trials_path, epochs_path
