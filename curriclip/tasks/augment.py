"""Batched image augmentations on normalised (B, H, W) tensors, drawn from the step's generator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_view(x: torch.Tensor, generator: torch.Generator, min_area: float = 0.35) -> torch.Tensor:
    """A random resized crop with horizontal flip and brightness/contrast jitter of every image.

    SimCLR's augmentations minus colour (radiographs are grayscale) and blur; crops keep
    at least ``min_area`` of the image so anatomy stays recognisable.
    """
    b = x.shape[0]
    u = torch.rand((b, 6), generator=generator).to(x.device)
    scale = torch.sqrt(min_area + (1 - min_area) * u[:, 0])  # side fraction
    aspect = torch.exp((u[:, 1] - 0.5) * math.log(4 / 3))
    sx, sy = (scale * aspect.sqrt()).clamp(max=1), (scale / aspect.sqrt()).clamp(max=1)
    tx, ty = (1 - sx) * (2 * u[:, 2] - 1), (1 - sy) * (2 * u[:, 3] - 1)
    flip = torch.where(u[:, 4] < 0.5, -1.0, 1.0)
    theta = torch.zeros((b, 2, 3), dtype=x.dtype, device=x.device)
    theta[:, 0, 0], theta[:, 0, 2] = sx * flip, tx
    theta[:, 1, 1], theta[:, 1, 2] = sy, ty
    grid = F.affine_grid(theta, (b, 1, *x.shape[-2:]), align_corners=False)
    view = F.grid_sample(x.unsqueeze(1), grid, mode="bilinear", padding_mode="border", align_corners=False)
    contrast = 0.8 + 0.4 * u[:, 5].view(b, 1, 1)
    brightness = 0.2 * (torch.rand((b, 1, 1), generator=generator).to(x.device) - 0.5)
    return view.squeeze(1) * contrast + brightness
