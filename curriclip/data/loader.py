"""One trial's data as arrays, built once per trial from the Arrow columns.

Images come out of the binary column as one contiguous uint8 array (no per-sample
Python objects). At a model size they come from a memory-mapped cache file shared by
all trials on the node (``image_cache``) and are wrapped in an ``ImageStore``, which
gathers only the rows a batch asks for; sparsity subsets are row indices into the same
map, never copies. Batches are converted to float and normalised on the fly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch

from curriclip.data.image_cache import mapped_images, resize_images  # noqa: F401  (re-exported)
from curriclip.data.mask_store import MaskStore, masks_from_column
from curriclip.data.schema import labels_matrix
from curriclip.data.store import image_channels, read_split
from curriclip.errors import DataError
from curriclip.label_phrases import label_sentences

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


class ImageStore:
    """Rows of a (N, H, W) or (N, C, H, W) uint8 array (often a read-only memory map) that index like a tensor."""

    def __init__(self, base: np.ndarray, rows: np.ndarray | None = None) -> None:
        self.base = base
        self.rows = np.arange(len(base)) if rows is None else np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.base.shape[1:])

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, index: np.ndarray) -> ImageStore:
        return ImageStore(self.base, self.rows[np.asarray(index)])

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        rows = self.rows[key]
        if np.isscalar(rows):
            return torch.from_numpy(np.array(self.base[rows]))
        return torch.from_numpy(np.take(self.base, rows, axis=0))


@dataclass
class SplitArrays:
    """One split's samples as arrays aligned by row."""

    sample_ids: np.ndarray  # (N,) object
    subject_ids: np.ndarray  # (N,) object
    images: torch.Tensor | ImageStore  # (N, H, W) uint8, or (N, C, H, W) for multi-channel datasets
    texts: list[str]
    labels: torch.Tensor  # (N, K) float32, NaN = not mentioned
    difficulty: np.ndarray  # (N,) float32
    label_names: list[str]
    findings: list[str] | None = None  # the FINDINGS section alone ("" when absent)
    impressions: list[str] | None = None  # the IMPRESSION section alone ("" when absent)
    masks: MaskStore | torch.Tensor | None = None  # (N, K, H, W) uint8 finding masks, None when none

    def __len__(self) -> int:
        return len(self.sample_ids)

    def take(self, index: np.ndarray) -> SplitArrays:
        idx = torch.as_tensor(index, dtype=torch.long)
        return SplitArrays(
            sample_ids=self.sample_ids[index],
            subject_ids=self.subject_ids[index],
            images=self.images.take(index) if isinstance(self.images, ImageStore) else self.images[idx],
            texts=[self.texts[i] for i in index],
            labels=self.labels[idx],
            difficulty=self.difficulty[index],
            label_names=self.label_names,
            findings=None if self.findings is None else [self.findings[i] for i in index],
            impressions=None if self.impressions is None else [self.impressions[i] for i in index],
            masks=None
            if self.masks is None
            else (self.masks.take(index) if isinstance(self.masks, MaskStore) else self.masks[idx]),
        )


def _images(table: pa.Table, where: str, channels: int = 1) -> torch.Tensor:
    """(N, H, W) uint8, or (N, C, H, W) when the dataset has ``channels`` > 1 (bytes stored channel-first)."""
    heights = table["image_height"].to_numpy()
    widths = table["image_width"].to_numpy()
    if len(heights) == 0:
        return torch.zeros((0, 1, 1) if channels == 1 else (0, channels, 1, 1), dtype=torch.uint8)
    h, w = int(heights[0]), int(widths[0])
    if (heights != h).any() or (widths != w).any():
        raise DataError(f"{where}: images of different sizes in one dataset; re-ingest at one size")
    column = table["image"].combine_chunks()
    lengths = pc.binary_length(column).to_numpy()
    if (lengths != channels * h * w).any():
        bad = table["sample_id"].to_numpy(zero_copy_only=False)[lengths != channels * h * w][:5]
        raise DataError(f"{where}: image bytes do not match {channels}*height*width for samples {list(bad)}")
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    shape = (len(column), h, w) if channels == 1 else (len(column), channels, h, w)
    return torch.from_numpy(data.reshape(shape).copy())


def _texts(table: pa.Table) -> list[str]:
    findings = table["findings"].to_pylist()
    impression = table["impression"].to_pylist()
    texts = []
    for f, i in zip(findings, impression):
        parts = [p.strip() for p in (f, i) if p and p.strip()]
        texts.append(" ".join(parts))
    return texts


def _section(table: pa.Table, column: str) -> list[str]:
    return [(v or "").strip() for v in table[column].to_pylist()]


def _masks(dataset_dir: str, split: str, num_labels: int, image_size: int | None) -> MaskStore | None:
    """The split's finding masks (packed bits in the ``masks`` column), or None when all are null."""
    table, _ = read_split(dataset_dir, split, columns=["masks", "image_height", "image_width"])
    if table.num_rows == 0:
        return None
    h, w = int(table["image_height"][0].as_py()), int(table["image_width"][0].as_py())
    return masks_from_column(table["masks"], num_labels, h, w, image_size, f"{dataset_dir} [{split}]")


