"""Where a task map lives: a map directory, or ``taskmap/`` inside a run directory.

``curriclip taskmap map`` writes the map; the ordering prior (``curriclip.taskmap.prior``)
and the report's Task map section read it, all through ``find_map_dir``.
"""

from __future__ import annotations

from pathlib import Path

#: The map's summary (metrics of TaCo and the CLIP baseline, families, dataset) and its instance embeddings.
METRICS_FILE, EMBEDDINGS_FILE = "metrics.json", "embeddings.parquet"


def find_map_dir(path: str | Path) -> Path | None:
    """``path`` itself when it is a map directory, ``path/taskmap`` when a run holds one, else None."""
    root = Path(path)
    for candidate in (root, root / "taskmap"):
        if (candidate / METRICS_FILE).is_file() and (candidate / EMBEDDINGS_FILE).is_file():
            return candidate
    return None
