"""Evaluation metrics on embeddings, free of training code so reports and tests can use them."""

from curriclip.metrics.alignment import (
    METRICS,
    alignment,
    clip_score,
    clip_score_gap,
    clip_score_gap_pairs,
    clip_score_pairs,
    cosine_matrix,
    mean_cosine,
    modality_gap,
    uniformity,
)
from curriclip.metrics.retrieval import retrieval_hits, retrieval_recall
from curriclip.metrics.segmentation import dice, dice_per_sample
from curriclip.metrics.uncertainty import bootstrap_ci, bootstrap_means, paired_bootstrap_ci
from curriclip.metrics.zeroshot import finding_prompts, per_finding_auroc, zeroshot_auroc, zeroshot_scores

__all__ = [
    "METRICS",
    "alignment",
    "bootstrap_ci",
    "bootstrap_means",
    "clip_score",
    "clip_score_gap",
    "clip_score_gap_pairs",
    "clip_score_pairs",
    "cosine_matrix",
    "dice",
    "dice_per_sample",
    "finding_prompts",
    "mean_cosine",
    "modality_gap",
    "paired_bootstrap_ci",
    "per_finding_auroc",
    "retrieval_hits",
    "retrieval_recall",
    "uniformity",
    "zeroshot_auroc",
    "zeroshot_scores",
]
