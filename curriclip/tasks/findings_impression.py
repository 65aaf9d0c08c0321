"""Findings <-> impression text contrastive: the two sections of one report embed close together.

Both sections go through the text tower separately; a CLIP loss with the task's own
learnable temperature matches each FINDINGS section to its report's IMPRESSION among the
batch (rows lacking either section are left out).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, zero_loss


class Temperature(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


class FindingsImpressionContrastive(Task):
    name = "findings_impression"
    needs = frozenset({"text", "sections"})
    metric = "section_retrieval"
    description = "findings <-> impression text contrastive (CLIP loss between the two report sections)"

    def __init__(self) -> None:
        self._loss = ClipLoss()

    def build_head(self, info: ModelInfo) -> nn.Module:
        return Temperature()

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        batch = ctx.batch
        if batch.findings_tokens is None or batch.impression_tokens is None:
            raise ValueError("task 'findings_impression' needs the report sections tokenised separately")
        rows = batch.has_sections
        findings, impression = batch.findings_tokens, batch.impression_tokens
        if rows is not None:
            findings, impression = findings[rows], impression[rows]
        both = ctx.model.encode_text(torch.cat([findings, impression]))
        if findings.shape[0] < 2:
            return zero_loss(both)
        a, b = F.normalize(both, dim=-1).chunk(2)
        return self._loss(a, b, head.logit_scale.clamp(0, math.log(100)).exp())
