"""Curriculum vocabulary: pacing functions, task schedules and difficulty scorers.

Pure functions and small classes with no knowledge of Ray or Optuna, so a schedule can
be inspected (which tasks, which weights, how much data at step t) without training.
"""

from curriclip.curriculum import difficulty, pacing
from curriclip.curriculum.sampler import PacedSampler
from curriclip.curriculum.schedule import TaskSchedule

__all__ = ["PacedSampler", "TaskSchedule", "difficulty", "pacing"]
