"""Finding segmentation from the dataset's finding masks: Dice + BCE (as in nnU-Net's default loss).

A linear per-patch decoder on the clean image's patch tokens predicts one mask logit
per finding and pixel. Needs the ``masks`` column; datasets without masks report the
task unavailable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, decoder_head, patches_to_image, register


def soft_dice(probabilities: torch.Tensor, targets: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """Mean soft Dice over (image, finding) pairs of (B, K, H, W) tensors."""
    dims = (2, 3)
    intersection = (probabilities * targets).sum(dims)
    total = probabilities.sum(dims) + targets.sum(dims)
    return ((2 * intersection + smooth) / (total + smooth)).mean()


@register
class Segmentation(Task):
    name = "segmentation"
    needs = frozenset({"image", "masks"})
    metric = "dice"
    description = "segment each finding from the patch tokens (Dice + BCE against the finding masks)"

    def build_head(self, info: ModelInfo) -> nn.Module:
        head = decoder_head(info, info.num_labels, self.name)
        head.patch_size, head.num_labels = info.patch_size, info.num_labels
        return head

    @torch.no_grad()
    def evaluate(self, model: nn.Module, head: nn.Module, split, device: torch.device, batch_size: int = 128) -> dict:
        """Dice of the thresholded predicted finding masks on the held-out split (both empty counts as 1)."""
        from curriclip.metrics.segmentation import dice_per_sample

        if split.masks is None:
            return {}
        was_training = model.training
        model.eval()
        scores = []
        for start in range(0, len(split), batch_size):
            rows = torch.arange(start, min(start + batch_size, len(split)))
            _, tokens = model.encode_image(split.images[rows].to(device), tokens=True)
            logits = patches_to_image(head(tokens), head.patch_size, head.num_labels)
            masks = split.masks[rows].to(device).float()
            if logits.shape[-2:] != masks.shape[-2:]:
                logits = F.interpolate(logits, size=masks.shape[-2:], mode="bilinear", align_corners=False)
            scores.append(dice_per_sample(torch.sigmoid(logits).cpu(), masks.cpu()))
        model.train(was_training)
        return {"dice": float(torch.cat(scores).mean())}

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        masks = ctx.batch.masks
        if masks is None:
            raise ValueError("task 'segmentation' needs finding masks in the batch")
        logits = patches_to_image(head(ctx.image_tokens()), head.patch_size, head.num_labels)
        if logits.shape[-2:] != masks.shape[-2:]:
            logits = F.interpolate(logits, size=masks.shape[-2:], mode="bilinear", align_corners=False)
        bce = F.binary_cross_entropy_with_logits(logits, masks)
        return bce + 1.0 - soft_dice(torch.sigmoid(logits), masks)
