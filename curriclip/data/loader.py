"""In-memory arrays of one trial's data, built once per trial from the Arrow columns.

Images come out of the binary column as one contiguous uint8 array (no per-sample
Python objects), are resized once to the model's input size and kept as uint8;
batches are gathered by index, converted to float and normalised on the fly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
import torch.nn.functional as F

from curriclip.data.schema import labels_matrix
from curriclip.data.store import read_split
from curriclip.errors import DataError

COLUMNS = [
    "sample_id",
    "subject_id",
    "split",
    "image",
    "image_height",
    "image_width",
    "findings",
    "impression",
    "labels",
    "difficulty",
]


@dataclass
class SplitArrays:
    """One split's samples as arrays aligned by row."""

    sample_ids: np.ndarray  # (N,) object
    subject_ids: np.ndarray  # (N,) object
    images: torch.Tensor  # (N, H, W) uint8
    texts: list[str]
    labels: torch.Tensor  # (N, K) float32, NaN = not mentioned
    difficulty: np.ndarray  # (N,) float32
    label_names: list[str]

    def __len__(self) -> int:
        return len(self.sample_ids)

    def take(self, index: np.ndarray) -> SplitArrays:
        idx = torch.as_tensor(index, dtype=torch.long)
        return SplitArrays(
            sample_ids=self.sample_ids[index],
            subject_ids=self.subject_ids[index],
            images=self.images[idx],
            texts=[self.texts[i] for i in index],
            labels=self.labels[idx],
            difficulty=self.difficulty[index],
            label_names=self.label_names,
        )


def _images(table: pa.Table, where: str) -> torch.Tensor:
    heights = table["image_height"].to_numpy()
    widths = table["image_width"].to_numpy()
    if len(heights) == 0:
        return torch.zeros((0, 1, 1), dtype=torch.uint8)
    h, w = int(heights[0]), int(widths[0])
    if (heights != h).any() or (widths != w).any():
        raise DataError(f"{where}: images of different sizes in one dataset; re-ingest at one size")
    column = table["image"].combine_chunks()
    lengths = pc.binary_length(column).to_numpy()
    if (lengths != h * w).any():
        bad = table["sample_id"].to_numpy(zero_copy_only=False)[lengths != h * w][:5]
        raise DataError(f"{where}: image bytes do not match height*width for samples {list(bad)}")
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    return torch.from_numpy(data.reshape(len(column), h, w).copy())


def _texts(table: pa.Table) -> list[str]:
    findings = table["findings"].to_pylist()
    impression = table["impression"].to_pylist()
    texts = []
    for f, i in zip(findings, impression):
        parts = [p.strip() for p in (f, i) if p and p.strip()]
        texts.append(" ".join(parts))
    return texts


def load_split(dataset_dir: str, split: str) -> SplitArrays:
    """Every row of ``split`` in the dataset as arrays."""
    table, label_names = read_split(dataset_dir, split, columns=COLUMNS)
    where = f"{dataset_dir} [{split}]"
    return SplitArrays(
        sample_ids=np.asarray(table["sample_id"].to_pylist(), dtype=object),
        subject_ids=np.asarray(table["subject_id"].to_pylist(), dtype=object),
        images=_images(table, where),
        texts=_texts(table),
        labels=torch.from_numpy(labels_matrix(table["labels"], len(label_names))),
        difficulty=table["difficulty"].to_numpy().astype(np.float32),
        label_names=label_names,
    )


def resize_images(images: torch.Tensor, size: int, chunk: int = 1024) -> torch.Tensor:
    """Resize (N, H, W) uint8 images to (N, size, size) uint8, antialiased, in chunks."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = torch.empty((images.shape[0], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        block = images[start : start + chunk].unsqueeze(1).float()
        resized = F.interpolate(block, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + chunk] = resized.squeeze(1).round().clamp(0, 255).to(torch.uint8)
    return out
