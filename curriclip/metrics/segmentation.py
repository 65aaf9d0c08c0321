"""Dice for segmentation heads (used once a segmentation task exists; see ``trainables.evaluation``).

Dice = 2 |P ∩ T| / (|P| + |T|) per sample over binary masks, averaged over samples. A
sample whose prediction and target are both empty scores 1 (the BraTS convention; the
empty prediction is correct), where torchmetrics' ``dice_score`` gives NaN.
"""

from __future__ import annotations

import torch

from curriclip.metrics.alignment import METRICS


def dice_per_sample(pred: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """(N,) Dice of (N, ...) masks; float ``pred`` (probabilities) is thresholded, bool/int taken as is."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    p = (pred > threshold) if pred.is_floating_point() else pred.to(torch.bool)
    t = target.to(torch.bool)
    p, t = p.reshape(p.shape[0], -1), t.reshape(t.shape[0], -1)
    intersection = (p & t).sum(1).double()
    total = p.sum(1).double() + t.sum(1).double()
    return torch.where(total > 0, 2 * intersection / total.clamp(min=1), torch.ones_like(total))


@METRICS.register("dice")
def dice(pred: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> float:
    """Mean per-sample Dice of binary masks (both empty: 1)."""
    return float(dice_per_sample(pred, target, threshold).mean())
