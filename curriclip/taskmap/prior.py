"""Task orderings from the task map: the curriculum search tries them first (``space.ordering_prior: taco``).

How the project's tasks are placed on the map (an explicit modelling choice):

* An auxiliary task with an image-to-image form sits at the centroid of its family's
  held-out instances: rotation -> ``rotation``, denoising -> ``denoising``,
  masked_image -> ``inpainting``, segmentation -> ``segmentation``, image_contrastive
  -> ``augmented_view``, findings -> ``findings`` (the finding labels drawn as stripes).
* ITC has no image-to-image form (its target is text), so the map cannot place it; it
  stays first in every ordering, as the task every curriculum aligns. The orderings
  use only distances between the auxiliary tasks themselves: the no-op (identity) task
  is a failure task that training pushes away from every real task, so it is no
  measurement of where ITC lies.
* Tasks with no image side at all (text_findings, findings_impression) cannot be placed
  either; they follow ITC (text-side like it) in their listed order.

Orderings of the placed tasks, by their *centrality* (mean cosine distance to the other
placed tasks): ``nearest_first`` (the task nearest the others first: what the most
tasks share comes early), ``farthest_first`` (the reverse) and ``chain`` (greedy from
the most central task: each next task is the nearest to the one before). Identical
orderings are listed once, under the first name. ``prior_stability`` says how far a
prior can be trusted: Kendall's tau between the centrality ranks of maps trained with
different seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from curriclip.errors import ConfigError

ITC = "itc"
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
    """Where each auxiliary task with an image side sits: its proxy family's centroid (text-only tasks left out)."""
    positions = {}
    for task in tasks:
        family = TASK_PROXIES.get(task)
        if family is None:
            continue
        if family not in centroids:
            raise ConfigError(f"space.task_map: the map has no {family!r} family, which places task {task!r}")
        positions[task] = centroids[family]
    return positions


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - a @ b)


def centrality(positions: dict[str, np.ndarray]) -> dict[str, float]:
    """Each placed task's mean cosine distance to the other placed tasks (0 when it is alone)."""
    tasks = list(positions)
    return {
        task: float(np.mean([_distance(positions[task], positions[o]) for o in tasks if o != task]))
        if len(tasks) > 1
        else 0.0
        for task in tasks
    }


def orderings_from_positions(positions: dict[str, np.ndarray], tasks: Sequence[str]) -> dict[str, list[str]]:
    """The prior orderings of ``tasks``: ITC, the text-only tasks, then the placed ones (listed order breaks ties)."""
    placed = list(positions)
    text_only = [task for task in tasks if task not in positions]
    spread = centrality(positions)
    nearest = sorted(placed, key=lambda t: (spread[t], placed.index(t)))
    farthest = sorted(placed, key=lambda t: (-spread[t], placed.index(t)))
    chain, left = [], list(placed)
    while left:
        if not chain:
            step = nearest[0]
        else:
            step = min(left, key=lambda t: (_distance(positions[t], positions[chain[-1]]), placed.index(t)))
        chain.append(step)
        left.remove(step)
    out: dict[str, list[str]] = {}
    for name, order in zip(PRIOR_NAMES, (nearest, farthest, chain)):
        ordering = [ITC, *text_only, *order]
        if ordering not in out.values():
            out[name] = ordering
    return out


def prior_orderings(map_dir: str | Path, tasks: list[str]) -> dict[str, list[str]]:
    """Name -> ordering (with ITC) of the auxiliary ``tasks`` by the task map at ``map_dir``."""
    return orderings_from_positions(task_positions(family_centroids(map_dir), list(tasks)), list(tasks))


def prior_stability(map_dirs: Sequence[str | Path], tasks: list[str]) -> dict[str, Any]:
    """How much the prior depends on the map's seed: Kendall's tau between the centrality of the placed
    tasks in every pair of maps, and per prior ordering the share of map pairs that give the same ordering."""
    from scipy.stats import kendalltau

    if len(map_dirs) < 2:
        raise ConfigError("prior stability: at least two maps (of different seeds) are needed")
    spreads, orderings = [], []
    for map_dir in map_dirs:
        positions = task_positions(family_centroids(map_dir), list(tasks))
        spreads.append(centrality(positions))
        every = orderings_from_positions(positions, list(tasks))
        orderings.append({name: every.get(name, every["nearest_first"]) for name in PRIOR_NAMES})
    placed = list(spreads[0])
    taus = []
    for a, b in combinations(range(len(spreads)), 2):
        tau = kendalltau([spreads[a][t] for t in placed], [spreads[b][t] for t in placed]).statistic
        taus.append(float(tau) if np.isfinite(tau) else 0.0)
    pairs = list(combinations(range(len(orderings)), 2))
    return {
        "maps": len(map_dirs),
        "tasks": placed,
        "kendall_tau": taus,
        "kendall_tau_mean": float(np.mean(taus)),
        "kendall_tau_min": float(np.min(taus)),
        "same_ordering_share": {
            name: float(np.mean([orderings[a][name] == orderings[b][name] for a, b in pairs])) for name in PRIOR_NAMES
        },
        "orderings": orderings,
    }


def experiment_orderings(experiment: Any) -> dict[str, list[str]]:
    """Prior name -> ordering of the experiment's tasks by its task map (empty without ``space.ordering_prior``)."""
    space = experiment.space
    if getattr(space, "ordering_prior", "none") == "none":
        return {}
    if not space.task_map:
        raise ConfigError("space.task_map: ordering_prior 'taco' needs the path of a task map")
    return prior_orderings(space.task_map, list(space.tasks))
