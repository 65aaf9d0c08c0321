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
from types import SimpleNamespace

import torch
from torch import nn

from curriclip.data.loader import BATCH_COLUMNS, LABEL_POLICIES, label_targets, sections_mask  # noqa: F401 (re-exported)
from curriclip.models.multitask import ModelInfo


class Batch(SimpleNamespace):
    """One training batch: a tensor per column the trial's tasks declare in ``needs``, read as attributes.

    ``batch.images`` (uint8), ``batch.tokens``, ``batch.labels`` (NaN = not mentioned),
    ``batch.masks`` (B, K, H, W float), ``batch.findings_tokens`` / ``batch.impression_tokens``
    / ``batch.has_sections``, ``batch.label_tokens`` (the labels rendered as text), ``batch.has_report``
    (sparsity_mode reports only: rows whose report the trial may use; see ``report_rows``): which need
    supplies which attribute is declared once, in ``curriclip.data.loader.BATCH_COLUMNS``, and a batch
    holds only what some task declared.
    """

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        present = ", ".join(sorted(vars(self)))
        raise AttributeError(f"the batch has no {name!r} (it holds: {present}); declare the need in the task's needs")


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
    #: dataset columns the task needs (keys of ``curriclip.data.loader.BATCH_COLUMNS``): its batch holds them
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


def missing_data(task: Task, data, policy: str = "ignore") -> str | None:
    """Why ``data`` (a ``SplitArrays``) cannot train ``task``, or None when it can."""
    unknown = sorted(set(task.needs) - set(BATCH_COLUMNS))
    if unknown:
        return f"has no column {unknown[0]!r} (a task may need: {', '.join(BATCH_COLUMNS)})"
    for need, column in BATCH_COLUMNS.items():
        missing = column.missing(data, policy) if need in task.needs else None
        if missing is not None:
            return missing
    return None


def report_rows(batch: Batch) -> torch.Tensor | None:
    """The rows whose report a text task may use, or None when every row's (all modes but sparsity_mode reports).

    Under ``sparsity_mode: reports`` a batch also holds training images whose report the trial
    does not have (their texts are blank, ``TrialData.add_unpaired``); ITC and the text tasks
    must leave those rows out.
    None when every row has one, so the other modes compute exactly what they always did.
    """
    mask = vars(batch).get("has_report")
    if mask is None or bool(mask.all()):
        return None
    return mask


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
