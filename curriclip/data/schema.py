"""The one Arrow schema every dataset source writes (synthetic, MIMIC-CXR, IU X-Ray, CSV).

Why one schema: trials, loaders and ingesters meet only here, so a new source is
usable by every search the moment it writes these columns. Images are stored as raw
row-major uint8 bytes at one fixed size per dataset, so the loader can map the whole
column into a single numpy array without decoding anything per sample: grayscale
(chest X-rays, one channel, H*W bytes) or C channels stacked channel-first (C*H*W
bytes, e.g. the four MR contrasts of BraTS); the channel count is in the schema
metadata and the manifest (``image_channels``, 1 when absent).
Labels use the CheXpert encoding: 1 positive, 0 negative, -1 uncertain, null not
mentioned; the order of the label list is the dataset's ``label_names``.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

SCHEMA_VERSION = 1
SPLITS = ("train", "validate", "test")

#: CheXpert-style findings of the embedded synthetic benchmark (real sources may differ;
#: every dataset records its own list in the schema metadata and the manifest).
DEFAULT_LABEL_NAMES = (
    "cardiomegaly",
    "pleural_effusion",
    "pneumothorax",
    "consolidation",
    "lung_nodule",
    "atelectasis",
    "edema",
    "support_devices",
    "fracture",
)

SCHEMA = pa.schema(
    [
        pa.field("sample_id", pa.string(), nullable=False),
        pa.field("subject_id", pa.string(), nullable=False),
        pa.field("study_id", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),  # one of SPLITS
        pa.field("view", pa.string(), nullable=True),  # PA, AP, LATERAL, ...
        pa.field("image", pa.binary(), nullable=False),  # raw uint8, channels*height*width bytes (C, H, W)
        pa.field("image_height", pa.int32(), nullable=False),
        pa.field("image_width", pa.int32(), nullable=False),
        pa.field("findings", pa.string(), nullable=True),  # FINDINGS section
        pa.field("impression", pa.string(), nullable=True),  # IMPRESSION section
        pa.field("labels", pa.list_(pa.int8()), nullable=True),  # CheXpert encoding, items nullable
        pa.field("masks", pa.binary(), nullable=True),  # packed bits, len(label_names)*H*W, or null
        pa.field("difficulty", pa.float32(), nullable=False),  # 0 easy .. 1 hard
        pa.field("source", pa.string(), nullable=False),
    ]
)

#: Columns a source may add after the schema's own (``store.write_dataset`` keeps them when present):
#: ``rater_masks``: R raters' masks, packed bits of (R, len(label_names), H, W), see the manifest's "raters".
OPTIONAL_FIELDS = (pa.field("rater_masks", pa.binary(), nullable=True),)


def schema_with_labels(label_names: tuple[str, ...] | list[str], image_channels: int = 1) -> pa.Schema:
    """SCHEMA carrying the label order (and channel count) in its metadata, so a Parquet file is self-describing."""
    return SCHEMA.with_metadata(
        {
            b"curriclip.schema_version": str(SCHEMA_VERSION).encode(),
            b"curriclip.label_names": json.dumps(list(label_names)).encode(),
            b"curriclip.image_channels": str(int(image_channels)).encode(),
        }
    )


def label_names_of(schema: pa.Schema) -> list[str]:
    """The label order recorded in a dataset's schema metadata."""
    meta = schema.metadata or {}
    raw = meta.get(b"curriclip.label_names")
    return json.loads(raw) if raw else list(DEFAULT_LABEL_NAMES)


def labels_matrix(labels: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    """Decode a ``labels`` column to an (N, width) float32 array: 1, 0, -1, and NaN for not mentioned.

    Null lists (no labels at all) and null items both become NaN, so rows stay aligned.
    """
    rows = labels.to_pylist()
    out = np.full((len(rows), width), np.nan, dtype=np.float32)
    for r, row in enumerate(rows):
        if row:
            out[r, : len(row)] = [np.nan if v is None else v for v in row]
    return out
