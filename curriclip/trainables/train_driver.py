"""Data-parallel trials: one trial trained by several Ray Train workers (gloo on CPUs, NCCL on GPUs).

Why a trial would need several workers: a model or a global batch too big for one GPU's
time budget (ViT-B/16 at batch 1024, say). The search side is unchanged: the trial is
still one Tune trial with one trial config, one metrics row per epoch and one checkpoint.

How it runs (Ray Train V2, the default in Ray 2.60, no longer takes a Trainer as a Tune
trainable, so the Tune trial is a small driver that launches a ``TorchTrainer``, the
pattern Ray documents for Train V2 under Tune):

- ``run_data_parallel`` (in the Tune trial) starts ``workers`` Ray Train workers, each
  with ``cpus`` CPUs and ``gpus`` GPUs, and relays what rank 0 reports (metrics and
  checkpoint state, through a Ray queue) to the caller's ``report``: the Tune trainable
  turns them into ``tune.report`` with a checkpoint, exactly as a single-process trial.
- ``train_worker`` (on every worker) runs the ordinary ``run_trial`` with a
  ``parallel.DataParallel`` for its rank (what that changes is said there).
- a ``_Reaper`` removes the workers' placement group if the Tune trial dies (stopped by
  ASHA, killed with its node): Ray scopes a placement group to the job, not to the actor
  that made it, and Ray Train's own cleaner needs the dashboard's state API, which a
  local search runs without; a leaked group would hold the trial's CPUs and GPUs until
  the search ends.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import torch

from curriclip.errors import ConfigError, DataError
from curriclip.trainables.loop import run_trial
from curriclip.trainables.parallel import DataParallel


def to_cpu(obj: Any) -> Any:
    """Nested dicts/lists/tuples rebuilt with every tensor on the CPU (checkpoint state leaving a GPU worker)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def worker_device(requested: str, given: torch.device) -> torch.device:
    """A worker's device: the GPU Ray Train gave it unless the trial says cpu; cuda without a GPU is an error."""
    if requested == "cpu":
        return torch.device("cpu")
    if given.type != "cuda":
        if requested == "cuda":
            raise DataError("device: 'cuda' requested but this worker was given no GPU (resources.gpus_per_trial: 0)")
        return torch.device("cpu")
    return given


class _Reaper:
    """Removes the placement groups registered with it once ``watched`` (an actor the driver owns) is gone.

    A detached Ray actor (it must outlive the driver), polling with plain actor calls
    (no state API). On a normal finish the driver kills it.
    """

    def __init__(self, watched: Any, interval_s: float = 1.0) -> None:
        self._groups: list = []
        thread = threading.Thread(target=self._watch, args=(watched, interval_s), daemon=True)
        thread.start()

    def register(self, group: Any) -> None:
        self._groups.append(group)

    def _watch(self, watched: Any, interval_s: float) -> None:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError
        from ray.util.placement_group import remove_placement_group

        while True:
            threading.Event().wait(interval_s)
            try:
                ray.get(watched.qsize.remote(), timeout=60)
            except GetTimeoutError:
                continue
            except RayActorError:
                break
        for group in self._groups:
            try:
                remove_placement_group(group)
            except Exception:  # already removed (the run ended as the driver died)
                pass
        ray.kill(ray.get_runtime_context().current_actor)


def train_worker(config: dict) -> None:
    """Ray Train's per-worker loop: one rank of a data-parallel trial (``run_trial`` with a ``DataParallel``)."""
    import ray
    import ray.train
    import ray.train.torch

    from curriclip.config import TrialConfig

    logging.getLogger().setLevel(logging.WARNING)  # open_clip's model-building lines, once per worker and trial
    warnings.filterwarnings("ignore", message=".*all_gather is deprecated", category=FutureWarning)  # open_clip's
    context = ray.train.get_context()
    rank, world_size = context.get_world_rank(), context.get_world_size()
    cfg = TrialConfig.model_validate(config["trial"])
    device = worker_device(cfg.device, ray.train.torch.get_device())
    if device.type == "cuda":
        torch.cuda.set_device(device)
    state = ray.get(config["state"]) if config.get("state") is not None else None
    queue = config["queue"]
    if rank == 0 and config.get("reaper") is not None:
        from ray.util.placement_group import get_current_placement_group

        group = get_current_placement_group()
        if group is not None:
            ray.get(config["reaper"].register.remote(group))

    def report(metrics: dict, make_state: Callable[[], dict]) -> None:
        queue.put((metrics, to_cpu(make_state())))

    run_trial(cfg, report, state, parallel=DataParallel(rank, world_size, device))


