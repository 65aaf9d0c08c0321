"""Task library: each module defines one task and registers it by name."""

from curriclip.tasks import findings, itc, rotation  # noqa: F401  (registration)
from curriclip.tasks.base import TASKS, Batch, StepContext, Task, get

__all__ = ["TASKS", "Batch", "StepContext", "Task", "get"]
