"""Launch and resume searches: Ray Tune's Tuner + the curriculum searcher + arm-aware ASHA.

A run directory ``<storage>/<name>/`` holds Ray Tune's experiment state (which
``Tuner.restore`` resumes), ``experiment.yaml`` (the validated experiment as run),
``run.json`` (the resolved dataset), and after each fit ``trials.parquet``,
``epochs.parquet`` and ``report.html``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from curriclip.config import ExperimentConfig, parse_experiment
from curriclip.data.sources import resolve as resolve_dataset
from curriclip.errors import ConfigError, CurriclipError
from curriclip.search.storage import RunLocation, is_uri, join

RUN_FILE = "run.json"
OPTUNA_DB = "optuna.db"
EXPERIMENT_FILE = "experiment.yaml"


@dataclass
class SearchOutcome:
    run_dir: str  # local path or URI
    finished: int
    total: int
    errored: int

    @property
    def complete(self) -> bool:
        return self.finished >= self.total


def _init_ray(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    # Each trial keeps one checkpoint, which forces a state snapshot per epoch: expected, not a bottleneck here.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    kwargs = dict(include_dashboard=False, configure_logging=True, logging_level="WARNING", log_to_driver=True)
    try:
        # Without --address or RAY_ADDRESS (set by `ray job submit`) start a local Ray: never attach silently
        # to a cluster that some earlier `ray start` on this machine left behind (or that has died since).
        address = address or os.environ.get("RAY_ADDRESS") or "local"
        ray.init(address=address, **kwargs)
    except ConnectionError as exc:
        raise CurriclipError(f"--address {address}: cannot connect to a Ray cluster ({exc})") from None


def _concurrency(experiment: ExperimentConfig) -> int:
    """How many trials fit the cluster at once; a clear error if a trial can never fit.

    A trial takes ``workers_per_trial`` x (``cpus_per_trial``, ``gpus_per_trial``): its
    own process when it has one worker, its Ray Train workers otherwise (whose driver
    takes no CPU). Tune never starts more trials than this, so a data-parallel trial's
    workers, which Ray Train reserves outside Tune, always find their resources.
    """
    import ray

    resources = ray.cluster_resources()
    cpus, gpus = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
    r = experiment.resources
    workers = r.workers_per_trial
    if r.gpus_per_trial > 0 and gpus <= 0:
        raise ConfigError("resources.gpus_per_trial: trials ask for GPUs but the Ray cluster has none")
    if r.cpus_per_trial > cpus:
        raise ConfigError(f"resources.cpus_per_trial: {r.cpus_per_trial} exceeds the cluster's {cpus:g} CPUs")
    if r.gpus_per_trial > gpus:
        raise ConfigError(f"resources.gpus_per_trial: {r.gpus_per_trial:g} exceeds the cluster's {gpus:g} GPUs")
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive", True)]
    if nodes and not any(
        n.get("CPU", 0.0) >= r.cpus_per_trial and n.get("GPU", 0.0) >= r.gpus_per_trial for n in nodes
    ):
        raise ConfigError(
            f"resources: no node of the Ray cluster has {r.cpus_per_trial:g} CPUs and {r.gpus_per_trial:g} GPUs "
            "for one trial (one worker)"
        )
    if workers * r.cpus_per_trial > cpus or workers * r.gpus_per_trial > gpus:
        raise ConfigError(
            f"resources.workers_per_trial: {workers} workers x ({r.cpus_per_trial:g} CPUs, {r.gpus_per_trial:g} GPUs) "
            f"exceed the cluster's {cpus:g} CPUs and {gpus:g} GPUs"
        )
    eps = 1e-9  # 0.7 / 0.1 is 6.999...: count a trial that fits exactly
    fit = math.floor(cpus / (workers * r.cpus_per_trial) + eps)
    if r.gpus_per_trial > 0:
        fit = min(fit, math.floor(gpus / (workers * r.gpus_per_trial) + eps))
    if experiment.search.max_concurrent:
        fit = min(fit, experiment.search.max_concurrent)
    return max(1, fit)


def _trainable(experiment: ExperimentConfig):
    """Ray Tune's trainable with its resources: one process per trial, or a driver of Ray Train workers."""
    from ray import tune

    r = experiment.resources
    if r.workers_per_trial > 1:
        from curriclip.trainables.tune_trainable import DRIVER_RESOURCES, data_parallel_trainable

        trainable = data_parallel_trainable(r.workers_per_trial, r.cpus_per_trial, r.gpus_per_trial)
        return tune.with_resources(trainable, DRIVER_RESOURCES)

    from curriclip.trainables.tune_trainable import curriclip_trainable

    return tune.with_resources(curriclip_trainable, {"cpu": r.cpus_per_trial, "gpu": r.gpus_per_trial})


