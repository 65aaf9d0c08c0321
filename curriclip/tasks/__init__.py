"""Task library: one module per task, each registered here by one line (listing order).

This module is the catalog only and imports no torch: the experiment file is validated
against these names, and a task's module is imported the first time it is looked up.
The task interface (``Task``, ``Batch``, ``StepContext``) lives in ``curriclip.tasks.base``.
"""

from curriclip.registry import Registry

#: name -> Task instance (the registered class, instantiated once on first lookup)
TASKS = Registry("task", "tasks", make=lambda cls: cls())
TASKS.lazy("itc", "curriclip.tasks.itc:ImageTextContrastive")
TASKS.lazy("findings", "curriclip.tasks.findings:FindingClassification")
TASKS.lazy("text_findings", "curriclip.tasks.text_findings:TextFindingClassification")
TASKS.lazy("image_contrastive", "curriclip.tasks.image_contrastive:ImageImageContrastive")
TASKS.lazy("masked_image", "curriclip.tasks.masked_image:MaskedImageReconstruction")
TASKS.lazy("denoising", "curriclip.tasks.denoising:Denoising")
TASKS.lazy("rotation", "curriclip.tasks.rotation:RotationPrediction")
TASKS.lazy("segmentation", "curriclip.tasks.segmentation:Segmentation")
TASKS.lazy("findings_impression", "curriclip.tasks.findings_impression:FindingsImpressionContrastive")
TASKS.lazy("regions", "curriclip.tasks.regions:Regions")
TASKS.lazy("label_text", "curriclip.tasks.label_text:LabelTextContrastive")

__all__ = ["TASKS"]
