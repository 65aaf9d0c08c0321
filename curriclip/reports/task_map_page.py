"""The task map's own page (``curriclip taskmap map`` writes it beside the map): the report's Task map
section on a page of its own, with plotly.js embedded (opens offline), written atomically."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import plotly.offline
from markupsafe import Markup

from curriclip.errors import CurriclipError
from curriclip.rundir.atomic import atomic_text

from .figures.task_map import task_map_data
from .page import _environment, _static, figure_html
from .sections.task_map import task_map_blocks


def write_task_map_page(map_dir: str | Path, path: str | Path) -> Path:
    """Render the map at ``map_dir`` into ``path``."""
    data = task_map_data(map_dir)
    if data is None:
        raise CurriclipError(f"{map_dir}: no task map (metrics.json and embeddings.parquet)")
    page = (
        _environment()
        .get_template("task_map.html.j2")
        .render(
            map_dir=str(data.map_dir),
            generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            css=Markup(_static("report.css")),
            plotly_js=Markup(plotly.offline.get_plotlyjs()),
            blocks=task_map_blocks(data),
            figure_html=figure_html,
        )
    )
    return atomic_text(path, page)
