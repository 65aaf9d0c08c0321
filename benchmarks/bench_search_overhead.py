"""Search machinery overhead: 100 no-op trials through curriclip, bare Ray Tune, and Tune + stock OptunaSearch.

    python benchmarks/bench_search_overhead.py [--trials 100]

All three run in one Ray instance on this machine, one after another, with the same
no-op trainable (one report per trial), the same concurrency and local storage, so the
times differ only by the search machinery: curriclip's define-by-run space, baseline
queue, SQLite-backed study, per-level scheduler, progress output and Parquet/HTML export.
Goal: curriclip within 1.15x of bare Ray Tune.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time


def noop(config: dict) -> None:
    from ray import tune

    tune.report({"clip_score": 0.5, "epoch": 1})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("CURRICLIP_CACHE", tempfile.mkdtemp(prefix="curriclip-bench-"))
    import optuna
    import ray
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    from curriclip.cluster import init_ray
    from curriclip.config import parse_experiment
    from curriclip.pipeline import run_search

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    init_ray(None)
    logging.getLogger("ray.tune").setLevel(logging.ERROR)
    storage = tempfile.mkdtemp(prefix="curriclip-bench-runs-")
    times = {}

    def bare(search_alg=None, name="bare"):
        space = {"x": tune.uniform(0, 1), "y": tune.choice(["a", "b", "c"])}
        tuner = tune.Tuner(
            noop,
            param_space=space,
            tune_config=tune.TuneConfig(
                num_samples=args.trials,
                search_alg=search_alg,
                max_concurrent_trials=args.concurrency,
                metric=None if search_alg else "clip_score",
                mode=None if search_alg else "max",
            ),
            run_config=tune.RunConfig(name=name, storage_path=storage, verbose=0),
        )
        start = time.perf_counter()
        tuner.fit()
        return time.perf_counter() - start

    bare(name="warmup")  # not timed: the first fit pays for Ray's worker pool start-up
    times["bare Ray Tune"] = bare()
    times["Ray Tune + OptunaSearch"] = bare(OptunaSearch(metric="clip_score", mode="max"), "optuna")

    base = parse_experiment(
        {
            "name": "curriclip",
            "storage": storage,
            "data": {"n": 200, "image_size": 32},
            "training": {"epochs": 1},
            "space": {"sparsity": [1.0]},
            "search": {"num_trials": args.trials, "seeds": [0], "max_concurrent": args.concurrency},
            # the search machinery alone: one fixed single-task baseline, no confirm phase
            "protocol": {"tuning": "fixed", "confirm_seeds": 0, "arms": ["single_task", "curriculum"]},
        }
    )
    from curriclip.spaces import search_baselines

    fixed = len(search_baselines(base, "/d"))
    experiment = base.model_copy(update={"search": base.search.model_copy(update={"num_trials": args.trials - fixed})})
    from curriclip.data.sources import resolve

    resolve("synthetic", n=200, image_size=32, seed=0)  # not timed: data generation is not search overhead
    start = time.perf_counter()
    run_search(experiment, trainable=noop)
    times["curriclip (search + export + report)"] = time.perf_counter() - start
    ray.shutdown()

    reference = times["bare Ray Tune"]
    for name, seconds in times.items():
        print(f"{name:40s} {seconds:7.1f} s   {seconds / reference:5.2f}x bare Ray Tune")


if __name__ == "__main__":
    main()
