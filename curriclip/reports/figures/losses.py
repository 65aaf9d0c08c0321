"""Each task's training loss per epoch (``loss/<task>``), one panel per task, one line per trial
coloured by arm (dotted: not completed). A task's line starts when it joins the schedule."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..curves import arm_curves, curve_budget, with_trial_info
from ..style import apply_layout, arms_in, empty_figure, plot_text, tasks_itc_first
from . import FigureSpec

TITLE = "Training loss per task and epoch, one line per trial (dotted: pruned / errored / running)"
LOSS_PREFIX = "loss/"
STYLE = dict(width=1.2, opacity=0.55, opacity_not_done=0.55)


def loss_tasks(epochs: pd.DataFrame) -> list[str]:
    """Tasks with a per-epoch loss column ``loss/<task>`` that has values, itc first."""
    columns = [str(c) for c in epochs.columns if str(c).startswith(LOSS_PREFIX) and epochs[c].notna().any()]
    return tasks_itc_first(c[len(LOSS_PREFIX) :] for c in columns)


@dataclass
class LossData:
    epochs: pd.DataFrame  # epoch rows joined with trial info
    tasks: list[str]
    arms: list[str]


def loss_data(epochs: pd.DataFrame, trials: pd.DataFrame) -> LossData | None:
    tasks = loss_tasks(epochs) if not epochs.empty else []
    if not tasks:
        return None
    ep = with_trial_info(epochs, trials)
    return LossData(ep, tasks, arms_in(ep))


def draw(data: LossData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no per-task losses (loss/<task>) recorded yet")
    titles = [f"{LOSS_PREFIX}{plot_text(t)}" for t in data.tasks]
    fig = make_subplots(rows=1, cols=len(data.tasks), horizontal_spacing=0.06, subplot_titles=titles)
    budget = curve_budget(data.epochs, panels=len(data.tasks))
    for col, (task, label) in enumerate(zip(data.tasks, titles), start=1):
        column = LOSS_PREFIX + task
        has = data.epochs[data.epochs[column].notna()]
        arm_curves(fig, has, data.arms, column, STYLE, label, budget, row=1, col=col)
    apply_layout(fig, TITLE, 420, legend_y=1.1, top=120)
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="training loss", row=1, col=1)
    return fig


FIGURE = FigureSpec(TITLE, lambda results: loss_data(results.epochs, results.trials), draw)
