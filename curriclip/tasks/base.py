"""What a task is: the data it needs, its head, its loss and its metric, on a shared step context.

Tasks share the encoders, and several tasks often need the same forward pass (ITC and
finding classification both use the batch's image embeddings), so a ``StepContext``
computes each shared quantity at most once per step.

A task declares the dataset columns it ``needs``; ``missing_data`` turns a dataset that
lacks them into a clear "unavailable" message (a task is never skipped silently).
Per-trial options (the uncertain-label policy, ...) reach a task through ``configure``,
which returns a configured copy of the registered instance.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from curriclip.models.multitask import ModelInfo

#: Uncertain-label policies of the CheXpert paper (Irvin et al. 2019) for the -1 label.
LABEL_POLICIES = ("ignore", "zeros", "ones")


@dataclass
class Batch:
    """One training batch: uint8 images, token ids, labels (NaN = not mentioned), and optional extras.

    ``masks``: (B, K, H, W) float finding masks; ``findings_tokens`` / ``impression_tokens``:
    the two report sections tokenised separately, with ``has_sections`` marking rows that
    have both.
    """

    images: torch.Tensor
    tokens: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None = None
    findings_tokens: torch.Tensor | None = None
    impression_tokens: torch.Tensor | None = None
    has_sections: torch.Tensor | None = None


@dataclass
class StepContext:
    """The model and batch of one step, with lazily cached shared forward passes."""

    model: nn.Module
    batch: Batch
    generator: torch.Generator
    _cache: dict = field(default_factory=dict)

    def _image_forward(self) -> None:
        if getattr(self.model, "has_tokens", False):
            self._cache["image"], self._cache["image_tokens"] = self.model.encode_image(self.batch.images, tokens=True)
        else:
            self._cache["image"] = self.model.encode_image(self.batch.images)

    def image_features(self) -> torch.Tensor:
        if "image" not in self._cache:
            self._image_forward()
        return self._cache["image"]

    def image_tokens(self) -> torch.Tensor:
        """Patch tokens (B, N, width) of the clean batch images (same forward pass as ``image_features``)."""
        if "image_tokens" not in self._cache:
            self._image_forward()
        return self._cache["image_tokens"]

    def text_features(self) -> torch.Tensor:
        if "text" not in self._cache:
            self._cache["text"] = self.model.encode_text(self.batch.tokens)
        return self._cache["text"]

    def normalised_images(self) -> torch.Tensor:
        """The batch images as normalised float (B, H, W)."""
        if "normalised" not in self._cache:
            self._cache["normalised"] = self.model.normalise(self.batch.images)
        return self._cache["normalised"]


class Task:
    """Base class: subclasses set ``name``, ``needs``, ``metric`` and implement ``loss``."""

    name: str = ""
    #: dataset columns the task needs: "image", "text", "labels", "masks", "sections"
    needs: frozenset[str] = frozenset()
    #: how the task's own quality is measured (name of the metric)
    metric: str = ""
    description: str = ""

    def configure(self, **options) -> Task:
        """A copy of this task with per-trial options applied (options a task does not use are ignored)."""
        return self

    def build_head(self, info: ModelInfo) -> nn.Module | None:
        """The task's own parameters (None when it only uses the shared encoders)."""
        return None

    def loss(self, ctx: StepContext, head: nn.Module | None) -> torch.Tensor:
        raise NotImplementedError


def get(name: str) -> Task:
    """The registered task ``name`` (see the catalog in ``curriclip.tasks``)."""
    from curriclip.tasks import TASKS

    return TASKS.get(name)


def with_options(task: Task, **options) -> Task:
    """Shallow copy of ``task`` with attributes set (helper for ``configure``)."""
    clone = copy.copy(task)
    for key, value in options.items():
        setattr(clone, key, value)
    return clone


def label_targets(labels: torch.Tensor, policy: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(targets, known mask) of CheXpert-encoded labels under an uncertain-label policy.

    ``ignore``: uncertain (-1) labels leave the loss; ``zeros``: they count as negative;
    ``ones``: as positive. Not-mentioned (NaN) labels always leave the loss.
    """
    if policy not in LABEL_POLICIES:
        raise ValueError(f"unknown label policy {policy!r} (known: {', '.join(LABEL_POLICIES)})")
    mentioned = ~torch.isnan(labels)
    uncertain = mentioned & (labels < 0)
    targets = torch.where(mentioned, labels, torch.zeros_like(labels))
    if policy == "ignore":
        return targets, mentioned & ~uncertain
    targets = torch.where(uncertain, torch.full_like(labels, 1.0 if policy == "ones" else 0.0), targets)
    return targets, mentioned


def missing_data(task: Task, data, policy: str = "ignore") -> str | None:
    """Why ``data`` (a ``SplitArrays``) cannot train ``task``, or None when it can."""
    if "labels" in task.needs:
        _, known = label_targets(data.labels, policy)
        if not bool(known.any()):
            return "has no finding labels"
    if "text" in task.needs and not any(data.texts):
        return "has no report text"
    if "masks" in task.needs and getattr(data, "masks", None) is None:
        return "has no finding masks (the masks column is empty)"
    if "sections" in task.needs:
        findings = getattr(data, "findings", None) or []
        impressions = getattr(data, "impressions", None) or []
        both = sum(1 for f, i in zip(findings, impressions) if f and i)
        if both < 2:
            return "has fewer than 2 reports with both a FINDINGS and an IMPRESSION section"
    return None


def sections_mask(findings: list[str], impressions: list[str]) -> torch.Tensor:
    """Rows that have both report sections."""
    return torch.tensor([bool(f) and bool(i) for f, i in zip(findings, impressions)], dtype=torch.bool)


def zero_loss(like: torch.Tensor) -> torch.Tensor:
    """A zero that keeps the graph (a batch without anything this task can learn from)."""
    return like.sum() * 0.0


def patches_to_image(x: torch.Tensor, patch: int, channels: int) -> torch.Tensor:
    """(B, g*g, channels*patch*patch) per-patch predictions -> (B, channels, g*patch, g*patch)."""
    b, n, _ = x.shape
    g = int(round(n**0.5))
    x = x.reshape(b, g, g, channels, patch, patch)
    return x.permute(0, 3, 1, 4, 2, 5).reshape(b, channels, g * patch, g * patch)


def decoder_head(info: ModelInfo, channels: int, task: str) -> nn.Module:
    """A linear per-patch pixel decoder on the patch tokens (SimMIM's one-layer head)."""
    if info.token_width is None or info.patch_size is None:
        raise ValueError(f"task {task!r} needs patch tokens: use an open_clip ViT image tower")
    return nn.Linear(info.token_width, channels * info.patch_size * info.patch_size)
