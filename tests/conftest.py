"""Shared fixtures: a tiny synthetic dataset generated once per test session."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TINY_N = 240
TINY_PX = 64

#: Fixtures that train for minutes and are shared by several tests: under pytest-xdist (``--dist loadgroup``)
#: every test that uses one runs on the same worker, so each is built once per session, not once per worker.
SHARED_RUNS = {"e2e_run": "e2e-run", "planted": "calibration-miniature"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The Ray end-to-end tests first (the workers start on the long ones, the short ones fill in at the end),
    and every test of a shared run in that run's xdist group (before xdist reads the groups)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    for item in items:
        for fixture, group in SHARED_RUNS.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def _cold_trial_caches():
    """Every test starts with empty per-process trial caches (``curriclip.trainables.cache``), so a test that
    spies on the loader sees every load whatever ran before it in this process."""
    cache = sys.modules.get("curriclip.trainables.cache")
    if cache is not None:
        cache.clear()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """An isolated CURRICLIP_CACHE, so tests never touch the user's cache."""
    path = tmp_path_factory.mktemp("curriclip-cache")
    os.environ["CURRICLIP_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_dataset(cache_dir) -> Path:
    from curriclip.data.sources import resolve

    return resolve("synthetic", n=TINY_N, image_size=TINY_PX, seed=0)


def tiny_trial(dataset: Path, **overrides) -> dict:
    """A trial config small enough to train in about a second on one CPU thread."""
    cfg = {
        "arm": "curriculum",
        "dataset_dir": str(dataset),
        "tasks": ["rotation", "itc", "findings"],
        "pacing": "linear",
        "pacing_params": {"a": 0.5, "b": 0.3},
        "stage_span": 0.5,
        "sparsity": 1.0,
        "epochs": 2,
        "steps_per_epoch": 4,
        "batch_size": 16,
        "eval_batch_size": 64,
        "threads": 1,
        "device": "cpu",
    }
    cfg.update(overrides)
    return cfg


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a run directory whose checkpoint files are hard links: tests that damage a run edit
    only its records and tables, and a full copy of every checkpoint filled CI's disk."""

    def link_checkpoints(source: str, target: str) -> None:
        if "checkpoint_" in Path(source).parent.name:
            try:
                os.link(source, target)
                return
            except OSError:  # another file system: copy
                pass
        shutil.copy2(source, target)

    shutil.copytree(src, dst, copy_function=link_checkpoints)
    return dst
