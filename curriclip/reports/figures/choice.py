"""Final CLIP score by one categorical curriculum choice (pacing function, weighting strategy):
one box per sparsity level with every completed curriculum trial as a point.

``optuna.visualization.plot_slice`` draws one parameter against the objective too, but pools the
levels; here each level keeps its own box, since levels differ far more than curricula do.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from curriclip.names import TrialColumn

from ..stats import SCORE, curriculum_completed
from ..style import (
    SCORE_LABEL,
    apply_layout,
    empty_figure,
    fmt_sparsity,
    hover_data,
    hover_template,
    level_color,
    levels_in,
    plot_text,
)
from . import FigureSpec


@dataclass
class ChoiceData:
    column: str
    label: str
    trials: pd.DataFrame  # completed curriculum trials, the choice as text ('' when missing)
    levels: list[float]


def title_of(label: str) -> str:
    return f"Curriculum trials: CLIP score by {label}, per sparsity level"


def choice_data(trials: pd.DataFrame, column: str, label: str) -> ChoiceData | None:
    df = curriculum_completed(trials)
    if df.empty or column not in df.columns:
        return None
    df = df.assign(**{column: df[column].fillna("").astype(str)})
    return ChoiceData(column, label, df, levels_in(df))


def draw(data: ChoiceData | None, label: str = "") -> go.Figure:
    if data is None:
        return empty_figure(title_of(label), "no completed curriculum trials yet")
    fig = go.Figure()
    column, label = data.column, data.label
    for i, level in enumerate(data.levels):
        sub = data.trials[data.trials[TrialColumn.SPARSITY] == level]
        fig.add_trace(
            go.Box(
                x=sub[column].map(plot_text),
                y=sub[SCORE],
                name=fmt_sparsity(level),
                marker=dict(color=level_color(i), size=6, opacity=0.7),
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                hoveron="points",
                customdata=hover_data(sub),
                hovertemplate=hover_template(extra=f"{plot_text(label)}: %{{x}}<br>"),
            )
        )
    apply_layout(fig, title_of(label), 480, boxmode="group", legend_title_text="sparsity")
    fig.update_xaxes(
        title=label,
        categoryorder="array",
        categoryarray=[plot_text(p) for p in sorted(data.trials[column].unique())],
    )
    fig.update_yaxes(title=SCORE_LABEL)
    return fig


def choice_figure(trials: pd.DataFrame, column: str, label: str) -> go.Figure:
    return draw(choice_data(trials, column, label), label)


def pacing_figure(trials: pd.DataFrame) -> go.Figure:
    """Final CLIP score by pacing function: one box (with every trial as a point) per level."""
    return choice_figure(trials, TrialColumn.PACING, "pacing function")


def _figure(column: str, label: str) -> FigureSpec:
    return FigureSpec(
        title_of(label), lambda results: choice_data(results.trials, column, label), lambda d: draw(d, label)
    )


PACING = _figure(TrialColumn.PACING, "pacing function")
WEIGHTING = _figure("weighting", "weighting strategy")
