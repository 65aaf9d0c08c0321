"""Image-image contrastive learning between two augmentations (SimCLR, Chen et al. 2020; as in SLIP).

Two random views of every image go through the image tower and an MLP projection head;
the NT-Xent loss makes each view pick its partner among the other 2B - 1 views.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.augment import random_view
from curriclip.tasks.base import StepContext, Task


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's normalised-temperature cross-entropy over the 2B views (positives: the partner view)."""
    z = F.normalize(torch.cat([a, b]), dim=-1)
    n = a.shape[0]
    logits = z @ z.T / temperature
    logits = logits.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(logits, targets)


class ImageImageContrastive(Task):
    name = "image_contrastive"
    needs = frozenset({"image"})
    metric = "view_accuracy"
    description = "image-image contrastive between two augmentations (SimCLR / SLIP NT-Xent, MLP head)"
    temperature = 0.1  # SLIP's

    def build_head(self, info: ModelInfo) -> nn.Module:
        d = info.embed_dim
        return nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, d))

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        x = ctx.normalised_images()
        views = torch.cat([random_view(x, ctx.generator), random_view(x, ctx.generator)])
        z = head(ctx.model.encode_image(views))
        a, b = z.chunk(2)
        return nt_xent(a, b, self.temperature)
