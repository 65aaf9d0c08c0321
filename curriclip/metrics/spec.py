"""What a declared metric is: a function of the evaluation's inputs, the inputs it reads, the keys it reports.

Evaluation gathers the inputs once per epoch (embeddings of the held-out pairs, the
zero-shot prompts, a segmentation head's predicted masks) and runs every metric of
``curriclip.metrics.METRICS`` whose inputs are there, in registry order; so a new metric
is one module defining a ``Metric`` and one ``METRICS.lazy`` line, and no list elsewhere
names it. Torch-free: the tensors only pass through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: The inputs a metric may read, and what each holds.
INPUTS = {
    "embeddings": "image and text embeddings (N, D) of the matched held-out pairs, and which pairs count as positives",
    "prompts": "embeddings of each finding's positive and negative zero-shot prompt, and the held-out finding labels",
    "masks": "a segmentation head's predicted finding-mask probabilities with the target masks, in chunks of images",
}

#: Suffixes of a metric's bootstrap-interval keys (reported beside the value, never plotted as a metric).
INTERVAL_SUFFIXES = ("_ci_low", "_ci_high")


@dataclass
class EvalInputs:
    """What one evaluation offers the metrics; an input left at None is absent (see ``available``)."""

    n_resamples: int
    images: Any = None  # (N, D) float image embeddings
    texts: Any = None  # (N, D) float text embeddings, row i matched with image i
    positives: Any = None  # (N, N) bool: pairs with identical reports (not mismatched)
    positive_prompts: Any = None  # (K, D) "<finding>." embeddings
    negative_prompts: Any = None  # (K, D) "no <finding>." embeddings
    labels: Any = None  # (N, K) held-out finding labels (1, 0, -1 uncertain, NaN not mentioned)
    mask_chunks: Callable[[], Iterable[tuple[Any, Any]]] | None = None  # (probabilities, targets), (B, K, H, W)

    def available(self) -> frozenset[str]:
        present = {
            "embeddings": self.images is not None and self.texts is not None,
            "prompts": self.positive_prompts is not None and self.labels is not None,
            "masks": self.mask_chunks is not None,
        }
        return frozenset(name for name, there in present.items() if there)


@dataclass(frozen=True)
class Metric:
    """A declared evaluation metric.

    ``compute(inputs)`` returns ``{key: value}`` for the ``keys`` it declares (its bootstrap
    intervals among them; a key it cannot compute, e.g. Dice without a present finding, is
    left out); ``absent`` is what it reports when its ``inputs`` are missing (empty: nothing).
    ``companion``: shown beside CLIP score in the report (CLIP score itself, the search's
    metric, is the one that is not).
    """

    compute: Callable[[EvalInputs], Mapping[str, float | int]]
    inputs: frozenset[str]
    keys: tuple[str, ...]
    description: str
    companion: bool = True
    absent: Mapping[str, float | int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.inputs) - set(INPUTS)
        if unknown or not self.inputs:
            raise ValueError(f"metric inputs {sorted(self.inputs)}: each must be one of {', '.join(INPUTS)}")
        if set(self.absent) - set(self.keys):
            raise ValueError(f"metric reports {sorted(self.absent)} when absent, not among its keys {self.keys}")
