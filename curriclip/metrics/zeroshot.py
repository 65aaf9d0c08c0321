"""Zero-shot finding classification from text prompts, scored by AUROC.

For each finding an image is scored by ``cos(image, "<finding>.") - cos(image, "no <finding>.")``;
a softmax over the two prompts (at any temperature) is a monotone function of that
difference, so its AUROC is the same. Labels follow the dataset schema: 1 positive,
0 negative, -1 uncertain, NaN not mentioned; uncertain and not-mentioned rows are left
out. The reported value is the macro mean over findings that have both classes among
the remaining rows (torchmetrics' ``binary_auroc`` per finding).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from curriclip.label_phrases import finding_phrase
from curriclip.metrics.alignment import cosine_matrix
from curriclip.metrics.spec import EvalInputs, Metric

POSITIVE_TEMPLATE = "{finding}."
NEGATIVE_TEMPLATE = "no {finding}."


def finding_prompts(
    label_names: Sequence[str], positive: str = POSITIVE_TEMPLATE, negative: str = NEGATIVE_TEMPLATE
) -> tuple[list[str], list[str]]:
    """Positive and negative prompt per finding (``pleural_effusion``: "pleural effusion." / "no pleural effusion.")."""
    names = [finding_phrase(name) for name in label_names]
    return [positive.format(finding=n) for n in names], [negative.format(finding=n) for n in names]


def zeroshot_scores(
    image_features: torch.Tensor, positive_features: torch.Tensor, negative_features: torch.Tensor
) -> torch.Tensor:
    """(N, K) zero-shot scores: cosine to the finding's prompt minus cosine to its negation."""
    return cosine_matrix(image_features, positive_features) - cosine_matrix(image_features, negative_features)


def per_finding_auroc(scores: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """AUROC per finding column; NaN where fewer than two classes remain after dropping uncertain/unknown."""
    from torchmetrics.functional.classification import binary_auroc  # slow import, only when evaluating

    if scores.shape != labels.shape:
        raise ValueError(f"scores {tuple(scores.shape)} and labels {tuple(labels.shape)} differ in shape")
    out = []
    for k in range(labels.shape[1]):
        y = labels[:, k]
        known = (y == 0) | (y == 1)
        target = y[known].long()
        if target.numel() == 0 or target.min() == target.max():
            out.append(math.nan)
            continue
        out.append(float(binary_auroc(scores[known, k].float(), target, thresholds=None)))
    return out


def zeroshot_auroc(
    image_features: torch.Tensor,
    positive_features: torch.Tensor,
    negative_features: torch.Tensor,
    labels: torch.Tensor,
) -> tuple[float, int]:
    """Macro AUROC of prompt-based zero-shot finding classification, and how many findings it averages."""
    values = [
        v
        for v in per_finding_auroc(zeroshot_scores(image_features, positive_features, negative_features), labels)
        if not math.isnan(v)
    ]
    return (sum(values) / len(values) if values else math.nan), len(values)


def _zeroshot(inputs: EvalInputs) -> dict[str, float | int]:
    auroc, findings = zeroshot_auroc(inputs.images, inputs.positive_prompts, inputs.negative_prompts, inputs.labels)
    return {"zeroshot_auroc": auroc, "zeroshot_findings": findings}


ZEROSHOT_AUROC = Metric(
    _zeroshot,
    frozenset({"embeddings", "prompts"}),
    ("zeroshot_auroc", "zeroshot_findings"),
    'macro AUROC of "<finding>." vs "no <finding>." prompts, and its support (findings with both classes)',
    absent={"zeroshot_auroc": math.nan, "zeroshot_findings": 0},  # a dataset without finding labels
)
