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

Trial processes are reused (Ray Tune's ``reuse_actors``): when a trial ends, Tune
waits for its thread to return and starts the next trial of the same resources in the
same process, as a new thread. Everything a trial sets process-wide (threads,
deterministic algorithms, global seeds, the GPU memory cap) is set again at the start
of every trial (``trial.seed_everything``, ``trial.uncap_gpu_memory``), what processes
keep between trials is keyed by everything it depends on and handed out as copies
(``cache``), and the trial's objects are released when it ends, so a trial computes in
a reused process exactly what it computes in a fresh one. Each report carries a
``timing`` dict (seconds per overhead phase, process and trial time stamps) that
``benchmarks/bench_trial_overhead.py`` reads; the exports leave it out (not a number).
"""

from __future__ import annotations

import gc
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable

import torch
from ray import tune

from curriclip.config import TrialConfig
from curriclip.names import PER_PAIR_FILE
from curriclip.trainables.loop import run_trial
from curriclip.trainables.timing import PHASES

#: When this module (and torch, open_clip, Ray Tune with it) finished loading in this process.
_IMPORTED_AT = time.time()

#: Seconds Tune waits for an ended trial's thread before it reuses the process for the next trial (or for a
#: PBT exploit). Ray's default of 2 s is too short on a busy node, and a reset that times out errors the trial;
#: read by Ray in this process when it resets the trainable, so set here where every trial process imports it.
os.environ.setdefault("TUNE_FUNCTION_THREAD_TIMEOUT_S", "120")

STATE_FILE = "state.pt"

#: Tune resources of a data-parallel trial's driver process: it waits on its workers (which reserve the
#: trial's CPUs and GPUs through Ray Train), so it takes no CPU; a nominal amount of memory keeps its
#: placement group non-empty without ever blocking a node whose CPUs the workers fill exactly.
DRIVER_RESOURCES = {"cpu": 0, "memory": 256 * 2**20}

#: Environment switch read by the runner: "0" gives every trial a fresh process (no actor reuse).
REUSE_ENV = "CURRICLIP_REUSE_PROCESSES"
#: Trials this process has started (1 during the first: a fresh process).
_trials_started = 0


def reuse_processes() -> bool:
    """Whether trials reuse warm processes (Ray Tune's ``reuse_actors``); ``CURRICLIP_REUSE_PROCESSES=0``: no."""
    return os.environ.get(REUSE_ENV, "1") != "0"


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


def _process_started_at() -> float:
    import psutil  # a Ray dependency

    return psutil.Process().create_time()


def _start_timing() -> dict:
    """Reset this process's phase clock for a new trial; the trial's time stamps (seconds since the epoch)."""
    global _trials_started
    _trials_started += 1
    PHASES.reset()
    return {
        "process_started_at": _process_started_at(),
        "imported_at": _IMPORTED_AT,
        "entered_at": time.time(),
        "trial_in_process": _trials_started,
    }


def _reporter(stamps: dict, epochs: int, every_s: float = 0.0) -> Callable[[dict, Callable[[], dict]], None]:
    """``run_trial``'s report callback: the metrics with the ``timing`` dict, and a checkpoint when one is due.

    Due after the last epoch (the final state: fusion, replays, a confirm run's per-pair scores) and
    after any epoch ending ``every_s`` seconds or more after the previous checkpoint (0: every epoch).
    Why not every epoch: writing and persisting a small model's state after each of a few
    seconds' epochs cost about 5% of a default-sized trial, to save a crash at most a minute.
    """
    last = {"at": time.monotonic()}

    def send(metrics: dict, directory: str | None) -> None:
        timing = {**stamps, **PHASES.snapshot(), "reported_at": time.time()}
        checkpoint = tune.Checkpoint.from_directory(directory) if directory else None
        with PHASES.phase("tune_report"):  # persists the checkpoint, then waits for the driver to take it
            tune.report({**metrics, "timing": timing}, checkpoint=checkpoint)

    def report(metrics: dict, make_state: Callable[[], dict]) -> None:
        if metrics.get("epoch", 0) < epochs and time.monotonic() - last["at"] < every_s:
            send(metrics, None)
            return
        last["at"] = time.monotonic()
        with tempfile.TemporaryDirectory() as directory:
            with PHASES.phase("checkpoint_write"):
                state = make_state()
                per_pair = state.pop("per_pair", None)  # a confirm run's per-pair test scores: beside, as JSON
                torch.save(state, os.path.join(directory, STATE_FILE))
                if per_pair is not None:
                    with open(os.path.join(directory, PER_PAIR_FILE), "w", encoding="utf-8") as f:
                        json.dump(per_pair, f)
            send(metrics, directory)

    return report


def _release() -> None:
    """Let go of the ended trial's model, optimizer and data before the process serves the next trial."""
    gc.collect()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()


def curriclip_trainable(config: dict, checkpoint_every_s: float = 0.0) -> None:
    """Ray Tune entry point; the searched parameters sit beside ``trial`` only for Tune's records.

    ``checkpoint_every_s``: see ``_reporter`` (``training.checkpoint_every_s``; 0 under PBT).
    """
    stamps = _start_timing()
    _quiet()
    resources = tune.get_context().get_trial_resources().required_resources
    cfg = placed(TrialConfig.model_validate(config["trial"]), resources.get("CPU", 1), resources.get("GPU", 0))
    try:
        run_trial(cfg, _reporter(stamps, cfg.epochs, checkpoint_every_s), _restored_state())
    finally:  # also when Tune stops the trial (a SystemExit raised inside tune.report)
        _release()


def data_parallel_trainable(
    workers: int, cpus: float, gpus: float, checkpoint_every_s: float = 0.0
) -> Callable[[dict], None]:
    """The Tune trainable of trials trained by ``workers`` Ray Train workers of ``cpus`` CPUs and ``gpus`` GPUs each.

    Give it ``DRIVER_RESOURCES`` with ``tune.with_resources``; the runner bounds the
    concurrent trials by what ``workers`` x (``cpus``, ``gpus``) leaves room for.
    Checkpoints follow ``checkpoint_every_s`` as a single-process trial's do (``_reporter``).
    """
    from curriclip.trainables.train_driver import run_data_parallel

    def curriclip_data_parallel(config: dict) -> None:
        stamps = _start_timing()
        _quiet()
        cfg = placed(TrialConfig.model_validate(config["trial"]), cpus, gpus)
        report = _reporter(stamps, cfg.epochs, checkpoint_every_s)
        run_data_parallel(cfg, report, _restored_state(), workers=workers, cpus=cpus, gpus=gpus)

    return curriclip_data_parallel
