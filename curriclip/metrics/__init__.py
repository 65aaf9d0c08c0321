"""Evaluation metrics, declared: one ``Metric`` per entry, computed every epoch in this order.

A new metric: a module defining its function and a ``Metric`` (see ``spec``), and one
line here. Importing this package loads no torch; the functions live in their modules
(``curriclip.metrics.alignment.clip_score``, ...).
"""

from curriclip.metrics.spec import INTERVAL_SUFFIXES
from curriclip.registry import Registry

METRICS = Registry("metric", "metrics")
METRICS.lazy("clip_score", "curriclip.metrics.alignment:CLIP_SCORE")
METRICS.lazy("retrieval_auc", "curriclip.metrics.ranking:RETRIEVAL_AUC")
METRICS.lazy("mean_cosine", "curriclip.metrics.alignment:MEAN_COSINE")
METRICS.lazy("clip_score_gap", "curriclip.metrics.alignment:CLIP_SCORE_GAP")
METRICS.lazy("retrieval_recall", "curriclip.metrics.retrieval:RETRIEVAL_RECALL")
METRICS.lazy("modality_gap", "curriclip.metrics.alignment:MODALITY_GAP")
METRICS.lazy("alignment", "curriclip.metrics.alignment:ALIGNMENT")
METRICS.lazy("uniformity", "curriclip.metrics.alignment:UNIFORMITY")
METRICS.lazy("embedding_spread", "curriclip.metrics.spread:EMBEDDING_SPREAD")
METRICS.lazy("zeroshot_auroc", "curriclip.metrics.zeroshot:ZEROSHOT_AUROC")
METRICS.lazy("dice", "curriclip.metrics.segmentation:DICE")


def companion_keys() -> list[str]:
    """The result keys reported beside CLIP score (every companion metric's keys but its intervals; imports them)."""
    return [
        key
        for _, metric in METRICS.items()
        if metric.companion
        for key in metric.keys
        if not key.endswith(INTERVAL_SUFFIXES)
    ]


__all__ = ["METRICS", "companion_keys"]
