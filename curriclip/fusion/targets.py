"""What a fusion is scored against: the test split's cases, voxel spacing, reference and raters' consensus.

BRATS scored every algorithm, and every rater, against the raters' fused consensus
(hierarchical majority vote of the raters), so models and the rater floor share one
target. Where the data has a noise-free reference (the simulated cases) it is a second
target. Slices are grouped into their case (``subject_id``) and stacked in row order
into one volume per case; the spacing comes from the manifest's ``voxel_spacing_mm``
(slice, row, column at the stored image size; the in-plane spacing is rescaled to the
models' mask size), or 1 mm when the dataset does not record it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curriclip.fusion.vote import hierarchical_vote

CONSENSUS, REFERENCE = "consensus", "reference"
DEFAULT_SPACING = (1.0, 1.0, 1.0)


@dataclass
class Targets:
    """The test split at the models' mask size: each row's case, the spacing, and the targets by name."""

    cases: np.ndarray  # (N,) case id of each slice
    spacing: dict[str, tuple[float, float, float]]  # case -> (slice, row, column) mm
    targets: dict[str, np.ndarray]  # name -> (N, K, S, S) bool; consensus first when there are raters
    raters: np.ndarray | None  # (R, N, 3, S, S) bool
    spacing_recorded: bool
    regions: list[str]  # the mask channels' names (wt, tc, et; or the findings)

    @property
    def primary(self) -> str:
        return next(iter(self.targets))


def _spacing(manifest: dict, cases: np.ndarray, stored: int, size: int) -> tuple[dict, bool]:
    recorded = manifest.get("voxel_spacing_mm")
    scale = stored / size
    out = {}
    for case in dict.fromkeys(cases.tolist()):
        value = recorded.get(case) if isinstance(recorded, dict) else recorded
        dz, dy, dx = value if value else DEFAULT_SPACING
        out[str(case)] = (float(dz), float(dy) * scale, float(dx) * scale)
    return out, bool(recorded)


def _rater_masks(dataset_dir: str, count: int, size: int) -> np.ndarray | None:
    """(R, N, 3, S, S) rater masks of the test split, resized as the loader resizes masks; None without raters."""
    import pyarrow.parquet as pq

    from curriclip.data.mask_store import MaskStore
    from curriclip.data.store import read_manifest, read_split

    manifest = read_manifest(dataset_dir)
    schema = pq.read_schema(f"{dataset_dir}/{next(iter(manifest['shards']))}")
    if count < 1 or "rater_masks" not in schema.names:
        return None
    table, names = read_split(dataset_dir, "test", columns=["rater_masks", "image_height", "image_width"])
    h, w = int(table["image_height"][0].as_py()), int(table["image_width"][0].as_py())
    packed = np.stack([np.frombuffer(v, dtype=np.uint8) for v in table["rater_masks"].to_pylist()])
    store = MaskStore(packed, (count * len(names), h, w), size)
    masks = store[np.arange(len(store))].numpy().astype(bool)
    return masks.reshape(len(masks), count, len(names), size, size).transpose(1, 0, 2, 3, 4)


def load_targets(dataset_dir: str, size: int) -> Targets:
    """The test split's targets at ``size`` px: the raters' consensus (when there are raters), the reference."""
    import torch

    from curriclip.data.loader import load_split
    from curriclip.data.store import read_manifest, read_split

    manifest = read_manifest(dataset_dir)
    test = load_split(dataset_dir, "test", size, masks=True)
    reference = test.masks[torch.arange(len(test))].numpy().astype(bool)
    table, _ = read_split(dataset_dir, "test", columns=["subject_id", "image_height"])
    cases = np.asarray(table["subject_id"].to_pylist())
    spacing, recorded = _spacing(manifest, cases, int(table["image_height"][0].as_py()), size)
    raters = _rater_masks(dataset_dir, int((manifest.get("raters") or {}).get("count") or 0), size)
    targets = {REFERENCE: reference}
    if raters is not None:
        targets = {CONSENSUS: hierarchical_vote(raters), REFERENCE: reference}
    return Targets(cases, spacing, targets, raters, recorded, list(test.label_names))
