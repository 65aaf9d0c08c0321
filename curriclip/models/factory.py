"""Model presets: named open_clip configurations, built by open_clip's own factory.

curriclip's tiny configs live as open_clip model-config JSON files in ``configs/`` and
are registered with ``open_clip.add_model_config``, so ``open_clip.create_model`` builds
them exactly like any stock architecture and ``open_clip.get_tokenizer`` returns its
bundled BPE tokenizer: no download on the default path. A preset may name any other
open_clip architecture (and later a ``pretrained`` tag or a local checkpoint).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch

from curriclip.registry import new_registry

CONFIG_DIR = Path(__file__).parent / "configs"
open_clip.add_model_config(CONFIG_DIR)


@dataclass(frozen=True)
class ModelPreset:
    """How to build one model: an open_clip name, its input size, and optional weights."""

    name: str
    open_clip_name: str
    image_size: int
    pretrained: str | None = None
    description: str = ""


PRESETS = new_registry("model preset", "presets")


def _preset(preset: ModelPreset) -> None:
    PRESETS.add(preset.name, preset)


_preset(
    ModelPreset(
        "tiny",
        "curriclip-tiny",
        64,
        description="2-layer ViT/8 (width 64) + 2-layer text (width 64), 64 px; seconds per epoch on a CPU",
    )
)
_preset(ModelPreset("small", "curriclip-small", 128, description="4-layer ViT/16 + 4-layer text, 128 px"))


def get_preset(name: str) -> ModelPreset:
    return PRESETS.get(name)


class _NoRandomInitNotice(logging.Filter):
    """open_clip warns that no pretrained weights were loaded; for from-config presets that is the intent."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


def build_clip(preset: ModelPreset) -> tuple[torch.nn.Module, object]:
    """The open_clip model and its tokenizer for a preset (random init unless ``pretrained``)."""
    quiet = _NoRandomInitNotice()
    root = logging.getLogger()
    root.addFilter(quiet)
    try:
        model = open_clip.create_model(preset.open_clip_name, pretrained=preset.pretrained)
    finally:
        root.removeFilter(quiet)
    tokenizer = open_clip.get_tokenizer(preset.open_clip_name)
    return model, tokenizer


def embed_dim(model: torch.nn.Module) -> int:
    """Width of the joint embedding space of an open_clip model."""
    return int(model.text_projection.shape[1]) if hasattr(model, "text_projection") else int(model.visual.output_dim)
