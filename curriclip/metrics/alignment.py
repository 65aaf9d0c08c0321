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

Metrics over all N x N pairs (the CLIP-score gap, uniformity, and retrieval) go through
the similarity matrix in blocks of rows (``row_blocks``), so memory stays bounded on
large held-out splits: at 5,000 pairs a whole float64 matrix would take 200 MB (and its
masked copies as much again), a block at most ``BLOCK_ELEMENTS`` x 8 bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import torch
import torch.nn.functional as F

from curriclip.metrics.spec import EvalInputs, Metric
from curriclip.metrics.uncertainty import bootstrap_ci

#: Hessel et al.'s weight: rescales cosines of CLIP ViT-B/32 to roughly [0, 1].
HESSEL_W = 2.5
#: torchmetrics' CLIPScore weight.
TORCHMETRICS_W = 100.0
#: Elements of one block of rows of an N x N matrix (float64: 16 MB).
BLOCK_ELEMENTS = 2_000_000


def row_blocks(rows: int, columns: int, block_elements: int = BLOCK_ELEMENTS) -> Iterator[slice]:
    """Consecutive slices of ``rows`` whose blocks of ``columns`` columns hold at most ``block_elements`` each."""
    step = max(1, block_elements // max(1, columns))
    for start in range(0, rows, step):
        yield slice(start, min(start + step, rows))


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


def mean_cosine(image_features: torch.Tensor, text_features: torch.Tensor) -> float:
    """Mean cosine of matched pairs, unclamped (shows misalignment that CLIP score hides at 0)."""
    image, text = _pair(image_features, text_features)
    return float((image * text).sum(-1).mean())


def clip_score_gap_pairs(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    w: float = HESSEL_W,
    positives: torch.Tensor | None = None,
    block_elements: int = BLOCK_ELEMENTS,
) -> torch.Tensor:
    """Per-pair gap (N,): ``s_ii - (mean_j s_ij + mean_j s_ji) / 2`` over mismatched j, with ``s = w * max(cos, 0)``.

    ``positives`` (N, N bool, optional) marks further pairs that are not mismatched (e.g. identical reports);
    they are left out of the mismatched means. Without it, the mean of these values equals the matched CLIP
    score minus the mean CLIP score of all N(N-1) mismatched pairs exactly. The (N, N) scores are formed in
    blocks of rows of at most ``block_elements``.
    """
    image, text = _pair(image_features, text_features)
    n = image.shape[0]
    if n < 2:
        raise ValueError("the CLIP-score gap needs at least 2 pairs")
    positives = None if positives is None else positives.to(torch.bool)
    matched = torch.empty(n, dtype=torch.float64)
    row = torch.empty(n, dtype=torch.float64)
    column_sums = torch.zeros(n, dtype=torch.float64)
    column_counts = torch.zeros(n, dtype=torch.int64)
    for rows in row_blocks(n, n, block_elements):
        scores = w * (image[rows] @ text.T).clamp(min=0)  # (B, N): images of the block against every text
        diagonal = torch.arange(rows.stop - rows.start)
        mismatched = torch.ones_like(scores, dtype=torch.bool)
        mismatched[diagonal, diagonal + rows.start] = False
        if positives is not None:
            mismatched &= ~positives[rows]
        masked = scores * mismatched
        matched[rows] = scores[diagonal, diagonal + rows.start]
        row[rows] = masked.sum(1) / mismatched.sum(1).clamp(min=1)
        column_sums += masked.sum(0)
        column_counts += mismatched.sum(0)
    col = column_sums / column_counts.clamp(min=1)
    return matched - (row + col) / 2


def clip_score_gap(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    w: float = HESSEL_W,
    positives: torch.Tensor | None = None,
) -> float:
    """CLIP score of matched pairs minus that of mismatched pairs (see ``clip_score_gap_pairs``)."""
    return float(clip_score_gap_pairs(image_features, text_features, w, positives).mean())


def modality_gap(image_features: torch.Tensor, text_features: torch.Tensor) -> float:
    """Liang et al. 2022: ``|| mean(normalise(image)) - mean(normalise(text)) ||_2``."""
    image = F.normalize(image_features.double(), dim=-1)
    text = F.normalize(text_features.double(), dim=-1)
    return float(torch.linalg.vector_norm(image.mean(0) - text.mean(0)))


def alignment(image_features: torch.Tensor, text_features: torch.Tensor, alpha: float = 2.0) -> float:
    """Wang & Isola 2020: ``E ||f(x) - g(y)||^alpha`` over matched pairs of normalised features (lower: closer)."""
    image, text = _pair(image_features, text_features)
    return float(torch.linalg.vector_norm(image - text, dim=-1).pow(alpha).mean())


def uniformity(features: torch.Tensor, t: float = 2.0, block_elements: int = BLOCK_ELEMENTS) -> float:
    """Wang & Isola 2020: ``log E exp(-t ||f(x) - f(y)||^2)`` over distinct pairs of normalised features (lower: more
    uniform on the sphere). The pairwise distances are formed in blocks of rows of at most ``block_elements``."""
    x = F.normalize(features.double(), dim=-1)
    n = x.shape[0]
    if n < 2:
        raise ValueError("uniformity needs at least 2 embeddings")
    total = torch.zeros((), dtype=torch.float64)
    for rows in row_blocks(n, n, block_elements):
        # differences, not the |x|^2 + |y|^2 - 2xy expansion: the distances torch.pdist computes
        distances = torch.cdist(x[rows], x, compute_mode="donot_use_mm_for_euclid_dist")
        later = torch.arange(n)[None, :] > torch.arange(rows.start, rows.stop)[:, None]  # each pair once (i < j)
        total += distances.pow(2).mul(-t).exp()[later].sum()
    return float((total / (n * (n - 1) // 2)).log())


# ---------------------------------------------------------------------------
# Declared metrics (registered in ``curriclip.metrics``), on the held-out embeddings.
# ---------------------------------------------------------------------------


def _clip_score(inputs: EvalInputs) -> dict[str, float]:
    pair_scores = clip_score_pairs(inputs.images, inputs.texts)
    low, high = bootstrap_ci(pair_scores, inputs.n_resamples)
    return {"clip_score": float(pair_scores.mean()), "clip_score_ci_low": low, "clip_score_ci_high": high}


def _clip_score_gap(inputs: EvalInputs) -> dict[str, float]:
    gaps = clip_score_gap_pairs(inputs.images, inputs.texts, positives=inputs.positives)
    gap = float(gaps.mean())
    low, high = bootstrap_ci(gaps, inputs.n_resamples)
    matched = float(clip_score_pairs(inputs.images, inputs.texts).mean())
    return {
        "clip_score_gap": gap,
        "clip_score_mismatched": matched - gap,
        "clip_score_gap_ci_low": low,
        "clip_score_gap_ci_high": high,
    }


def _uniformity(inputs: EvalInputs) -> dict[str, float]:
    image, text = uniformity(inputs.images), uniformity(inputs.texts)
    return {"uniformity_image": image, "uniformity_text": text, "uniformity": (image + text) / 2}


EMBEDDINGS = frozenset({"embeddings"})
CLIP_SCORE = Metric(
    _clip_score,
    EMBEDDINGS,
    ("clip_score", "clip_score_ci_low", "clip_score_ci_high"),
    "Hessel CLIP score of matched pairs (w = 2.5), the search metric; 95% bootstrap interval over test pairs",
    companion=False,
)
MEAN_COSINE = Metric(
    lambda inputs: {"mean_cosine": mean_cosine(inputs.images, inputs.texts)},
    EMBEDDINGS,
    ("mean_cosine",),
    "mean matched cosine, unclamped",
)
CLIP_SCORE_GAP = Metric(
    _clip_score_gap,
    EMBEDDINGS,
    ("clip_score_gap", "clip_score_mismatched", "clip_score_gap_ci_low", "clip_score_gap_ci_high"),
    "CLIP score of matched minus mismatched pairs (about 0 without learned alignment), with its interval; "
    "pairs with identical reports are not mismatched",
)
MODALITY_GAP = Metric(
    lambda inputs: {"modality_gap": modality_gap(inputs.images, inputs.texts)},
    EMBEDDINGS,
    ("modality_gap",),
    "distance of the normalised modality centroids (Liang et al.)",
)
ALIGNMENT = Metric(
    lambda inputs: {"alignment": alignment(inputs.images, inputs.texts)},
    EMBEDDINGS,
    ("alignment",),
    "Wang & Isola alignment (alpha 2; lower is better)",
)
UNIFORMITY = Metric(
    _uniformity,
    EMBEDDINGS,
    ("uniformity_image", "uniformity_text", "uniformity"),
    "Wang & Isola uniformity (t 2; lower is more uniform) of each modality, and their mean",
)
