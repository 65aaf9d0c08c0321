"""Hierarchical tumour sub-region segmentation (BRATS): WT ⊇ TC ⊇ ET as nested outputs.

The head predicts three logits per pixel (a linear per-patch decoder on the patch
tokens, as ``segmentation``); the probabilities are nested BY CONSTRUCTION:
p(WT) = σ(a), p(TC) = p(WT)·σ(b), p(ET) = p(TC)·σ(c), so p(ET) ≤ p(TC) ≤ p(WT) and the
masks thresholded at 1/2 satisfy ET ⊆ TC ⊆ WT. Loss: soft batch Dice per region
(mean of the three), as ``segmentation`` (why no BCE is explained there).

Needs a dataset whose label names are ``wt, tc, et`` (the BRATS family: ``curriclip data
synth-brats`` or ``curriclip data brats``). Evaluation reports Dice per region with
BRATS's empty-mask convention (``curriclip.metrics.dice``): ``dice_wt``, ``dice_tc``,
``dice_et`` and their mean ``dice_mean``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, decoder_head, patches_to_image
from curriclip.tasks.segmentation import soft_dice

REGION_COUNT = 3


def nested_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) logits -> (B, 3, H, W) probabilities with p(ET) ≤ p(TC) ≤ p(WT)."""
    conditional = torch.sigmoid(logits)
    return torch.cumprod(conditional, dim=1)


def region_probabilities(head: nn.Module, tokens: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nested region probabilities at ``size`` from patch tokens."""
    logits = patches_to_image(head(tokens), head.patch_size, REGION_COUNT)
    if logits.shape[-2:] != size:
        logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
    return nested_probabilities(logits)


@torch.no_grad()
def predict_regions(model: nn.Module, head: nn.Module, images, size: tuple[int, int], device, batch_size: int = 128):
    """(N, 3, H, W) nested probabilities of every image (eval mode, CPU float32)."""
    was_training = model.training
    model.eval()
    try:
        parts = []
        for start in range(0, len(images), batch_size):
            rows = torch.arange(start, min(start + batch_size, len(images)))
            _, tokens = model.encode_image(images[rows].to(device), tokens=True)
            parts.append(region_probabilities(head, tokens, size).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(parts)


class Regions(Task):
    name = "regions"
    needs = frozenset({"image", "masks"})
    metric = "dice_mean"
    description = "segment the nested tumour regions WT ⊇ TC ⊇ ET (BRATS; soft Dice per region)"

    def build_head(self, info: ModelInfo) -> nn.Module:
        if info.num_labels != REGION_COUNT:
            raise ValueError(
                f"task 'regions' needs a BRATS dataset (labels wt, tc, et); this one has {info.num_labels} labels"
            )
        head = decoder_head(info, REGION_COUNT, self.name)
        head.patch_size = info.patch_size
        return head

    def evaluate(self, model: nn.Module, head: nn.Module, split, device: torch.device, batch_size: int = 128) -> dict:
        """Dice per region over the held-out slices (both empty 1, one empty 0) and their mean."""
        from curriclip.metrics.dice import mean_dice

        if split.masks is None or len(split) == 0:
            return {}
        masks = split.masks[torch.arange(len(split))]
        probabilities = predict_regions(model, head, split.images, tuple(masks.shape[-2:]), device, batch_size)
        return mean_dice(probabilities > 0.5, masks.bool())

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        masks = ctx.batch.masks
        if masks is None:
            raise ValueError("task 'regions' needs region masks in the batch")
        probabilities = region_probabilities(head, ctx.image_tokens(), tuple(masks.shape[-2:]))
        return 1.0 - soft_dice(probabilities, masks)
