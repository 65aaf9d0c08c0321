"""TextBraTS reports: a folder of per-case text files or a CSV/Parquet table, and templated reports.

Accepted ``--reports``:

- a directory: ``<case id>*.txt`` files (e.g. ``BraTS20_Training_001.txt`` or
  ``BraTS20_Training_001_flair_text.txt``), one per case, found recursively; two files
  for one case is an error;
- a ``.csv`` or ``.parquet`` table with a case-id column (``case_id``, ``id`` or ``case``)
  and a text column (``report``, ``text`` or ``findings``).

A case without a report is either skipped (counted) or given a report templated from
its labels, which starts with "[Templated report" and is listed in the manifest.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from curriclip.errors import DataError

TEMPLATE_NOTE = "[Templated report generated from the segmentation labels; not written by a radiologist.]"
ID_COLUMNS = ("case_id", "id", "case")
TEXT_COLUMNS = ("report", "text", "findings")
CASE_ID = re.compile(r"BraTS20_(Training|Validation)_\d{3}")


class ReportSource:
    """case id -> report text."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def get(self, case_id: str) -> str | None:
        text = self.texts.get(case_id)
        return text.strip() if text and text.strip() else None

    @classmethod
    def open(cls, path: Path) -> ReportSource:
        if not path.exists():
            raise DataError(f"{path}: --reports does not exist")
        if path.is_dir():
            return cls(_folder(path))
        if path.suffix.lower() in (".csv", ".parquet"):
            return cls(_table(path))
        raise DataError(f"{path}: --reports must be a folder of .txt files or a .csv/.parquet table")


def _folder(path: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    for file in sorted(path.rglob("*.txt")):
        match = CASE_ID.match(file.name)
        if not match:
            continue
        if match.group(0) in texts:
            raise DataError(f"{file}: a second report for case {match.group(0)}")
        texts[match.group(0)] = file.read_text(errors="replace")
    return texts


def _table(path: Path) -> dict[str, str]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise DataError(f"{path}: unreadable reports table ({str(exc).splitlines()[0][:120]})") from None
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    text_column = next((c for c in TEXT_COLUMNS if c in frame.columns), None)
    if id_column is None or text_column is None:
        raise DataError(
            f"{path}: needs a case id column ({'/'.join(ID_COLUMNS)}) and a text column "
            f"({'/'.join(TEXT_COLUMNS)}); has {list(frame.columns)[:8]}"
        )
    return {str(k): str(v) for k, v in zip(frame[id_column], frame[text_column]) if isinstance(v, str)}


def templated_report(seg: np.ndarray, zooms: tuple[float, ...]) -> str:
    """A report from the labels alone: side, size of core and whole tumour, enhancement, necrosis, edema.

    Side: the whole tumour's centroid on the column axis of the radiological layout
    (``ingest.radiological``: columns run from the patient's right to the patient's left).
    The lobe cannot be read from labels and is not stated.
    """
    wt = np.isin(seg, (1, 2, 4))
    if not wt.any():
        return f"{TEMPLATE_NOTE} No tumour is labelled."
    side = "left" if np.argwhere(wt)[:, 1].mean() >= seg.shape[1] / 2 else "right"

    def extent_cm(mask: np.ndarray) -> float:
        if not mask.any():
            return 0.0
        points = np.argwhere(mask)
        return float(max((points.max(0) - points.min(0) + 1) * np.asarray(zooms[:3])) / 10)

    core = extent_cm(np.isin(seg, (1, 4)))
    parts = [TEMPLATE_NOTE, f"A {side}-sided tumour measuring {extent_cm(wt):.1f} cm including edema."]
    if (seg == 4).any():
        parts.append(f"The {core:.1f} cm core shows contrast enhancement.")
    else:
        parts.append(f"The {core:.1f} cm core shows no contrast enhancement." if core else "No tumour core.")
    parts.append("Necrotic or non-enhancing core is present." if (seg == 1).any() else "No necrosis is labelled.")
    parts.append("Peritumoral edema is present." if (seg == 2).any() else "No edema is labelled.")
    return " ".join(parts)
