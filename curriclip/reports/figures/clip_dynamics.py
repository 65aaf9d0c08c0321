"""Held-out CLIP score after each epoch, one line per trial coloured by arm, one panel per
sparsity level; epoch 0 is the untrained model, trials that did not complete are dotted.

``optuna.visualization.plot_intermediate_values`` draws the study's intermediate values, but the
study holds curriculum trials only; this figure puts every arm's curves side by side per level.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.names import EpochColumn, TrialColumn

from ..curves import arm_curves, curve_budget, with_trial_info
from ..results import CLIP_SCORE
from ..style import SCORE_LABEL, apply_layout, arms_in, empty_figure, fmt_sparsity, levels_in
from . import FigureSpec

TITLE = "CLIP score per epoch, one line per trial (dotted: pruned / errored / still running)"
STYLE = dict(width=1.3, opacity=0.6, opacity_not_done=0.45)


@dataclass
class DynamicsData:
    epochs: pd.DataFrame  # epoch rows with a CLIP score (epoch 0 = untrained), joined with trial info
    levels: list[float]
    arms: list[str]


def dynamics_data(epochs: pd.DataFrame, trials: pd.DataFrame) -> DynamicsData | None:
    if epochs.empty or epochs[CLIP_SCORE].notna().sum() == 0:
        return None
    ep = with_trial_info(epochs, trials)
    ep = ep[ep[CLIP_SCORE].notna()]
    first = ep.sort_values(EpochColumn.EPOCH).drop_duplicates(EpochColumn.TRIAL_ID)
    first = first[first[TrialColumn.INIT_CLIP_SCORE].notna()]
    if not first.empty:  # epoch 0 = the untrained model, when the trial recorded it
        zero = first.assign(**{EpochColumn.EPOCH: 0, CLIP_SCORE: first[TrialColumn.INIT_CLIP_SCORE]})
        ep = pd.concat([zero, ep], ignore_index=True)
    return DynamicsData(ep, levels_in(ep), arms_in(ep))


def draw(data: DynamicsData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no per-epoch CLIP scores recorded yet")
    fig = make_subplots(
        rows=1,
        cols=max(1, len(data.levels)),
        shared_yaxes=False,
        horizontal_spacing=0.05,
        subplot_titles=[f"sparsity {fmt_sparsity(lv)}" for lv in data.levels],
    )
    budget = curve_budget(data.epochs)
    for col, level in enumerate(data.levels, start=1):
        at = data.epochs[data.epochs[EpochColumn.SPARSITY] == level]
        arm_curves(fig, at, data.arms, CLIP_SCORE, STYLE, "CLIP score", budget, row=1, col=col)
    apply_layout(fig, TITLE, 480, legend_y=1.1, top=120)
    fig.update_xaxes(title="epoch (0 = untrained)", rangemode="tozero")
    fig.update_yaxes(title=SCORE_LABEL, row=1, col=1)
    return fig


FIGURE = FigureSpec(TITLE, lambda results: dynamics_data(results.epochs, results.trials), draw)
