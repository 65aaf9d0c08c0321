"""Mean final CLIP score by task ordering (horizontal bars with 95% CI, trials as points), one panel
per sparsity level, and the table of the best orderings (level-centred scores)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.names import TrialColumn

from ..stats import SCORE, centred_scores, curriculum_completed, mean_ci
from ..style import (
    SCORE_LABEL,
    apply_layout,
    empty_figure,
    fmt_sparsity,
    hover_data,
    hover_template,
    jitter,
    level_color,
    levels_in,
    plot_text,
)
from . import FigureSpec

TITLE = "Curriculum trials: CLIP score by task ordering (mean ± 95% CI, points = trials)"
ORDERING = TrialColumn.ORDERING


@dataclass
class OrderingData:
    levels: list[float]
    orderings: list[str]  # worst first (drawn bottom to top: best at the top)
    trials: pd.DataFrame  # completed curriculum trials, ordering as text
    stats: pd.DataFrame  # level, ordering, n, mean, hw (orderings tried at that level)


def ordering_data(trials: pd.DataFrame) -> OrderingData | None:
    df = curriculum_completed(trials)
    if df.empty:
        return None
    df = df.assign(**{ORDERING: df[ORDERING].fillna("").astype(str)})
    levels = levels_in(df)
    # Sort by the mean of per-level means, so a level with many trials doesn't dominate.
    rank = df.groupby([ORDERING, TrialColumn.SPARSITY])[SCORE].mean().groupby(ORDERING).mean()
    orderings = rank.sort_values(ascending=True).index.tolist()
    rows = []
    for level in levels:
        sub = df[df[TrialColumn.SPARSITY] == level]
        for ordering in orderings:
            n, mean, hw = mean_ci(sub.loc[sub[ORDERING] == ordering, SCORE])
            if n:
                rows.append((level, ordering, n, mean, hw))
    stats = pd.DataFrame(rows, columns=["level", "ordering", "n", "mean", "hw"])
    return OrderingData(levels, orderings, df, stats)


def _bars(level: float, stats: pd.DataFrame, ypos: dict, color: str) -> go.Bar:
    return go.Bar(
        y=[ypos[o] for o in stats["ordering"]],
        x=stats["mean"].tolist(),
        orientation="h",
        marker=dict(color=color, opacity=0.35),
        error_x=dict(type="data", array=stats["hw"].fillna(0).tolist(), color=color),
        text=[f"{r.mean:.4f} (n={r.n})" for r in stats.itertuples()],
        textposition="inside",
        insidetextanchor="start",
        name=f"mean, {fmt_sparsity(level)}",
        showlegend=False,
        customdata=[[plot_text(r.ordering), fmt_sparsity(level), r.n] for r in stats.itertuples()],
        hovertemplate=(
            "<b>%{customdata[0]}</b><br>sparsity: %{customdata[1]}<br>"
            "n: %{customdata[2]}<br>mean CLIP score: %{x:.4f}<extra></extra>"
        ),
    )


def draw(data: OrderingData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no completed curriculum trials yet")
    ypos = {o: i for i, o in enumerate(data.orderings)}
    fig = make_subplots(
        rows=1,
        cols=len(data.levels),
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=[f"sparsity {fmt_sparsity(lv)}" for lv in data.levels],
    )
    for col, level in enumerate(data.levels, start=1):
        color = level_color(col - 1)
        sub = data.trials[data.trials[TrialColumn.SPARSITY] == level]
        fig.add_trace(_bars(level, data.stats[data.stats["level"] == level], ypos, color), row=1, col=col)
        fig.add_trace(
            go.Scatter(
                x=sub[SCORE],
                y=sub[ORDERING].map(ypos).to_numpy() + jitter(sub[TrialColumn.TRIAL_ID], 0.25),
                mode="markers",
                marker=dict(color=color, size=6, line=dict(width=0.5, color="white")),
                name=f"trials, {fmt_sparsity(level)}",
                showlegend=False,
                customdata=hover_data(sub),
                hovertemplate=hover_template(value_axis="x"),
            ),
            row=1,
            col=col,
        )
    apply_layout(fig, TITLE, max(360, 34 * len(data.orderings) + 160), bargap=0.35)
    fig.update_layout(margin=dict(l=40))
    fig.update_yaxes(
        tickvals=list(range(len(data.orderings))),
        ticktext=[plot_text(o) for o in data.orderings],
        automargin=True,
        range=[-0.6, len(data.orderings) - 0.4],
        showgrid=False,
    )
    fig.update_yaxes(title="task ordering (first > … > last)", row=1, col=1)
    fig.update_xaxes(title=SCORE_LABEL, rangemode="tozero")
    return fig


def best_orderings(trials: pd.DataFrame, k: int = 5) -> pd.DataFrame:
    """The ``k`` task orderings with the highest mean level-centred CLIP score (ties: more trials
    first): ordering, n trials, levels tried, mean centred score, best raw score and its trial."""
    df = curriculum_completed(trials)
    if df.empty:
        return pd.DataFrame(columns=["ordering", "n", "levels", "mean_vs_level", "best", "best_trial"])
    df = df.assign(**{ORDERING: df[ORDERING].fillna("").astype(str)}, centred=centred_scores(df))
    rows = []
    for ordering, group in df.groupby(ORDERING):
        best = group.loc[group[SCORE].idxmax()]
        rows.append(
            dict(
                ordering=ordering,
                n=len(group),
                levels=", ".join(fmt_sparsity(lv) for lv in sorted(group[TrialColumn.SPARSITY].unique())),
                mean_vs_level=float(group["centred"].mean()),
                best=float(best[SCORE]),
                best_trial=str(best[TrialColumn.TRIAL_ID]),
            )
        )
    out = pd.DataFrame(rows).sort_values(["mean_vs_level", "n"], ascending=[False, False])
    return out.head(k).reset_index(drop=True)


FIGURE = FigureSpec(TITLE, lambda results: ordering_data(results.trials), draw)
