"""Multi-label finding classification from the image embedding.

Uncertain (-1) and not-mentioned (null) labels are ignored in the loss (the U-ignore
policy of the CheXpert paper); the other policies arrive with the task library.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.tasks.base import StepContext, Task, register


@register
class FindingClassification(Task):
    name = "findings"
    needs = frozenset({"image", "labels"})
    description = "multi-label finding classification from the image embedding (U-ignore)"

    def build_head(self, embed_dim: int, num_labels: int) -> nn.Module:
        return nn.Linear(embed_dim, num_labels)

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        labels = ctx.batch.labels
        known = ~torch.isnan(labels) & (labels >= 0)
        logits = head(ctx.image_features())
        if not known.any():
            return logits.sum() * 0.0  # keeps the graph; no labelled finding in this batch
        return F.binary_cross_entropy_with_logits(logits[known], labels[known])
