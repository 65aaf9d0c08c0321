"""Task schedules: which tasks train, with which loss weights, at step t.

The spine implements the *cumulative* schedule: tasks join in the order given, one
stage after another, and stay. The stages share the first ``stage_span`` of training
equally, so with ordering (rotation, findings, itc) and span 0.6 rotation trains alone
for the first 20% of steps, findings joins at 20%, ITC at 40%. A single-task trial is
the ordering (itc,) and trains ITC from step 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSchedule:
    ordering: tuple[str, ...]
    stage_span: float = 0.5
    mode: str = "cumulative"

    def __post_init__(self) -> None:
        if not self.ordering:
            raise ValueError("a task schedule needs at least one task")
        if len(set(self.ordering)) != len(self.ordering):
            raise ValueError(f"task ordering repeats a task: {self.ordering}")
        if not 0 <= self.stage_span <= 1:
            raise ValueError(f"stage_span must lie in [0, 1], got {self.stage_span}")
        if self.mode != "cumulative":
            raise ValueError(f"unknown schedule mode {self.mode!r} (known: cumulative)")

    def start_step(self, task: str, total_steps: int) -> int:
        """The first step at which ``task`` contributes to the loss."""
        position = self.ordering.index(task)
        return int(round(position * self.stage_span * total_steps / len(self.ordering)))

    def weights(self, step: int, total_steps: int) -> dict[str, float]:
        """Loss weight of every active task at ``step`` (inactive tasks are absent)."""
        return {task: 1.0 for task in self.ordering if step >= self.start_step(task, total_steps)}
