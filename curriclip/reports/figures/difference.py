"""Search phase: each arm's mean CLIP score minus the single-task mean per level, with a Welch 95% interval over
trials (configurations, not seeds; zero = no difference). The confirmed answer's paired differences are
``paired_differences``. Arms are not Optuna study trials."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from curriclip.names import TrialColumn

from ..stats import BASELINE_ARM, answer_trials, arm_summary
from ..style import (
    apply_layout,
    arm_color,
    arms_in,
    empty_figure,
    fmt_num,
    fmt_sparsity,
    level_axis,
    levels_in,
    plot_text,
)
from . import FigureSpec

TITLE = "Difference from single-task over search-phase trials (arm mean − single-task mean, 95% Welch CI)"


@dataclass
class DifferenceData:
    levels: list[float]
    arms: list[str]  # arms other than the baseline
    summary: pd.DataFrame  # arm_summary rows of those arms with a difference


def difference_data(trials: pd.DataFrame) -> DifferenceData | None:
    summary = arm_summary(trials)
    if not summary.empty:
        summary = summary[(summary["arm"] != BASELINE_ARM) & summary["diff"].notna()]
    if summary.empty:
        return None
    done = answer_trials(trials)
    return DifferenceData(levels_in(done), [a for a in arms_in(done) if a != BASELINE_ARM], summary)


def draw(data: DifferenceData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "needs completed single-task and other-arm trials at the same level")
    pos = {lv: i for i, lv in enumerate(data.levels)}
    offsets = {a: (i - (len(data.arms) - 1) / 2) * 0.2 for i, a in enumerate(data.arms)}
    fig = go.Figure()
    for i, arm in enumerate(data.arms):
        sub = data.summary[data.summary["arm"] == arm]
        if sub.empty:
            continue
        color = arm_color(arm, i)
        customdata = np.stack(
            [
                sub["sparsity"].map(fmt_sparsity).to_numpy(dtype=object),
                sub["diff_hw"].map(lambda v: fmt_num(v) or "n/a").to_numpy(dtype=object),
                sub["verdict"].map(plot_text).to_numpy(dtype=object),
            ],
            axis=1,
        )
        fig.add_trace(
            go.Scatter(
                x=sub[TrialColumn.SPARSITY].map(pos).to_numpy() + offsets[arm],
                y=sub["diff"].to_numpy(),
                error_y=dict(type="data", array=sub["diff_hw"].fillna(0).to_numpy(), color=color, thickness=2),
                mode="markers",
                marker=dict(color=color, size=12, symbol="diamond"),
                name=f"{plot_text(arm)} − single-task",
                customdata=customdata,
                hovertemplate=(
                    f"<b>{plot_text(arm)} − single-task</b><br>sparsity: %{{customdata[0]}}<br>"
                    "diff: %{y:+.4f} ± %{customdata[1]}<br>%{customdata[2]}<extra></extra>"
                ),
            )
        )
    apply_layout(fig, TITLE, 380)
    fig.add_hline(y=0, line=dict(color="#888", dash="dash", width=1))
    level_axis(fig, data.levels)
    fig.update_yaxes(title="Δ CLIP score vs single-task", zeroline=False)
    return fig


FIGURE = FigureSpec(TITLE, lambda results: difference_data(results.trials), draw)
