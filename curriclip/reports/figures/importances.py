"""Parameter importances (PED-ANOVA, level-centred final CLIP score), drawn by
``optuna.visualization.plot_param_importances`` from the rebuilt study, in the report's style.

The importances are computed once (``study.param_importances``, which also says why there are
none) and handed to Optuna's plot through an evaluator that returns them, so the bars and the
note under them are the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..study import importance_params, param_importances, rebuild_study, searched_params
from ..style import apply_layout, empty_figure, plot_text
from . import FigureSpec

TITLE = "Parameter importances (Optuna PED-ANOVA, level-centred final CLIP score)"
BAR_COLOR = "#1f77b4"


@dataclass
class ImportanceData:
    importances: pd.DataFrame  # param, importance (sums to 1), most important first; empty when none
    note: str  # how they were computed, or why there are none
    study: Any = None  # the rebuilt optuna study they came from


def importance_data(trials: pd.DataFrame) -> ImportanceData:
    study = rebuild_study(trials) if searched_params(trials) else None
    frame, note = param_importances(trials, study)
    return ImportanceData(frame, note, study)


def _given(importances: pd.DataFrame):
    """An Optuna importance evaluator that returns ``importances`` (computed already)."""
    from optuna.importance import BaseImportanceEvaluator

    class Given(BaseImportanceEvaluator):
        def evaluate(self, study, params=None, *, target=None) -> dict[str, float]:
            return dict(zip(importances["param"], importances["importance"]))

    return Given()


def draw(data: ImportanceData) -> go.Figure:
    if data.importances.empty:
        return empty_figure(TITLE, plot_text(data.note) or "no importances")
    from optuna.visualization import plot_param_importances

    params = importance_params(data.study)
    fig = plot_param_importances(data.study, evaluator=_given(data.importances), params=params)
    bar = fig.data[0]
    names = list(bar.y)
    # Parameter names come from result columns: literal for Plotly's text renderer.
    bar.update(
        y=[plot_text(n) for n in names],
        hovertemplate=[plot_text(n) + template[len(n) :] for n, template in zip(names, bar.hovertemplate)],
        marker=dict(color=BAR_COLOR),
        textposition="auto",
        name="importance",
    )
    apply_layout(fig, TITLE, max(260, 34 * len(names) + 150))
    fig.update_xaxes(title="importance (sums to 1)", rangemode="tozero")
    fig.update_yaxes(automargin=True)
    return fig


def importance_figure(trials: pd.DataFrame) -> go.Figure:
    return draw(importance_data(trials))


FIGURE = FigureSpec(TITLE, lambda results: importance_data(results.trials), draw)
