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
    """How many trials fit the cluster at once; a clear error if a trial can never fit."""
    import ray

    resources = ray.cluster_resources()
    cpus, gpus = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
    r = experiment.resources
    if r.gpus_per_trial > 0 and gpus <= 0:
        raise ConfigError("resources.gpus_per_trial: trials ask for GPUs but the Ray cluster has none")
    if r.cpus_per_trial > cpus:
        raise ConfigError(f"resources.cpus_per_trial: {r.cpus_per_trial} exceeds the cluster's {cpus:g} CPUs")
    fit = math.floor(cpus / r.cpus_per_trial)
    if r.gpus_per_trial > 0:
        fit = min(fit, math.floor(gpus / r.gpus_per_trial))
    if experiment.search.max_concurrent:
        fit = min(fit, experiment.search.max_concurrent)
    return max(1, fit)


def _trainable(experiment: ExperimentConfig):
    from ray import tune

    from curriclip.trainables.tune_trainable import curriclip_trainable

    resources = {"cpu": experiment.resources.cpus_per_trial, "gpu": experiment.resources.gpus_per_trial}
    return tune.with_resources(curriclip_trainable, resources)


def trial_dirname(trial) -> str:
    """Short trial directory names (Ray's default embeds every parameter)."""
    return f"trial_{trial.trial_id}"


def _run_config(experiment: ExperimentConfig, name: str, storage: Path, total: int):
    from ray import tune

    from curriclip.search.progress import ProgressPrinter

    return tune.RunConfig(
        name=name,
        storage_path=str(storage),
        checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
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

    from curriclip.search.scheduler import make_scheduler
    from curriclip.search.searcher import CurriculumSearcher
    from curriclip.spaces import CurriculumSpace, shuffled_control_configs, single_task_configs, sparsity_grid

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
    searcher = CurriculumSearcher(
        space=CurriculumSpace(experiment, str(dataset_dir)),
        baselines=baselines,
        epochs=experiment.training.epochs,
        metric=list(objectives) if objectives else metric,
        mode=list(objectives.values()) if objectives else "max",
        points_to_evaluate=[*experiment.search.points, *sparsity_grid(experiment)],
        seed=experiment.search.sampler_seed,
        n_startup_trials=experiment.search.n_startup_trials,
        storage_url=experiment.search.optuna_storage or default_study,
        study_name=experiment.name,
    )
    scheduler = make_scheduler(
        experiment.search.scheduler, metric, "max", experiment.training.epochs, experiment.search.grace_period,
        experiment.search.reduction_factor,
    )
    print(
        f"curriclip: {len(single)} single-task + {len(controls)} shuffled-control + "
        f"{experiment.search.num_trials} curriculum trials, "
        f"{concurrency} at a time, into {run.uri}",
        file=sys.stderr,
        flush=True,
    )
    tuner = tune.Tuner(
        trainable or _trainable(experiment),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=total,
            max_concurrent_trials=concurrency,
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
