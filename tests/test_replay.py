"""A search replayed over stored curves (``curriclip.search.replay``) decides as the live Ray Tune search does."""

from __future__ import annotations

import hashlib
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from curriclip.config import parse_experiment
from curriclip.search.replay import Curve, GridSpace, TableCurves, config_key, incumbents, replay_search
from curriclip.search.runner import curriculum_searcher, scheduler_for, search_points
from curriclip.spaces import CurriculumSpace, curriculum_trials, search_baselines

METRIC = "retrieval_auc"


class SyntheticCurves:
    """A curve for any config: a quality drawn from a hash of the config, approached epoch by epoch."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def curve(self, cfg: dict) -> Curve:
        digest = hashlib.sha256(repr(config_key(cfg)).encode()).digest()
        quality = 0.5 + 0.4 * digest[0] / 255
        speed = 0.5 + 2.0 * digest[1] / 255
        values = tuple(quality * (1 - math.exp(-speed * epoch)) for epoch in range(1, self.epochs + 1))
        return Curve(values, tuple(1.0 + digest[2 + e] / 255 for e in range(self.epochs)))


def _experiment(tmp_path: Path, **search):
    return parse_experiment(
        {
            "name": "replay",
            "data": {"n": 240, "image_size": 64},
            "training": {"epochs": 6, "steps_per_epoch": 2, "batch_size": 16},
            # pools whole and tasks joined by epoch 2: ASHA judges (and stops) from its second rung
            "space": {"sparsity": [1.0], "pacing": {"linear": {"a": [0.1, 0.2]}}, "stage_span": [0.0, 0.1]},
            "search": {
                "num_trials": 6,
                "seeds": [0],
                "grace_period": 1,
                "reduction_factor": 2,
                "n_startup_trials": 2,
                "max_concurrent": 1,
                **search,
            },
            "storage": str(tmp_path / "runs"),
        }
    )


def _replay(experiment, dataset_dir: str, curves, slots: int = 1):
    baselines = search_baselines(experiment, dataset_dir)
    space = CurriculumSpace(experiment, dataset_dir)
    searcher = curriculum_searcher(experiment, space, baselines, search_points(experiment))
    return replay_search(
        curves,
        searcher,
        scheduler_for(experiment),
        slots=slots,
        study_trials=curriculum_trials(experiment),
        epochs=experiment.training.epochs,
        metric=METRIC,
    )


def test_replay_stops_weak_trials_and_counts_its_compute(tmp_path):
    experiment = _experiment(tmp_path)
    curves = SyntheticCurves(6)
    replay = _replay(experiment, "/data", curves, slots=2)
    epochs = {config_key(f.cfg): f.epochs for f in replay.finished}
    assert len(replay.proposals) == len(replay.finished) == 6 + 12  # 6 curricula, 6 lrs x 2 baseline arms
    assert sum(epochs.values()) == replay.trial_epochs < 18 * 6  # ASHA stopped some trials
    assert min(epochs.values()) == 2  # nothing judged before epoch 2, the latest ready epoch of this space
    for done in replay.finished:  # each ended with what its curve says at that epoch
        assert done.pruned == (done.epochs < 6)
        assert done.value == curves.curve(done.cfg).values[done.epochs - 1]
    curriculum = [f for f in replay.finished if f.cfg["arm"] == "curriculum"]
    assert replay.curriculum_epochs == sum(f.epochs for f in curriculum)
    # two slots: the clock is the longer of two lanes, less than the whole compute in sequence
    serial = sum(sum(curves.curve(f.cfg).times[: f.epochs]) for f in replay.finished)
    assert serial / 2 <= replay.wall < serial
    # the incumbent is the best completed curriculum so far
    ((level, changes),) = incumbents(replay, 6).items()
    best = max((f for f in curriculum if not f.pruned), key=lambda f: f.value)
    assert level == 1.0 and changes[-1][1] == best.cfg


def test_a_configuration_outside_the_table_is_refused(tmp_path):
    experiment = _experiment(tmp_path)
    frame = pd.DataFrame(
        [
            {
                "arm": "single_task",
                "config": 0,
                "level": 1.0,
                "seed": 0,
                "lr": 1e-3,
                "epoch": e,
                METRIC: 0.6,
                "epoch_time_s": 1.0,
                "ordering": "",
                "pacing": "none",
                "a": math.nan,
                "b": math.nan,
                "stage_span": math.nan,
            }
            for e in (1, 2)
        ]
    )
    table = TableCurves(frame, METRIC)
    assert table.curve({"arm": "single_task", "sparsity": 1.0, "seed": 0, "lr": 1e-3}).values == (0.6, 0.6)
    with pytest.raises(KeyError, match="outside the table"):
        _replay(experiment, "/data", table)


def test_grid_space_proposes_only_grid_values(tmp_path):
    import optuna

    experiment = _experiment(tmp_path)
    space = GridSpace(
        CurriculumSpace(experiment, "/data"),
        {"linear_a": [0.1, 0.2], "linear_b": [0.3], "stage_span": [0.0, 0.05, 0.1]},
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(40):
        cfg = space(study.ask())["trial"]
        seen.add((cfg["pacing_params"]["a"], cfg["pacing_params"]["b"], cfg["stage_span"]))
    assert {a for a, _, _ in seen} == {0.1, 0.2} and {b for _, b, _ in seen} == {0.3}
    assert {s for _, _, s in seen} == {0.0, 0.05, 0.1}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_replay_decides_as_the_live_ray_tune_search(tmp_path, tiny_dataset):
    """The same experiment through Ray Tune, with a trainable that reports the synthetic curves: the replay
    proposes the same configurations and stops each at the same epoch."""
    import ray
    from ray import cloudpickle, tune

    from curriclip.search.runner import run_search_phase

    experiment = _experiment(tmp_path)
    log = tmp_path / "live.jsonl"
    cloudpickle.register_pickle_by_value(sys.modules[__name__])

    def reporting(config: dict) -> None:
        cfg = config["trial"]
        curve = SyntheticCurves(cfg["epochs"]).curve(cfg)
        for epoch in range(1, cfg["epochs"] + 1):
            with log.open("a") as out:
                out.write(json.dumps({"key": repr(config_key(cfg)), "epoch": epoch}) + "\n")
            tune.report({"epoch": epoch, METRIC: curve.values[epoch - 1]})

    try:
        _, run, total = run_search_phase(experiment, trainable=reporting)
    finally:
        ray.shutdown()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    live: dict[str, int] = {}
    for line in lines:
        live[line["key"]] = max(live.get(line["key"], 0), line["epoch"])
    started = list(dict.fromkeys(line["key"] for line in lines))

    dataset_dir = json.loads((Path(run.path) / "run.json").read_text())["dataset_dir"]
    replay = _replay(experiment, dataset_dir, SyntheticCurves(6))
    replayed = {repr(config_key(f.cfg)): f.epochs for f in replay.finished}
    assert len(live) == total == 18
    assert [repr(config_key(cfg)) for cfg in replay.proposals] == started  # the same configurations, in order
    assert replayed == live  # each stopped at the same epoch
    assert 6 * 18 > sum(live.values())  # and the live search did stop some
