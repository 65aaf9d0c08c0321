"""BRATS slices as rows of curriclip's schema, written atomically with the family's manifest fields."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from curriclip.data.brats.regions import CONTRASTS, REGION_NAMES, rater_summary, region_labels
from curriclip.data.mask_store import pack_masks
from curriclip.data.schema import schema_with_labels
from curriclip.data.store import write_dataset


@dataclass
class Slice:
    """One axial slice: (4, S, S) uint8 contrasts, (3, S, S) nested masks, its case's report."""

    case_id: str
    index: int  # axial slice index in the volume
    image: np.ndarray
    masks: np.ndarray
    report: str
    split: str
    templated: bool = False
    raters: np.ndarray | None = None  # (R, 3, S, S) bool


def _difficulty(slices: list[Slice]) -> list[float]:
    """Small tumours are hard: 1 minus the rank of the whole-tumour area (0 easiest, 1 hardest)."""
    areas = np.array([s.masks[0].sum() for s in slices], dtype=np.float64)
    ranks = np.argsort(np.argsort(areas, kind="stable"), kind="stable")
    return list(1.0 - ranks / max(len(slices) - 1, 1))


def slice_table(slices: list[Slice], source: str) -> pa.Table:
    """The rows of ``slices`` (images stored channel-first, masks and rater masks bit-packed)."""
    size = int(slices[0].image.shape[-1])
    columns = {
        "sample_id": [f"{s.case_id}_z{s.index:03d}" for s in slices],
        "subject_id": [s.case_id for s in slices],
        "study_id": [s.case_id for s in slices],
        "split": [s.split for s in slices],
        "view": ["axial"] * len(slices),
        "image": [np.ascontiguousarray(s.image, dtype=np.uint8).tobytes() for s in slices],
        "image_height": [size] * len(slices),
        "image_width": [size] * len(slices),
        "findings": [s.report for s in slices],
        "impression": [None] * len(slices),
        "labels": [region_labels(s.masks) for s in slices],
        "masks": [row.tobytes() for row in pack_masks(np.stack([s.masks for s in slices]))],
        "difficulty": _difficulty(slices),
        "source": [source] * len(slices),
    }
    table = pa.Table.from_pydict(columns, schema=schema_with_labels(REGION_NAMES, len(CONTRASTS)))
    if slices[0].raters is not None:
        packed = pack_masks(np.stack([s.raters for s in slices]))
        table = table.append_column(pa.field("rater_masks", pa.binary()), pa.array([r.tobytes() for r in packed]))
    return table


def write_slices(slices: list[Slice], out: Path, source: str, extra: dict) -> Path:
    """Write the dataset (atomically) with the rater floor of the test split in the manifest."""
    test_raters = [s.raters for s in slices if s.split == "test" and s.raters is not None]
    raters = rater_summary(np.stack(test_raters)) if test_raters else {"count": 0}
    templated = sorted({s.case_id for s in slices if s.templated})
    manifest = {
        "contrasts": list(CONTRASTS),
        "regions": {"wt": "whole tumour {1,2,4}", "tc": "tumour core {1,4}", "et": "enhancing tumour {4}"},
        "raters": raters,
        "templated_reports": {"cases": templated, "count": len(templated)},
        **extra,
    }
    return write_dataset([slice_table(slices, source)], out, REGION_NAMES, source, manifest, len(CONTRASTS))
