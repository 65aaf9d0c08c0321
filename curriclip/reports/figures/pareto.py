"""Pareto front of a multi-objective search: the first two objectives, every completed trial
coloured by arm, the non-dominated ones (over all objectives) outlined and joined.

Kept instead of ``optuna.visualization.plot_pareto_front``: the rebuilt study is single-objective
and holds curriculum trials only; this figure reads the objectives from ``final/<metric>``
columns and places the baseline and control arms beside the curricula.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from curriclip.names import Status, TrialColumn

from ..study import objective_column, objectives, pareto_mask
from ..style import apply_layout, arm_color, arms_in, empty_figure, hover_data, hover_template, plot_text
from . import FigureSpec

TITLE = "Pareto front (completed trials; outlined: non-dominated)"


@dataclass
class ParetoData:
    objectives: list[tuple[str, str]]  # (metric, 'maximize'|'minimize')
    columns: list[str | None]  # each objective's column (None: missing)
    trials: pd.DataFrame  # completed trials with every objective
    front: pd.DataFrame  # the non-dominated ones, sorted by the first objective


def title_of(objs: list[tuple[str, str]]) -> str:
    names = " vs ".join(m for m, _ in objs[:2])
    return f"Pareto front: {plot_text(names)} (completed trials; outlined: non-dominated)"


def pareto_data(trials: pd.DataFrame, objs: list[tuple[str, str]]) -> ParetoData:
    cols = [objective_column(trials, m) for m, _ in objs]
    empty = trials.iloc[0:0]
    if len(objs) < 2 or any(c is None for c in cols):
        return ParetoData(objs, cols, empty, empty)
    df = trials[trials[TrialColumn.STATUS] == Status.COMPLETED].dropna(subset=cols)
    if df.empty:
        return ParetoData(objs, cols, df, df)
    mask = pareto_mask(df[cols].to_numpy(dtype="float64"), [d == "maximize" for _, d in objs])
    return ParetoData(objs, cols, df, df[mask].sort_values(cols[0]))


def draw(data: ParetoData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no results yet")
    title, objs, cols = title_of(data.objectives), data.objectives, data.columns
    if len(objs) < 2 or any(c is None for c in cols):
        return empty_figure(title, "objective columns missing from trials.parquet")
    if data.trials.empty:
        return empty_figure(title, "no completed trials with every objective")
    fig = go.Figure()
    y_label = plot_text(objs[1][0])
    for i, arm in enumerate(arms_in(data.trials)):
        sub = data.trials[data.trials[TrialColumn.ARM] == arm]
        fig.add_trace(
            go.Scatter(
                x=sub[cols[0]],
                y=sub[cols[1]],
                mode="markers",
                marker=dict(color=arm_color(arm, i), size=8, opacity=0.6),
                name=plot_text(arm),
                customdata=hover_data(sub),
                hovertemplate=hover_template(y_label),
            )
        )
    front = data.front
    fig.add_trace(
        go.Scatter(
            x=front[cols[0]],
            y=front[cols[1]],
            mode="lines+markers",
            line=dict(color="black", width=1, dash="dot"),
            marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(width=2, color="black")),
            name="Pareto front",
            customdata=hover_data(front),
            hovertemplate=hover_template(y_label, extra="(Pareto-optimal)<br>"),
        )
    )
    apply_layout(fig, title, 460)
    fig.update_xaxes(title=f"{plot_text(objs[0][0])} ({objs[0][1]})")
    fig.update_yaxes(title=f"{y_label} ({objs[1][1]})")
    return fig


FIGURE = FigureSpec(TITLE, lambda results: pareto_data(results.trials, objectives(results.experiment)), draw)
