"""Model presets and architecture names, known without importing torch or open_clip.

The experiment file names a model by preset (``curriclip list presets``) or by any
open_clip architecture; validating that name must not cost the seconds that importing
open_clip takes, so the architectures are read from open_clip's bundled model-config
files (and curriclip's own ``configs/``) rather than from ``open_clip.list_models()``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from curriclip.registry import Registry

#: curriclip's own open_clip model configs (registered with open_clip by the factory)
CONFIG_DIR = Path(__file__).parent / "configs"


@dataclass(frozen=True)
class ModelPreset:
    """How to build one model: an open_clip name, its input size, and optional weights / text tower."""

    name: str
    open_clip_name: str
    image_size: int
    pretrained: str | None = None
    text_tower: str | None = None
    description: str = ""


TINY = ModelPreset(
    "tiny",
    "curriclip-tiny",
    64,
    description="2-layer ViT/8 (width 64) + 2-layer text (width 64), 64 px; seconds per epoch on a CPU",
)
SMALL = ModelPreset("small", "curriclip-small", 128, description="4-layer ViT/16 + 4-layer text, 128 px")
TINY_WORDPIECE = ModelPreset(
    "tiny-wordpiece",
    "curriclip-tiny",
    64,
    text_tower="wordpiece",
    description="tiny ViT + 2-layer BERT with a WordPiece vocabulary trained on the dataset's reports (offline)",
)
VIT_B_32_OPENAI = ModelPreset(
    "vit-b-32-openai",
    "ViT-B-32",
    224,
    pretrained="openai",
    description="open_clip ViT-B/32 with OpenAI's CLIP weights (downloads once; needs the network)",
)

#: name -> ModelPreset
PRESETS = Registry("model preset", "presets")
PRESETS.lazy("tiny", "curriclip.models.presets:TINY")
PRESETS.lazy("small", "curriclip.models.presets:SMALL")
PRESETS.lazy("tiny-wordpiece", "curriclip.models.presets:TINY_WORDPIECE")
PRESETS.lazy("vit-b-32-openai", "curriclip.models.presets:VIT_B_32_OPENAI")


def get_preset(name: str) -> ModelPreset:
    return PRESETS.get(name)


@cache
def open_clip_architectures() -> frozenset[str]:
    """Every architecture open_clip can build by name: its bundled model configs plus curriclip's."""
    spec = importlib.util.find_spec("open_clip")  # locates the package without importing it
    dirs = [CONFIG_DIR]
    if spec is not None and spec.submodule_search_locations:
        dirs += [Path(location) / "model_configs" for location in spec.submodule_search_locations]
    return frozenset(path.stem for directory in dirs for path in directory.glob("*.json"))


def known_architecture(name: str) -> bool:
    """A preset name or any open_clip architecture name."""
    return name in PRESETS or name in open_clip_architectures()
