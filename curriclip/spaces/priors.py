"""Orderings a prior suggests (e.g. the TaCo task map's, ``space.ordering_prior``), as points of the space.

The space knows no map: it is handed the prior's orderings (name -> ordering with ITC),
encodes each in its own parameters (Lehmer code or random keys), merges them into the
first points of the search, and labels each trial with the prior ordering it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from curriclip.config import ExperimentConfig
from curriclip.names import ITC
from curriclip.spaces.permutations import lehmer_encode

#: The label of a trial whose ordering no prior suggested.
NOT_FROM_PRIOR = "none"


def ordering_params(ordering: list[str], items: list[str], encoding: str) -> dict[str, Any]:
    """The Optuna parameters of the curriculum space that decode to ``ordering`` (see curriclip.spaces)."""
    if encoding == "lehmer":
        return {f"order_{i}": digit for i, digit in enumerate(lehmer_encode(ordering, items))}
    return {f"key_{task}": (ordering.index(task) + 0.5) / len(items) for task in items}


def prior_params(experiment: ExperimentConfig, orderings: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Prior name -> Optuna parameters of its ordering of the experiment's tasks."""
    items = [ITC, *experiment.space.tasks]
    encoding = experiment.space.ordering_encoding
    return {name: ordering_params(list(order), items, encoding) for name, order in orderings.items()}


def with_prior_points(
    experiment: ExperimentConfig, points: list[dict], orderings: Mapping[str, list[str]]
) -> list[dict]:
    """``points`` with the prior orderings merged in first, each at every sparsity level of the grid.

    User points (``search.points``) stay first and untouched; the prior orderings are
    merged into the following (sparsity-grid) points round-robin, so with L levels and P
    orderings the first P x L grid points try every ordering at every level. When the
    sparsity is searched (no grid) the orderings are added as points of their own.
    """
    priors = list(prior_params(experiment, orderings).values())
    if not priors:
        return points
    user = len(experiment.search.points)
    head, grid = list(points[:user]), [dict(p) for p in points[user:]]
    if not grid:
        return head + [dict(p) for p in priors]
    levels = max(1, len(experiment.space.sparsity)) if experiment.space.sparsity_axis == "grid" else 1
    for i in range(min(len(grid), len(priors) * levels)):
        grid[i].update(priors[i // levels])
    return head + grid


def prior_name(params: dict[str, Any], priors: dict[str, dict[str, Any]]) -> str:
    """Which prior ordering a trial's ordering parameters are (``none`` when drawn by the sampler).

    Random keys match exactly only when enqueued (the sampler draws continuous keys); with
    Lehmer codes a sampled trial that happens to pick a prior ordering is labelled with it too.
    """
    for name, wanted in priors.items():
        if all(key in params and abs(float(params[key]) - float(value)) < 1e-12 for key, value in wanted.items()):
            return name
    return NOT_FROM_PRIOR