def trial_dirname(trial) -> str:
    """Short trial directory names (Ray's default embeds every parameter)."""
    return f"trial_{trial.trial_id}"


def _run_config(experiment: ExperimentConfig, name: str, storage: Path, total: int):
    from ray import tune

    from curriclip.search.progress import ProgressPrinter

    return tune.RunConfig(
        name=name,
        storage_path=str(storage),
        # PBT copies a stronger trial's latest checkpoint while that trial trains on: keep a few
        checkpoint_config=tune.CheckpointConfig(num_to_keep=3 if experiment.search.scheduler == "pbt" else 1),
        failure_config=tune.FailureConfig(max_failures=2),
        callbacks=[ProgressPrinter(total, experiment.search.metric, experiment.training.epochs)],
        verbose=0,
    )


def _finish(run: RunLocation, total: int) -> SearchOutcome:
    import pandas as pd

    from curriclip.search.export import export_and_report

    export_and_report(run)
    trials = pd.read_parquet(run.staging() / "trials.parquet")
    finished = int(trials["status"].isin(["completed", "pruned", "errored"]).sum()) if len(trials) else 0
    errored = int((trials["status"] == "errored").sum()) if len(trials) else 0
    return SearchOutcome(run.uri, finished, total, errored)


def run_search(
    experiment: ExperimentConfig,
    name: str | None = None,
    storage: str | None = None,
    address: str | None = None,
    num_trials: int | None = None,
    trainable=None,
) -> SearchOutcome:
    """Run a whole search (blocking); results, exports and the report land in the run directory.

    ``trainable`` replaces curriclip's Ray Tune trainable (benchmarks of the search machinery only).
    """
    from ray import tune

    from curriclip.search.pbt import make_pbt_scheduler
    from curriclip.search.scheduler import make_scheduler
    from curriclip.search.searcher import CurriculumLimiter, CurriculumSearcher
    from curriclip.spaces import (
        CurriculumSpace,
        random_population,
        shuffled_control_configs,
        single_task_configs,
        sparsity_grid,
    )

    updates: dict = {}
    if name:
        updates["name"] = name
    if storage:
        updates["storage"] = storage
    if updates or num_trials is not None:
        raw = experiment.model_dump()
        raw.update(updates)
        if num_trials is not None:
            raw["search"]["num_trials"] = num_trials
        experiment = parse_experiment(raw, source="command line")

    storage = experiment.storage
    storage_root = storage if is_uri(storage) else str(Path(storage).expanduser().resolve())
    run = RunLocation(join(experiment.storage, experiment.name))
    if run.has_entries():
        raise CurriclipError(
            f"{run.uri}: run directory already exists; continue it with `curriclip resume {run.uri}` "
            "or pick another --name"
        )
    dataset_dir = resolve_dataset(
        experiment.data.source,
        path=experiment.data.path,
        n=experiment.data.n,
        image_size=experiment.data.image_size,
        seed=experiment.data.seed,
    )
    single = single_task_configs(experiment, str(dataset_dir))
    controls = shuffled_control_configs(experiment, str(dataset_dir))
    baselines = single + controls  # fixed configs, handed out before Optuna's; never pruned
    total = len(baselines) + experiment.search.num_trials

    _init_ray(address)
    concurrency = _concurrency(experiment)
    run.write_text(EXPERIMENT_FILE, yaml.safe_dump(experiment.model_dump(mode="json"), sort_keys=False))
    run.write_text(RUN_FILE, json.dumps({"dataset_dir": str(dataset_dir), "total_trials": total}, indent=2))
    # SQLite beside the run when it is local; a remote run keeps the study in the searcher state Ray stores there.
    default_study = None if run.remote else f"sqlite:///{run.path}/{OPTUNA_DB}"

    metric = experiment.search.metric
    objectives = experiment.search.objectives
    points = [*experiment.search.points, *sparsity_grid(experiment)]
    if experiment.space.ordering_prior != "none":  # the task map's orderings first (curriclip.taskmap.prior)
        from curriclip.taskmap.prior import with_prior_points

        points = with_prior_points(experiment, points)
    param_space, num_samples = None, total
    if experiment.search.proposer == "optuna":
        searcher = CurriculumSearcher(
            space=CurriculumSpace(experiment, str(dataset_dir)),
            baselines=baselines,
            epochs=experiment.training.epochs,
            metric=list(objectives) if objectives else metric,
            mode=list(objectives.values()) if objectives else "max",
            points_to_evaluate=points,
            seed=experiment.search.sampler_seed,
            n_startup_trials=experiment.search.n_startup_trials,
            storage_url=experiment.search.optuna_storage or default_study,
            study_name=experiment.name,
        )
        searcher = CurriculumLimiter(searcher, max_concurrent=concurrency)
    else:  # every config drawn up front, one grid value each: Ray Tune's basic generator, no searcher
        configs = baselines + [c["trial"] for c in random_population(experiment, str(dataset_dir), points)]
        searcher, param_space, num_samples = None, {"trial": tune.grid_search(configs)}, 1
    if experiment.search.scheduler == "pbt":
        scheduler = make_pbt_scheduler(experiment, metric, seed=experiment.search.sampler_seed)
    else:
        scheduler = make_scheduler(
            experiment.search.scheduler, metric, "max", experiment.training.epochs, experiment.search.grace_period,
            experiment.search.reduction_factor,
        )
    print(
        f"curriclip: {len(single)} single-task + {len(controls)} shuffled-control + "
        f"{experiment.search.num_trials} curriculum trials ({experiment.search.proposer} proposals, "
        f"{experiment.search.scheduler} scheduler), {concurrency} at a time, into {run.uri}",
        file=sys.stderr,
        flush=True,
    )
    tuner = tune.Tuner(
        trainable or _trainable(experiment),
        param_space=param_space,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=num_samples,
            max_concurrent_trials=None if searcher is not None else concurrency,  # the limiter's job otherwise
            trial_dirname_creator=trial_dirname,
        ),
        run_config=_run_config(experiment, experiment.name, storage_root, total),
    )
    tuner.fit()
    return _finish(run, total)


