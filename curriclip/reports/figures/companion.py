"""CLIP score and each companion metric (retrieval, modality gap, ...) vs sparsity: per-arm mean ±
95% CI over completed trials, one small panel per metric, the untrained model's value as a grey dash.

Companion metrics are the ``final/<metric>`` columns beyond CLIP score, without confidence bounds
(``*_ci_low``/``*_ci_high``), the untrained model's values (``init_*``), losses and bookkeeping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.names import FINAL_PREFIX, HEADLINE_METRIC, TrialColumn

from ..stats import SCORE, answer_trials, level_means
from ..style import UNTRAINED_COLOR, apply_layout, arm_color, arms_in, empty_figure, fmt_sparsity, levels_in, plot_text
from . import FigureSpec

TITLE = "CLIP score and companion metrics per sparsity level (mean ± 95% CI over completed trials)"
# Result keys that are bookkeeping, not alignment metrics.
NOT_COMPANION = {
    "clip_score", "loss", "data_fraction", "train_pairs", "test_pairs", "logit_scale", "epoch_time_s",
    "time_s", "epoch", "step", "steps", "lr", "seed", "sparsity", "collapsed",
}  # fmt: skip


def companion_metrics(trials: pd.DataFrame) -> list[str]:
    """Names (no prefix) of the numeric ``final/<metric>`` columns with values beyond CLIP score."""
    out = []
    for column in map(str, trials.columns):
        if not column.startswith(FINAL_PREFIX):
            continue
        name = column[len(FINAL_PREFIX) :]
        if (
            name in NOT_COMPANION
            or name.startswith(("init_", "loss/", "loss_"))
            or name.endswith(("_ci_low", "_ci_high"))
            or not pd.api.types.is_numeric_dtype(trials[column])
            or pd.api.types.is_bool_dtype(trials[column])
            or trials[column].notna().sum() == 0
        ):
            continue
        out.append(name)
    return sorted(out)


@dataclass
class CompanionData:
    levels: list[float]
    arms: list[str]
    metrics: list[str]  # clip_score first
    means: dict[tuple[str, str], pd.DataFrame]  # (metric, arm) -> level_means frame
    untrained: dict[str, pd.Series]  # metric -> level -> mean untrained value


def _untrained(trials: pd.DataFrame, metric: str, levels: list[float]) -> pd.Series | None:
    column = TrialColumn.INIT_CLIP_SCORE if metric == HEADLINE_METRIC else f"{FINAL_PREFIX}init_{metric}"
    if column not in trials.columns or not trials[column].notna().any():
        return None
    init = trials[trials[column].notna()].groupby(TrialColumn.SPARSITY)[column].mean()
    init = init[init.index.isin(levels)]
    return None if init.empty else init


def companion_data(trials: pd.DataFrame, metrics: list[str] | None = None) -> CompanionData | None:
    done = answer_trials(trials)
    metrics = companion_metrics(trials) if metrics is None else metrics
    if done.empty or not metrics:
        return None
    levels, arms = levels_in(done), arms_in(done)
    names = [HEADLINE_METRIC, *metrics]
    means = {}
    for name in names:
        column = SCORE if name == HEADLINE_METRIC else FINAL_PREFIX + name
        for arm in arms:
            means[(name, arm)] = level_means(done[done[TrialColumn.ARM] == arm], column, levels)
    untrained = {name: init for name in names if (init := _untrained(trials, name, levels)) is not None}
    return CompanionData(levels, arms, names, means, untrained)


def _mean_trace(name: str, arm: str, stats: pd.DataFrame, x: list[float], color: str, legend: bool) -> go.Scatter:
    return go.Scatter(
        x=x,
        y=stats["mean"].tolist(),
        error_y=dict(type="data", array=stats["hw"].fillna(0).tolist(), color=color),
        mode="lines+markers",
        line=dict(color=color, width=1.5),
        marker=dict(color=color, size=8),
        name=plot_text(arm),
        legendgroup=arm,
        showlegend=legend,
        customdata=[[plot_text(arm), fmt_sparsity(r.level), r.n] for r in stats.itertuples()],
        hovertemplate=(
            f"<b>{plot_text(name)}</b><br>arm: %{{customdata[0]}}<br>sparsity: %{{customdata[1]}}<br>"
            "n: %{customdata[2]}<br>mean: %{y:.4f}<extra></extra>"
        ),
    )


def draw(data: CompanionData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no companion metrics recorded")
    ncols = min(3, len(data.metrics))
    nrows = math.ceil(len(data.metrics) / ncols)
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=[plot_text(n) for n in data.metrics],
        horizontal_spacing=0.07,
        vertical_spacing=0.5 / nrows if nrows > 1 else 0.1,
    )
    levels = data.levels
    pos = {lv: i for i, lv in enumerate(levels)}
    offsets = {a: (i - (len(data.arms) - 1) / 2) * 0.15 for i, a in enumerate(data.arms)}
    for k, name in enumerate(data.metrics):
        row, col = k // ncols + 1, k % ncols + 1
        for i, arm in enumerate(data.arms):
            stats = data.means[(name, arm)]
            if stats.empty:
                continue
            x = [pos[lv] + offsets[arm] for lv in stats["level"]]
            fig.add_trace(_mean_trace(name, arm, stats, x, arm_color(arm, i), k == 0), row=row, col=col)
        init = data.untrained.get(name)
        if init is not None:
            fig.add_trace(
                go.Scatter(
                    x=[pos[lv] for lv in init.index],
                    y=init.to_numpy(),
                    mode="markers",
                    marker=dict(symbol="line-ew", size=30, line=dict(width=2, color=UNTRAINED_COLOR)),
                    name="untrained model",
                    legendgroup="untrained",
                    showlegend=not any(t.name == "untrained model" for t in fig.data),
                    hovertemplate=f"untrained model<br>{plot_text(name)}: %{{y:.4f}}<extra></extra>",
                ),
                row=row,
                col=col,
            )
        fig.update_xaxes(
            tickvals=list(range(len(levels))),
            ticktext=[fmt_sparsity(lv) for lv in levels],
            range=[-0.5, len(levels) - 0.5],
            showgrid=False,
            row=row,
            col=col,
        )
    apply_layout(fig, TITLE, 150 + 260 * nrows, legend_y=1.0 + 0.12 / nrows, top=120)
    return fig


FIGURE = FigureSpec(TITLE, lambda results: companion_data(results.trials), draw)
