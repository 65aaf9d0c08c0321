"""Evaluation metrics on embeddings, free of training code so reports and tests can use them."""

from curriclip.metrics.alignment import METRICS, clip_score, mean_cosine

__all__ = ["METRICS", "clip_score", "mean_cosine"]
