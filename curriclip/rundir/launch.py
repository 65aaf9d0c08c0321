"""Launching Ray Tune experiments in a run directory: fitting trials to the cluster, the trainable, run settings.

The search phase (``curriclip.search``) and the confirm phase (``curriclip.protocol``)
both start Tuners whose trials fit the cluster the same way, run the same trainable,
keep checkpoints and print progress alike; this module holds that for both.
"""

from __future__ import annotations

import math
import os

from curriclip.config import ExperimentConfig
from curriclip.errors import ConfigError


def local_gpus_visible() -> bool:
    """Whether this machine shows an NVIDIA GPU to a local Ray (device files not hidden by CUDA_VISIBLE_DEVICES)."""
    import glob

    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def concurrency(experiment: ExperimentConfig) -> int:
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


def trainable_for(experiment: ExperimentConfig):
    """Ray Tune's trainable with its resources: one process per trial, or a driver of Ray Train workers."""
    from ray import tune

    r = experiment.resources
    if r.workers_per_trial > 1:
        from curriclip.trainables.tune_trainable import DRIVER_RESOURCES, data_parallel_trainable

        every = checkpoint_interval(experiment)
        trainable = data_parallel_trainable(r.workers_per_trial, r.cpus_per_trial, r.gpus_per_trial, every)
        return tune.with_resources(trainable, DRIVER_RESOURCES)

    from curriclip.trainables.tune_trainable import curriclip_trainable

    trainable = tune.with_parameters(curriclip_trainable, checkpoint_every_s=checkpoint_interval(experiment))
    return tune.with_resources(trainable, {"cpu": r.cpus_per_trial, "gpu": r.gpus_per_trial})


def checkpoint_interval(experiment: ExperimentConfig) -> float:
    """Seconds between a trial's checkpoints: ``training.checkpoint_every_s``, but every epoch under PBT."""
    return 0.0 if experiment.search.scheduler == "pbt" else experiment.training.checkpoint_every_s


def trial_dirname(trial) -> str:
    """Short trial directory names (Ray's default embeds every parameter)."""
    return f"trial_{trial.trial_id}"


def run_config(name: str, storage_path: str, callbacks: list, keep_checkpoints: int | None = 1):
    """Ray Tune's run settings shared by both phases: where to store, how many checkpoints (None: all), retries."""
    from ray import tune

    return tune.RunConfig(
        name=name,
        storage_path=storage_path,
        checkpoint_config=tune.CheckpointConfig(num_to_keep=keep_checkpoints),
        failure_config=tune.FailureConfig(max_failures=2),
        callbacks=callbacks,
        verbose=0,
    )


class _InterruptionFilter:
    """Drops Ray Tune's "resume with Tuner.restore(...)" hint (curriclip prints its own command) and notes it.

    Records below ``silenced_below`` (the logger's level before ``fit`` lowered it) are dropped too, so
    raising the logger to WARNING to see the hint shows nothing the user had silenced.
    """

    def __init__(self, silenced_below: int) -> None:
        self.interrupted = False
        self.silenced_below = silenced_below

    def filter(self, record) -> bool:
        if "has been interrupted" in str(record.msg):
            self.interrupted = True
            return False
        return record.levelno >= self.silenced_below


def fit(tuner) -> bool:
    """Run ``tuner`` to its end or to Ctrl-C; whether Ctrl-C stopped it (its state is saved either way).

    Ray Tune catches the first SIGINT itself, saves the experiment and returns normally;
    the caller turns that into exit code 130 and the ``curriclip`` command that continues.
    """
    import logging

    logger = logging.getLogger("ray.tune.tune")
    level = logger.level
    watcher = _InterruptionFilter(logger.getEffectiveLevel())
    # the hint is a WARNING: a logger set quieter (Ray's logging_level, a user's config) would drop it unseen
    logger.setLevel(min(logger.getEffectiveLevel(), logging.WARNING))
    logger.addFilter(watcher)
    try:
        tuner.fit()
    finally:
        logger.removeFilter(watcher)
        logger.setLevel(level)
    return watcher.interrupted
