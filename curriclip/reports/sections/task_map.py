"""Task map: the TaCo map of the run's tasks, when the run has one (``<run>/taskmap`` or ``space.task_map``).

Read from the map's files (``metrics.json``, ``embeddings.parquet``); the figures are
``curriclip.reports.figures.task_map``'s. ``task_map_blocks`` also fills the map's own page.
"""

from __future__ import annotations

from pathlib import Path

from ..blocks import Column, Plot, Table, cell, num, text
from ..figures.task_map import (
    MODELS,
    TaskMapData,
    metric_rows,
    projection_figure,
    similarity_figure,
    task_map_data,
    trajectory_figure,
)
from ..results import Results
from . import Section


def task_map_blocks(data: TaskMapData) -> list:
    """A line on the map, its headline numbers against the CLIP baseline, and its three figures."""
    metrics = data.metrics
    columns = [Column("measure"), *(Column(label, numeric=True) for label in MODELS.values())]
    rows = [[cell(name), *(num(v, ".3f") for v in values)] for name, values in metric_rows(metrics)]
    return [
        text(
            "Task embeddings learned by task-contrastive learning (TaCo) from <code>{path}</code>: dataset "
            "<code>{dataset}</code>, {families} task families, failure tasks: {failure}; CLIP baseline: {baseline}.",
            path=str(data.map_dir),
            dataset=str(metrics.get("dataset")),
            families=len(metrics.get("families", [])),
            failure=", ".join(metrics.get("failure_families", [])) or "none",
            baseline=str(metrics.get("clip_baseline", "untrained tower")),
        ),
        Table(columns, rows),
        *(Plot(draw(data.embeddings)) for draw in (projection_figure, similarity_figure, trajectory_figure)),
    ]


def blocks(results: Results) -> list:
    named = (results.experiment.get("space") or {}).get("task_map")
    for where in (results.run_dir, named):
        data = task_map_data(where) if where and Path(where).exists() else None
        if data is not None:
            return task_map_blocks(data)
    return []


SECTION = Section("task-map", "Task map", "Task map (TaCo)", blocks, optional=True)
