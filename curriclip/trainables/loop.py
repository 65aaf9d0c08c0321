"""One trial, start to finish, with no Ray: data -> model -> curriculum -> train -> evaluate.

``run_trial`` is what the Ray Tune trainable and ``curriclip train`` both call. It
reports after every epoch through a callback that receives the metrics and a function
returning the checkpoint state, so the caller decides whether and where to save.
Everything random draws from generators seeded by the trial config, and the state
carries them, so a resumed trial continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from curriclip import tasks as task_lib
from curriclip import weighting
from curriclip.config import TrialConfig
from curriclip.curriculum import PacedSampler, TaskSchedule, difficulty, pacing
from curriclip.data.loader import SplitArrays, load_split, resize_images
from curriclip.data.subsets import sparsity_subset
from curriclip.errors import DataError
from curriclip.metrics import clip_score, mean_cosine
from curriclip.models import MultiTaskModel, build_clip, get_preset
from curriclip.models.factory import embed_dim

#: open_clip clamps the learnable temperature to at most 100 (log 100 ≈ 4.6052).
MAX_LOGIT_SCALE = math.log(100)

Reporter = Callable[[dict, Callable[[], dict]], None]


@dataclass
class TrialData:
    train: SplitArrays
    test: SplitArrays
    train_tokens: torch.Tensor
    test_tokens: torch.Tensor


def select_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise DataError("device: 'cuda' requested but no CUDA GPU is visible to this trial")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def check_task_data(cfg: TrialConfig, train: SplitArrays) -> None:
    """Fail clearly when the dataset lacks what a task needs (never skip a task silently)."""
    for name in cfg.tasks:
        task = task_lib.get(name)
        if "labels" in task.needs:
            known = ~torch.isnan(train.labels) & (train.labels >= 0)
            if not bool(known.any()):
                raise DataError(
                    f"task {name!r} is unavailable: the training subset of {cfg.dataset_dir} has no finding labels"
                )
        if "text" in task.needs and not any(train.texts):
            raise DataError(f"task {name!r} is unavailable: {cfg.dataset_dir} has no report text")


def load_trial_data(cfg: TrialConfig, image_size: int, tokenizer: Callable) -> TrialData:
    """The trial's sparsity subset of the training split, and the full, fixed test split."""
    train = load_split(cfg.dataset_dir, "train")
    test = load_split(cfg.dataset_dir, "test")
    if len(test) == 0:
        raise DataError(f"{cfg.dataset_dir}: the test split is empty; CLIP score needs held-out pairs")
    keep = sparsity_subset(train.subject_ids, cfg.sparsity, seed=cfg.subset_seed)
    train = train.take(keep)
    if len(train) < 2:
        raise DataError(f"{cfg.dataset_dir}: sparsity {cfg.sparsity} leaves {len(train)} training pair(s)")
    check_task_data(cfg, train)
    train.images = resize_images(train.images, image_size)
    test.images = resize_images(test.images, image_size)
    return TrialData(train, test, tokenizer(train.texts), tokenizer(test.texts))


