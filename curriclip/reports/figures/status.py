"""Trial status counts per arm and sparsity level (stacked bars). Optuna's ``plot_timeline`` shows
states over time for study trials only; this counts every arm's trials per level."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from curriclip.names import TrialColumn

from ..style import STATUS_COLORS, apply_layout, arm_rank, empty_figure, fmt_sparsity, level_color, plot_text
from . import FigureSpec

TITLE = "Trial status per arm and sparsity level"


def status_counts(trials: pd.DataFrame) -> pd.DataFrame | None:
    """Trials per (group 'arm · level', status): rows = groups in arm then level order, columns =
    statuses (known ones first)."""
    if trials.empty:
        return None
    arm, level = trials[TrialColumn.ARM], trials[TrialColumn.SPARSITY]
    df = trials.assign(
        status=trials[TrialColumn.STATUS].fillna("unknown"),
        group=arm.fillna("?").map(plot_text) + " · " + level.map(fmt_sparsity),
    )
    ordered = df.sort_values(
        [TrialColumn.ARM, TrialColumn.SPARSITY], key=lambda c: c.map(arm_rank) if c.name == TrialColumn.ARM else c
    )
    groups = ordered["group"].drop_duplicates().tolist()
    present = set(df["status"])
    statuses = [s for s in STATUS_COLORS if s in present] + sorted(present - set(STATUS_COLORS))
    counts = df.groupby(["group", "status"]).size().unstack(fill_value=0)
    return counts.reindex(index=groups, columns=[str(s) for s in statuses], fill_value=0)


def draw(counts: pd.DataFrame | None) -> go.Figure:
    if counts is None:
        return empty_figure(TITLE, "no trials yet")
    fig = go.Figure()
    for j, status in enumerate(counts.columns):
        fig.add_trace(
            go.Bar(
                x=counts.index.tolist(),
                y=counts[status].to_numpy(),
                name=plot_text(status),
                marker=dict(color=STATUS_COLORS.get(status, level_color(j))),
                hovertemplate=f"%{{x}}<br>{plot_text(status)}: %{{y}}<extra></extra>",
            )
        )
    apply_layout(fig, TITLE, 360, barmode="stack")
    fig.update_yaxes(title="trials")
    return fig


FIGURE = FigureSpec(TITLE, lambda results: status_counts(results.trials), draw)
