"""What the BRATS sources share: nested region masks, simulated raters, the inter-rater floor, schema rows.

Regions follow BRATS (Menze et al. 2015): whole tumour WT = edema + core, tumour core
TC = necrosis/non-enhancing + enhancing, enhancing tumour ET, so WT ⊇ TC ⊇ ET. In the
BraTS 2020 labels: WT = {1, 2, 4}, TC = {1, 4}, ET = {4}. The masks go into the schema's
bit-packed ``masks`` column with label names ``wt, tc, et``; the slice's labels say which
regions it contains (1 present, 0 absent).

Raters (BRATS had up to four per scan) are simulated from the reference: each rater
smooths the reference, adds a smooth random field (boundary jitter) and thresholds; one
rater (index 0) thresholds lower, so it is systematically generous; each rater misses
TC or ET on a slice with a small probability. Rater masks are nested by construction
(TC inside the rater's WT, ET inside its TC) and stored in the optional ``rater_masks``
column, packed bits of (R, 3, H, W) per row. The floor is the mean pairwise inter-rater
Dice per region on the test split, saved in the manifest under ``raters``.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy import ndimage

#: MR contrasts in channel order (what ``image_channels: stem`` sees as channels 0..3).
CONTRASTS = ("t1", "t1ce", "t2", "flair")
REGION_NAMES = ("wt", "tc", "et")
#: BraTS 2020 label values: 1 necrotic/non-enhancing core, 2 edema, 4 enhancing tumour.
BRATS_LABELS = (0, 1, 2, 4)
REGION_LABELS = {"wt": (1, 2, 4), "tc": (1, 4), "et": (4,)}

GENEROUS_RATER = 0
MISS_PROBABILITY = 0.08


def nested_masks(labels: np.ndarray) -> np.ndarray:
    """(..., H, W) BraTS labels -> (..., 3, H, W) bool masks WT, TC, ET (nested by definition)."""
    return np.stack([np.isin(labels, REGION_LABELS[name]) for name in REGION_NAMES], axis=-3)


def dice_with_empty(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two binary masks, BRATS convention: both empty 1, exactly one empty 0."""
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * float(np.logical_and(a, b).sum()) / total


def simulate_raters(reference: np.ndarray, raters: int, rng: np.random.Generator) -> np.ndarray:
    """(3, H, W) reference masks -> (R, 3, H, W) nested rater masks (jitter, misses, one generous rater)."""
    _, height, width = reference.shape
    out = np.zeros((raters, *reference.shape), dtype=bool)
    for rater in range(raters):
        threshold = 0.32 if rater == GENEROUS_RATER else 0.5
        parent = np.ones((height, width), dtype=bool)
        for region in range(len(REGION_NAMES)):
            ref = reference[region]
            missed = region > 0 and ref.any() and rng.random() < MISS_PROBABILITY
            if ref.any() and not missed:
                field = ndimage.gaussian_filter(rng.standard_normal((height, width)), 1.5) * 1.0
                soft = ndimage.gaussian_filter(ref.astype(np.float64), 1.0) + field
                near = ndimage.binary_dilation(ref, iterations=2)  # jitter moves the boundary, adds no islands
                out[rater, region] = (soft > threshold) & near & parent
            parent = out[rater, region]
    return out


def pairwise_rater_dice(rater_masks: np.ndarray) -> np.ndarray:
    """(N, R, 3, H, W) rater masks -> (3,) mean over slices and rater pairs of the Dice per region."""
    n, raters = rater_masks.shape[:2]
    sums = np.zeros(len(REGION_NAMES))
    count = 0
    for i in range(n):
        for a, b in combinations(range(raters), 2):
            sums += [dice_with_empty(rater_masks[i, a, k], rater_masks[i, b, k]) for k in range(len(REGION_NAMES))]
            count += 1
    return sums / max(count, 1)


def rater_summary(rater_masks: np.ndarray) -> dict:
    """The manifest's ``raters`` entry: count, the generous rater, the test split's inter-rater Dice per region."""
    raters = int(rater_masks.shape[1]) if rater_masks.size else 0
    floor = pairwise_rater_dice(rater_masks) if raters >= 2 and len(rater_masks) else None
    return {
        "count": raters,
        "generous_rater": GENEROUS_RATER if raters else None,
        "layout": "rater_masks column: packed bits of (raters, len(label_names), H, W) per row",
        "inter_rater_dice": None if floor is None else dict(zip(REGION_NAMES, map(float, floor))),
        "inter_rater_split": "test",
        "convention": "Dice per slice and rater pair; both empty = 1, one empty = 0; mean over slices and pairs",
    }


def region_labels(masks: np.ndarray) -> list[int]:
    """(3, H, W) masks -> the slice's labels: 1 for a region it contains, 0 otherwise."""
    return [int(m.any()) for m in masks]


def assign_case_splits(
    case_ids: list[str], seed: int, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
) -> dict[str, str]:
    """Patient-level splits: every slice of a case lands in the case's split (shuffled by ``seed``)."""
    order = np.random.default_rng(seed).permutation(len(case_ids))
    n = len(case_ids)
    n_test = max(1, round(fractions[2] * n)) if n >= 3 else 0
    n_validate = max(1, round(fractions[1] * n)) if n >= 3 else 0
    splits = {}
    for rank, index in enumerate(order):
        splits[case_ids[index]] = "test" if rank < n_test else "validate" if rank < n_test + n_validate else "train"
    return splits