def build_optimizer(
    model: torch.nn.Module, cfg: TrialConfig
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """AdamW without weight decay on gains, biases and the temperature (as open_clip trains), warmup + cosine."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.ndim < 2 or "logit_scale" in name or "bias" in name or "ln" in name or "norm" in name:
            no_decay.append(param)
        else:
            decay.append(param)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
    )
    total = cfg.total_steps
    warmup = max(1, int(cfg.warmup_fraction * total))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@torch.no_grad()
def evaluate(
    model: MultiTaskModel, split: SplitArrays, tokens: torch.Tensor, batch_size: int, device: torch.device
) -> dict[str, float]:
    """CLIP score (Hessel et al.) and mean cosine of the matched held-out pairs."""
    was_training = model.training
    model.eval()
    image_parts, text_parts = [], []
    for start in range(0, len(split), batch_size):
        image_parts.append(model.encode_image(split.images[start : start + batch_size].to(device)).float().cpu())
        text_parts.append(model.encode_text(tokens[start : start + batch_size].to(device)).float().cpu())
    model.train(was_training)
    images, texts = torch.cat(image_parts), torch.cat(text_parts)
    return {"clip_score": clip_score(images, texts), "mean_cosine": mean_cosine(images, texts)}


def run_trial(cfg: TrialConfig, report: Reporter, state: dict | None = None) -> dict:
    """Train and evaluate one trial; returns the last epoch's metrics."""
    started = time.monotonic()
    torch.set_num_threads(cfg.threads or int(os.environ.get("CURRICLIP_THREADS", torch.get_num_threads())))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)
    device = select_device(cfg.device)

    preset = get_preset(cfg.model)
    clip, tokenizer = build_clip(preset)
    data = load_trial_data(cfg, preset.image_size, tokenizer)
    tasks = {name: task_lib.get(name) for name in cfg.tasks}
    heads = {}
    for name, task in tasks.items():
        head = task.build_head(embed_dim(clip), len(data.train.label_names))
        if head is not None:
            heads[name] = head
    model = MultiTaskModel(clip, heads).to(device)
    optimizer, scheduler = build_optimizer(model, cfg)

    scores = difficulty.get(cfg.scorer)(data.train.difficulty, rng)
    order = difficulty.easiest_first(scores, rng)
    sampler = PacedSampler(order, pacing.get(cfg.pacing), cfg.pacing_params, cfg.total_steps, cfg.batch_size)
    schedule = TaskSchedule(tuple(cfg.tasks), cfg.stage_span)
    combine = weighting.get(cfg.weighting)()

    start_epoch = 0
    if state is None:
        init = evaluate(model, data.test, data.test_tokens, cfg.eval_batch_size, device)
        init_clip_score = init["clip_score"]
    else:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["numpy_rng"]
        generator.set_state(state["torch_generator"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch = int(state["epoch"])
        init_clip_score = float(state["init_clip_score"])

    def checkpoint_state(epoch: int) -> Callable[[], dict]:
        def make() -> dict:
            return {
                "epoch": epoch,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "numpy_rng": rng.bit_generator.state,
                "torch_generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "init_clip_score": init_clip_score,
            }

        return make

    metrics: dict = {}
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        epoch_start = time.monotonic()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for step_in_epoch in range(cfg.steps_per_epoch):
            step = epoch * cfg.steps_per_epoch + step_in_epoch
            index = torch.as_tensor(sampler.batch(step, rng), dtype=torch.long)
            batch = task_lib.Batch(
                images=data.train.images[index].to(device, non_blocking=True),
                tokens=data.train_tokens[index].to(device, non_blocking=True),
                labels=data.train.labels[index].to(device, non_blocking=True),
            )
            ctx = task_lib.StepContext(model, batch, generator)
            weights = schedule.weights(step, cfg.total_steps)
            losses = {
                name: tasks[name].loss(ctx, model.heads[name] if name in model.heads else None) for name in weights
            }
            optimizer.zero_grad(set_to_none=True)
            total = combine.backward(losses, weights)
            if not torch.isfinite(total):
                raise FloatingPointError(
                    f"non-finite loss {float(total)} at step {step} (losses: "
                    f"{ {k: float(v) for k, v in losses.items()} }); lower the learning rate"
                )
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value.item()
                counts[name] = counts.get(name, 0) + 1
            sums["total"] = sums.get("total", 0.0) + float(total)
        end_step = (epoch + 1) * cfg.steps_per_epoch
        metrics = {
            **evaluate(model, data.test, data.test_tokens, cfg.eval_batch_size, device),
            "init_clip_score": init_clip_score,
            "epoch": epoch + 1,
            "loss": sums["total"] / cfg.steps_per_epoch,
            **{f"loss/{name}": sums[name] / counts[name] if name in counts else float("nan") for name in cfg.tasks},
            "data_fraction": sampler.pool_size(end_step - 1) / len(data.train),
            "active_tasks": ",".join(schedule.weights(end_step - 1, cfg.total_steps)),
            "train_pairs": len(data.train),
            "test_pairs": len(data.test),
            "logit_scale": float(model.logit_scale.detach().exp()),
            "epoch_time_s": time.monotonic() - epoch_start,
            "time_s": time.monotonic() - started,
        }
        report(metrics, checkpoint_state(epoch + 1))
    return metrics
