"""Curriculum vocabulary: pacing functions, task schedules, difficulty scorers and controls.

- ``pacing``: registry of pacing functions (fraction of the sorted pool admitted at step t);
- ``schedule``: task orderings -> loss weights per step (cumulative, sequential, ramped);
- ``scorers``: registry of difficulty scorers (names and parameters, no numpy); ``difficulty``:
  the metadata scorers and the controls (easiest first, anti, random); model-based scorers
  in ``model_scorers`` (torch);
- ``sampler``: the paced batch sampler; ``runtime``: the hooks the training loop calls;
- ``inspect``: a trial's schedule and data fraction as a table.

Pure functions and small classes with no knowledge of Ray, Optuna or Plotly. Submodules load
on first use, so validating a config (which needs ``pacing`` and ``scorers``) imports no numpy.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"PacedSampler": "curriclip.curriculum.sampler", "TaskSchedule": "curriclip.curriculum.schedule"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'curriclip.curriculum' has no attribute {name!r}")


__all__ = ["PacedSampler", "TaskSchedule"]
