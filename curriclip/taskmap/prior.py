"""Task orderings from the task map: the curriculum search tries them first (``space.ordering_prior: taco``).

How the project's tasks are placed on the map (an explicit modelling choice):

* An auxiliary task with an image-to-image form sits at the centroid of its family's
  held-out instances: rotation -> ``rotation``, denoising -> ``denoising``,
  masked_image -> ``inpainting``, segmentation -> ``segmentation``, image_contrastive
  -> ``augmented_view``, findings -> ``findings`` (the finding labels drawn as stripes).
* ITC has no image-to-image form (its target is text). Its image side leaves the image
  as it is, so it is placed at the **identity (no-op) task**: "near ITC" means "changes
  the image little", "far from ITC" means "asks for a very different output". This is
  a proxy, not a measurement of ITC.
* Tasks with no image side at all (text_findings, findings_impression) cannot be placed;
  they are treated as lying at the ITC anchor (distance 0, text-side like ITC) and keep
  their listed order among themselves.

Orderings (ITC always first, as the task every curriculum aligns):
``nearest_first`` (aux tasks by increasing distance to the anchor), ``farthest_first``
(decreasing) and ``chain`` (greedy: each next task is the nearest to the one before,
starting from the anchor). Identical orderings are listed once, under the first name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from curriclip.errors import ConfigError

ITC = "itc"
ANCHOR = "identity"
TASK_PROXIES = {
    "rotation": "rotation",
    "denoising": "denoising",
    "masked_image": "inpainting",
    "segmentation": "segmentation",
    "image_contrastive": "augmented_view",
    "findings": "findings",
}
PRIOR_NAMES = ("nearest_first", "farthest_first", "chain")


def family_centroids(map_dir: str | Path, model: str = "taco") -> dict[str, np.ndarray]:
    """Unit-norm mean embedding of each family's held-out instances in the map at ``map_dir``."""
    import pandas as pd

    from curriclip.rundir.task_map import EMBEDDINGS_FILE, find_map_dir

    found = find_map_dir(map_dir)
    if found is None:
        raise ConfigError(f"space.task_map: {map_dir} is not a task map (make one with `curriclip taskmap map`)")
    table = pd.read_parquet(found / EMBEDDINGS_FILE, columns=["model", "set", "family", "embedding"])
    rows = table[(table["model"] == model) & (table["set"] == "eval")]
    centroids = {}
    for family, part in rows.groupby("family"):
        mean = np.stack(part["embedding"].to_numpy()).astype(np.float64).mean(axis=0)
        centroids[str(family)] = mean / (np.linalg.norm(mean) or 1.0)
    return centroids


def task_positions(centroids: dict[str, np.ndarray], tasks: list[str]) -> dict[str, np.ndarray]:
    """Where each task sits: its proxy family's centroid, or the anchor for ITC and text-only tasks."""
    if ANCHOR not in centroids:
        raise ConfigError(f"space.task_map: the map has no {ANCHOR!r} instances to place ITC by")
    positions = {}
    for task in tasks:
        family = TASK_PROXIES.get(task, ANCHOR)
        if family not in centroids:
            raise ConfigError(f"space.task_map: the map has no {family!r} family, which places task {task!r}")
        positions[task] = centroids[family]
    return positions


def orderings_from_positions(positions: dict[str, np.ndarray], anchor: np.ndarray) -> dict[str, list[str]]:
    """The prior orderings of the tasks in ``positions`` (listed order breaks ties), ITC first."""
    tasks = list(positions)

    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(1.0 - a @ b)

    to_anchor = {task: distance(positions[task], anchor) for task in tasks}
    nearest = sorted(tasks, key=lambda t: (to_anchor[t], tasks.index(t)))
    farthest = sorted(tasks, key=lambda t: (-to_anchor[t], tasks.index(t)))
    chain, current, left = [], anchor, list(tasks)
    while left:
        step = min(left, key=lambda t: (distance(positions[t], current), tasks.index(t)))
        chain.append(step)
        left.remove(step)
        current = positions[step]
    out: dict[str, list[str]] = {}
    for name, order in zip(PRIOR_NAMES, (nearest, farthest, chain)):
        ordering = [ITC, *order]
        if ordering not in out.values():
            out[name] = ordering
    return out


def prior_orderings(map_dir: str | Path, tasks: list[str]) -> dict[str, list[str]]:
    """Name -> ordering (with ITC) of the auxiliary ``tasks`` by the task map at ``map_dir``."""
    centroids = family_centroids(map_dir)
    return orderings_from_positions(task_positions(centroids, list(tasks)), centroids[ANCHOR])


def experiment_orderings(experiment: Any) -> dict[str, list[str]]:
    """Prior name -> ordering of the experiment's tasks by its task map (empty without ``space.ordering_prior``)."""
    space = experiment.space
    if getattr(space, "ordering_prior", "none") == "none":
        return {}
    if not space.task_map:
        raise ConfigError("space.task_map: ordering_prior 'taco' needs the path of a task map")
    return prior_orderings(space.task_map, list(space.tasks))
