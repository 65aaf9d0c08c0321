"""Curriculum vocabulary: pacing functions, task schedules, difficulty scorers and controls.

- ``pacing``: registry of pacing functions (fraction of the sorted pool admitted at step t);
- ``schedule``: task orderings -> loss weights per step (cumulative, sequential, ramped);
- ``difficulty``: registry of scorers (metadata, teacher, self-paced, agreement) and the
  controls (easiest first, anti, random); model-based scorers in ``model_scorers`` (torch);
- ``sampler``: the paced batch sampler; ``runtime``: the hooks the training loop calls;
- ``inspect``: a trial's schedule and data fraction as a table / Plotly figure.

Pure functions and small classes with no knowledge of Ray or Optuna; nothing imported
here needs torch, so a schedule can be inspected (which tasks, which weights, how much
data at step t) without training.
"""

from curriclip.curriculum import difficulty, pacing
from curriclip.curriculum.sampler import PacedSampler
from curriclip.curriculum.schedule import TaskSchedule

__all__ = ["PacedSampler", "TaskSchedule", "difficulty", "pacing"]
