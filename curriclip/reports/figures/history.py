"""Optimisation history: each curriculum trial's last reported CLIP score in the order the trials
started, per sparsity level, with the best completed score so far as a step line.

Kept instead of ``optuna.visualization.plot_optimization_history``: that one draws one series of
the study's objective (here the level-centred score) and only completed trials; this one keeps a
series per sparsity level on the raw score, shows pruned trials' last score, and carries each
trial's id for the page's trial inspector.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from curriclip.names import Arm, Status, TrialColumn

from ..stats import SCORE
from ..study import trial_order
from ..style import (
    SCORE_LABEL,
    apply_layout,
    empty_figure,
    fmt_sparsity,
    hover_data,
    hover_template,
    level_color,
    levels_in,
)
from . import FigureSpec

TITLE = "Optimisation history: curriculum trials in start order (line: best completed so far)"


def history_data(trials: pd.DataFrame) -> pd.DataFrame | None:
    """Curriculum trials with a score, in start order, numbered 0.. (``number``); ``attrs['by']``
    says whether the order is the start time or the file order."""
    cur = trials.assign(order=trial_order(trials))
    cur = cur[(cur[TrialColumn.ARM] == Arm.CURRICULUM) & cur[SCORE].notna()]
    if cur.empty:
        return None
    cur = cur.sort_values("order")
    cur = cur.assign(number=np.arange(len(cur)))
    cur.attrs["by_start"] = TrialColumn.STARTED_AT in trials
    return cur


def _level_traces(fig: go.Figure, sub: pd.DataFrame, level: float, color: str) -> None:
    for done in (True, False):
        points = sub[(sub[TrialColumn.STATUS] == Status.COMPLETED) == done]
        if points.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=points["number"],
                y=points[SCORE],
                mode="markers",
                marker=dict(color=color, size=8 if done else 7, symbol="circle" if done else "circle-open"),
                name=f"{fmt_sparsity(level)} {'completed' if done else 'pruned / stopped'}",
                legendgroup=str(level),
                customdata=hover_data(points),
                hovertemplate=hover_template(extra="trial #%{x}<br>"),
            )
        )
    completed = sub[sub[TrialColumn.STATUS] == Status.COMPLETED]
    if not completed.empty:
        fig.add_trace(
            go.Scatter(
                x=completed["number"],
                y=completed[SCORE].cummax(),
                mode="lines",
                line=dict(color=color, shape="hv", width=2),
                name=f"{fmt_sparsity(level)} best so far",
                legendgroup=str(level),
                hovertemplate="best so far: %{y:.4f}<extra></extra>",
            )
        )


def draw(data: pd.DataFrame | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no curriculum trial has reported a CLIP score yet")
    fig = go.Figure()
    for i, level in enumerate(levels_in(data)):
        _level_traces(fig, data[data[TrialColumn.SPARSITY] == level], level, level_color(i))
    apply_layout(fig, TITLE, 440, top=120, legend_y=1.04)
    by_start = data.attrs.get("by_start", False)
    fig.update_xaxes(title="curriculum trial number (start order)" if by_start else "trial (file order)")
    fig.update_yaxes(title=SCORE_LABEL)
    return fig


FIGURE = FigureSpec(TITLE, lambda results: history_data(results.trials), draw)
