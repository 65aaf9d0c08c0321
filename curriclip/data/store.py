"""Datasets on disk: Parquet shards plus a manifest, written atomically.

A dataset directory holds ``part-*.parquet`` shards in the schema of
``curriclip.data.schema`` and a ``manifest.json`` (schema version, label names, counts
per split and label, image size, shard checksums). It is written under a temporary
name and renamed when complete, so a crash never leaves a half dataset that a later
search would silently use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curriclip.data.schema import (
    OPTIONAL_FIELDS,
    SCHEMA_VERSION,
    SPLITS,
    label_names_of,
    labels_matrix,
    schema_with_labels,
)
from curriclip.errors import DataError

MANIFEST = "manifest.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _count(tables: list[pa.Table], label_names: list[str]) -> dict:
    """Counts per split, and positives / uncertain per label and split, for the manifest."""
    counts: dict = {split: {"samples": 0, "positive": {}, "uncertain": {}} for split in SPLITS}
    for table in tables:
        for split in SPLITS:
            part = table.filter(pc.equal(table["split"], split))
            entry = counts[split]
            entry["samples"] += part.num_rows
            if part.num_rows == 0:
                continue
            values = labels_matrix(part["labels"], len(label_names))
            for k, name in enumerate(label_names):
                entry["positive"][name] = entry["positive"].get(name, 0) + int((values[:, k] == 1).sum())
                entry["uncertain"][name] = entry["uncertain"].get(name, 0) + int((values[:, k] == -1).sum())
    return counts


def write_dataset(
    tables: Iterable[pa.Table],
    out_dir: str | Path,
    label_names: list[str] | tuple[str, ...],
    source: str,
    extra: dict | None = None,
    image_channels: int = 1,
) -> Path:
    """Write shards and manifest to ``out_dir`` atomically (temp dir, then rename).

    ``image_channels``: channels per image (the ``image`` bytes are C*H*W); recorded in the
    schema metadata and the manifest. Optional columns (``schema.OPTIONAL_FIELDS``) are kept
    when a table has them.
    """
    out = Path(out_dir)
    if out.exists():
        raise DataError(f"{out}: already exists (choose another --out or delete it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    schema = schema_with_labels(label_names, image_channels)
    written: list[pa.Table] = []
    try:
        shards = []
        for i, table in enumerate(tables):
            optional = [f for f in OPTIONAL_FIELDS if f.name in table.column_names]
            target = pa.schema([*schema, *optional], metadata=schema.metadata)
            table = table.select(target.names).cast(target)
            name = f"part-{i:05d}.parquet"
            pq.write_table(table, tmp / name, compression="zstd", row_group_size=1024)
            shards.append(name)
            written.append(table.drop_columns(["image", "masks", *(f.name for f in optional)]))
        if not shards:
            raise DataError(f"{out}: no samples to write")
        image_sizes = {
            (int(h), int(w))
            for t in written
            for h, w in zip(t["image_height"].to_pylist(), t["image_width"].to_pylist())
        }
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "source": source,
            "label_names": list(label_names),
            "image_size": sorted(image_sizes)[0] if len(image_sizes) == 1 else None,
            "image_channels": int(image_channels),
            "counts": _count(written, list(label_names)),
            "shards": {name: _sha256(tmp / name) for name in shards},
            **(extra or {}),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def read_manifest(path: str | Path) -> dict:
    """The manifest of the dataset at ``path``, with clear errors for what is not a dataset."""
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: dataset directory does not exist")
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise DataError(f"{manifest_path}: missing (not a curriclip dataset directory)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"{manifest_path}: not valid JSON ({exc.msg})") from None
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise DataError(
            f"{manifest_path}: schema version {manifest.get('schema_version')!r}, this curriclip reads {SCHEMA_VERSION}"
        )
    for shard in manifest.get("shards", {}):
        if not (root / shard).is_file():
            raise DataError(f"{root / shard}: shard listed in the manifest is missing")
    return manifest


def image_channels(path: str | Path) -> int:
    """Channels per image of the dataset at ``path`` (1 for datasets written before channels were recorded)."""
    return int(read_manifest(path).get("image_channels", 1))


def read_split(path: str | Path, split: str, columns: list[str] | None = None) -> tuple[pa.Table, list[str]]:
    """All rows of one split (memory-mapped Parquet), and the dataset's label names."""
    root = Path(path)
    manifest = read_manifest(root)
    tables = []
    for shard in manifest["shards"]:
        try:
            table = pq.read_table(root / shard, columns=columns, memory_map=True, filters=[("split", "=", split)])
        except (pa.ArrowInvalid, OSError) as exc:
            raise DataError(f"{root / shard}: unreadable Parquet shard ({exc})") from None
        tables.append(table)
    schema = pq.read_schema(root / next(iter(manifest["shards"])))
    return pa.concat_tables(tables), label_names_of(schema)
