"""Task instances: a family at one strength on a set of images, split into two disjoint pair sets.

An instance names its rows and its seed, so it is reproducible and cheap to store;
``materialise`` builds its pairs on demand. The two halves (A, B) never share an image:
they are the positives of InfoNCE, and sharing images would let the encoder match
halves by their pixels instead of by the task.
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
    """One split's images (n, S, S) float in [0, 1] and finding masks (n, K, S, S) uint8, or None."""

    images: torch.Tensor
    masks: torch.Tensor | None
    where: str

    def __len__(self) -> int:
        return len(self.images)


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


def _rows(family: Family, strength: float, data: TaskData, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct rows; for a one-finding family, rows that show the finding when enough do."""
    pool = np.arange(len(data))
    if family.needs_masks and data.masks is not None and family.strength != (0.0, 0.0):
        finding = finding_choice(data.masks, strength)
        present = np.flatnonzero(data.masks[:, finding].flatten(1).amax(dim=1).numpy() > 0)
        if len(present) >= count:
            pool = present
    if len(pool) < count:
        raise DataError(f"{data.where}: {len(pool)} images, a task instance needs {count}")
    return rng.choice(pool, size=count, replace=False)


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


def materialise(instance: TaskInstance, data: TaskData) -> torch.Tensor:
    """The instance's pairs as (2, set_size, 2, S, S): halves A and B, each (input, target) channel-stacked."""
    family = FAMILIES.get(instance.family)
    rows = list(instance.rows_a) + list(instance.rows_b)
    images = data.images[rows]
    masks = data.masks[rows] if data.masks is not None else None
    generator = torch.Generator().manual_seed(instance.seed)
    inputs, targets = family.pairs(images, masks, instance.strength, generator)
    pairs = torch.stack([inputs, targets], dim=1)  # (2m, 2, S, S)
    return pairs.view(2, len(instance.rows_a), 2, *pairs.shape[-2:])
