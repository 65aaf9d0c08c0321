"""Dynamics: CLIP score per epoch, per-task losses, the schedules followed, data admitted."""

from __future__ import annotations

from ..blocks import Plot, text
from ..figures import FIGURES
from ..figures.losses import loss_tasks
from ..figures.schedules import MAX_TRIALS
from ..results import Results
from . import Section, plot


def schedule_blocks(results: Results) -> list:
    figure = FIGURES.get("schedules")
    data = figure.data(results)
    if data is None:
        return []
    note = "Schedule source: {source}. At most {n} trials, best first."
    return [Plot(figure.draw(data)), text(note, source=data.source, n=MAX_TRIALS)]


def blocks(results: Results) -> list:
    if results.epochs.empty:
        return [text("No per-epoch records yet.", css="note", box=True)]
    out = [plot("clip_dynamics", results)]
    if loss_tasks(results.epochs):
        out.append(plot("losses", results))
    return [*out, *schedule_blocks(results), plot("data_fraction", results)]


SECTION = Section("dynamics", "Dynamics", "Dynamics", blocks)