def read_run(run_dir: str | Path) -> tuple[ExperimentConfig, dict]:
    """The experiment and run metadata stored in a run directory (local path or URI)."""
    run = RunLocation(run_dir)
    if not run.exists():
        raise CurriclipError(f"{run.uri}: run directory not found")
    if not run.exists(RUN_FILE):
        raise CurriclipError(f"{run.uri}/{RUN_FILE}: missing (not a curriclip run directory)")
    source = f"{run.uri}/{EXPERIMENT_FILE}"
    try:
        raw = yaml.safe_load(run.read_text(EXPERIMENT_FILE))
    except yaml.YAMLError:
        raise CurriclipError(f"{source}: invalid YAML") from None
    return parse_experiment(raw, source=source), json.loads(run.read_text(RUN_FILE))


def resume_search(
    run_dir: str | Path, address: str | None = None, resume_errored: bool = False, restart_errored: bool = False
) -> SearchOutcome:
    """Continue an interrupted search: finished trials stay finished, the searcher's state comes back."""
    from ray import tune

    experiment, meta = read_run(run_dir)
    run = RunLocation(run_dir)
    if not tune.Tuner.can_restore(run.uri):
        raise CurriclipError(f"{run.uri}: no Ray Tune experiment state to resume (did the search start?)")
    _init_ray(address)
    _concurrency(experiment)
    tuner = tune.Tuner.restore(
        run.uri,
        trainable=_trainable(experiment),
        resume_errored=resume_errored,
        restart_errored=restart_errored,
    )
    tuner.fit()
    return _finish(run, meta["total_trials"])
