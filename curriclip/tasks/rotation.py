"""Rotation prediction (Gidaris et al. 2018): classify which multiple of 90° an image was turned.

A self-supervised image task that needs no labels or text, so it still has signal at
the sparsest label budgets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task


class RotationPrediction(Task):
    name = "rotation"
    needs = frozenset({"image"})
    metric = "accuracy"
    description = "predict the rotation (0/90/180/270°) of the image from its embedding"

    def build_head(self, info: ModelInfo) -> nn.Module:
        return nn.Linear(info.embed_dim, 4)

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        images = ctx.batch.images
        quarter_turns = torch.randint(0, 4, (images.shape[0],), generator=ctx.generator)
        rotated = images.clone()
        for k in (1, 2, 3):
            chosen = quarter_turns == k
            if chosen.any():
                rotated[chosen] = torch.rot90(images[chosen], k, dims=(-2, -1))
        logits = head(ctx.model.encode_image(rotated))
        return F.cross_entropy(logits, quarter_turns.to(logits.device))
