"""A synchronous search keeps all its warm trial processes while it holds a proposal back.

Without ``keep_idle_processes`` Ray Tune keeps one idle process when no trial waits,
which a synchronous search guarantees whenever it holds a proposal back (under the
batch rule, at every barrier): every other trial of the search then started a fresh
process. The cache rule is checked directly against Ray's own class, and end to end by
counting the processes a real search's trials ran in.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest
from ray.tune.utils.object_cache import _ObjectCache

from curriclip.search.idle_processes import idle_cache_class, keep_idle_processes


def test_ray_keeps_one_idle_object_and_the_swap_keeps_up_to_the_slots():
    ray_cache, ours = _ObjectCache(may_keep_one=True), idle_cache_class(_ObjectCache, 2)(may_keep_one=True)
    for cache in (ray_cache, ours):
        for name in ("a", "b", "c"):
            cache.cache_object("cpu1", name)
    assert ray_cache.num_cached_objects == 1  # what a batch barrier loses without the swap
    assert ours.num_cached_objects == 2  # one per slot, not more
    assert list(ours.flush_cached_objects()) == [] and ours.num_cached_objects == 2  # kept while the search runs
    ours.increase_max("cpu1", 2)  # the next batch is staged and takes both
    assert [ours.pop_cached_object("cpu1"), ours.pop_cached_object("cpu1")] == ["a", "b"]
    ours.decrease_max("cpu1", 2)
    for name in ("a", "b"):
        ours.cache_object("cpu1", name)
    assert sorted(ours.flush_cached_objects(force_all=True)) == ["a", "b"]  # the search ended: all evicted


def test_idle_processes_never_hold_what_another_resource_shape_waits_for():
    cache = idle_cache_class(_ObjectCache, 2)(may_keep_one=True)
    cache.cache_object("cpu1", "a")
    cache.cache_object("cpu1", "b")
    cache.increase_max("gpu1", 1)  # a trial of another shape is staged
    assert sorted(cache.flush_cached_objects()) == ["a", "b"]
    assert not cache.cache_object("cpu1", "c")  # and no new idle process of the old shape is kept for it


def test_the_swap_lasts_for_the_block_only():
    from ray.tune.execution import tune_controller

    before = tune_controller._ObjectCache
    with keep_idle_processes(2) as swapped:
        assert swapped and tune_controller._ObjectCache.__name__ == "KeepIdle2"
    assert tune_controller._ObjectCache is before
    with keep_idle_processes(1) as swapped:  # one slot: Ray's own rule already keeps it
        assert not swapped and tune_controller._ObjectCache is before


def test_another_rays_cache_is_left_alone(monkeypatch):
    from ray.tune.execution import tune_controller

    class OtherCache:  # a Ray whose cache keeps its state elsewhere
        def __init__(self, may_keep_one: bool = True) -> None:
            self.objects: dict = {}

    monkeypatch.setattr(tune_controller, "_ObjectCache", OtherCache)
    with keep_idle_processes(2) as swapped:
        assert not swapped and tune_controller._ObjectCache is OtherCache
    monkeypatch.undo()
    monkeypatch.setenv("CURRICLIP_KEEP_IDLE_PROCESSES", "0")
    with keep_idle_processes(2) as swapped:  # switched off: Ray's rule
        assert not swapped and tune_controller._ObjectCache is _ObjectCache


#: where trials claim their start number (set by the test; the trial function travels by value with it)
_CLAIMS: list[str] = []


def _pid_trial(config: dict) -> None:
    """4 s for the 1st, 3rd, ... trial to start, 1 s for the others (each longer than a process start), so that
    a trial ends before the one started before it and the next proposal waits with no trial pending."""
    from ray import tune

    started = time.time()
    number = 0
    while True:  # claim the next start number
        try:
            os.close(os.open(os.path.join(_CLAIMS[0], str(number)), os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            number += 1
    time.sleep(4.0 if number % 2 == 0 else 1.0)
    tune.report({"clip_score": 0.5, "epoch": 1, "pid": os.getpid(), "started": started, "ended": time.time()})


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_synchronous_search_runs_every_trial_in_the_first_two_processes(tmp_path, monkeypatch):
    import ray
    from ray import cloudpickle

    from curriclip.config import parse_experiment
    from curriclip.pipeline import run_search

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # trial processes cannot import a test module
    (tmp_path / "claims").mkdir()
    monkeypatch.setattr(sys.modules[__name__], "_CLAIMS", [str(tmp_path / "claims")])
    monkeypatch.setenv("CURRICLIP_CACHE", str(tmp_path / "cache"))
    experiment = parse_experiment(
        {
            "name": "sync",
            "storage": str(tmp_path / "runs"),
            "data": {"n": 120, "image_size": 32},
            "training": {"epochs": 1},
            "space": {"sparsity": [1.0]},
            "search": {"num_trials": 6, "seeds": [0], "max_concurrent": 2, "scheduler": "fifo", "metric": "clip_score"},
            "protocol": {"tuning": "fixed", "confirm_seeds": 0, "arms": ["single_task", "curriculum"]},
        },
        source="test",
    )
    assert experiment.protocol.synchronous
    try:
        run_search(experiment, trainable=_pid_trial)
    finally:
        ray.shutdown()
    results = [json.loads(p.read_text().splitlines()[-1]) for p in (tmp_path / "runs" / "sync").glob("*/result.json")]
    assert len(results) == 7  # one fixed single-task baseline and six curricula, two at a time
    spans = sorted((r["started"], r["ended"]) for r in results)
    # the premise: a trial ended before the one started before it, so the next proposal waited with no trial pending
    relative = [(round(start - spans[0][0], 1), round(end - spans[0][0], 1)) for start, end in spans]
    assert any(later[1] < earlier[1] for earlier, later in zip(spans, spans[1:])), relative
    assert len({r["pid"] for r in results}) == 2  # Ray alone: a fresh process at every held-back proposal


@pytest.mark.parametrize(
    "replacement",
    [
        pytest.param(None, id="class-removed"),
        pytest.param(type("NoFields", (), {}), id="fields-renamed"),
        pytest.param(
            type("Raises", (), {"__init__": lambda self: (_ for _ in ()).throw(TypeError("new signature"))}),
            id="constructor-changed",
        ),
    ],
)
def test_a_changed_ray_disables_the_swap_with_one_warning(monkeypatch, caplog, replacement):
    from ray.tune.execution import tune_controller

    from curriclip.search import idle_processes

    idle_processes._warn_unexpected_cache.cache_clear()
    monkeypatch.setattr(tune_controller, "_ObjectCache", replacement, raising=False)
    with caplog.at_level("WARNING", logger=idle_processes.__name__):
        for _ in range(2):
            with keep_idle_processes(2) as kept:
                assert kept is False
                assert tune_controller._ObjectCache is replacement  # Ray left as it is
    assert [r.message for r in caplog.records].count(
        "curriclip: this Ray's actor cache is not the expected one; idle processes are not kept"
    ) == 1
