"""Models: open_clip CLIP models built by name from presets, wrapped for multi-task training.

``presets`` (names, no torch) is what the experiment file is validated against; the
factory and the multi-task wrapper import torch and open_clip, so they load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from curriclip.models.presets import PRESETS, ModelPreset, get_preset, known_architecture

_LAZY = {
    "ModelSpec": "curriclip.models.factory",
    "build_clip": "curriclip.models.factory",
    "ModelInfo": "curriclip.models.multitask",
    "MultiTaskModel": "curriclip.models.multitask",
    "model_info": "curriclip.models.multitask",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'curriclip.models' has no attribute {name!r}")


__all__ = ["PRESETS", "ModelPreset", "get_preset", "known_architecture", *_LAZY]
