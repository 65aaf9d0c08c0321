"""What a task is: the data it needs, its head, and its loss on a shared step context.

Tasks share the encoders, and several tasks often need the same forward pass (ITC and
finding classification both use the batch's image embeddings), so a ``StepContext``
computes each shared quantity at most once per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from curriclip.registry import new_registry

TASKS = new_registry("task", "tasks")


@dataclass
class Batch:
    """One training batch: uint8 images, token ids, labels (NaN = not mentioned)."""

    images: torch.Tensor
    tokens: torch.Tensor
    labels: torch.Tensor


@dataclass
class StepContext:
    """The model and batch of one step, with lazily cached shared forward passes."""

    model: nn.Module
    batch: Batch
    generator: torch.Generator
    _cache: dict = field(default_factory=dict)

    def image_features(self) -> torch.Tensor:
        if "image" not in self._cache:
            self._cache["image"] = self.model.encode_image(self.batch.images)
        return self._cache["image"]

    def text_features(self) -> torch.Tensor:
        if "text" not in self._cache:
            self._cache["text"] = self.model.encode_text(self.batch.tokens)
        return self._cache["text"]


class Task:
    """Base class: subclasses set ``name``, ``needs`` and implement ``loss``."""

    name: str = ""
    #: dataset columns the task needs ("image", "text", "labels")
    needs: frozenset[str] = frozenset()
    description: str = ""

    def build_head(self, embed_dim: int, num_labels: int) -> nn.Module | None:
        """The task's own parameters (None when it only uses the shared encoders)."""
        return None

    def loss(self, ctx: StepContext, head: nn.Module | None) -> torch.Tensor:
        raise NotImplementedError


def register(cls: type[Task]) -> type[Task]:
    """Class decorator adding one instance of the task to the registry under ``cls.name``."""
    TASKS.add(cls.name, cls())
    return cls


def get(name: str) -> Task:
    return TASKS.get(name)
