"""Dice of segmentation heads: the masks a task predicts (``predict_masks``) against the dataset's.

Dice = 2 |P ∩ T| / (|P| + |T|) per sample over binary masks, averaged over samples. A
sample whose prediction and target are both empty scores 1 (the BraTS convention; the
empty prediction is correct), where torchmetrics' ``dice_score`` gives NaN.
"""

from __future__ import annotations

import torch

from curriclip.metrics.spec import EvalInputs, Metric


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


def dice(pred: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> float:
    """Mean per-sample Dice of binary masks (both empty: 1)."""
    return float(dice_per_sample(pred, target, threshold).mean())


def _present_dice(inputs: EvalInputs) -> dict[str, float]:
    """Mean Dice over the held-out (image, finding) pairs whose finding is present.

    Only present findings count (lesion-segmentation convention): with ~9 mostly absent
    findings per image, a per-image Dice that scores "both empty" as 1 rewards a decoder
    that predicts nothing at all.
    """
    scores = []
    for probabilities, masks in inputs.mask_chunks():
        pairs = masks.flatten(0, 1).cpu()  # (B*K, H, W): one row per (image, finding)
        present = pairs.flatten(1).any(dim=1)
        if present.any():
            scores.append(dice_per_sample(probabilities.flatten(0, 1).cpu()[present], pairs[present]))
    return {"dice": float(torch.cat(scores).mean())} if scores else {}


DICE = Metric(
    _present_dice,
    frozenset({"masks"}),
    ("dice",),
    "Dice of a segmentation head's thresholded masks over held-out (image, finding) pairs with the finding present",
)
