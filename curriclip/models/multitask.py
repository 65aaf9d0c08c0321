"""The multi-task model: one open_clip CLIP, a small head per auxiliary task, and the loss weighting.

Grayscale is handled explicitly: uint8 radiographs are scaled and normalised with
grayscale statistics, then either replicated to the three channels open_clip's towers
expect (an ``expand``, no copy) or, when the image tower has a one-channel stem
(``image_channels: stem``, see ``factory.channel_stem``), passed as one channel.

Multi-channel images (B, C, H, W) (the four MR contrasts T1, T1c, T2, FLAIR of BraTS)
get the same per-pixel scaling. With ``image_channels: stem`` the tower has a C-channel
stem and sees every contrast; with ``replicate`` the C contrasts are AVERAGED to one
gray image (all four, equal weights), which is then replicated like a radiograph. Pixel
tasks (masked image, denoising, contrastive views) work on that channel mean.

Decoder tasks (reconstruction, denoising, segmentation) need spatial features: for
open_clip's ``VisionTransformer`` the model switches on ``output_tokens`` and
``encode_image(..., tokens=True)`` returns the patch tokens with the pooled embedding
from the same forward pass (no extra cost).

The loss weighting is a submodule, so learnable weighting parameters (uncertainty
log-variances, GradNorm weights) join the optimizer and the checkpoint with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from open_clip.transformer import VisionTransformer
from torch import nn

#: Fixed mid-grey normalisation of radiographs scaled to [0, 1] (the same for every dataset).
GRAY_MEAN, GRAY_STD = 0.45, 0.25


@dataclass(frozen=True)
class ModelInfo:
    """What task heads need to know about the model they sit on."""

    embed_dim: int
    num_labels: int
    image_size: int
    token_width: int | None = None  # width of the patch tokens (None: the tower gives none)
    patch_size: int | None = None


def image_channels(visual: nn.Module) -> int:
    """Input channels of an image tower's first convolution (3 unless it has a replaced stem)."""
    for module in visual.modules():
        if isinstance(module, nn.Conv2d):
            return module.in_channels
    return 3


class MultiTaskModel(nn.Module):
    def __init__(self, clip: nn.Module, heads: dict[str, nn.Module], weighting: nn.Module | None = None) -> None:
        super().__init__()
        self.clip = clip
        self.heads = nn.ModuleDict(heads)
        if weighting is not None:
            self.weighting = weighting
        self.channels = image_channels(clip.visual)
        #: the tower has a stem built for the dataset's channels (``image_channels: stem``)
        self.stem = bool(getattr(clip.visual, "curriclip_stem", False))
        self.has_tokens = isinstance(clip.visual, VisionTransformer)
        if self.has_tokens:
            clip.visual.output_tokens = True

    @staticmethod
    def scale(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """uint8 of any shape -> float with the fixed grayscale normalisation, pixel by pixel."""
        return images.to(dtype).div_(255.0).sub_(GRAY_MEAN).div_(GRAY_STD)

    @staticmethod
    def normalise(images: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(B, H, W) uint8 -> (B, H, W) float with grayscale normalisation; (B, C, H, W): the channel mean."""
        x = MultiTaskModel.scale(images, dtype)
        return x.mean(dim=1) if x.ndim == 4 else x

    @staticmethod
    def prepare_images(
        images: torch.Tensor, dtype: torch.dtype = torch.float32, channels: int = 3, stem: bool = False
    ) -> torch.Tensor:
        """(B, H, W) or (B, C, H, W) uint8 (or already normalised float) -> (B, channels, H, W) normalised float.

        Multi-channel input goes through unchanged to a C-channel ``stem``; otherwise its
        channels are averaged to gray and replicated.
        """
        x = MultiTaskModel.scale(images, dtype) if images.dtype == torch.uint8 else images.to(dtype)
        if x.ndim == 4:
            if stem and x.shape[1] == channels:
                return x
            x = x.mean(dim=1)
        x = x.unsqueeze(1)
        return x.expand(-1, channels, -1, -1) if channels != 1 else x

    def encode_image(self, images: torch.Tensor, tokens: bool = False):
        """Image embeddings (unnormalised) of uint8 or normalised float (B, H, W) / (B, C, H, W) images.

        With ``tokens=True``: ``(embedding, patch tokens (B, N, width))``.
        """
        out = self.clip.visual(self.prepare_images(images, channels=self.channels, stem=self.stem))
        pooled, patch_tokens = out if isinstance(out, tuple) else (out, None)
        if not tokens:
            return pooled
        if patch_tokens is None:
            raise RuntimeError("this image tower returns no patch tokens (decoder tasks need a ViT tower)")
        return pooled, patch_tokens

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """Text embeddings (unnormalised) of token ids."""
        return self.clip.encode_text(tokens)

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.clip.logit_scale

    def info(self, num_labels: int, image_size: int) -> ModelInfo:
        return model_info(self.clip, num_labels, image_size)


def model_info(clip: nn.Module, num_labels: int, image_size: int) -> ModelInfo:
    """Head-building facts of an open_clip model."""
    from curriclip.models.factory import embed_dim

    visual = clip.visual
    width = patch = None
    if isinstance(visual, VisionTransformer):
        width = int(visual.transformer.width)
        patch = int(visual.patch_size[0])
    return ModelInfo(embed_dim(clip), num_labels, image_size, width, patch)
