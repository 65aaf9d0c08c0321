"""Task × position heatmap per sparsity level: mean final CLIP score of the curriculum trials that
put that task at that position. Colour = difference from the level's mean (one diverging scale),
cell text = mean score and n. Positions are not Optuna parameters (the searcher picks orderings
through ``order_k`` indices), so ``optuna.visualization`` has no counterpart."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.names import TrialColumn

from ..results import ordering_tasks
from ..stats import SCORE, centred_scores, curriculum_completed
from ..style import apply_layout, empty_figure, fmt_sparsity, levels_in, plot_text, tasks_itc_first
from . import FigureSpec

TITLE = "Task × position in the ordering: mean CLIP score of trials with that task there"
POSITION_COLUMNS = ["trial_id", "sparsity", "task", "position", "score", "centred"]


def ordering_positions(trials: pd.DataFrame) -> pd.DataFrame:
    """Completed curriculum trials in long form: one row per (trial, task) with the task's
    position in the ordering (0 = first) and the trial's score, raw and centred on its level's
    mean (so levels with different score ranges can be pooled)."""
    df = curriculum_completed(trials)
    if df.empty:
        return pd.DataFrame(columns=POSITION_COLUMNS)
    rows = []
    records = zip(df[TrialColumn.TRIAL_ID], df[TrialColumn.SPARSITY], df[TrialColumn.ORDERING], df[SCORE])
    for (trial_id, level, ordering, score), centred in zip(records, centred_scores(df)):
        for position, task in enumerate(ordering_tasks(ordering)):
            rows.append((trial_id, level, task, position, score, centred))
    return pd.DataFrame(rows, columns=POSITION_COLUMNS)


@dataclass
class HeatmapData:
    levels: list[float]
    tasks: list[str]
    positions: int
    cells: pd.DataFrame  # sparsity, task, position, mean, centred, n


def heatmap_data(trials: pd.DataFrame) -> HeatmapData | None:
    long = ordering_positions(trials)
    if long.empty:
        return None
    cells = long.groupby(["sparsity", "task", "position"]).agg(
        mean=("score", "mean"), centred=("centred", "mean"), n=("score", "size")
    )
    tasks = tasks_itc_first(long["task"].unique())
    return HeatmapData(levels_in(long), tasks, int(long["position"].max()) + 1, cells.reset_index())


def _grids(data: HeatmapData, level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    shape = (len(data.tasks), data.positions)
    z, text = np.full(shape, np.nan), np.full(shape, "", dtype=object)
    customdata = np.full((*shape, 3), "", dtype=object)
    for cell in data.cells[data.cells["sparsity"] == level].itertuples():
        row, col, n = data.tasks.index(cell.task), cell.position, int(cell.n)
        z[row, col] = cell.centred
        text[row, col] = f"{cell.mean:.3f}<br>n={n}"
        customdata[row, col] = [plot_text(cell.task), str(col + 1), f"{cell.mean:.4f} (n={n})"]
    return z, text, customdata


def draw(data: HeatmapData | None) -> go.Figure:
    if data is None:
        return empty_figure(TITLE, "no completed curriculum trials with a task ordering yet")
    fig = make_subplots(
        rows=1,
        cols=len(data.levels),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[f"sparsity {fmt_sparsity(lv)}" for lv in data.levels],
    )
    span = float(np.nanmax(np.abs(data.cells["centred"]))) or 1.0
    for col, level in enumerate(data.levels, start=1):
        z, text, customdata = _grids(data, level)
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=[f"#{i + 1}" for i in range(data.positions)],
                y=[plot_text(t) for t in data.tasks],
                text=text,
                texttemplate="%{text}",
                coloraxis="coloraxis",
                customdata=customdata,
                xgap=2,
                ygap=2,
                name=f"sparsity {fmt_sparsity(level)}",
                hovertemplate=(
                    "<b>%{customdata[0]}</b> at position %{customdata[1]}<br>mean CLIP score: %{customdata[2]}"
                    "<br>vs level mean: %{z:+.4f}<extra></extra>"
                ),
            ),
            row=1,
            col=col,
        )
    apply_layout(fig, TITLE, max(300, 70 * len(data.tasks) + 180))
    fig.update_layout(
        coloraxis=dict(
            colorscale="RdBu",
            cmid=0,
            cmin=-span,
            cmax=span,
            colorbar=dict(title=dict(text="vs level<br>mean"), thickness=12),
        ),
    )
    fig.update_xaxes(title="position in the ordering (1 = first)")
    fig.update_yaxes(autorange="reversed")
    return fig


def ordering_heatmap(trials: pd.DataFrame) -> go.Figure:
    return draw(heatmap_data(trials))


FIGURE = FigureSpec(TITLE, lambda results: heatmap_data(results.trials), draw)
