"""Image-text contrastive learning (ITC): open_clip's CLIP loss with its learnable temperature.

In a data-parallel trial (``world_size > 1``) the loss gathers every rank's features
with their gradients (``ClipLoss(local_loss=False, gather_with_grad=True)``), so each
rank's logits are the full global-batch matrix: the negatives span the global batch and,
once the gradients are averaged across ranks, the update is the single-process one.

Under ``sparsity_mode: reports`` a batch may also hold images without a report
(``base.report_rows``): the loss is then over the rows that have one (the pairs a pairs-mode
trial would see), and 0 (with the graph kept) for a step with fewer than two such rows.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from curriclip.tasks.base import StepContext, Task, report_rows, with_options, zero_loss


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
        rows = report_rows(ctx.batch)
        if rows is not None:  # sparsity_mode reports: only the pairs whose report the trial has
            image, text = image[rows], text[rows]
            if image.shape[0] < 2:  # no contrast without two pairs: ITC sits this step out
                return zero_loss(ctx.image_features())
        return self._loss(image, text, ctx.model.logit_scale.exp())
