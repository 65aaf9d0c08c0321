"""How good a task map is: clustering by category, sharpness of similarity peaks, smoothness of trajectories.

Clustering and kNN come from scikit-learn (silhouette on cosine distance, k-means
NMI / ARI against the category labels, leave-one-out k-nearest-neighbour accuracy);
rank correlation from scipy. ``peak_sharpness`` measures TaCo's "sharper distance
peaks": how far same-task similarities stand above other-task similarities.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, roc_auc_score, silhouette_score
from sklearn.model_selection import LeaveOneOut, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier


def unit(embeddings: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return embeddings / np.where(norms > 0, norms, 1.0)


def knn_accuracy(embeddings: np.ndarray, labels: Sequence[str], k: int = 5) -> float:
    """Leave-one-out accuracy of a k-NN (cosine) classifier of the labels."""
    classifier = KNeighborsClassifier(n_neighbors=min(k, len(labels) - 1), metric="cosine")
    predicted = cross_val_predict(classifier, embeddings, np.asarray(labels), cv=LeaveOneOut())
    return float(np.mean(predicted == np.asarray(labels)))


def knn_transfer(
    reference: np.ndarray, reference_labels: Sequence[str], queries: np.ndarray, query_labels: Sequence[str], k: int = 5
) -> float:
    """Accuracy of a k-NN (cosine) classifier fitted on ``reference`` at labelling ``queries``: for families
    left out of training, whether their instances land among instances of their own category."""
    if len(queries) == 0:
        return float("nan")
    classifier = KNeighborsClassifier(n_neighbors=min(k, len(reference_labels)), metric="cosine")
    classifier.fit(unit(reference), np.asarray(reference_labels))
    return float(np.mean(classifier.predict(unit(queries)) == np.asarray(query_labels)))


def clustering(embeddings: np.ndarray, labels: Sequence[str], seed: int = 0, k: int = 5) -> dict[str, float]:
    """Silhouette (cosine), NMI and ARI of k-means (k = number of labels) and kNN accuracy."""
    labels = np.asarray(labels)
    x = unit(embeddings)
    clusters = KMeans(n_clusters=len(set(labels)), n_init=10, random_state=seed).fit_predict(x)
    return {
        "silhouette": float(silhouette_score(x, labels, metric="cosine")),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "ari": float(adjusted_rand_score(labels, clusters)),
        "knn_accuracy": knn_accuracy(x, labels, k),
    }


def similarity_matrix(embeddings: np.ndarray) -> np.ndarray:
    x = unit(embeddings)
    return x @ x.T


def peak_sharpness(embeddings: np.ndarray, tasks: Sequence[str]) -> dict[str, float]:
    """Same-task vs other-task cosine similarities over all pairs of distinct instances.

    ``peak_contrast``: (mean same - mean other) / std of other, the height of the
    similarity peak in units of the background; ``same_task_auc``: the probability that a
    same-task pair is more similar than an other-task pair.
    """
    tasks = np.asarray(tasks)
    similarity = similarity_matrix(embeddings)
    upper = np.triu_indices(len(tasks), k=1)
    values = similarity[upper]
    same = tasks[upper[0]] == tasks[upper[1]]
    within, between = values[same], values[~same]
    spread = float(between.std()) or 1.0
    return {
        "within_mean": float(within.mean()),
        "between_mean": float(between.mean()),
        "peak_contrast": float((within.mean() - between.mean()) / spread),
        "same_task_auc": float(roc_auc_score(same.astype(int), values)),
    }


def trajectory_smoothness(strengths: Sequence[float], embeddings: np.ndarray) -> dict[str, float]:
    """Along a sweep (first point the smallest strength): rank correlation of strength with distance from
    the start, and straightness (start-to-end distance over path length; 1 for a straight path).

    Euclidean distances on the embeddings as given: TaCo's are unit vectors (so this is
    monotone in cosine distance); the CLIP baseline's differences of embeddings are near
    zero for weak modifications, where a cosine distance is unstable.
    """
    x = np.asarray(embeddings, dtype=np.float64)
    distance = np.linalg.norm(x - x[0], axis=1)
    steps = np.linalg.norm(np.diff(x, axis=0), axis=1)
    path = float(steps.sum())
    rho = spearmanr(np.asarray(strengths), distance).statistic
    return {
        "spearman": float(rho) if np.isfinite(rho) else 0.0,
        "straightness": float(np.linalg.norm(x[-1] - x[0]) / path) if path > 0 else 0.0,
    }
