"""Image-text alignment metrics on embeddings (rows of the two tensors are the matched pairs).

CLIP score follows Hessel et al. 2021 ("CLIPScore"): w * max(cos(image, text), 0) per
matched pair, averaged over pairs, with w = 2.5. torchmetrics' ``CLIPScore`` uses another
convention, max(mean(100 * cos), 0) (clamped after averaging); ``convention="torchmetrics"``
gives that one. CLIP score scores matched pairs only: a model that pulls every embedding
together scores well without aligning anything. The companions here cover that blind spot:

- ``clip_score_gap``: CLIP score of matched pairs minus that of mismatched pairs (about 0
  for a model that has learned no image-text correspondence);
- ``modality_gap`` (Liang et al. 2022): distance between the centroids of the two
  modalities' L2-normalised embeddings;
- ``alignment`` and ``uniformity`` (Wang & Isola 2020), on L2-normalised embeddings.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

from curriclip.registry import new_registry

METRICS = new_registry("metric", "metrics")

#: Hessel et al.'s weight: rescales cosines of CLIP ViT-B/32 to roughly [0, 1].
HESSEL_W = 2.5
#: torchmetrics' CLIPScore weight.
TORCHMETRICS_W = 100.0


def _pair(image_features: torch.Tensor, text_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if image_features.shape != text_features.shape or image_features.ndim != 2:
        raise ValueError(
            f"image and text features differ in shape or are not (N, D): {tuple(image_features.shape)} vs "
            f"{tuple(text_features.shape)}"
        )
    return F.normalize(image_features.double(), dim=-1), F.normalize(text_features.double(), dim=-1)


def cosine_matrix(image_features: torch.Tensor, text_features: torch.Tensor) -> torch.Tensor:
    """(N, M) cosines: image i (rows) against text j (columns), in float64."""
    return F.normalize(image_features.double(), dim=-1) @ F.normalize(text_features.double(), dim=-1).T


def clip_score_pairs(image_features: torch.Tensor, text_features: torch.Tensor, w: float = HESSEL_W) -> torch.Tensor:
    """Per-pair Hessel CLIP scores ``w * max(cos, 0)`` (N,), float64: the values the bootstrap resamples."""
    image, text = _pair(image_features, text_features)
    return w * (image * text).sum(-1).clamp(min=0)


@METRICS.register("clip_score")
def clip_score(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    w: float = HESSEL_W,
    convention: Literal["hessel", "torchmetrics"] = "hessel",
) -> float:
    """CLIP score of matched rows (features need not be normalised).

    ``hessel`` (default): mean of ``w * max(cos, 0)`` per pair. ``torchmetrics``: ``max(mean(100 * cos), 0)``,
    clamped after averaging as torchmetrics' ``CLIPScore`` does (``w`` is not used; its weight is 100).
    """
    if convention == "hessel":
        return float(clip_score_pairs(image_features, text_features, w).mean())
    if convention == "torchmetrics":
        image, text = _pair(image_features, text_features)
        return float((TORCHMETRICS_W * (image * text).sum(-1)).mean().clamp(min=0))
    raise ValueError(f"unknown CLIP score convention {convention!r} (hessel | torchmetrics)")


@METRICS.register("mean_cosine")
def mean_cosine(image_features: torch.Tensor, text_features: torch.Tensor) -> float:
    """Mean cosine of matched pairs, unclamped (shows misalignment that CLIP score hides at 0)."""
    image, text = _pair(image_features, text_features)
    return float((image * text).sum(-1).mean())


def clip_score_gap_pairs(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    w: float = HESSEL_W,
    positives: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-pair gap (N,): ``s_ii - (mean_j s_ij + mean_j s_ji) / 2`` over mismatched j, with ``s = w * max(cos, 0)``.

    ``positives`` (N, N bool, optional) marks further pairs that are not mismatched (e.g. identical reports);
    they are left out of the mismatched means. Without it, the mean of these values equals the matched CLIP
    score minus the mean CLIP score of all N(N-1) mismatched pairs exactly.
    """
    image, text = _pair(image_features, text_features)
    n = image.shape[0]
    if n < 2:
        raise ValueError("the CLIP-score gap needs at least 2 pairs")
    scores = w * (image @ text.T).clamp(min=0)
    mismatched = ~torch.eye(n, dtype=torch.bool)
    if positives is not None:
        mismatched &= ~positives.to(torch.bool)
    masked = scores * mismatched
    row = masked.sum(1) / mismatched.sum(1).clamp(min=1)
    col = masked.sum(0) / mismatched.sum(0).clamp(min=1)
    return scores.diagonal() - (row + col) / 2


@METRICS.register("clip_score_gap")
def clip_score_gap(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    w: float = HESSEL_W,
    positives: torch.Tensor | None = None,
) -> float:
    """CLIP score of matched pairs minus that of mismatched pairs (see ``clip_score_gap_pairs``)."""
    return float(clip_score_gap_pairs(image_features, text_features, w, positives).mean())


@METRICS.register("modality_gap")
def modality_gap(image_features: torch.Tensor, text_features: torch.Tensor) -> float:
    """Liang et al. 2022: ``|| mean(normalise(image)) - mean(normalise(text)) ||_2``."""
    image = F.normalize(image_features.double(), dim=-1)
    text = F.normalize(text_features.double(), dim=-1)
    return float(torch.linalg.vector_norm(image.mean(0) - text.mean(0)))


@METRICS.register("alignment")
def alignment(image_features: torch.Tensor, text_features: torch.Tensor, alpha: float = 2.0) -> float:
    """Wang & Isola 2020: ``E ||f(x) - g(y)||^alpha`` over matched pairs of normalised features (lower: closer)."""
    image, text = _pair(image_features, text_features)
    return float(torch.linalg.vector_norm(image - text, dim=-1).pow(alpha).mean())


@METRICS.register("uniformity")
def uniformity(features: torch.Tensor, t: float = 2.0) -> float:
    """Wang & Isola 2020: ``log E exp(-t ||f(x) - f(y)||^2)`` over distinct pairs of normalised features (lower: more
    uniform on the sphere)."""
    x = F.normalize(features.double(), dim=-1)
    if x.shape[0] < 2:
        raise ValueError("uniformity needs at least 2 embeddings")
    return float(torch.pdist(x).pow(2).mul(-t).exp().mean().log())
