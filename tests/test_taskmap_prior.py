"""``space.ordering_prior: taco``: the task map's orderings are enqueued first and recorded per trial."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pandas as pd
import pytest

from curriclip.config import parse_experiment
from curriclip.errors import ConfigError
from curriclip.spaces import CurriculumSpace, sparsity_grid
from curriclip.spaces.priors import with_prior_points
from curriclip.taskmap.prior import experiment_orderings, prior_orderings


@pytest.fixture
def task_map(tmp_path):
    """A hand-made map: rotation is near findings, denoising far from both; identity plays no part."""
    centroids = {
        "identity": [1.0, 0.0, 0.0],
        "denoising": [0.95, 0.31, 0.0],
        "findings": [0.3, 0.0, 0.95],
        "rotation": [0.0, 0.2, 0.98],
    }
    rows = []
    for family, vector in centroids.items():
        for index in range(3):
            rows.append(
                {
                    "model": "taco",
                    "set": "eval",
                    "index": index,
                    "family": family,
                    "category": "x",
                    "strength": 0.0,
                    "embedding": list(np.asarray(vector) * (1 + index)),
                }
            )
        rows.append(
            {
                "model": "clip",
                "set": "eval",
                "index": 0,
                "family": family,
                "category": "x",
                "strength": 0.0,
                "embedding": [0.0, 0.0, 1.0],
            }
        )  # ignored: the prior reads TaCo's rows
    directory = tmp_path / "run" / "taskmap"
    directory.mkdir(parents=True)
    pd.DataFrame(rows).to_parquet(directory / "embeddings.parquet", index=False)
    (directory / "metrics.json").write_text(json.dumps({}))
    return directory


def test_orderings_by_distances_between_the_auxiliary_tasks(task_map):
    # mean cosine distance to the others: findings 0.39 < rotation 0.50 < denoising 0.83
    orderings = prior_orderings(task_map.parent, ["rotation", "findings", "denoising", "text_findings"])
    assert orderings == {
        "nearest_first": ["itc", "text_findings", "findings", "rotation", "denoising"],
        "farthest_first": ["itc", "text_findings", "denoising", "rotation", "findings"],
    }  # chain (findings, then its nearest rotation, then denoising) equals nearest_first: listed once


def test_prior_stability_is_kendall_tau_over_maps(task_map, tmp_path):
    from curriclip.taskmap.prior import prior_stability

    table = pd.read_parquet(task_map / "embeddings.parquet")
    swapped = tmp_path / "other" / "taskmap"
    swapped.mkdir(parents=True)
    names = {"findings": "denoising", "denoising": "findings"}  # the most and least central trade places
    table.assign(family=table["family"].map(lambda f: names.get(f, f))).to_parquet(swapped / "embeddings.parquet")
    (swapped / "metrics.json").write_text("{}")
    tasks = ["rotation", "findings", "denoising"]
    same = prior_stability([task_map, task_map, task_map], tasks)
    assert same["kendall_tau"] == [1.0, 1.0, 1.0] and same["same_ordering_share"]["nearest_first"] == 1.0
    mixed = prior_stability([task_map, task_map, swapped], tasks)
    assert mixed["kendall_tau"] == pytest.approx([1.0, -1.0, -1.0])
    assert mixed["same_ordering_share"]["nearest_first"] == pytest.approx(1 / 3)


def _experiment(**space):
    return parse_experiment(
        {
            "name": "prior",
            "space": {
                "tasks": ["rotation", "findings", "denoising"],
                "sparsity": [0.3, 1.0],
                "pacing": ["linear"],
                **space,
            },
            "search": {"num_trials": 6, "seeds": [0]},
        }
    )


def test_ordering_prior_taco_enqueues_its_orderings_first(task_map):
    experiment = _experiment(ordering_prior="taco", task_map=str(task_map))
    orderings = experiment_orderings(experiment)
    points = with_prior_points(experiment, [*experiment.search.points, *sparsity_grid(experiment)], orderings)
    assert len(points) == 6  # merged into the sparsity grid, no extra trials
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for point in points:
        study.enqueue_trial(point)
    space = CurriculumSpace(experiment, "/data", orderings)
    trials = [space(study.ask()) for _ in range(6)]
    nearest = ["itc", "findings", "rotation", "denoising"]
    farthest = ["itc", "denoising", "rotation", "findings"]
    chain = ["itc", "findings", "rotation", "denoising"]
    assert chain == nearest  # so the prior has two distinct orderings
    got = [(t["trial"]["tasks"], t["trial"]["sparsity"], t["prior"]) for t in trials]
    assert got[:4] == [
        (nearest, 0.3, "nearest_first"),
        (nearest, 1.0, "nearest_first"),
        (farthest, 0.3, "farthest_first"),
        (farthest, 1.0, "farthest_first"),
    ]
    assert [prior for _, _, prior in got[4:]] == ["none", "none"]


def test_plain_space_records_no_prior(task_map):
    experiment = _experiment()
    assert experiment_orderings(experiment) == {}
    assert with_prior_points(experiment, [{"sparsity": 0.3}], {}) == [{"sparsity": 0.3}]
    trial = CurriculumSpace(experiment, "/data")(optuna.create_study().ask())
    assert "prior" not in trial


def test_ordering_prior_needs_a_task_map(task_map, tmp_path):
    with pytest.raises(ConfigError, match="space.task_map"):
        experiment_orderings(_experiment(ordering_prior="taco"))
    with pytest.raises(ConfigError, match="not a task map"):
        experiment_orderings(_experiment(ordering_prior="taco", task_map=str(tmp_path / "nowhere")))
    with pytest.raises(ConfigError, match="space.ordering_prior: 'taco' needs its orderings"):
        CurriculumSpace(_experiment(ordering_prior="taco", task_map=str(task_map)), "/data")
