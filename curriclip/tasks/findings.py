"""Multi-label finding classification from the image embedding.

Uncertain (-1) labels follow the trial's ``label_policy`` (the CheXpert paper's
U-ignore, U-zeros, U-ones); not-mentioned (null) labels are left out of the loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, label_targets, with_options, zero_loss


class FindingClassification(Task):
    name = "findings"
    needs = frozenset({"image", "labels"})
    metric = "auroc"
    description = "multi-label finding classification from the image embedding (U-ignore / U-zeros / U-ones)"
    policy = "ignore"

    def configure(self, label_policy: str = "ignore", **options) -> Task:
        return with_options(self, policy=label_policy)

    def build_head(self, info: ModelInfo) -> nn.Module:
        return nn.Linear(info.embed_dim, info.num_labels)

    def features(self, ctx: StepContext) -> torch.Tensor:
        return ctx.image_features()

    def usable(self, ctx: StepContext) -> torch.Tensor | None:
        """Rows the task may learn from (None: all); every image has its labels, so all of them here."""
        return None

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        targets, known = label_targets(ctx.batch.labels, self.policy)
        rows = self.usable(ctx)
        if rows is not None:
            known = known & rows[:, None]
        logits = head(self.features(ctx))
        if not known.any():
            return zero_loss(logits)  # no labelled finding in this batch
        return F.binary_cross_entropy_with_logits(logits[known], targets[known])
