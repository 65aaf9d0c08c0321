"""Embedding spread and a collapse flag: are a modality's embeddings all pointing the same way?

CLIP score can be won by collapse: pull every image and every report embedding towards
one direction and each matched cosine rises, aligned or not. The mean cosine between
distinct embeddings of one modality measures that directly (about 0 for embeddings
spread over the sphere, 1 when they coincide); a trial whose images or texts sit above
``COLLAPSE_COSINE`` is flagged ``collapsed`` (1.0), so a report can say that its CLIP
score is geometry, not alignment. Computed from the sum of the normalised embeddings,
``(|sum x|^2 - N) / (N (N - 1))``, so it needs no N x N matrix.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from curriclip.metrics.spec import EvalInputs, Metric

#: Mean pairwise cosine within a modality at or above which its embeddings count as collapsed.
COLLAPSE_COSINE = 0.9


def mean_pairwise_cosine(features: torch.Tensor) -> float:
    """Mean cosine over the N (N - 1) ordered pairs of distinct rows of ``features`` (N, D), N >= 2."""
    x = F.normalize(features.double(), dim=-1)
    n = x.shape[0]
    if n < 2:
        raise ValueError("the mean pairwise cosine needs at least 2 embeddings")
    total = x.sum(0)
    return float((total @ total - (x * x).sum()) / (n * (n - 1)))


def _spread(inputs: EvalInputs) -> dict[str, float]:
    image, text = mean_pairwise_cosine(inputs.images), mean_pairwise_cosine(inputs.texts)
    return {
        "spread_cosine_image": image,
        "spread_cosine_text": text,
        "collapsed": float(max(image, text) >= COLLAPSE_COSINE),
    }


EMBEDDING_SPREAD = Metric(
    _spread,
    frozenset({"embeddings"}),
    ("spread_cosine_image", "spread_cosine_text", "collapsed"),
    f"mean cosine between distinct image (text) embeddings; collapsed = 1 when either is at least {COLLAPSE_COSINE}",
)
