"""The multi-task model: one open_clip CLIP plus a small head per auxiliary task.

Grayscale is handled explicitly: uint8 radiographs are scaled, normalised with
grayscale statistics and replicated to the three channels open_clip's towers expect
(an ``expand``, no copy).
"""

from __future__ import annotations

import torch
from torch import nn

#: Fixed mid-grey normalisation of radiographs scaled to [0, 1] (the same for every dataset).
GRAY_MEAN, GRAY_STD = 0.45, 0.25


class MultiTaskModel(nn.Module):
    def __init__(self, clip: nn.Module, heads: dict[str, nn.Module]) -> None:
        super().__init__()
        self.clip = clip
        self.heads = nn.ModuleDict(heads)

    @staticmethod
    def prepare_images(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(B, H, W) uint8 -> (B, 3, H, W) normalised float."""
        x = images.to(dtype).div_(255.0).sub_(GRAY_MEAN).div_(GRAY_STD)
        return x.unsqueeze(1).expand(-1, 3, -1, -1)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Image embeddings (unnormalised) of uint8 images."""
        return self.clip.encode_image(self.prepare_images(images))

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Text embeddings (unnormalised) of token ids."""
        return self.clip.encode_text(tokens)

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.clip.logit_scale
