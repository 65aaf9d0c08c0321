"""Driver memory over a long search: resident set size of the driver across a 500-trial no-op search.

    python benchmarks/bench_driver_rss.py [--trials 500] [--concurrency 2]

Runs ``curriclip.pipeline.run_search`` with curriclip's searcher (Optuna, the
baseline queue, the per-level scheduler), progress output and exports, and a no-op
trainable (one report per trial, as in ``bench_search_overhead.py``), so what grows is
the search machinery's, not the trials'. The driver's RSS is sampled each time a trial
completes (through the progress callback) and once after the export; the table gives it
per 100 finished trials, with the growth per 100 trials in between. Ray issue #64231
reports linear driver RSS growth over long Tune runs.

``--trace`` (slower) also follows Python allocations with ``tracemalloc`` from the first
row to the end of the search (not the export) and prints the call sites whose live memory
grew most: where the growth is, if there is any.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import tracemalloc
from pathlib import Path


def noop(config: dict) -> None:
    from ray import tune

    tune.report({"clip_score": 0.5, "epoch": 1})


def row(sample: tuple[int, float, float], previous: tuple[int, float, float] | None) -> str:
    finished, rss, seconds = sample
    growth = "" if previous is None else f"{(rss - previous[1]) / (finished - previous[0]) * 100:+.1f}"
    return f"RSS {finished:16d} {rss:9.0f} {growth:>18s} {seconds:7.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--every", type=int, default=100, help="trials between rows of the table")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: where live Python memory grew")
    args = parser.parse_args()
    os.environ.setdefault("CURRICLIP_CACHE", tempfile.mkdtemp(prefix="curriclip-bench-"))
    import optuna
    import psutil

    from curriclip.cluster import init_ray
    from curriclip.config import parse_experiment
    from curriclip.data.sources import resolve
    from curriclip.pipeline import run_search
    from curriclip.rundir import progress
    from curriclip.spaces import search_baselines

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    process = psutil.Process()
    samples: list[tuple[int, float, float]] = []  # (trials finished, RSS MiB, seconds since start)
    snapshots: list[tracemalloc.Snapshot] = []
    started = time.perf_counter()
    complete = progress.ProgressPrinter.on_trial_complete

    def sampled(self, *a, **k):
        complete(self, *a, **k)
        samples.append((len(samples) + 1, process.memory_info().rss / 2**20, time.perf_counter() - started))
        if samples[-1][0] % args.every == 0:  # as it goes, so a cut-short run still tells
            print(row(samples[-1], samples[-1 - args.every] if len(samples) > args.every else None), flush=True)
            if args.trace and not snapshots:  # from here on: tracing every allocation is slow
                tracemalloc.start(8)
                snapshots.append(tracemalloc.take_snapshot())

    progress.ProgressPrinter.on_trial_complete = sampled
    init_ray(None)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    base = parse_experiment(
        {
            "name": "rss",
            "storage": tempfile.mkdtemp(prefix="curriclip-bench-rss-"),
            "data": {"n": 200, "image_size": 32},
            "training": {"epochs": 1},
            "space": {"sparsity": [1.0]},
            "search": {"num_trials": args.trials, "seeds": [0], "max_concurrent": args.concurrency},
            "protocol": {"confirm_seeds": 0, "tuning": "fixed"},  # the search phase; baselines at training.lr
        }
    )
    fixed = len(search_baselines(base, "/d"))
    experiment = base.model_copy(update={"search": base.search.model_copy(update={"num_trials": args.trials - fixed})})
    resolve("synthetic", n=200, image_size=32, seed=0)
    rss_start = process.memory_info().rss / 2**20
    from curriclip import pipeline

    finish = pipeline.publish

    def traced_finish(*a, **k):  # the search's end, before the export
        if snapshots:
            snapshots.append(tracemalloc.take_snapshot())
            tracemalloc.stop()
        return finish(*a, **k)

    pipeline.publish = traced_finish
    run_search(experiment, trainable=noop)
    rss_exported = process.memory_info().rss / 2**20
    if snapshots:
        grown = snapshots[-1].compare_to(snapshots[0], "traceback")
        print(f"live Python memory that grew most after trial {args.every} (tracemalloc):")
        for stat in grown[:8]:
            frames = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in list(stat.traceback)[::-1][:4])
            print(f"  {stat.size_diff / 2**20:+7.2f} MiB {stat.count_diff:+8d} blocks  {frames}")

    print(f"driver RSS before the search: {rss_start:.0f} MiB")
    print(f"RSS {'trials finished':>16s} {'RSS MiB':>9s} {'+MiB / 100 trials':>18s} {'s':>7s}")
    previous = None
    for sample in samples:
        if sample[0] % args.every == 0 or sample[0] == len(samples):
            print(row(sample, previous))
            previous = sample
    print(f"RSS {'after export':>16s} {rss_exported:9.0f}")


if __name__ == "__main__":
    main()
