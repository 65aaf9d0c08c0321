"""Parallel coordinates over the searched ``param/*`` columns of completed curriculum trials,
coloured by the raw final CLIP score.

Kept instead of ``optuna.visualization.plot_parallel_coordinate``: this one adds the sparsity
level as an axis (a grid axis, not a parameter of the rebuilt study) and colours by the raw final
CLIP score, where the study's objective is the level-centred score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from curriclip.names import PARAM_PREFIX, TrialColumn

from ..stats import SCORE, curriculum_completed
from ..style import apply_layout, empty_figure, fmt_sparsity, levels_in, log_scaled, plot_text
from . import FigureSpec

TITLE = "Curriculum trials: searched parameters, coloured by final CLIP score"


def param_columns(trials: pd.DataFrame) -> list[str]:
    """``param/*`` columns usable as axes for completed curriculum trials: numeric (or categorical
    with ≤ 20 values) and not constant."""
    df = curriculum_completed(trials)
    cols = []
    for column in trials.columns:
        if not str(column).startswith(PARAM_PREFIX) or df.empty:
            continue
        values = df[column].dropna()
        if values.empty or values.nunique() < 2:
            continue
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values) or values.nunique() <= 20:
            cols.append(column)
    return cols


def _dimension(label: str, values: pd.Series) -> dict:
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("float64")
    if pd.api.types.is_numeric_dtype(values):
        values = values.astype("float64")
        if log_scaled(label, values.dropna()):
            return dict(label=f"log10({label})", values=np.log10(values))
        return dict(label=label, values=values)
    categories = sorted(values.dropna().astype(str).unique())
    return dict(
        label=label,
        values=values.astype(str).map({k: i for i, k in enumerate(categories)}),
        tickvals=list(range(len(categories))),
        ticktext=[plot_text(k) for k in categories],
    )


def parallel_data(trials: pd.DataFrame) -> dict | None:
    """{dimensions: [{label, values, tickvals?, ticktext?}, ...], score: Series}; None when fewer
    than two parameters vary."""
    df = curriculum_completed(trials)
    cols = param_columns(trials)
    if df.empty or len(cols) < 2:
        return None
    dims = []
    if df[TrialColumn.SPARSITY].nunique() > 1:
        levels = levels_in(df)
        dims.append(
            dict(
                label="sparsity",
                values=df[TrialColumn.SPARSITY].map({lv: i for i, lv in enumerate(levels)}),
                tickvals=list(range(len(levels))),
                ticktext=[fmt_sparsity(lv) for lv in levels],
            )
        )
    dims += [_dimension(plot_text(str(c)[len(PARAM_PREFIX) :]), df[c]) for c in cols]
    score = df[SCORE].astype("float64")
    dims.append(dict(label="final CLIP score", values=score))
    return {"dimensions": dims, "score": score}


def draw(data: dict | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "fewer than 2 searched parameters vary across completed curriculum trials")
    line = dict(color=data["score"], colorscale="Viridis", showscale=True, colorbar=dict(title=dict(text="CLIP score")))
    fig = go.Figure(go.Parcoords(line=line, dimensions=data["dimensions"]))
    apply_layout(fig, TITLE, 460)
    fig.update_layout(margin=dict(l=80, r=80, t=110, b=40))
    return fig


FIGURE = FigureSpec(TITLE, lambda results: parallel_data(results.trials), draw)
