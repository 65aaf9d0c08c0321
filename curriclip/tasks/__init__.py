"""Task library: each module defines one task and registers it by name."""

from curriclip.tasks import (  # noqa: F401, I001  (registration, in listing order)
    itc,
    findings,
    text_findings,
    image_contrastive,
    masked_image,
    denoising,
    rotation,
    segmentation,
    findings_impression,
)
from curriclip.tasks.base import LABEL_POLICIES, TASKS, Batch, StepContext, Task, get, missing_data

__all__ = ["LABEL_POLICIES", "TASKS", "Batch", "StepContext", "Task", "get", "missing_data"]
