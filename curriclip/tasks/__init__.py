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

TASKS._make = TASKS._make or (lambda cls: cls())  # brats branch only: drop when the lazy catalog (make=cls()) lands
TASKS.lazy("regions", "curriclip.tasks.regions:Regions")

__all__ = ["LABEL_POLICIES", "TASKS", "Batch", "StepContext", "Task", "get", "missing_data"]
