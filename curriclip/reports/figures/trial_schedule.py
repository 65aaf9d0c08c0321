"""One trial's curriculum before training: one line per task's loss weight, and the data fraction.

Not on the search page (``schedules`` shows every trial); for notebooks and ``inspect`` users.
The numbers come from ``curriclip.curriculum.inspect.schedule_table``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from curriclip.curriculum.inspect import field_value, schedule_table, trial_fields


def draw(table: pd.DataFrame, trial_config: Mapping[str, Any]) -> go.Figure:
    """Traces: one per task in ordering order (named by the task), then ``data fraction`` (dashed);
    the x axis is the fraction of training."""
    cfg = trial_fields(trial_config)
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
    title = (
        f"{field_value(cfg, 'schedule')} schedule of {' > '.join(cfg['tasks'])}; pacing {field_value(cfg, 'pacing')}, "
        f"scorer {field_value(cfg, 'scorer')}, control {field_value(cfg, 'control')}"
    )
    fig.update_layout(
        title=title,
        xaxis_title="fraction of training",
        yaxis_title="loss weight / data fraction",
        yaxis_range=[0, 1.05],
        template="plotly_white",
    )
    return fig


def trial_schedule_figure(
    trial_config: Mapping[str, Any], points: int = 100, train_pairs: int | None = None
) -> go.Figure:
    """Plotly figure of one trial's curriculum (``schedule_table`` drawn)."""
    return draw(schedule_table(trial_config, points, train_pairs), trial_config)
