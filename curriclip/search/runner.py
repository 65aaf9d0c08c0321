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
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml

from curriclip.config import ExperimentConfig, parse_experiment, read_yaml
from curriclip.data.sources import resolve as resolve_dataset
from curriclip.errors import ConfigError, CurriclipError

RUN_FILE = "run.json"
EXPERIMENT_FILE = "experiment.yaml"


@dataclass
class SearchOutcome:
    run_dir: Path
    finished: int
    total: int
    errored: int

    @property
    def complete(self) -> bool:
        return self.finished >= self.total


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _init_ray(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    # Each trial keeps one checkpoint, which forces a state snapshot per epoch: expected, not a bottleneck here.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    kwargs = dict(include_dashboard=False, configure_logging=True, logging_level="WARNING", log_to_driver=True)
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(**kwargs)
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


def _finish(run_dir: Path, total: int) -> SearchOutcome:
    from curriclip.reports import build_report
    from curriclip.search.export import export_results

    export_results(run_dir)
    import pandas as pd

    trials = pd.read_parquet(run_dir / "trials.parquet")
    finished = int(trials["status"].isin(["completed", "pruned", "errored"]).sum()) if len(trials) else 0
    errored = int((trials["status"] == "errored").sum()) if len(trials) else 0
    build_report(run_dir)
    return SearchOutcome(run_dir, finished, total, errored)


def run_search(
    experiment: ExperimentConfig,
    name: str | None = None,
    storage: str | None = None,
    address: str | None = None,
    num_trials: int | None = None,
) -> SearchOutcome:
    """Run a whole search (blocking); results, exports and the report land in the run directory."""
    from ray import tune

    from curriclip.search.scheduler import ArmAwareASHA
    from curriclip.search.searcher import CurriculumSearcher
    from curriclip.spaces import CurriculumSpace, single_task_configs, sparsity_grid

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

    storage_dir = Path(experiment.storage).expanduser().resolve()
    run_dir = storage_dir / experiment.name
    if run_dir.exists() and any(run_dir.iterdir()):
        raise CurriclipError(
            f"{run_dir}: run directory already exists; continue it with `curriclip resume {run_dir}` "
            "or pick another --name"
        )
    dataset_dir = resolve_dataset(
        experiment.data.source,
        path=experiment.data.path,
        n=experiment.data.n,
        image_size=experiment.data.image_size,
        seed=experiment.data.seed,
    )
    baselines = single_task_configs(experiment, str(dataset_dir))
    total = len(baselines) + experiment.search.num_trials

    _init_ray(address)
    concurrency = _concurrency(experiment)
    run_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(run_dir / EXPERIMENT_FILE, yaml.safe_dump(experiment.model_dump(mode="json"), sort_keys=False))
    _write_atomic(run_dir / RUN_FILE, json.dumps({"dataset_dir": str(dataset_dir), "total_trials": total}, indent=2))

    metric = experiment.search.metric
    searcher = CurriculumSearcher(
        space=CurriculumSpace(experiment, str(dataset_dir)),
        baselines=baselines,
        epochs=experiment.training.epochs,
        metric=metric,
        points_to_evaluate=sparsity_grid(experiment),
        seed=experiment.search.sampler_seed,
        n_startup_trials=experiment.search.n_startup_trials,
    )
    if experiment.search.scheduler == "asha":
        scheduler = ArmAwareASHA(
            metric,
            "max",
            experiment.training.epochs,
            experiment.search.grace_period,
            experiment.search.reduction_factor,
        )
    else:
        from ray.tune.schedulers import FIFOScheduler

        scheduler = FIFOScheduler()
    print(
        f"curriclip: {len(baselines)} single-task + {experiment.search.num_trials} curriculum trials, "
        f"{concurrency} at a time, into {run_dir}",
        file=sys.stderr,
        flush=True,
    )
    tuner = tune.Tuner(
        _trainable(experiment),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=total,
            max_concurrent_trials=concurrency,
            trial_dirname_creator=trial_dirname,
        ),
        run_config=_run_config(experiment, experiment.name, storage_dir, total),
    )
    tuner.fit()
    return _finish(run_dir, total)


def read_run(run_dir: str | Path) -> tuple[ExperimentConfig, dict]:
    """The experiment and run metadata stored in a run directory."""
    root = Path(run_dir).expanduser().resolve()
    if not root.is_dir():
        raise CurriclipError(f"{root}: run directory not found")
    if not (root / RUN_FILE).is_file():
        raise CurriclipError(f"{root / RUN_FILE}: missing (not a curriclip run directory)")
    experiment = parse_experiment(read_yaml(root / EXPERIMENT_FILE), source=str(root / EXPERIMENT_FILE))
    return experiment, json.loads((root / RUN_FILE).read_text())


def resume_search(
    run_dir: str | Path, address: str | None = None, resume_errored: bool = False, restart_errored: bool = False
) -> SearchOutcome:
    """Continue an interrupted search: finished trials stay finished, the searcher's state comes back."""
    from ray import tune

    root = Path(run_dir).expanduser().resolve()
    experiment, meta = read_run(root)
    if not tune.Tuner.can_restore(str(root)):
        raise CurriclipError(f"{root}: no Ray Tune experiment state to resume (did the search start?)")
    _init_ray(address)
    _concurrency(experiment)
    tuner = tune.Tuner.restore(
        str(root),
        trainable=_trainable(experiment),
        resume_errored=resume_errored,
        restart_errored=restart_errored,
    )
    tuner.fit()
    return _finish(root, meta["total_trials"])
