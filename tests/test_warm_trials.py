"""Warm trial processes: a trial computes in a reused process exactly what it computes in a fresh one.

A process that served other trials first (Ray Tune's actor reuse) keeps its imports and
per-process caches (``curriclip.trainables.cache``); these tests construct the cases
where a leak from one trial into the next would show: a trial that masks labels and
shuffles pairs before one that must see the unmodified data, trials that draw different
amounts from the generators and leave global settings changed, a model trained in
place after it came from the cache.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_trial

from curriclip.config import TrialConfig
from curriclip.trainables import cache
from curriclip.trainables.data import load_trial_data
from curriclip.trainables.loop import run_trial

ROOT = Path(__file__).resolve().parents[1]


def _comparable(reports: list[dict]) -> str:
    """The reports without wall-clock times, as JSON (NaN compares equal to NaN there)."""
    kept = [{k: v for k, v in r.items() if not k.endswith("time_s") and k != "timing"} for r in reports]
    return json.dumps(kept, sort_keys=True)


def _run(cfg: dict) -> list[dict]:
    reports: list[dict] = []
    run_trial(TrialConfig.model_validate(cfg), lambda metrics, state: reports.append(metrics))
    return reports


def _leaky_trial(dataset: Path) -> dict:
    """The shuffled-pairs control with half of the labels masked, another seed and more steps: it modifies its
    training rows (texts re-paired, labels set to NaN) and draws more from every generator than trial A."""
    return tiny_trial(
        dataset,
        arm="shuffled_control",
        tasks=["itc"],
        pacing="none",
        pacing_params={},
        seed=3,
        label_fraction=0.5,
        sparsity_mode="labels",
        steps_per_epoch=6,
    )


def _fresh_process_reports(cfg: dict) -> str:
    code = (
        "import json, sys\n"
        "from curriclip.config import TrialConfig\n"
        "from curriclip.trainables.loop import run_trial\n"
        "reports = []\n"
        "run_trial(TrialConfig.model_validate(json.loads(sys.argv[1])), lambda m, s: reports.append(m))\n"
        "print(json.dumps(reports))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(cfg)], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return _comparable(json.loads(done.stdout.strip().splitlines()[-1]))


def _disturb_process_state() -> None:
    """What a careless trial could leave behind: drawn generators, other threads, non-deterministic algorithms."""
    torch.rand(1000)
    np.random.rand(1000)
    random.random()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(False)


def test_reused_process_matches_a_fresh_process(tiny_dataset):
    """A, then a trial that modifies its data and draws more, then A again: both A's equal A in a fresh process,
    and the second A really came from the caches (dataset, model and untrained metrics)."""
    trial_a = tiny_trial(tiny_dataset, tasks=["rotation", "itc", "findings"])
    fresh = _fresh_process_reports(trial_a)
    cache.clear()
    first = _comparable(_run(trial_a))
    _run(_leaky_trial(tiny_dataset))
    _disturb_process_state()
    hits = (cache.SPLITS.hits, cache.MODELS.hits, cache.UNTRAINED.hits)
    again = _comparable(_run(trial_a))
    assert first == fresh
    assert again == fresh
    assert cache.SPLITS.hits - hits[0] == 1  # the training and held-out rows
    assert cache.MODELS.hits - hits[1] == 1
    assert cache.UNTRAINED.hits - hits[2] == 1
    assert torch.are_deterministic_algorithms_enabled() and torch.get_num_threads() == 1


def test_a_trial_never_modifies_the_cached_dataset(tiny_dataset, monkeypatch):
    """The leaky trial's data is re-paired and label-masked; the next trial's data equals a cold load."""
    cache.clear()
    leaky = TrialConfig.model_validate(_leaky_trial(tiny_dataset))
    plain = TrialConfig.model_validate(tiny_trial(tiny_dataset, tasks=["itc", "findings"]))
    tokenizer = lambda texts: torch.zeros(len(texts), 4, dtype=torch.long)  # noqa: E731
    modified = load_trial_data(leaky, 64, tokenizer).train
    warm = load_trial_data(plain, 64, tokenizer).train
    monkeypatch.setenv(cache.CACHE_ENV, "0")
    cold = load_trial_data(plain, 64, tokenizer).train
    assert cache.SPLITS.hits == 1 and cache.SPLITS.misses == 1  # the cold load bypassed the cache
    assert modified.texts != cold.texts and torch.isnan(modified.labels).sum() > torch.isnan(cold.labels).sum()
    assert warm.texts == cold.texts and warm.findings == cold.findings
    assert torch.equal(torch.isnan(warm.labels), torch.isnan(cold.labels))
    assert torch.equal(torch.nan_to_num(warm.labels), torch.nan_to_num(cold.labels))
    assert torch.equal(warm.images[np.arange(len(warm))], cold.images[np.arange(len(cold))])


def test_cached_splits_are_handed_out_as_private_copies(tiny_dataset):
    """Writing into every field of one copy (in place) leaves the next copy equal to the dataset on disk."""
    from curriclip.data.heldout import load_phase_splits

    cache.clear()
    needs = {"text", "labels"}
    args = (str(tiny_dataset), "search", 64, needs, 0.1)
    taken, taken_held_out = cache.open_phase_splits(*args)
    for split in (taken, taken_held_out):
        split.labels[:] = float("nan")
        split.texts.reverse()
        split.findings[0] = "changed"
        split.sample_ids[0] = "changed"
        split.difficulty[:] = -1
        split.images.rows[:] = 0
    again = cache.open_phase_splits(*args)
    disk = load_phase_splits(*args)
    assert cache.SPLITS.hits == 1 and cache.SPLITS.misses == 1
    for mine, theirs in zip(again, disk):
        assert mine.texts == theirs.texts and mine.findings == theirs.findings
        assert list(mine.sample_ids) == list(theirs.sample_ids)
        assert np.array_equal(mine.difficulty, theirs.difficulty)
        assert torch.equal(torch.nan_to_num(mine.labels, 7.0), torch.nan_to_num(theirs.labels, 7.0))
        assert torch.equal(mine.images[np.arange(len(mine))], theirs.images[np.arange(len(theirs))])


def test_cached_model_build_leaves_generators_where_building_would(tiny_dataset, monkeypatch):
    """A cache hit returns weights equal to a fresh build and the generators' state after it, even after the
    previous copy was trained in place; a different random state is a different key."""
    from curriclip.models import build_clip

    cache.clear()

    def build(seed: int):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        model, _, _ = cache.built_model("tiny", None, lambda: build_clip("tiny"))
        return model, torch.get_rng_state(), torch.rand(3)

    monkeypatch.setenv(cache.CACHE_ENV, "0")
    reference, reference_state, reference_draw = build(0)
    monkeypatch.delenv(cache.CACHE_ENV)
    first, _, _ = build(0)
    with torch.no_grad():
        for parameter in first.parameters():
            parameter.add_(1.0)  # a trial training its copy
    second, state, draw = build(0)
    other, _, _ = build(1)
    assert cache.MODELS.hits == 1 and cache.MODELS.misses == 2
    assert torch.equal(state, reference_state) and torch.equal(draw, reference_draw)
    for mine, theirs in zip(second.state_dict().values(), reference.state_dict().values()):
        assert torch.equal(mine, theirs)
    assert not all(torch.equal(a, b) for a, b in zip(other.state_dict().values(), reference.state_dict().values()))


def test_untrained_metrics_key_follows_the_weights(tiny_dataset):
    """Two seeds give different untrained models, so different cache entries (never one seed's metrics for both)."""
    cache.clear()
    one = _run(tiny_trial(tiny_dataset, tasks=["itc"], pacing="none", pacing_params={}, arm="single_task", epochs=1))
    two = _run(
        tiny_trial(tiny_dataset, tasks=["itc"], pacing="none", pacing_params={}, arm="single_task", epochs=1, seed=1)
    )
    assert cache.UNTRAINED.misses == 2 and cache.UNTRAINED.hits == 0
    assert one[0]["init_clip_score"] != two[0]["init_clip_score"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ray_reuses_the_trial_process(tiny_dataset, tmp_path):
    """Through Ray Tune with ``reuse_actors``: A, B, A run in one process, and the two A's report the same."""
    import ray
    from ray import tune

    from curriclip.trainables.tune_trainable import curriclip_trainable

    trial_a = tiny_trial(tiny_dataset, tasks=["rotation", "itc", "findings"])
    configs = [trial_a, _leaky_trial(tiny_dataset), trial_a]
    ray.init(address="local", num_cpus=1, include_dashboard=False, logging_level="ERROR")
    try:
        tuner = tune.Tuner(
            tune.with_resources(curriclip_trainable, {"cpu": 1}),
            param_space={"trial": tune.grid_search(configs)},
            tune_config=tune.TuneConfig(reuse_actors=True, max_concurrent_trials=1),
            run_config=tune.RunConfig(storage_path=str(tmp_path), name="reuse", verbose=0),
        )
        results = tuner.fit()
    finally:
        ray.shutdown()
    histories = [results[i].metrics_dataframe for i in range(3)]
    order = sorted(range(3), key=lambda i: histories[i]["timing/entered_at"].iloc[0])
    served = [int(histories[i]["timing/trial_in_process"].iloc[0]) for i in order]
    assert served == [1, 2, 3]  # one process served all three
    a_runs = [i for i in order if results[i].config["trial"]["arm"] == "curriculum"]
    kept = [c for c in histories[0].columns if c.endswith("clip_score") or c.startswith("loss")]
    assert kept and histories[a_runs[0]][kept].equals(histories[a_runs[1]][kept])


def test_a_trial_without_threads_gets_the_process_default_not_the_last_trials(tiny_dataset, monkeypatch):
    """``threads: null`` means the process's own default, whatever the trial before set."""
    from curriclip.trainables.parallel import DataParallel
    from curriclip.trainables.trial import PROCESS_THREADS, seed_everything

    monkeypatch.delenv("CURRICLIP_THREADS", raising=False)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(PROCESS_THREADS + 3)  # what an earlier trial of this process left
        seed_everything(TrialConfig.model_validate(tiny_trial(tiny_dataset, threads=None)), DataParallel())
        assert torch.get_num_threads() == PROCESS_THREADS
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("every_s", "checkpointed"), [(0.0, [1, 2, 3]), (1e9, [3])])
def test_checkpoints_after_the_last_epoch_and_when_the_interval_has_passed(monkeypatch, every_s, checkpointed):
    """``training.checkpoint_every_s``: 0 checkpoints every epoch; a long interval only the final state."""
    from curriclip.trainables import tune_trainable

    reports = []
    monkeypatch.setattr(
        tune_trainable.tune, "report", lambda metrics, checkpoint=None: reports.append((metrics, checkpoint))
    )
    report = tune_trainable._reporter({}, epochs=3, every_s=every_s)
    states = []
    for epoch in (1, 2, 3):
        report({"epoch": epoch}, lambda epoch=epoch: states.append(epoch) or {"epoch": epoch})
    assert [m["epoch"] for m, c in reports if c is not None] == checkpointed == states
    assert [m["epoch"] for m, _ in reports] == [1, 2, 3] and all("timing" in m for m, _ in reports)


def test_pbt_checkpoints_every_epoch_whatever_the_interval():
    """PBT restores trials from checkpoints at its perturbations: the interval does not apply to it."""
    from curriclip.presets import preset_experiment
    from curriclip.rundir.launch import checkpoint_interval

    pbt = preset_experiment("smoke", {"search": {"scheduler": "pbt"}, "training": {"checkpoint_every_s": 600}})
    asha = preset_experiment("smoke", {"training": {"checkpoint_every_s": 600}})
    assert checkpoint_interval(pbt) == 0.0 and checkpoint_interval(asha) == 600.0
