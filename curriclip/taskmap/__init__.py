"""A map of the tasks: Task-Contrastive Learning (TaCo; Muth, Reiss & Marinov 2026, arXiv 2604.05651).

A task instance is a small set of (input, target) image pairs drawn from a curriclip
dataset; a ResNet over channel-stacked pairs, mean-pooled over the set, is trained with
InfoNCE so that two disjoint pair sets of the same instance land together. The map is
evaluated against a CLIP baseline (clustering by category, similarity peaks,
trajectories of iterative modifications), and ``prior`` turns it into task orderings
that a curriculum search tries first (``space.ordering_prior: taco``).

Task families are a registry (one line each below); ``curriclip list task_families``
shows them. The map's files (``curriclip.rundir.task_map``) are what the report reads.
"""

from __future__ import annotations

from curriclip.registry import Registry

FAMILIES: Registry = Registry("task family", "task_families")

FAMILIES.lazy("rotation", "curriclip.taskmap.families:ROTATION")
FAMILIES.lazy("flip", "curriclip.taskmap.families:FLIP")
FAMILIES.lazy("zoom", "curriclip.taskmap.families:ZOOM")
FAMILIES.lazy("brightness", "curriclip.taskmap.families:BRIGHTNESS")
FAMILIES.lazy("contrast", "curriclip.taskmap.families:CONTRAST")
FAMILIES.lazy("augmented_view", "curriclip.taskmap.families:AUGMENTED_VIEW")
FAMILIES.lazy("denoising", "curriclip.taskmap.families:DENOISING")
FAMILIES.lazy("deblurring", "curriclip.taskmap.families:DEBLURRING")
FAMILIES.lazy("super_resolution", "curriclip.taskmap.families:SUPER_RESOLUTION")
FAMILIES.lazy("inpainting", "curriclip.taskmap.families:INPAINTING")
FAMILIES.lazy("intensity_remap", "curriclip.taskmap.families:INTENSITY_REMAP")
FAMILIES.lazy("segmentation", "curriclip.taskmap.families:SEGMENTATION")
FAMILIES.lazy("detection", "curriclip.taskmap.families:DETECTION")
FAMILIES.lazy("findings", "curriclip.taskmap.families:FINDINGS")
FAMILIES.lazy("identity", "curriclip.taskmap.failure:IDENTITY")
FAMILIES.lazy("shuffled_targets", "curriclip.taskmap.failure:SHUFFLED_TARGETS")
FAMILIES.lazy("random_targets", "curriclip.taskmap.failure:RANDOM_TARGETS")
FAMILIES.lazy("wrong_mask", "curriclip.taskmap.failure:WRONG_MASK")

#: the failure tasks (added as hard negatives with ``--failure-tasks``)
FAILURE_FAMILIES = ("identity", "shuffled_targets", "random_targets", "wrong_mask")
#: every real task family, in listing order
TASK_FAMILIES = tuple(name for name in FAMILIES.names() if name not in FAILURE_FAMILIES)
