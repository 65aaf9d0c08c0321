"""Models: open_clip CLIP models built by name from presets, wrapped for multi-task training."""

from curriclip.models.factory import PRESETS, ModelPreset, ModelSpec, build_clip, get_preset, known_architecture
from curriclip.models.multitask import ModelInfo, MultiTaskModel, model_info

__all__ = [
    "PRESETS",
    "ModelInfo",
    "ModelPreset",
    "ModelSpec",
    "MultiTaskModel",
    "build_clip",
    "get_preset",
    "known_architecture",
    "model_info",
]