def run_data_parallel(
    cfg: Any,
    report: Callable[[dict, Callable[[], dict]], None],
    state: dict | None = None,
    *,
    workers: int,
    cpus: float = 1.0,
    gpus: float = 0.0,
    poll_s: float = 0.5,
) -> None:
    """Train one trial config on ``workers`` Ray Train workers; ``report`` gets rank 0's epochs, in order.

    ``report(metrics, make_state)`` has ``run_trial``'s signature, so the caller does
    not know how many workers trained. ``state`` (a checkpoint's) resumes every rank.
    Needs a running Ray with room for ``workers`` x (``cpus``, ``gpus``).
    """
    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer
    from ray.train.v2._internal.constants import is_v2_enabled
    from ray.util.queue import Queue

    if not is_v2_enabled():
        raise ConfigError(
            "resources.workers_per_trial > 1 runs on Ray Train V2 (Ray's default); unset RAY_TRAIN_V2_ENABLED=0"
        )
    if workers < 2:
        raise ValueError("run_data_parallel needs at least 2 workers (one worker: call run_trial)")
    DataParallel(0, workers).local_batch_size(cfg.batch_size)  # the clear error before any worker starts
    use_gpu = gpus > 0
    per_worker = {"CPU": float(cpus), **({"GPU": float(gpus)} if use_gpu else {})}
    queue = Queue(maxsize=1, actor_options={"num_cpus": 0})
    reaper = (
        ray.remote(num_cpus=0)(_Reaper).options(lifetime="detached", scheduling_strategy="DEFAULT").remote(queue.actor)
    )
    # Rank 0 reports through ``queue`` and nothing is checkpointed through Ray Train, so its run
    # directory holds only Train's bookkeeping: a scratch directory beside the driver, removed after.
    scratch = tempfile.mkdtemp(prefix="curriclip-train-")
    trainer = TorchTrainer(
        train_worker,
        train_loop_config={
            "trial": cfg.model_dump(),
            "queue": queue,
            "reaper": reaper,
            "state": None if state is None else ray.put(state),
        },
        scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu, resources_per_worker=per_worker),
        torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
        run_config=RunConfig(name=f"dp-{uuid.uuid4().hex[:12]}", storage_path=scratch),
    )
    outcome: dict[str, BaseException] = {}

    def fit() -> None:
        try:
            trainer.fit()
        except BaseException as exc:  # re-raised in the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=fit, name="curriclip-data-parallel", daemon=True)
    thread.start()
    try:
        _relay(queue, thread, report, poll_s)
        thread.join()
    except BaseException:  # Tune stopped the trial (SystemExit in tune.report), Ctrl-C, a failed report
        # the reaper sees the queue go and removes the workers' placement group, which ends the run
        queue.shutdown(force=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    ray.kill(reaper)  # the run ended by itself and released its workers
    queue.shutdown(force=True)
    if "error" in outcome:
        raise outcome["error"]


def _relay(
    queue: Any, thread: threading.Thread, report: Callable[[dict, Callable[[], dict]], None], poll_s: float
) -> None:
    """Pass rank 0's (metrics, state) from ``queue`` to ``report`` until the training thread has ended."""
    from ray.util.queue import Empty

    while True:
        try:
            item = queue.get(timeout=poll_s)
        except Empty:
            if thread.is_alive():
                continue
            try:  # the last epoch may land between the timeout and the thread's end
                item = queue.get(block=False)
            except Empty:
                break
        metrics, epoch_state = item
        report(metrics, lambda s=epoch_state: s)
