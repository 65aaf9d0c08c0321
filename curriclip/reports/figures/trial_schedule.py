"""One trial's curriculum before training: one line per task's loss weight, and the data fraction.

Not on the search page (``schedules`` shows every trial); for notebooks, drawing a table of
``curriclip.curriculum.inspect.schedule_table`` titled by ``inspect.describe``::

    draw(schedule_table(config), describe(config))
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def draw(table: pd.DataFrame, title: str = "") -> go.Figure:
    """Traces: one per task in ordering order (named by the task), then ``data fraction`` (dashed);
    the x axis is the fraction of training."""
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
    fig.update_layout(
        title=title,
        xaxis_title="fraction of training",
        yaxis_title="loss weight / data fraction",
        yaxis_range=[0, 1.05],
        template="plotly_white",
    )
    return fig
