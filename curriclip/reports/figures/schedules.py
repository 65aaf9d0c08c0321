"""The schedule each curriculum trial followed: one heatmap panel per task (rows = trials, best
final CLIP score at the top; columns = training time in epochs; colour = the task's loss weight,
0 = not yet active) and one panel with the fraction of data admitted by pacing.

Planned schedules come from ``schedules.parquet`` (exact: the curriculum engine's schedule of
each trial's config, exported with the run); a trial it lacks (a run exported before that file
existed, a config the engine could not read) is drawn from its recorded epochs (a task counts as
active, weight 1 / number of active tasks, in an epoch whose ``active_tasks`` lists it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.names import Arm, EpochColumn, TrialColumn

from ..results import ACTIVE_TASKS, DATA_FRACTION, ordering_tasks
from ..stats import SCORE
from ..style import apply_layout, empty_figure, fmt_num, plot_text, tasks_itc_first
from . import FigureSpec

TITLE = "Schedule each curriculum trial followed (rows: trials, best first; colour: task weight)"
FRAME_COLUMNS = ["trial_id", "x", "task", "weight", "data_fraction"]
FROM_EPOCHS = "recorded epochs (active_tasks, data_fraction)"
FROM_CONFIG = "schedules.parquet (the curriculum engine's planned schedule of each trial's config)"
DATA_PANEL = "data fraction"
MAX_TRIALS = 40


def _recorded(trial_id: str, epochs: pd.DataFrame) -> pd.DataFrame:
    ep = epochs[epochs[EpochColumn.TRIAL_ID] == trial_id].sort_values(EpochColumn.EPOCH)
    rows = []
    for epoch, active, fraction in zip(ep[EpochColumn.EPOCH], ep[ACTIVE_TASKS], ep[DATA_FRACTION]):
        tasks = ordering_tasks(active)
        rows += [(trial_id, float(epoch), task, 1.0 / len(tasks), fraction) for task in tasks]
        if not tasks:
            rows.append((trial_id, float(epoch), "", 0.0, fraction))
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


def schedule_frame(epochs: pd.DataFrame, planned: pd.DataFrame, trial_ids: list[str]) -> tuple[pd.DataFrame, str]:
    """The schedule each of ``trial_ids`` followed, long form [trial_id, x (epochs, fractional),
    task, weight, data_fraction], and where it came from (``planned``: schedules.parquet's rows)."""
    frames, source = [], FROM_EPOCHS
    planned_ids = set(planned["trial_id"].astype(str)) if not planned.empty else set()
    for trial_id in trial_ids:
        schedule = None
        if str(trial_id) in planned_ids:
            schedule = planned[planned["trial_id"].astype(str) == str(trial_id)][FRAME_COLUMNS]
            source = FROM_CONFIG
        if schedule is None and not epochs.empty:
            schedule = _recorded(trial_id, epochs)
        if schedule is not None and not schedule.empty:
            frames.append(schedule)
    if not frames:
        return pd.DataFrame(columns=FRAME_COLUMNS), source
    return pd.concat(frames, ignore_index=True), source


@dataclass
class SchedulesData:
    frame: pd.DataFrame  # schedule_frame rows of the trials shown, tasks only
    trial_ids: list[str]  # best first
    labels: list[str]  # row labels: trial id (final CLIP score)
    tasks: list[str]
    source: str


def schedules_data(
    epochs: pd.DataFrame, trials: pd.DataFrame, planned: pd.DataFrame, max_trials: int = MAX_TRIALS
) -> SchedulesData | None:
    cur = trials[trials[TrialColumn.ARM] == Arm.CURRICULUM] if not trials.empty else trials
    if cur.empty:
        return None
    cur = cur.sort_values(SCORE, ascending=False, na_position="last").head(max_trials)
    ids = cur[TrialColumn.TRIAL_ID].tolist()
    frame, source = schedule_frame(epochs, planned, ids)
    frame = frame[frame["task"] != ""] if not frame.empty else frame
    if frame.empty:
        return None
    frame = frame[frame["trial_id"].isin(ids)]
    ids = [t for t in ids if t in set(frame["trial_id"])]
    score = cur.set_index(TrialColumn.TRIAL_ID)[SCORE]
    labels = [f"{plot_text(t)} ({fmt_num(score.get(t), '.3f') or '—'})" for t in ids]
    return SchedulesData(frame, ids, labels, tasks_itc_first(frame["task"].unique()), source)


def _panel(data: SchedulesData, panel: str, xs: np.ndarray) -> tuple[np.ndarray, str]:
    rows = {t: i for i, t in enumerate(data.trial_ids)}
    cols = {x: i for i, x in enumerate(xs)}
    if panel == DATA_PANEL:
        sub = data.frame.drop_duplicates(["trial_id", "x"])
        values, colours, z = sub["data_fraction"], "Greens", np.full((len(rows), len(xs)), np.nan)
    else:
        sub = data.frame[data.frame["task"] == panel]
        values, colours, z = sub["weight"], "Blues", np.zeros((len(rows), len(xs)))
    z[sub["trial_id"].map(rows).to_numpy(), sub["x"].map(cols).to_numpy()] = values.to_numpy(dtype="float64")
    return z, colours


def draw(data: SchedulesData | None, empty_note: str = "no curriculum trials yet") -> go.Figure:
    if data is None:
        return empty_figure(TITLE, empty_note)
    xs = np.sort(data.frame["x"].unique())
    panels = [*data.tasks, DATA_PANEL]
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        horizontal_spacing=0.02,
        subplot_titles=[plot_text(p) for p in panels],
    )
    for col, panel in enumerate(panels, start=1):
        z, colours = _panel(data, panel, xs)
        last = col == len(panels)
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=xs,
                y=data.labels,
                zmin=0,
                zmax=1,
                colorscale=colours,
                showscale=col in (1, len(panels)),
                colorbar=dict(
                    x=1.0 if last else 1.08,
                    thickness=10,
                    len=0.45,
                    y=0.25 if last else 0.78,
                    title=dict(text="data" if last else "weight"),
                ),
                name=plot_text(panel),
                hovertemplate=f"%{{y}}<br>epoch %{{x:.2f}}<br>{plot_text(panel)}: %{{z:.2f}}<extra></extra>",
            ),  # fmt: skip
            row=1,
            col=col,
        )
    apply_layout(fig, TITLE, max(320, 18 * len(data.trial_ids) + 180))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title="epoch")
    fig.update_layout(meta=dict(schedule_source=data.source))
    return fig


FIGURE = FigureSpec(TITLE, lambda results: schedules_data(results.epochs, results.trials, results.schedules), draw)
