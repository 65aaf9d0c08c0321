"""Inspect one trial's curriculum without training: task weights and data fraction over training.

Pure functions of a trial config (the dict in ``params.json`` / ``config_json``): no torch, no
Ray, no dataset, so the report can tabulate any trial's schedule (its figure lives in
``curriclip.reports.figures.trial_schedule``). Fields a config leaves out take ``TrialConfig``'s
defaults, read from the config model itself.

The data fraction is the pacing function's value (the sample pool's admitted fraction);
given ``train_pairs``, it is the fraction the sampler actually draws from, which is never
below one batch (as ``epochs.parquet``'s ``data_fraction`` reports it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from curriclip.curriculum import pacing
from curriclip.curriculum.schedule import TaskSchedule

COLUMNS = ["step", "progress", "task", "weight", "data_fraction"]


@cache
def _default(name: str) -> Any:
    # Imported here: the config module is the contract (defaults live there once); importing it
    # lazily keeps ``import curriclip.curriculum.inspect`` light whatever the config imports.
    from curriclip.config import TrialConfig

    return TrialConfig.model_fields[name].get_default(call_default_factory=True)


def trial_fields(trial_config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The trial config itself (Ray's params.json nests it under ``trial``)."""
    return trial_config.get("trial", trial_config)


def field_value(cfg: Mapping[str, Any], name: str) -> Any:
    """``cfg[name]``, or TrialConfig's default for that field when absent or null."""
    value = cfg.get(name)
    return _default(name) if value is None else value


def trial_schedule(trial_config: Mapping[str, Any]) -> TaskSchedule:
    """The TaskSchedule a trial trains with."""
    cfg = trial_fields(trial_config)
    return TaskSchedule(
        tuple(cfg["tasks"]),
        float(field_value(cfg, "stage_span")),
        field_value(cfg, "schedule"),
        field_value(cfg, "stage_pacing"),
        dict(field_value(cfg, "stage_pacing_params")),
    )


def schedule_table(trial_config: Mapping[str, Any], points: int = 100, train_pairs: int | None = None) -> pd.DataFrame:
    """One row per (evaluated step, task): step, progress (step / total steps), task, weight, data_fraction.

    ``points`` steps spread evenly over training (every step when training is shorter);
    inactive tasks have weight 0, so each task's line is continuous.
    """
    cfg = trial_fields(trial_config)
    total = int(field_value(cfg, "epochs")) * int(field_value(cfg, "steps_per_epoch"))
    schedule = trial_schedule(cfg)
    pacing_fn = pacing.get(field_value(cfg, "pacing"))
    params = dict(field_value(cfg, "pacing_params"))
    steps = np.unique(np.linspace(0, total - 1, max(2, points)).round().astype(int))
    rows = []
    for step in steps:
        fraction = pacing_fn(int(step), total, **params)
        if train_pairs:
            batch = int(field_value(cfg, "batch_size"))
            admitted = min(train_pairs, max(math.ceil(fraction * train_pairs), min(batch, train_pairs)))
            fraction = admitted / train_pairs
        weights = schedule.weights(int(step), total)
        for task in schedule.ordering:
            rows.append((int(step), step / total, task, float(weights.get(task, 0.0)), float(fraction)))
    return pd.DataFrame(rows, columns=COLUMNS)


def describe(trial_config: Mapping[str, Any]) -> str:
    """One line naming a trial's curriculum: schedule, ordering, pacing, scorer and control."""
    cfg = trial_fields(trial_config)
    return (
        f"{field_value(cfg, 'schedule')} schedule of {' > '.join(cfg['tasks'])}; pacing {field_value(cfg, 'pacing')}, "
        f"scorer {field_value(cfg, 'scorer')}, control {field_value(cfg, 'control')}"
    )
