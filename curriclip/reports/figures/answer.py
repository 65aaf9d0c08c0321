"""The search phase: CLIP score vs sparsity per arm (mean ± 95% CI), every trial, the best curriculum trial.

Not from ``optuna.visualization``: its studies hold the curriculum trials only, and this figure
compares arms (baseline and controls are not study trials) at each sparsity level.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from curriclip.names import Arm, TrialColumn

from ..stats import SCORE, answer_trials, level_means
from ..style import (
    ARM_COLORS,
    SCORE_LABEL,
    UNTRAINED_COLOR,
    apply_layout,
    arm_color,
    arms_in,
    empty_figure,
    fmt_num,
    fmt_sparsity,
    hover_data,
    hover_template,
    jitter,
    level_axis,
    levels_in,
    plot_text,
)
from . import FigureSpec

TITLE = "CLIP score of the search-phase trials vs training-data sparsity (completed trials)"


@dataclass
class AnswerData:
    levels: list[float]
    arms: list[str]
    trials: pd.DataFrame  # completed trials with a final CLIP score
    means: dict[str, pd.DataFrame]  # arm -> level_means frame
    untrained: pd.Series  # level -> mean untrained CLIP score
    best: pd.DataFrame  # best curriculum trial per level


def answer_data(trials: pd.DataFrame) -> AnswerData | None:
    done = answer_trials(trials)
    if done.empty:
        return None
    levels = levels_in(done)
    arms = arms_in(done)
    init_col = TrialColumn.INIT_CLIP_SCORE
    untrained = trials[trials[init_col].notna()].groupby(TrialColumn.SPARSITY)[init_col].mean()
    means = {arm: level_means(done[done[TrialColumn.ARM] == arm], SCORE, levels) for arm in arms}
    curr = done[done[TrialColumn.ARM] == Arm.CURRICULUM]
    best = curr.loc[curr.groupby(TrialColumn.SPARSITY)[SCORE].idxmax()] if not curr.empty else curr
    return AnswerData(levels, arms, done, means, untrained[untrained.index.isin(levels)], best)


def _untrained_trace(data: AnswerData, pos: dict) -> go.Scatter:
    return go.Scatter(
        x=[pos[lv] for lv in data.untrained.index],
        y=data.untrained.to_numpy(),
        mode="markers",
        marker=dict(symbol="line-ew", size=60, line=dict(width=2, color=UNTRAINED_COLOR)),
        name="untrained model",
        hovertemplate="untrained model<br>CLIP score: %{y:.4f}<extra></extra>",
    )


def _mean_trace(arm: str, stats: pd.DataFrame, x: list[float], color: str) -> go.Scatter:
    return go.Scatter(
        x=x,
        y=stats["mean"].tolist(),
        error_y=dict(type="data", array=stats["hw"].fillna(0).tolist(), color=color, thickness=2, width=8),
        mode="lines+markers",
        line=dict(color=color, width=2),
        marker=dict(color=color, size=12, symbol="diamond", line=dict(width=1, color="white")),
        name=f"{plot_text(arm)} mean ± 95% CI",
        legendgroup=arm,
        customdata=[
            [plot_text(arm), fmt_sparsity(r.level), r.n, fmt_num(r.hw) or "n/a (n=1)"] for r in stats.itertuples()
        ],
        hovertemplate=(
            "<b>%{customdata[0]} mean</b><br>sparsity: %{customdata[1]}<br>"
            "n: %{customdata[2]}<br>mean: %{y:.4f} ± %{customdata[3]}<extra></extra>"
        ),
    )


def draw(data: AnswerData | None) -> go.Figure:
    """Per-arm mean ± 95% CI, jittered trials and the best curriculum trial per level."""
    if data is None:
        return empty_figure(TITLE, "no completed trials yet")
    pos = {lv: i for i, lv in enumerate(data.levels)}
    offsets = {a: (i - (len(data.arms) - 1) / 2) * 0.3 for i, a in enumerate(data.arms)}
    fig = go.Figure()
    if not data.untrained.empty:  # the floor every arm should clear
        fig.add_trace(_untrained_trace(data, pos))
    for i, arm in enumerate(data.arms):
        color = arm_color(arm, i)
        sub = data.trials[data.trials[TrialColumn.ARM] == arm]
        fig.add_trace(
            go.Scatter(
                x=sub[TrialColumn.SPARSITY].map(pos).to_numpy()
                + offsets[arm]
                + jitter(sub[TrialColumn.TRIAL_ID], 0.07),
                y=sub[SCORE].to_numpy(),
                mode="markers",
                marker=dict(color=color, size=7, opacity=0.45, line=dict(width=0)),
                name=f"{plot_text(arm)} trials",
                legendgroup=arm,
                customdata=hover_data(sub),
                hovertemplate=hover_template(),
            )
        )
        stats = data.means[arm]
        fig.add_trace(_mean_trace(arm, stats, [pos[lv] + offsets[arm] for lv in stats["level"]], color))
    if not data.best.empty:
        fig.add_trace(
            go.Scatter(
                x=data.best[TrialColumn.SPARSITY].map(pos).to_numpy() + offsets[Arm.CURRICULUM],
                y=data.best[SCORE].to_numpy(),
                mode="markers",
                marker=dict(
                    symbol="star", size=16, color=ARM_COLORS[Arm.CURRICULUM], line=dict(width=1, color="black")
                ),
                name="curriculum best trial",
                customdata=hover_data(data.best),
                hovertemplate=hover_template(extra="(best at this level)<br>"),
            )
        )
    apply_layout(fig, TITLE, 520)
    level_axis(fig, data.levels)
    fig.update_yaxes(title=SCORE_LABEL)
    return fig


FIGURE = FigureSpec(TITLE, lambda results: answer_data(results.trials), draw)
