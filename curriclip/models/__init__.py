"""Models: open_clip CLIP models built by name from presets, wrapped for multi-task training."""

from curriclip.models.factory import PRESETS, ModelPreset, build_clip, get_preset
from curriclip.models.multitask import MultiTaskModel

__all__ = ["PRESETS", "ModelPreset", "MultiTaskModel", "build_clip", "get_preset"]
