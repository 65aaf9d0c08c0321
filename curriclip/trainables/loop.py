"""One trial, start to finish, with no Ray: build -> (restore) -> train an epoch -> evaluate -> report.

``run_trial`` is what the Ray Tune trainable and ``curriclip train`` both call. It
reports after every epoch through a callback that receives the metrics and a function
returning the checkpoint state (``Trial.state_dict``), so the caller decides whether and
where to save. Everything random draws from generators seeded by the trial config, and
the state carries them, so a resumed trial continues exactly as an uninterrupted one.

The device, mixed precision and copies to the GPU live in ``device.Compute``; a
data-parallel trial passes a ``parallel.DataParallel`` for its rank (the default is the
single process, where every one of its hooks is a no-op).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from curriclip.config import TrialConfig
from curriclip.names import Phase
from curriclip.tasks.base import StepContext
from curriclip.trainables.evaluation import init_metrics
from curriclip.trainables.parallel import DataParallel
from curriclip.trainables.provenance import provenance
from curriclip.trainables.trial import Trial, build_trial, untrained_metrics

#: open_clip clamps the learnable temperature to at most 100 (log 100 ≈ 4.6052).
MAX_LOGIT_SCALE = math.log(100)

Reporter = Callable[[dict, Callable[[], dict]], None]


def train_step(trial: Trial, step: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """One optimizer step on the curriculum's batch; the task losses and their weighted total (rank means)."""
    model, parallel, compute = trial.model, trial.parallel, trial.compute
    index = torch.as_tensor(parallel.shard(trial.curriculum.batch(step, trial.rng)), dtype=torch.long)
    ctx = StepContext(model, trial.data.batch(index, compute.to_device), trial.generator)
    weights = trial.curriculum.weights(step)
    with compute.autocast():
        losses = {
            name: trial.tasks[name].loss(ctx, model.heads[name] if name in model.heads else None) for name in weights
        }
    trial.optimizer.zero_grad(set_to_none=True)
    total = model.weighting.backward(compute.scaled(losses), weights, shared=trial.shared, generator=trial.generator)
    losses = parallel.average({**losses, "total": total})  # over ranks; every rank sees the same values
    total = losses.pop("total")
    if not torch.isfinite(total):
        raise FloatingPointError(
            f"non-finite loss {float(total)} at step {step} (losses: "
            f"{ {k: float(v) for k, v in losses.items()} }); lower the learning rate"
        )
    parallel.sync_gradients(model.parameters())
    compute.step(trial.optimizer)
    trial.scheduler.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return losses, total


def train_epoch(trial: Trial, epoch: int) -> dict[str, float]:
    """Train epoch ``epoch`` (0-based); its mean total loss (``loss``) and mean loss per task (``loss/<task>``)."""
    cfg = trial.cfg
    trial.curriculum.start_epoch(epoch, trial.model, trial.rng)  # dynamic scorers re-score with the current model
    sums: dict[str, float] = {"total": 0.0}
    counts: dict[str, int] = {}
    for step_in_epoch in range(cfg.steps_per_epoch):
        losses, total = train_step(trial, epoch * cfg.steps_per_epoch + step_in_epoch)
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + value.item()
            counts[name] = counts.get(name, 0) + 1
        sums["total"] += float(total)
    trial.epoch = epoch + 1
    if trial.parallel.distributed:  # a collective: every rank takes part
        trial.rank_generators = trial.parallel.generator_states(trial.generator)
    return {
        "loss": sums["total"] / cfg.steps_per_epoch,
        **{f"loss/{name}": sums[name] / counts[name] if name in counts else float("nan") for name in cfg.tasks},
    }


def evaluate(trial: Trial) -> dict:
    """The held-out metrics of the model as it is now (rank 0 only)."""
    return trial.evaluator(trial.model, trial.tasks)


def evaluates_at(cfg: TrialConfig, epoch: int) -> bool:
    """Whether the trial evaluates after ``epoch`` (1-based): every epoch in the search phase (schedulers and the
    searcher read validate), only the last in the confirm phase (test is read once, by the run that reports it)."""
    return cfg.phase == Phase.SEARCH or epoch >= cfg.epochs


def final_state(trial: Trial) -> Callable[[], dict]:
    """The checkpoint state; a confirm run's last one also holds its per-pair test scores (``per_pair``)."""
    if trial.cfg.phase != Phase.CONFIRM or trial.epoch < trial.cfg.epochs:
        return trial.state_dict
    per_pair = trial.evaluator.per_pair(trial.model)
    return lambda: {**trial.state_dict(), "per_pair": per_pair}


def epoch_report(trial: Trial, losses: dict[str, float], epoch_start: float, started: float) -> dict:
    """What rank 0 reports after an epoch: held-out metrics (when it evaluates), losses and curriculum state."""
    end_step = trial.epoch * trial.cfg.steps_per_epoch
    return {
        **(evaluate(trial) if evaluates_at(trial.cfg, trial.epoch) else {}),
        **trial.init,
        "epoch": trial.epoch,
        **losses,
        **trial.curriculum.epoch_metrics(end_step - 1, trial.data.train.difficulty),  # data_fraction, ...
        "active_tasks": ",".join(trial.curriculum.weights(end_step - 1)),
        "train_pairs": len(trial.data.train),
        "test_pairs": len(trial.data.held_out),
        "logit_scale": float(trial.model.logit_scale.detach().exp()),
        **provenance(),
        "epoch_time_s": time.monotonic() - epoch_start,
        "time_s": time.monotonic() - started,
    }


def run_trial(
    cfg: TrialConfig, report: Reporter, state: dict | None = None, parallel: DataParallel | None = None
) -> dict:
    """Train and evaluate one trial; returns the last epoch's metrics (rank 0 evaluates and reports)."""
    started = time.monotonic()
    trial = build_trial(cfg, parallel or DataParallel())
    is_main = trial.parallel.is_main
    if state is None:  # the untrained model: init_clip_score, init_i2t_r1, ...
        trial.init = untrained_metrics(trial, lambda: init_metrics(evaluate(trial))) if is_main else {}
    else:
        trial.load_state_dict(state)
    trial.parallel.broadcast_model(trial.model)

    metrics: dict = {}
    if trial.epoch >= cfg.epochs and is_main:
        # Restored at the very end: a PBT exploit of a trial that had finished its budget, or a crash
        # after the last checkpoint. Report the final evaluation once, so the trial's last epoch is on record.
        trial.epoch = cfg.epochs
        metrics = {
            **evaluate(trial),
            **trial.init,
            "epoch": cfg.epochs,
            "train_pairs": len(trial.data.train),
            "test_pairs": len(trial.data.held_out),
            "time_s": time.monotonic() - started,
        }
        report(metrics, final_state(trial))
    trial.model.train()
    for epoch in range(trial.epoch, cfg.epochs):
        epoch_start = time.monotonic()
        losses = train_epoch(trial, epoch)
        if is_main:
            metrics = epoch_report(trial, losses, epoch_start, started)
            report(metrics, final_state(trial))
    return metrics
