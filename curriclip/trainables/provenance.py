"""What a trial's numbers depend on beyond its config: torch threads and library versions.

On a CPU, a trial is deterministic for a given number of torch threads (reductions are
split by thread) and given library versions; a replay on another thread count gives
slightly different numbers. Every epoch report carries both, so ``curriclip train``
can replay a trial of a search exactly (same threads) and say when versions differ.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import torch

#: Libraries whose versions change a trial's numbers.
LIBRARIES = ("torch", "open_clip_torch", "numpy", "transformers")


def library_versions() -> str:
    """``python=3.11.7 torch=2.14.1 ...``: one string, comparable between a trial and its replay."""
    parts = [f"python={platform.python_version()}"]
    for name in LIBRARIES:
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=absent")
    return " ".join(parts)


VERSIONS = library_versions()


def provenance() -> dict[str, int | str]:
    """The report keys ``threads`` and ``versions`` of the running trial (after ``seed_everything``)."""
    return {"threads": torch.get_num_threads(), "versions": VERSIONS}


def recorded(trial_config: Path) -> dict | None:
    """``threads`` and ``versions`` a search recorded for the trial whose ``params.json`` is ``trial_config``."""
    results = Path(trial_config).with_name("result.json")
    if not results.is_file():
        return None
    for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "threads" in record:
            return {"threads": int(record["threads"]), "versions": str(record.get("versions", ""))}
    return None
