"""From validated records to a dataset directory (Arrow schema, Parquet shards, manifest)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from curriclip.data.ingest.images import decode_all
from curriclip.data.ingest.records import IngestReport, SampleRecord
from curriclip.data.schema import schema_with_labels
from curriclip.data.store import write_dataset

SHARD_ROWS = 4096


def patient_split(subject_id: str, seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> str:
    """Deterministic per-patient split for sources that ship none."""
    u = int.from_bytes(hashlib.blake2b(f"{seed}:{subject_id}".encode(), digest_size=8).digest(), "big") / 2**64
    if u < fractions[0]:
        return "train"
    return "validate" if u < fractions[0] + fractions[1] else "test"


def _difficulty(records: list[SampleRecord]) -> np.ndarray:
    """Metadata difficulty for real data: more positive/uncertain findings and longer reports are harder."""
    positives = np.array([sum(1 for v in r.labels if v in (1.0, -1.0)) for r in records], dtype=np.float32)
    words = np.array(
        [len(((r.findings or "") + " " + (r.impression or "")).split()) for r in records], dtype=np.float32
    )

    def rank(x: np.ndarray) -> np.ndarray:
        return (np.argsort(np.argsort(x, kind="stable"), kind="stable") / max(len(x) - 1, 1)).astype(np.float32)

    return 0.5 * rank(positives) + 0.5 * rank(words)


def _tables(
    records: list[SampleRecord], label_names: list[str], size: int, source: str, use_ray: bool | None
) -> Iterator[pa.Table]:
    schema = schema_with_labels(label_names)
    difficulty = _difficulty(records)
    images = decode_all([r.image_path for r in records], size, use_ray=use_ray, label=f"{source}: images")
    pending: list[np.ndarray] = []
    start = 0
    for block in images:
        pending.append(block)
        rows = sum(len(b) for b in pending)
        last = start + rows >= len(records)
        if rows < SHARD_ROWS and not last:
            continue
        pixels = np.concatenate(pending)
        chunk = records[start : start + rows]
        labels = [[None if v is None or np.isnan(v) else int(v) for v in r.labels] if r.labels else None for r in chunk]
        yield pa.Table.from_pydict(
            {
                "sample_id": [r.sample_id for r in chunk],
                "subject_id": [r.subject_id for r in chunk],
                "study_id": [r.study_id for r in chunk],
                "split": [r.split for r in chunk],
                "view": [r.view for r in chunk],
                "image": [row.tobytes() for row in pixels.reshape(len(chunk), -1)],
                "image_height": [size] * len(chunk),
                "image_width": [size] * len(chunk),
                "findings": [r.findings for r in chunk],
                "impression": [r.impression for r in chunk],
                "labels": labels,
                "masks": [None] * len(chunk),
                "difficulty": difficulty[start : start + rows],
                "source": [source] * len(chunk),
            },
            schema=schema,
        )
        start += rows
        pending = []


def write_records(
    records: list[SampleRecord],
    out: str | Path,
    label_names: list[str],
    image_size: int,
    source: str,
    report: IngestReport,
    use_ray: bool | None = None,
    split_seed: int = 0,
) -> Path:
    """Decode images and write the dataset atomically; splits by patient where the source has none."""
    for r in records:
        if r.split is None:
            r.split = patient_split(r.subject_id, split_seed)
    extra = {"ingest": {"skipped": report.skipped, "kept": report.kept, "image_size": image_size}}
    return write_dataset(
        _tables(records, label_names, image_size, source, use_ray), out, label_names, source=source, extra=extra
    )
