"""The Ray Tune function trainables: thin adapters around ``run_trial``.

Each reads the trial config from ``config["trial"]``, fits it to what Ray gave the
trial (threads = its CPUs, CUDA only when it was given a GPU, the memory cap of a
shared GPU), resumes from ``tune.get_checkpoint()`` when Tune restarts the trial, and
reports each epoch's metrics together with a checkpoint directory holding ``state.pt``.

``curriclip_trainable`` trains in the trial's own process; ``data_parallel_trainable``
makes the trainable of a search with ``resources.workers_per_trial > 1``, whose trial
process only drives a Ray Train worker group (``train_driver.run_data_parallel``) and
reports what its rank 0 reports, so Tune, the searcher and the exports see the same
metrics and checkpoints either way.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable

import torch
from ray import tune

from curriclip.config import TrialConfig
from curriclip.names import PER_PAIR_FILE
from curriclip.trainables.loop import run_trial

STATE_FILE = "state.pt"

#: Tune resources of a data-parallel trial's driver process: it waits on its workers (which reserve the
#: trial's CPUs and GPUs through Ray Train), so it takes no CPU; a nominal amount of memory keeps its
#: placement group non-empty without ever blocking a node whose CPUs the workers fill exactly.
DRIVER_RESOURCES = {"cpu": 0, "memory": 256 * 2**20}


def load_state(directory: str) -> dict:
    """A checkpoint's state, loaded with ``weights_only=True`` (no arbitrary unpickling)."""
    return torch.load(os.path.join(directory, STATE_FILE), map_location="cpu", weights_only=True)


def placed(cfg: TrialConfig, cpus: float, gpus: float) -> TrialConfig:
    """The trial config fitted to the ``cpus`` and ``gpus`` Ray gave the trial (or each of its workers).

    A trial given no GPU trains on the CPU even where GPUs are visible: the runner
    keeps Ray from hiding them (``RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO=0``), so without
    this a CPU trial would silently share a GPU that other trials were given. A trial
    on a fraction of a GPU is capped at that fraction of its memory unless the config
    sets its own cap.
    """
    update: dict = {}
    if cfg.threads is None:
        update["threads"] = max(1, int(cpus))
    if gpus <= 0 and cfg.device == "auto":
        update["device"] = "cpu"
    if 0 < gpus < 1 and cfg.gpu_memory_fraction is None:
        update["gpu_memory_fraction"] = float(gpus)
    return cfg.model_copy(update=update) if update else cfg


def _quiet() -> None:
    for name in ("ray.train", "ray.tune"):  # one "checkpoint created" line per epoch and trial is noise
        logging.getLogger(name).setLevel(logging.WARNING)


def _restored_state() -> dict | None:
    checkpoint = tune.get_checkpoint()
    if checkpoint is None:
        return None
    with checkpoint.as_directory() as directory:
        return load_state(directory)


def _report(metrics: dict, make_state: Callable[[], dict]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        state = make_state()
        per_pair = state.pop("per_pair", None)  # a confirm run's per-pair test scores: beside the state, as JSON
        torch.save(state, os.path.join(directory, STATE_FILE))
        if per_pair is not None:
            with open(os.path.join(directory, PER_PAIR_FILE), "w", encoding="utf-8") as f:
                json.dump(per_pair, f)
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))


def curriclip_trainable(config: dict) -> None:
    """Ray Tune entry point; the searched parameters sit beside ``trial`` only for Tune's records."""
    _quiet()
    resources = tune.get_context().get_trial_resources().required_resources
    cfg = placed(TrialConfig.model_validate(config["trial"]), resources.get("CPU", 1), resources.get("GPU", 0))
    run_trial(cfg, _report, _restored_state())


def data_parallel_trainable(workers: int, cpus: float, gpus: float) -> Callable[[dict], None]:
    """The Tune trainable of trials trained by ``workers`` Ray Train workers of ``cpus`` CPUs and ``gpus`` GPUs each.

    Give it ``DRIVER_RESOURCES`` with ``tune.with_resources``; the runner bounds the
    concurrent trials by what ``workers`` x (``cpus``, ``gpus``) leaves room for.
    """
    from curriclip.trainables.train_driver import run_data_parallel

    def curriclip_data_parallel(config: dict) -> None:
        _quiet()
        cfg = placed(TrialConfig.model_validate(config["trial"]), cpus, gpus)
        run_data_parallel(cfg, _report, _restored_state(), workers=workers, cpus=cpus, gpus=gpus)

    return curriclip_data_parallel