def load_split(dataset_dir: str, split: str, image_size: int | None = None, masks: bool = False) -> SplitArrays:
    """Every row of ``split``; with ``image_size``, images come resized from the shared memory-mapped cache."""
    columns = COLUMNS if image_size is None else [c for c in COLUMNS if c != "image"]
    table, label_names = read_split(dataset_dir, split, columns=columns)
    where = f"{dataset_dir} [{split}]"
    channels = image_channels(dataset_dir)  # brats: multi-channel images
    if image_size is None:
        images: torch.Tensor | ImageStore = _images(table, where, channels)
    else:

        def decode() -> torch.Tensor:
            return _images(read_split(dataset_dir, split, columns=COLUMNS)[0], where, channels)

        images = ImageStore(mapped_images(dataset_dir, split, image_size, table.num_rows, decode, channels))
    return SplitArrays(
        sample_ids=np.asarray(table["sample_id"].to_pylist(), dtype=object),
        subject_ids=np.asarray(table["subject_id"].to_pylist(), dtype=object),
        images=images,
        texts=_texts(table),
        labels=torch.from_numpy(labels_matrix(table["labels"], len(label_names))),
        difficulty=table["difficulty"].to_numpy().astype(np.float32),
        label_names=label_names,
        findings=_section(table, "findings"),
        impressions=_section(table, "impression"),
        masks=_masks(dataset_dir, split, len(label_names), image_size) if masks else None,
    )


# ---------------------------------------------------------------------------
# Batch columns: what each need a task may declare puts into a training batch.
# ---------------------------------------------------------------------------

Tokenizer = Callable[[list[str]], torch.Tensor]
#: Rows a batch is gathered from: anything indexed by a (B,) long tensor of sample positions.
Rows = torch.Tensor | ImageStore | MaskStore

#: Uncertain-label policies of the CheXpert paper (Irvin et al. 2019) for the -1 label.
LABEL_POLICIES = ("ignore", "zeros", "ones")


def label_targets(labels: torch.Tensor, policy: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(targets, known mask) of CheXpert-encoded labels under an uncertain-label policy.

    ``ignore``: uncertain (-1) labels leave the loss; ``zeros``: they count as negative;
    ``ones``: as positive. Not-mentioned (NaN) labels always leave the loss.
    """
    if policy not in LABEL_POLICIES:
        raise ValueError(f"unknown label policy {policy!r} (known: {', '.join(LABEL_POLICIES)})")
    mentioned = ~torch.isnan(labels)
    uncertain = mentioned & (labels < 0)
    targets = torch.where(mentioned, labels, torch.zeros_like(labels))
    if policy == "ignore":
        return targets, mentioned & ~uncertain
    targets = torch.where(uncertain, torch.full_like(labels, 1.0 if policy == "ones" else 0.0), targets)
    return targets, mentioned


def sections_mask(findings: list[str], impressions: list[str]) -> torch.Tensor:
    """Rows that have both report sections."""
    return torch.tensor([bool(f) and bool(i) for f, i in zip(findings, impressions)], dtype=torch.bool)


def _available(split: SplitArrays, policy: str) -> str | None:
    return None


def _no_labels(split: SplitArrays, policy: str) -> str | None:
    _, known = label_targets(split.labels, policy)
    return None if bool(known.any()) else "has no finding labels"


def _no_text(split: SplitArrays, policy: str) -> str | None:
    return None if any(split.texts) else "has no report text"


def _no_masks(split: SplitArrays, policy: str) -> str | None:
    return None if split.masks is not None else "has no finding masks (the masks column is empty)"


def _no_sections(split: SplitArrays, policy: str) -> str | None:
    both = sum(1 for f, i in zip(split.findings or [], split.impressions or []) if f and i)
    return None if both >= 2 else "has fewer than 2 reports with both a FINDINGS and an IMPRESSION section"


def _sections(split: SplitArrays, tokenize: Tokenizer) -> dict[str, Rows]:
    return {
        "findings_tokens": tokenize(split.findings),
        "impression_tokens": tokenize(split.impressions),
        "has_sections": sections_mask(split.findings, split.impressions),
    }


def _label_text(split: SplitArrays, tokenize: Tokenizer) -> dict[str, Rows]:
    return {"label_tokens": tokenize(label_sentences(split.labels, split.label_names))}


@dataclass(frozen=True)
class BatchColumn:
    """A need a task may declare: the rows it adds to every training batch, and why a split may lack it.

    ``rows(split, tokenize)`` gives each ``Batch`` attribute's (N, ...) rows for a split (a
    batch gathers its samples from them); ``missing(split, label_policy)`` says why the split
    cannot supply the column (None: it can); ``dtype`` is what the rows become on the device.
    """

    rows: Callable[[SplitArrays, Tokenizer], dict[str, Rows]]
    missing: Callable[[SplitArrays, str], str | None] = _available
    dtype: torch.dtype | None = None


#: Every need a task may declare, by name: the one place that says how a need becomes batch tensors.
BATCH_COLUMNS: dict[str, BatchColumn] = {
    "image": BatchColumn(lambda split, tokenize: {"images": split.images}),
    "labels": BatchColumn(lambda split, tokenize: {"labels": split.labels}, _no_labels),
    "text": BatchColumn(lambda split, tokenize: {"tokens": tokenize(split.texts)}, _no_text),
    "masks": BatchColumn(lambda split, tokenize: {"masks": split.masks}, _no_masks, dtype=torch.float32),
    "sections": BatchColumn(_sections, _no_sections),
    "label_text": BatchColumn(_label_text, _no_labels),
}


def load_split_for(dataset_dir: str, split: str, image_size: int | None, needs: Iterable[str]) -> SplitArrays:
    """``load_split`` reading the optional columns that ``needs`` asks for (masks only when a task needs them)."""
    return load_split(dataset_dir, split, image_size, masks="masks" in set(needs))
