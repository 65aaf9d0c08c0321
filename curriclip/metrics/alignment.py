"""Image-text alignment metrics.

CLIP score follows Hessel et al. 2021 ("CLIPScore"): w * max(cos(image, text), 0) per
matched pair, averaged over pairs, with w = 2.5. It scores matched pairs only, which
is why later metrics (retrieval, matched-vs-mismatched gap) sit beside it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from curriclip.registry import new_registry

METRICS = new_registry("metric", "metrics")


@METRICS.register("clip_score")
def clip_score(image_features: torch.Tensor, text_features: torch.Tensor, w: float = 2.5) -> float:
    """Mean of ``w * max(cos, 0)`` over matched rows (features need not be normalised)."""
    if image_features.shape != text_features.shape:
        raise ValueError(
            f"image and text features differ in shape: {tuple(image_features.shape)} vs "
            f"{tuple(text_features.shape)}"
        )
    cos = F.cosine_similarity(image_features.float(), text_features.float(), dim=-1)
    return float((w * cos.clamp(min=0)).mean())


@METRICS.register("mean_cosine")
def mean_cosine(image_features: torch.Tensor, text_features: torch.Tensor) -> float:
    """Mean cosine of matched pairs, unclamped (shows misalignment that CLIP score hides at 0)."""
    return float(F.cosine_similarity(image_features.float(), text_features.float(), dim=-1).mean())
