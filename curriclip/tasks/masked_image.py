"""Masked-image reconstruction (inpainting, SimMIM-style; Xie et al. 2022).

A random half of the image patches is blanked (set to the normalised mean, 0), the
image tower encodes the masked image, and a linear decoder on the patch tokens
predicts the original pixels; the L1 loss counts masked pixels only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, decoder_head, patches_to_image


class MaskedImageReconstruction(Task):
    name = "masked_image"
    needs = frozenset({"image"})
    metric = "masked_l1"
    description = "masked-image reconstruction: inpaint 50% blanked patches from the patch tokens (L1)"
    mask_ratio = 0.5

    def build_head(self, info: ModelInfo) -> nn.Module:
        head = decoder_head(info, 1, self.name)
        head.patch_size = info.patch_size
        return head

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        x = ctx.normalised_images()
        p = head.patch_size
        b, h, w = x.shape
        gh, gw = h // p, w // p
        scores = torch.rand((b, gh * gw), generator=ctx.generator)
        keep = int(round((1 - self.mask_ratio) * gh * gw))
        masked_patches = scores.argsort(dim=1)[:, keep:]
        patch_mask = torch.zeros((b, gh * gw), dtype=torch.bool).scatter_(1, masked_patches, True)
        pixel_mask = patch_mask.view(b, gh, 1, gw, 1).expand(b, gh, p, gw, p).reshape(b, h, w).to(x.device)
        _, tokens = ctx.model.encode_image(x.masked_fill(pixel_mask, 0.0), tokens=True)
        prediction = patches_to_image(head(tokens), p, 1).squeeze(1)
        return F.l1_loss(prediction[pixel_mask], x[pixel_mask])
