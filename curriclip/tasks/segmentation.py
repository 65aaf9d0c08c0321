"""Finding segmentation from the dataset's finding masks: soft Dice loss (V-Net), pooled over the batch.

Why no BCE term (nnU-Net adds one): findings cover ~1% of the pixels, and within the
few hundred steps a curriculum trial gives this task, BCE pushes every probability
below 1/2, so the held-out Dice of positive findings fell to 0 (0.038 untrained to
0.000 after 60 steps on the tiny preset), while Dice alone rose to 0.099.

A linear per-patch decoder on the clean image's patch tokens predicts one mask logit
per finding and pixel. Needs the ``masks`` column; datasets without masks report the
task unavailable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, decoder_head, patches_to_image


def soft_dice(probabilities: torch.Tensor, targets: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Mean over findings of the soft Dice of (B, K, H, W) tensors, pooled over the batch.

    nnU-Net's "batch Dice": pooling over the batch keeps a finding that few images
    have from being swamped by the many images where it is absent (per-image Dice
    of an empty target is maximised by predicting nothing).
    """
    dims = (0, 2, 3)
    intersection = (probabilities * targets).sum(dims)
    total = probabilities.sum(dims) + targets.sum(dims)
    return ((2 * intersection + smooth) / (total + smooth)).mean()


class Segmentation(Task):
    name = "segmentation"
    needs = frozenset({"image", "masks"})
    metric = "dice"
    description = "segment each finding from the patch tokens (soft Dice against the finding masks)"

    def build_head(self, info: ModelInfo) -> nn.Module:
        head = decoder_head(info, info.num_labels, self.name)
        head.patch_size, head.num_labels = info.patch_size, info.num_labels
        return head

    def predict_masks(
        self, model: nn.Module, head: nn.Module, images: torch.Tensor, size: tuple[int, int]
    ) -> torch.Tensor:
        """(B, K, H, W) finding-mask probabilities of ``images`` at the masks' ``size`` (the Dice metric's input)."""
        _, tokens = model.encode_image(images, tokens=True)
        logits = patches_to_image(head(tokens), head.patch_size, head.num_labels)
        if logits.shape[-2:] != size:
            logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return torch.sigmoid(logits)

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        masks = ctx.batch.masks
        if masks is None:
            raise ValueError("task 'segmentation' needs finding masks in the batch")
        logits = patches_to_image(head(ctx.image_tokens()), head.patch_size, head.num_labels)
        if logits.shape[-2:] != masks.shape[-2:]:
            logits = F.interpolate(logits, size=masks.shape[-2:], mode="bilinear", align_corners=False)
        return 1.0 - soft_dice(torch.sigmoid(logits), masks)
