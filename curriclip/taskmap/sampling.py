"""Task instances: a family at one strength on a set of images, split into two disjoint pair sets.

An instance names its rows and its seed, so it is reproducible and cheap to store;
``materialise`` builds its pairs on demand. The two halves (A, B) never share an image:
they are the positives of InfoNCE, and sharing images would let the encoder match
halves by their pixels instead of by the task. So the halves are drawn from distinct
source images (``TaskData.groups``: the contrasts of one multi-contrast slice are one
source) and each half is made by its own call of the family, so a family that mixes
its images (a permutation of targets) mixes them within the half only.

Multi-contrast data (BRATS: T1, T1c, T2, FLAIR) enters as single-channel images, one
per contrast, each with its slice's masks: the task families are defined on one image,
the encoder's input stays one (input, target) pair of two channels, and maps of gray
and multi-contrast datasets live in one space (TaCo maps many modalities together).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from curriclip.errors import DataError
from curriclip.taskmap import FAMILIES
from curriclip.taskmap.families import Family, finding_choice


@dataclass
class TaskData:
    """One split's images (n, S, S) float in [0, 1], finding masks (n, K, S, S) uint8 or None, and
    ``groups``: the source slice of each image (None: every image is its own source)."""

    images: torch.Tensor
    masks: torch.Tensor | None
    where: str
    groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)

    def sources(self) -> np.ndarray:
        return np.arange(len(self)) if self.groups is None else np.asarray(self.groups)


def single_channel(images: torch.Tensor, masks: torch.Tensor | None) -> tuple:
    """(n, C, S, S) images -> (n C, S, S), masks repeated per contrast, and each image's source row."""
    n, channels = images.shape[:2]
    flat = images.reshape(n * channels, *images.shape[-2:])
    repeated = masks.repeat_interleave(channels, dim=0) if masks is not None else None
    return flat, repeated, np.repeat(np.arange(n), channels)


@dataclass(frozen=True)
class TaskInstance:
    """A family at ``strength`` on rows ``rows_a`` and ``rows_b`` (disjoint) of a split; ``seed`` fixes its noise."""

    family: str
    strength: float
    rows_a: tuple[int, ...]
    rows_b: tuple[int, ...]
    seed: int

    @property
    def category(self) -> str:
        return FAMILIES.get(self.family).category


def load_task_data(dataset_dir: str, split: str, size: int, masks: bool) -> TaskData:
    """A split of a curriclip dataset at ``size`` px through the project's loader (masks when asked)."""
    from curriclip.data.loader import load_split

    arrays = load_split(str(dataset_dir), split, image_size=size, masks=masks)
    where = f"{dataset_dir} [{split}]"
    if len(arrays) == 0:
        raise DataError(f"{where}: no samples in this split")
    images = arrays.images[np.arange(len(arrays))].float() / 255.0
    mask_tensor = None
    if masks and arrays.masks is not None:  # unpacked and resized in chunks: all at once is GBs of floats
        rows = np.arange(len(arrays))
        mask_tensor = torch.cat([arrays.masks[rows[start : start + 128]] for start in range(0, len(rows), 128)])
    if images.dim() == 4:  # multi-contrast: each contrast a single-channel image of its slice
        images, mask_tensor, groups = single_channel(images, mask_tensor)
        return TaskData(images, mask_tensor, where, groups)
    return TaskData(images, mask_tensor, where)


def check_families(names: Sequence[str], data: TaskData) -> list[Family]:
    """The families ``names`` (UnknownNameError for a wrong one); DataError when one needs masks the data lacks."""
    families = [FAMILIES.get(name) for name in names]
    if data.masks is None:
        needing = [family.name for family in families if family.needs_masks]
        if needing:
            raise DataError(
                f"{data.where}: no finding masks, but task families {', '.join(needing)} need them "
                "(choose other families with --families)"
            )
    return families


def distinct_sources(data: TaskData, pool: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` rows of ``pool`` from ``count`` different source images (one random contrast of each)."""
    sources = data.sources()[pool]
    unique = np.unique(sources)
    if len(unique) < count:
        raise DataError(f"{data.where}: {len(unique)} images, a task instance needs {count}")
    if len(unique) == len(pool):
        return rng.choice(pool, size=count, replace=False)
    chosen = rng.choice(unique, size=count, replace=False)
    return np.array([rng.choice(pool[sources == source]) for source in chosen])


def _rows(family: Family, strength: float, data: TaskData, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` rows of distinct sources; for a one-finding family, rows that show the finding when enough do."""
    pool = np.arange(len(data))
    if family.needs_masks and data.masks is not None and family.strength != (0.0, 0.0):
        finding = finding_choice(data.masks, strength)
        present = np.flatnonzero(data.masks[:, finding].flatten(1).amax(dim=1).numpy() > 0)
        if len(np.unique(data.sources()[present])) >= count:
            pool = present
    return distinct_sources(data, pool, count, rng)


def sample_instances(
    families: Sequence[Family], data: TaskData, count: int, set_size: int, seed: int
) -> list[TaskInstance]:
    """``count`` instances cycling through ``families`` (balanced), deterministic given ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        family = families[i % len(families)]
        low, high = family.strength
        strength = float(rng.uniform(low, high)) if high > low else float(low)
        rows = _rows(family, strength, data, 2 * set_size, rng)
        out.append(
            TaskInstance(
                family.name,
                strength,
                tuple(int(r) for r in rows[:set_size]),
                tuple(int(r) for r in rows[set_size:]),
                int(rng.integers(0, 2**31 - 1)),
            )
        )
    return out


def half_seed(seed: int, half: int) -> int:
    return int(np.random.SeedSequence([seed, half]).generate_state(1)[0])


def materialise_half(family: Family, rows: Sequence[int], strength: float, seed: int, data: TaskData) -> torch.Tensor:
    """One half's pairs (m, 2, S, S), made from its own images only."""
    rows = list(rows)
    images = data.images[rows]
    masks = data.masks[rows] if data.masks is not None else None
    inputs, targets = family.pairs(images, masks, strength, torch.Generator().manual_seed(seed))
    return torch.stack([inputs, targets], dim=1)


def materialise(instance: TaskInstance, data: TaskData) -> torch.Tensor:
    """The instance's pairs as (2, set_size, 2, S, S): halves A and B, each (input, target) channel-stacked.

    Each half is made by its own call (its own generator), so nothing of one half's
    images reaches the other's pairs.
    """
    family = FAMILIES.get(instance.family)
    halves = [
        materialise_half(family, rows, instance.strength, half_seed(instance.seed, half), data)
        for half, rows in enumerate((instance.rows_a, instance.rows_b))
    ]
    return torch.stack(halves)
