"""Image <-> label-text contrastive: every labelled image aligned with its labels rendered as text.

Under few reports (``sparsity_mode: reports``) ITC teaches the text tower the finding
vocabulary from a handful of reports; this task teaches it from every labelled image, in
the shared embedding space ITC scores (CXR-CLIP's use of image-label data as image-text
pairs). Many images share one label text (every normal study renders the same), so the
batch's distinct texts are the classes: image -> text is a cross-entropy over them (no
false negatives), text -> image spreads each text's target over all of its images. The
task has its own temperature, so it does not move the one ITC learns.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, zero_loss
from curriclip.tasks.findings_impression import Temperature


class LabelTextContrastive(Task):
    name = "label_text"
    needs = frozenset({"image", "labels", "label_text"})
    metric = "zeroshot_auroc"
    description = "image <-> label-text contrastive (each image's finding labels rendered as text, CXR-CLIP style)"

    def build_head(self, info: ModelInfo) -> nn.Module:
        return Temperature()

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        batch = ctx.batch
        rows = ~torch.isnan(batch.labels).all(dim=1)  # a row with no mentioned finding renders as no text
        image = ctx.image_features()
        if int(rows.sum()) < 2:
            return zero_loss(image)
        texts, which = torch.unique(batch.label_tokens[rows], dim=0, return_inverse=True)
        if texts.shape[0] < 2:  # one label text for the whole batch: nothing to tell apart
            return zero_loss(image)
        image = F.normalize(image[rows], dim=-1)
        text = F.normalize(ctx.model.encode_text(texts), dim=-1)
        logits = head.logit_scale.clamp(0, math.log(100)).exp() * image @ text.T  # (images, distinct texts)
        members = F.one_hot(which, texts.shape[0]).to(logits.dtype)
        image_to_text = F.cross_entropy(logits, which)
        text_to_image = F.cross_entropy(logits.T, (members / members.sum(dim=0)).T)  # each text's images share it
        return (image_to_text + text_to_image) / 2
