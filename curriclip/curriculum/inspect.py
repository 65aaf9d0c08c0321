"""Inspect one trial's curriculum without training: task weights and data fraction over training.

Pure functions of a trial config (the dict in ``params.json`` / ``config_json``): no
torch, no Ray, no dataset, so the report can draw any trial's schedule. ``schedule_table``
gives the numbers, ``schedule_figure`` a Plotly figure of them.

The data fraction is the pacing function's value (the sample pool's admitted fraction);
given ``train_pairs``, it is the fraction the sampler actually draws from, which is never
below one batch (as ``epochs.parquet``'s ``data_fraction`` reports it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from curriclip.curriculum import pacing
from curriclip.curriculum.schedule import DEFAULT_STAGE_PACING, DEFAULT_STAGE_PACING_PARAMS, TaskSchedule

#: TrialConfig's defaults for the fields read here (``tests/test_schedule.py`` checks they agree).
DEFAULTS: dict[str, Any] = {
    "stage_span": 0.5,
    "schedule": "cumulative",
    "stage_pacing": DEFAULT_STAGE_PACING,
    "stage_pacing_params": DEFAULT_STAGE_PACING_PARAMS,
    "pacing": "none",
    "pacing_params": {},
    "control": "none",
    "scorer": "metadata",
    "batch_size": 64,
    "epochs": 8,
    "steps_per_epoch": 40,
}

COLUMNS = ["step", "progress", "task", "weight", "data_fraction"]


def _field(cfg: Mapping[str, Any], name: str) -> Any:
    value = cfg.get(name)
    return DEFAULTS[name] if value is None else value


def trial_schedule(trial_config: Mapping[str, Any]) -> TaskSchedule:
    """The TaskSchedule a trial trains with."""
    cfg = trial_config.get("trial", trial_config)  # Ray's params.json nests the trial config
    return TaskSchedule(
        tuple(cfg["tasks"]),
        float(_field(cfg, "stage_span")),
        _field(cfg, "schedule"),
        _field(cfg, "stage_pacing"),
        dict(_field(cfg, "stage_pacing_params")),
    )


def schedule_table(trial_config: Mapping[str, Any], points: int = 100, train_pairs: int | None = None) -> pd.DataFrame:
    """One row per (evaluated step, task): step, progress (step / total steps), task, weight, data_fraction.

    ``points`` steps spread evenly over training (every step when training is shorter);
    inactive tasks have weight 0, so each task's line is continuous.
    """
    cfg = trial_config.get("trial", trial_config)
    total = int(_field(cfg, "epochs")) * int(_field(cfg, "steps_per_epoch"))
    schedule = trial_schedule(cfg)
    fn = pacing.get(_field(cfg, "pacing"))
    params = dict(_field(cfg, "pacing_params"))
    steps = np.unique(np.linspace(0, total - 1, max(2, points)).round().astype(int))
    rows = []
    for step in steps:
        fraction = fn(int(step), total, **params)
        if train_pairs:
            batch = int(_field(cfg, "batch_size"))
            admitted = min(train_pairs, max(math.ceil(fraction * train_pairs), min(batch, train_pairs)))
            fraction = admitted / train_pairs
        weights = schedule.weights(int(step), total)
        for task in schedule.ordering:
            rows.append((int(step), step / total, task, float(weights.get(task, 0.0)), float(fraction)))
    return pd.DataFrame(rows, columns=COLUMNS)


def schedule_figure(trial_config: Mapping[str, Any], points: int = 100, train_pairs: int | None = None):
    """Plotly figure of one trial's curriculum: one line per task's loss weight, and the data fraction.

    Traces: one per task in ordering order (named by the task), then ``data fraction``
    (dashed). The x axis is the fraction of training.
    """
    import plotly.graph_objects as go

    cfg = trial_config.get("trial", trial_config)
    table = schedule_table(cfg, points, train_pairs)
    fig = go.Figure()
    for task in dict.fromkeys(table["task"]):
        part = table[table["task"] == task]
        fig.add_trace(go.Scatter(x=part["progress"], y=part["weight"], mode="lines", name=task, line={"shape": "hv"}))
    first = table.drop_duplicates("step")
    fig.add_trace(
        go.Scatter(
            x=first["progress"],
            y=first["data_fraction"],
            mode="lines",
            name="data fraction",
            line={"dash": "dash", "color": "black", "shape": "hv"},
        )
    )
    pacing_name = _field(cfg, "pacing")
    title = (
        f"{_field(cfg, 'schedule')} schedule of {' > '.join(cfg['tasks'])}; "
        f"pacing {pacing_name}, scorer {_field(cfg, 'scorer')}, control {_field(cfg, 'control')}"
    )
    fig.update_layout(
        title=title,
        xaxis_title="fraction of training",
        yaxis_title="loss weight / data fraction",
        yaxis_range=[0, 1.05],
        template="plotly_white",
    )
    return fig
