"""Retrieval AUC: how far above the mismatched items each query ranks its own partner.

For each query (an image against every text, and a text against every image) the
per-query AUC is the fraction of mismatched items its matched partner scores strictly
above: the ROC AUC of "partner vs mismatched" on that query's similarities. Items marked
as positives (e.g. identical reports) are neither the partner nor mismatched, so they
are left out, as in ``retrieval``. A pair's value is the mean of its two queries
(image->text and text->image); the metric is the mean over pairs, with a bootstrap
interval over pairs.

Why this and not CLIP score for selection: CLIP score rewards a model that pulls every
embedding together (all cosines near 1). A rank statistic cannot be won that way: it
depends on the order of one query's similarities only, so it is invariant to a shared
offset or positive scale of them, and a tie with a mismatched item counts against the
query (not 1/2, as in ``sklearn.metrics.roc_auc_score``), so a collapsed model (every
similarity equal) scores 0, the worst possible value, while a model that has learned no
correspondence scores about 1/2. A query with no mismatched item (every item a positive)
has nothing to rank and counts 1/2 for every model.
"""

from __future__ import annotations

import torch

from curriclip.metrics.alignment import BLOCK_ELEMENTS, row_blocks
from curriclip.metrics.retrieval import retrieval_inputs
from curriclip.metrics.spec import EvalInputs, Metric
from curriclip.metrics.uncertainty import bootstrap_ci

#: A query with no mismatched item (nothing to rank against) counts this.
NO_NEGATIVES = 0.5


def query_auc(similarity: torch.Tensor, positives: torch.Tensor, matched: torch.Tensor) -> torch.Tensor:
    """Per query row: the fraction of mismatched items (not ``positives``) scoring strictly below the matched one.

    ``similarity`` (B, N), ``positives`` (B, N) bool with the matched item among them, ``matched`` (B,) the
    column of each row's matched item. Ties count against the query.
    """
    partner = similarity.gather(1, matched[:, None])
    negatives = ~positives
    below = ((similarity < partner) & negatives).sum(1).double()
    count = negatives.sum(1).double()
    return torch.where(count > 0, below / count.clamp(min=1), torch.full_like(below, NO_NEGATIVES))


def retrieval_auc_pairs(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    positives: torch.Tensor | None = None,
    block_elements: int = BLOCK_ELEMENTS,
) -> dict[str, torch.Tensor]:
    """Per-pair AUCs (N,) float64: ``i2t_auc``, ``t2i_auc`` and their mean ``retrieval_auc``."""
    image, text, pos = retrieval_inputs(image_features, text_features, positives)
    n = image.shape[0]
    i2t = torch.empty(n, dtype=torch.float64)
    t2i = torch.empty(n, dtype=torch.float64)
    for rows in row_blocks(n, n, block_elements):
        diagonal = torch.arange(rows.start, rows.stop)
        i2t[rows] = query_auc(image[rows] @ text.T, pos[rows], diagonal)
        t2i[rows] = query_auc(text[rows] @ image.T, pos[:, rows].T, diagonal)
    return {"i2t_auc": i2t, "t2i_auc": t2i, "retrieval_auc": (i2t + t2i) / 2}


def retrieval_auc(
    image_features: torch.Tensor, text_features: torch.Tensor, positives: torch.Tensor | None = None
) -> float:
    """Mean per-query retrieval AUC, both directions averaged (0 collapsed, about 1/2 unaligned, 1 perfect)."""
    return float(retrieval_auc_pairs(image_features, text_features, positives)["retrieval_auc"].mean())


def _retrieval_auc(inputs: EvalInputs) -> dict[str, float]:
    pairs = retrieval_auc_pairs(inputs.images, inputs.texts, inputs.positives)
    out = {name: float(pairs[name].mean()) for name in ("retrieval_auc", "i2t_auc", "t2i_auc")}
    out["retrieval_auc_ci_low"], out["retrieval_auc_ci_high"] = bootstrap_ci(pairs["retrieval_auc"], inputs.n_resamples)
    return out


RETRIEVAL_AUC = Metric(
    _retrieval_auc,
    frozenset({"embeddings"}),
    ("retrieval_auc", "i2t_auc", "t2i_auc", "retrieval_auc_ci_low", "retrieval_auc_ci_high"),
    "mean per-query AUC of the matched pair against the mismatched ones, image->text and text->image averaged "
    "(ties count against the query: 0 when collapsed, about 0.5 unaligned), the default selection metric",
)
