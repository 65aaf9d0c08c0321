"""Fraction of the training pool admitted by the pacing function at the end of each epoch, one
line per trial, coloured by pacing function (single-task trials: grey, always 1)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from curriclip.names import Arm, TrialColumn

from ..curves import curve_budget, curve_hover, lines, with_trial_info
from ..results import DATA_FRACTION
from ..style import ARM_COLORS, apply_layout, empty_figure, level_color, plot_text
from . import FigureSpec

TITLE = "Training data admitted by the pacing function, per epoch (one line per trial)"
NO_PACING = "none"


def data_fraction_data(epochs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame | None:
    """Epoch rows with a data fraction, joined with trial info (pacing '?' when unknown)."""
    if epochs.empty or epochs[DATA_FRACTION].notna().sum() == 0:
        return None
    ep = with_trial_info(epochs, trials)
    ep = ep[ep[DATA_FRACTION].notna()]
    return ep.assign(**{TrialColumn.PACING: ep[TrialColumn.PACING].fillna("?").astype(str)})


def draw(data: pd.DataFrame | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no data_fraction recorded yet")
    fig = go.Figure()
    pacings = sorted(data[TrialColumn.PACING].unique(), key=lambda p: (p == NO_PACING, p))
    keep, compact, trace_class = curve_budget(data)
    for i, pacing in enumerate(pacings):
        xs, ys, cds = lines(data[data[TrialColumn.PACING] == pacing], DATA_FRACTION, keep, compact)
        fig.add_trace(
            trace_class(
                x=xs,
                y=ys,
                customdata=cds,
                mode="lines+markers",
                line=dict(color=ARM_COLORS[Arm.SINGLE_TASK] if pacing == NO_PACING else level_color(i), width=1.3),
                marker=dict(size=3),
                opacity=0.6,
                name=plot_text(pacing) if pacing != NO_PACING else "none (single-task)",
                hovertemplate=curve_hover("data fraction", compact),
            )
        )
    apply_layout(fig, TITLE, 420, legend_title_text="pacing")
    fig.update_xaxes(title="epoch", rangemode="tozero")
    fig.update_yaxes(title="fraction of training pool admitted (0–1)", range=[0, 1.05])
    return fig


FIGURE = FigureSpec(TITLE, lambda results: data_fraction_data(results.epochs, results.trials), draw)
