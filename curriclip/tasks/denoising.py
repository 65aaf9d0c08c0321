"""Denoising: recover the clean image from one corrupted by Gaussian noise (a denoising autoencoder).

Noise of a per-image strength (0.1 to 1 normalised-intensity units) is added; a linear
per-patch decoder on the patch tokens predicts the clean pixels (MSE over all pixels).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from curriclip.models.multitask import ModelInfo
from curriclip.tasks.base import StepContext, Task, decoder_head, patches_to_image


class Denoising(Task):
    name = "denoising"
    needs = frozenset({"image"})
    metric = "psnr"
    description = "denoising: predict the clean image from a Gaussian-noised one via the patch tokens (MSE)"
    sigma = (0.1, 1.0)

    def build_head(self, info: ModelInfo) -> nn.Module:
        head = decoder_head(info, 1, self.name)
        head.patch_size = info.patch_size
        return head

    def loss(self, ctx: StepContext, head: nn.Module) -> torch.Tensor:
        x = ctx.normalised_images()
        b = x.shape[0]
        low, high = self.sigma
        sigma = (low + (high - low) * torch.rand((b, 1, 1), generator=ctx.generator)).to(x.device)
        noise = torch.randn(x.shape, generator=ctx.generator).to(x.device)
        _, tokens = ctx.model.encode_image(x + sigma * noise, tokens=True)
        prediction = patches_to_image(head(tokens), head.patch_size, 1).squeeze(1)
        return F.mse_loss(prediction, x)
