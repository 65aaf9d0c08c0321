"""Negative control: the shuffled-pairs arm.

The ``shuffled_control`` arm trains ITC exactly like the single-task arm, on the same
training subset, except that every image is paired with another sample's report (a
seeded random derangement of the reports within the training subset). Each modality
still sees its full data, but no image-report correspondence is there to learn, so on
the held-out pairs its CLIP-score gap (matched minus mismatched) should be about 0 and
its retrieval at chance: the floor the other arms' alignment is measured against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from curriclip.data.loader import SplitArrays

SHUFFLED_CONTROL = "shuffled_control"
#: Second seed component: the shuffle has its own random stream, separate from the trial's.
_SHUFFLE_STREAM = 0x5EED


def derangement(n: int, seed: int) -> np.ndarray:
    """A random permutation without fixed points (Sattolo's algorithm: one n-cycle), seeded."""
    if n < 2:
        raise ValueError(f"cannot shuffle {n} pair(s)")
    rng = np.random.default_rng([seed, _SHUFFLE_STREAM])
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = int(rng.integers(0, i))  # j < i: Sattolo, not Fisher-Yates
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def shuffle_pairs(train: SplitArrays, seed: int) -> SplitArrays:
    """Re-pair the training images with other samples' reports (in place, before they are tokenised).

    The report sections move with their reports; images, labels and masks stay with the image.
    """
    perm = derangement(len(train), seed)
    train.texts = [train.texts[i] for i in perm]
    if train.findings is not None and train.impressions is not None:
        train.findings = [train.findings[i] for i in perm]
        train.impressions = [train.impressions[i] for i in perm]
    return train
