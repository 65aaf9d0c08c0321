"""Show your work (Dodge et al. 2019): each tuned arm's expected best validation score against the number of
configurations tried, per sparsity level, from the search phase's trials.

Arms are compared after the same search budget; this figure shows whether that budget, not the arm, decides:
an arm whose curve still climbs at the budget would gain from more configurations. A pruned trial counts with
its last reported value (what the searcher saw), so a scheduler that prunes early lowers the curve honestly.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.names import HEADLINE_METRIC, TUNED_ARMS

from ..stats import SCORE, expected_max_curves
from ..study import objective_column, objectives
from ..style import apply_layout, arm_color, empty_figure, fmt_sparsity, plot_text
from . import FigureSpec

TITLE = "Show your work: expected best validation score vs configurations tried (search phase)"
#: The arms the search phase tunes, each with the same number of configurations per level.


@dataclass
class ExpectedMaxData:
    levels: list[float]
    arms: list[str]  # tuned arms with at least one usable trial
    metric: str  # the search metric the curves are of
    curves: pd.DataFrame  # stats.expected_max_curves: level, arm, n, expected_max, pool


def search_score_column(results) -> tuple[str, str]:
    """(metric, column) the search selected on: the first objective when exported, else the final CLIP score."""
    metric = objectives(results.experiment)[0][0]
    column = objective_column(results.trials, metric)
    return (metric, column) if column else (HEADLINE_METRIC, SCORE)


def expected_max_data(results) -> ExpectedMaxData | None:
    metric, column = search_score_column(results)
    curves = expected_max_curves(results.trials, column, TUNED_ARMS)
    if curves.empty:
        return None
    arms = [arm for arm in TUNED_ARMS if arm in set(curves["arm"])]
    return ExpectedMaxData(sorted(curves["level"].unique().tolist()), arms, metric, curves)


def draw(data: ExpectedMaxData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no completed or pruned search-phase trial of a tuned arm yet")
    fig = make_subplots(rows=1, cols=len(data.levels), subplot_titles=[fmt_sparsity(lv) for lv in data.levels])
    for col, level in enumerate(data.levels, start=1):
        for i, arm in enumerate(data.arms):
            curve = data.curves[(data.curves["level"] == level) & (data.curves["arm"] == arm)]
            if curve.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=curve["n"].to_numpy(),
                    y=curve["expected_max"].to_numpy(),
                    mode="lines+markers",
                    line=dict(color=arm_color(arm, i), width=2),
                    marker=dict(size=6),
                    name=plot_text(arm),
                    legendgroup=arm,
                    showlegend=col == 1,
                    customdata=curve["pool"].to_numpy(),
                    hovertemplate=(
                        f"<b>{plot_text(arm)}</b> at {fmt_sparsity(level)}<br>configurations: %{{x}}"
                        f"<br>expected best {plot_text(data.metric)}: %{{y:.4f}}<br>"
                        "from %{customdata} trials<extra></extra>"
                    ),
                ),
                row=1,
                col=col,
            )
    apply_layout(fig, TITLE, 400, legend_y=1.08, top=110)
    fig.update_xaxes(title="configurations tried (n)", rangemode="tozero", dtick=1)
    fig.update_yaxes(title=f"expected best validation {plot_text(data.metric)}", row=1, col=1)
    return fig


FIGURE = FigureSpec(TITLE, expected_max_data, draw)
