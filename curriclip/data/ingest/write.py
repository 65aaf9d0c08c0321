"""From validated records to a dataset directory (Arrow schema, Parquet shards, manifest)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from curriclip.data.ingest.images import decode_all
from curriclip.data.ingest.records import IngestReport, SampleRecord, check_splits
from curriclip.data.schema import schema_with_labels
from curriclip.data.store import write_dataset

SHARD_ROWS = 4096


def patient_splits(
    subject_ids: list[str], seed: int = 0, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> dict[str, str]:
    """Deterministic per-patient splits for sources that ship none.

    Patients are ranked by a seeded hash of their id and cut at the fractions, so the
    split does not depend on the order of the rows; test (and validate, from 3 patients)
    get at least one patient each, so a small source never ends with an empty test split.
    """

    def key(subject: str) -> int:
        return int.from_bytes(hashlib.blake2b(f"{seed}:{subject}".encode(), digest_size=8).digest(), "big")

    ranked = sorted(set(subject_ids), key=key)
    n = len(ranked)
    n_test = max(1, round(fractions[2] * n)) if n >= 2 else 0
    n_validate = max(1, round(fractions[1] * n)) if n >= 3 else 0
    splits = {subject: "train" for subject in ranked[: n - n_test - n_validate]}
    splits.update({subject: "validate" for subject in ranked[n - n_test - n_validate : n - n_test]})
    splits.update({subject: "test" for subject in ranked[n - n_test :]})
    return splits


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
    unsplit = [r for r in records if r.split is None]
    splits = patient_splits([r.subject_id for r in unsplit], split_seed)
    for r in unsplit:
        r.split = splits[r.subject_id]
    check_splits(records, source)
    extra = {"ingest": {"skipped": report.skipped, "kept": report.kept, "image_size": image_size}}
    return write_dataset(
        _tables(records, label_names, image_size, source, use_ray), out, label_names, source=source, extra=extra
    )
