"""Dice per tumour region with BRATS's convention for empty masks, and the inter-rater floor.

Convention (BRATS, Menze et al. 2015; also the BraTS challenge's evaluation): per
slice and region, Dice = 2|P ∩ T| / (|P| + |T|); when the reference and the prediction
are both empty the Dice is 1 (correctly predicting no region), when exactly one is
empty it is 0. A region's Dice is the mean over the test slices.

The floor band: the mean pairwise Dice between the simulated (or real) raters per region,
computed on the test split when the data were written and stored in the manifest
(``raters.inter_rater_dice``). A trial is "within rater variability" on a region when
its Dice is at least that floor, "below" otherwise.
"""

from __future__ import annotations

import numpy as np
import torch

from curriclip.metrics.segmentation import dice_per_sample

REGIONS = ("wt", "tc", "et")


def dice_per_region(pred: torch.Tensor | np.ndarray, target: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, K) Dice of binary (N, K, H, W) masks, per sample and region (both empty 1, one empty 0)."""
    pred, target = torch.as_tensor(np.asarray(pred)).bool(), torch.as_tensor(np.asarray(target)).bool()
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and reference {tuple(target.shape)} differ in shape")
    n, k = pred.shape[:2]
    return dice_per_sample(pred.flatten(0, 1), target.flatten(0, 1)).reshape(n, k).numpy()


def mean_dice(pred, target, names: tuple[str, ...] = REGIONS) -> dict[str, float]:
    """``{"dice_<region>": mean over samples}`` and ``dice_mean`` (the mean over regions)."""
    scores = dice_per_region(pred, target).mean(axis=0)
    out = {f"dice_{name}": float(score) for name, score in zip(names, scores)}
    out["dice_mean"] = float(scores.mean())
    return out
