"""Image-text contrastive learning (ITC): open_clip's CLIP loss with its learnable temperature.

In a data-parallel trial (``world_size > 1``) the loss gathers every rank's features
with their gradients (``ClipLoss(local_loss=False, gather_with_grad=True)``), so each
rank's logits are the full global-batch matrix: the negatives span the global batch and,
once the gradients are averaged across ranks, the update is the single-process one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from curriclip.tasks.base import StepContext, Task, with_options


class ImageTextContrastive(Task):
    name = "itc"
    needs = frozenset({"image", "text"})
    metric = "clip_score"
    description = "image-text contrastive (CLIP loss, learnable temperature)"

    def __init__(self) -> None:
        self._loss = ClipLoss()

    def configure(self, rank: int = 0, world_size: int = 1, **options) -> Task:
        """A copy whose loss gathers features across ``world_size`` data-parallel ranks (itself when 1)."""
        if world_size <= 1:
            return self
        gathered = ClipLoss(local_loss=False, gather_with_grad=True, rank=rank, world_size=world_size)
        return with_options(self, _loss=gathered)

    def loss(self, ctx: StepContext, head: None) -> torch.Tensor:
        image = F.normalize(ctx.image_features(), dim=-1)
        text = F.normalize(ctx.text_features(), dim=-1)
        return self._loss(image, text, ctx.model.logit_scale.exp())
