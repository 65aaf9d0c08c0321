"""Task map: the TaCo map of the run's tasks, when the run has one (``<run>/taskmap`` or ``space.task_map``).

The map and its figures are ``curriclip.taskmap``'s; this section only finds the map and places
its fragment (2-D projection by category, similarity matrix, modification trajectories) on the page.
"""

from __future__ import annotations

from pathlib import Path

from markupsafe import Markup

from ..blocks import Text, text
from ..results import Results
from . import Section


def blocks(results: Results) -> list:
    from curriclip.taskmap import draw_section, report_section

    named = (results.experiment.get("space") or {}).get("task_map")
    for where in (results.run_dir, named):
        data = report_section(where) if where and Path(where).exists() else None
        if data is not None:
            note = text(
                "Task embeddings learned by task-contrastive learning (TaCo) from <code>{path}</code>.",
                path=data["map_dir"],
            )
            return [note, Text(Markup(draw_section(data)), css="")]  # built and escaped by curriclip.taskmap
    return []


SECTION = Section("task-map", "Task map", "Task map (TaCo)", blocks, optional=True)
