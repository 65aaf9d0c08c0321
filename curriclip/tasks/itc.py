"""Image-text contrastive learning (ITC): open_clip's CLIP loss with its learnable temperature."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from curriclip.tasks.base import StepContext, Task, register


@register
class ImageTextContrastive(Task):
    name = "itc"
    needs = frozenset({"image", "text"})
    metric = "clip_score"
    description = "image-text contrastive (CLIP loss, learnable temperature)"

    def __init__(self) -> None:
        self._loss = ClipLoss()

    def loss(self, ctx: StepContext, head: None) -> torch.Tensor:
        image = F.normalize(ctx.image_features(), dim=-1)
        text = F.normalize(ctx.text_features(), dim=-1)
        return self._loss(image, text, ctx.model.logit_scale.exp())
