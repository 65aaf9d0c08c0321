"""Parameter importances (PED-ANOVA, level-centred final CLIP score), drawn by
``optuna.visualization.plot_param_importances`` from the rebuilt study, in the report's style.

The importances are computed once (``study.param_importances``, which also says why there are
none) and handed to Optuna's plot through an evaluator that returns them, so the bars and the
note under them are the same numbers. The plot itself gets a one-trial study carrying the
parameters' distributions (all it reads besides the importances): handing it the rebuilt study
made it deep-copy every trial once per parameter (8 s of a 2,000-trial report).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..study import param_importances, rebuild_study, searched_params
from ..style import apply_layout, empty_figure, plot_text
from . import FigureSpec

TITLE = "Parameter importances (Optuna PED-ANOVA, level-centred final CLIP score)"
BAR_COLOR = "#1f77b4"


@dataclass
class ImportanceData:
    importances: pd.DataFrame  # param, importance (sums to 1), most important first; empty when none
    note: str  # how they were computed, or why there are none
    distributions: dict[str, Any] = field(default_factory=dict)  # param -> its optuna distribution


def importance_data(trials: pd.DataFrame) -> ImportanceData:
    study = rebuild_study(trials) if searched_params(trials) else None
    frame, note = param_importances(trials, study)
    if frame.empty:
        return ImportanceData(frame, note)
    first = next(t for t in study.get_trials(deepcopy=False) if set(frame["param"]) <= set(t.params))
    return ImportanceData(frame, note, {p: first.distributions[p] for p in frame["param"]})


def _study_for_plot(distributions: dict[str, Any]):
    """A one-trial study with these parameters (each at a value inside its distribution)."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import create_trial

    params = {n: d.choices[0] if isinstance(d, CategoricalDistribution) else d.low for n, d in distributions.items()}
    study = optuna.create_study(direction="maximize")
    study.add_trial(create_trial(params=params, distributions=distributions, value=0.0))
    return study


def _given(importances: pd.DataFrame):
    """An Optuna importance evaluator that returns ``importances`` (computed already)."""
    from optuna.importance import BaseImportanceEvaluator

    class Given(BaseImportanceEvaluator):
        def evaluate(self, study, params=None, *, target=None) -> dict[str, float]:
            return dict(zip(importances["param"], importances["importance"]))

    return Given()


def draw(data: ImportanceData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no importances")
    if data.importances.empty:
        return empty_figure(TITLE, plot_text(data.note) or "no importances")
    from optuna.visualization import plot_param_importances

    study = _study_for_plot(data.distributions)
    fig = plot_param_importances(study, evaluator=_given(data.importances), params=sorted(data.distributions))
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


FIGURE = FigureSpec(TITLE, lambda results: importance_data(results.trials), draw)
