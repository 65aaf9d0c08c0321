"""Reading a run directory's stored experiment and metadata (local path or URI)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from curriclip.config import ExperimentConfig, parse_experiment
from curriclip.errors import CurriclipError
from curriclip.names import RunFile
from curriclip.rundir.storage import RunLocation


def read_run(run_dir: str | Path) -> tuple[ExperimentConfig, dict]:
    """The experiment and run metadata stored in a run directory (local path or URI)."""
    run = RunLocation(run_dir)
    if not run.exists():
        raise CurriclipError(f"{run.uri}: run directory not found")
    if not run.exists(RunFile.RUN):
        raise CurriclipError(f"{run.uri}/{RunFile.RUN}: missing (not a curriclip run directory)")
    source = f"{run.uri}/{RunFile.EXPERIMENT}"
    try:
        raw = yaml.safe_load(run.read_text(RunFile.EXPERIMENT))
    except yaml.YAMLError:
        raise CurriclipError(f"{source}: invalid YAML") from None
    try:
        meta = json.loads(run.read_text(RunFile.RUN))
        int(meta["total_trials"]), str(meta["dataset_dir"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError):
        raise CurriclipError(
            f"{run.uri}/{RunFile.RUN}: damaged (expected JSON with total_trials and dataset_dir); "
            "it is written when a search starts and cannot be rebuilt by resume"
        ) from None
    return parse_experiment(raw, source=source), meta
