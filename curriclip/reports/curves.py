"""Per-trial curves over epochs, packed for large runs.

Above ``LARGE_RUN`` trials, curves use WebGL and carry only the trial id as hover data; above
``MAX_CURVE_POINTS`` points, each trial's curve is thinned (first and last epoch always kept).
One trace per group with NaN breaks between trials, instead of one trace per trial, keeps a
2,000-trial page light.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from curriclip.names import EpochColumn, Status, TrialColumn

from .style import HOVER_FIELDS, arm_color, hover_data, hover_template, plot_text

LARGE_RUN = 300  # trials; above this, curves use WebGL, fewer points and id-only hover data
MAX_CURVE_POINTS = 24_000  # per figure panel set, before a figure downsamples its curves
TRIAL_INFO = (
    TrialColumn.TRIAL_ID, TrialColumn.STATUS, TrialColumn.PACING, TrialColumn.ORDERING, TrialColumn.LR,
    TrialColumn.SEED, TrialColumn.INIT_CLIP_SCORE,
)  # fmt: skip


def with_trial_info(epochs: pd.DataFrame, trials: pd.DataFrame) -> pd.DataFrame:
    """Epoch rows joined with the trial-level fields needed for hover and styling."""
    columns = [str(c) for c in TRIAL_INFO]
    ep = epochs.copy()
    if trials.empty:
        for column in columns[1:]:
            ep[column] = np.nan
        return ep
    info = trials[columns].drop_duplicates(TrialColumn.TRIAL_ID)
    return ep.merge(info, on=str(TrialColumn.TRIAL_ID), how="left", suffixes=("", "_trial"))


def _thin_mask(trial_ids: np.ndarray, keep: int) -> np.ndarray:
    """Rows to keep so each trial's curve (rows grouped by trial, contiguous, in epoch order) has
    at most ``keep`` evenly spaced points, its first and last always among them (vectorised)."""
    change = np.r_[True, trial_ids[1:] != trial_ids[:-1]]
    group = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    counts = np.diff(np.r_[starts, len(trial_ids)])
    pos, n = np.arange(len(trial_ids)) - starts[group], counts[group]
    span = np.maximum(n - 1, 1)
    hit = np.round(np.round(pos * (keep - 1) / span) * span / (keep - 1)) == pos
    return (n <= keep) | hit


def lines(df: pd.DataFrame, ycol: str, keep: int | None = None, compact: bool = False) -> tuple:
    """Per-trial lines concatenated into one trace's x / y / customdata, with NaN breaks between
    trials. ``keep`` thins each trial's curve; ``compact`` puts only the trial id in customdata."""
    width = 1 if compact else len(HOVER_FIELDS)
    df = df.sort_values([EpochColumn.TRIAL_ID, EpochColumn.EPOCH], kind="stable")
    if df.empty:
        return np.array([]), np.array([]), np.empty((0, width), dtype=object)
    ids = df[EpochColumn.TRIAL_ID].astype(str).to_numpy()
    if keep:
        df = df[_thin_mask(ids, keep)]
        ids = df[EpochColumn.TRIAL_ID].astype(str).to_numpy()
    x = df[EpochColumn.EPOCH].to_numpy(dtype="float64")
    y = df[ycol].to_numpy(dtype="float64")
    cd = df[EpochColumn.TRIAL_ID].map(plot_text).to_numpy(dtype=object)[:, None] if compact else hover_data(df)
    ends = np.flatnonzero(np.r_[ids[1:] != ids[:-1], True]) + 1  # a NaN point after each trial's last row
    x = np.insert(x, ends, np.nan)
    y = np.insert(y, ends, np.nan)
    cd = np.insert(cd, ends, None, axis=0)
    return x, y, cd


def curve_budget(df: pd.DataFrame, panels: int = 1) -> tuple[int | None, bool, type]:
    """(points kept per trial curve, compact hover?, trace class) for a figure of ``df`` rows."""
    n_trials = max(1, df[EpochColumn.TRIAL_ID].nunique())
    large = n_trials > LARGE_RUN
    keep = None
    if len(df) * panels > MAX_CURVE_POINTS:
        keep = max(6, MAX_CURVE_POINTS // (n_trials * panels))
    return keep, large, (go.Scattergl if large else go.Scatter)


def curve_hover(value_label: str, compact: bool) -> str:
    if compact:
        return f"<b>%{{customdata[0]}}</b><br>epoch: %{{x}}<br>{value_label}: %{{y:.4f}}<extra></extra>"
    return hover_template(value_label, extra="epoch: %{x}<br>")


def arm_curves(
    fig: go.Figure,
    frame: pd.DataFrame,
    arms: list[str],
    ycol: str,
    style: dict,
    hover_label: str,
    budget: tuple,
    **where,
) -> None:
    """One trace per (arm, completed or not) of ``frame``'s curves (dotted: not completed), legend
    entries shared across panels. ``style``: line width, opacity and opacity_not_done."""
    keep, compact, trace_class = budget
    for i, arm in enumerate(arms):
        for done in (True, False):
            sub = frame[(frame[EpochColumn.ARM] == arm) & ((frame[TrialColumn.STATUS] == Status.COMPLETED) == done)]
            if sub.empty:
                continue
            xs, ys, cds = lines(sub, ycol, keep, compact)
            name = plot_text(arm) + ("" if done else " (not completed)")
            fig.add_trace(
                trace_class(
                    x=xs,
                    y=ys,
                    customdata=cds,
                    mode="lines+markers",
                    connectgaps=False,
                    line=dict(color=arm_color(arm, i), width=style["width"], dash="solid" if done else "dot"),
                    marker=dict(size=3),
                    opacity=style["opacity"] if done else style["opacity_not_done"],
                    name=name,
                    legendgroup=name,
                    showlegend=not any(t.name == name for t in fig.data),
                    hovertemplate=curve_hover(hover_label, compact),
                ),
                **where,
            )
