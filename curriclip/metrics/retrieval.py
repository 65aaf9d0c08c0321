"""Cross-modal retrieval: image->text and text->image Recall@K over the held-out pairs.

Each image queries all N texts (and each text all N images); a query is a hit at K when
its own partner (or another item marked as a positive, e.g. an identical report) ranks
among the K most similar. Ties with a wrong item count against the query, so a collapsed
model (all embeddings equal) scores 0, not 1. With one positive per query this is
torchmetrics' ``RetrievalRecall`` (and with several, its ``RetrievalHitRate``); the tests
check both. Values are fractions in [0, 1]; ``recall_sum`` adds the six (at most 6).
The similarities are formed in blocks of queries (``alignment.row_blocks``), so memory
stays bounded on large held-out splits.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from curriclip.metrics.alignment import BLOCK_ELEMENTS, row_blocks
from curriclip.metrics.spec import EvalInputs, Metric
from curriclip.metrics.uncertainty import bootstrap_ci

DEFAULT_KS = (1, 5, 10)
#: Recalls reported with a bootstrap interval.
INTERVAL_RECALLS = ("i2t_r1", "t2i_r1")


def positive_mask(n: int, positives: torch.Tensor | None) -> torch.Tensor:
    """(N, N) bool: the matched pairs (the diagonal) and any further pairs ``positives`` marks."""
    eye = torch.eye(n, dtype=torch.bool)
    if positives is None:
        return eye
    if positives.shape != (n, n):
        raise ValueError(f"positives must be ({n}, {n}), got {tuple(positives.shape)}")
    return positives.to(torch.bool) | eye


def query_ranks(similarity: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """For each query row: how many wrong items score at least as high as its best positive (0 = top hit)."""
    best = similarity.masked_fill(~positives, float("-inf")).max(dim=1, keepdim=True).values
    return ((similarity >= best) & ~positives).sum(dim=1)


def retrieval_inputs(
    image_features: torch.Tensor, text_features: torch.Tensor, positives: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit-norm float64 image and text embeddings and the (N, N) positive mask every retrieval metric ranks by."""
    if image_features.shape != text_features.shape:
        raise ValueError(
            f"image and text features differ in shape: {tuple(image_features.shape)} vs {tuple(text_features.shape)}"
        )
    image = F.normalize(image_features.double(), dim=-1)
    text = F.normalize(text_features.double(), dim=-1)
    return image, text, positive_mask(image.shape[0], positives)


def retrieval_hits(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    ks: Sequence[int] = DEFAULT_KS,
    positives: torch.Tensor | None = None,
    block_elements: int = BLOCK_ELEMENTS,
) -> dict[str, torch.Tensor]:
    """Per-query hits (N,) bool for ``i2t_r{k}`` and ``t2i_r{k}``: the values the bootstrap resamples."""
    image, text, pos = retrieval_inputs(image_features, text_features, positives)
    n = image.shape[0]
    ranks = {"i2t": torch.empty(n, dtype=torch.int64), "t2i": torch.empty(n, dtype=torch.int64)}
    for rows in row_blocks(n, n, block_elements):  # a block of queries against every candidate, both ways
        ranks["i2t"][rows] = query_ranks(image[rows] @ text.T, pos[rows])
        ranks["t2i"][rows] = query_ranks(text[rows] @ image.T, pos[:, rows].T)
    return {f"{d}_r{k}": ranks[d] < k for d in ("i2t", "t2i") for k in ks}


def retrieval_recall(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    ks: Sequence[int] = DEFAULT_KS,
    positives: torch.Tensor | None = None,
) -> dict[str, float]:
    """``{"i2t_r1": ..., "t2i_r1": ..., ..., "recall_sum": ...}``: Recall@K both ways and their sum."""
    hits = retrieval_hits(image_features, text_features, ks, positives)
    out = {name: float(h.double().mean()) for name, h in hits.items()}
    out["recall_sum"] = sum(out.values())
    return out


def _retrieval(inputs: EvalInputs) -> dict[str, float]:
    hits = retrieval_hits(inputs.images, inputs.texts, DEFAULT_KS, inputs.positives)
    out = {name: float(h.double().mean()) for name, h in hits.items()}
    out["recall_sum"] = sum(out[name] for name in hits)
    for name in INTERVAL_RECALLS:
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = bootstrap_ci(hits[name], inputs.n_resamples)
    return out


RETRIEVAL_RECALL = Metric(
    _retrieval,
    frozenset({"embeddings"}),
    (
        *(f"{d}_r{k}" for d in ("i2t", "t2i") for k in DEFAULT_KS),
        "recall_sum",
        *(f"{name}_{bound}" for name in INTERVAL_RECALLS for bound in ("ci_low", "ci_high")),
    ),
    "image->text and text->image Recall@1/5/10 (fractions), their sum (at most 6), intervals of R@1",
)
