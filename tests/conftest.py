"""Shared fixtures: a tiny synthetic dataset generated once per test session."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TINY_N = 240
TINY_PX = 64


#: The test files that take longest (minutes each on 2 cores): scheduled first, so they do not end the session alone
LONGEST_FIRST = ("test_search_e2e.py", "test_calibration_miniature.py", "test_search_lifecycle_e2e.py")


def pytest_collection_modifyitems(config, items):
    """The longest files first, then the other Ray end-to-end tests, then the unit tests that fill in at the end.

    Under pytest-xdist (``--dist loadfile --no-loadscope-reorder``, pyproject.toml) a test file runs on one
    worker, in this order, so a module's or session's shared run (``e2e_run``, the calibration miniature's runs)
    is built once, not once per worker.
    """

    def rank(item) -> tuple[int, int]:
        name = item.path.name
        longest = LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
        return (item.get_closest_marker("slow") is None, longest)

    items.sort(key=rank)


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
