"""One trial, start to finish, with no Ray: data -> model -> curriculum -> train -> evaluate.

``run_trial`` is what the Ray Tune trainable and ``curriclip train`` both call. It
reports after every epoch through a callback that receives the metrics and a function
returning the checkpoint state, so the caller decides whether and where to save.
Everything random draws from generators seeded by the trial config, and the state
carries them, so a resumed trial continues exactly as an uninterrupted one would.

The device, mixed precision and copies to the GPU live in ``device.Compute``; a
data-parallel trial passes a ``distributed.DataParallel`` for its rank (the default is
the single process, where every one of its hooks is a no-op).
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
from curriclip.curriculum.runtime import TrialCurriculum
from curriclip.data.loader import SplitArrays, load_split
from curriclip.data.store import image_channels, read_split
from curriclip.data.subsets import label_subset_mask, sparsity_subset
from curriclip.errors import DataError
from curriclip.models import ModelSpec, MultiTaskModel, build_clip, model_info
from curriclip.trainables.controls import SHUFFLED_CONTROL, shuffle_pairs
from curriclip.trainables.device import Compute, select_device
from curriclip.trainables.distributed import DataParallel
from curriclip.trainables.evaluation import Evaluator, init_metrics

#: open_clip clamps the learnable temperature to at most 100 (log 100 ≈ 4.6052).
MAX_LOGIT_SCALE = math.log(100)

Reporter = Callable[[dict, Callable[[], dict]], None]


@dataclass
class TrialData:
    train: SplitArrays
    test: SplitArrays
    train_tokens: torch.Tensor
    test_tokens: torch.Tensor
    #: the report sections tokenised separately (only when a task needs them)
    train_findings_tokens: torch.Tensor | None = None
    train_impression_tokens: torch.Tensor | None = None
    train_sections: torch.Tensor | None = None


def check_task_data(cfg: TrialConfig, train: SplitArrays) -> None:
    """Fail clearly when the dataset lacks what a task needs (never skip a task silently)."""
    for name in cfg.tasks:
        missing = task_lib.missing_data(task_lib.get(name), train, cfg.label_policy)
        if missing is not None:
            raise DataError(f"task {name!r} is unavailable: the training subset of {cfg.dataset_dir} {missing}")


def load_trial_data(cfg: TrialConfig, image_size: int, tokenizer: Callable) -> TrialData:
    """The trial's sparsity subset of the training split, and the full, fixed test split."""
    needs = set().union(*(task_lib.get(name).needs for name in cfg.tasks))
    train = load_split(cfg.dataset_dir, "train", image_size, masks="masks" in needs)
    test = load_split(cfg.dataset_dir, "test", image_size, masks="masks" in needs)  # Dice of segmentation heads
    if len(test) == 0:
        raise DataError(f"{cfg.dataset_dir}: the test split is empty; CLIP score needs held-out pairs")
    keep = sparsity_subset(train.subject_ids, cfg.sparsity, seed=cfg.subset_seed, labels=train.labels.numpy())
    train = train.take(keep)
    if cfg.label_fraction < 1.0:  # label sparsity: ITC keeps every pair, label tasks see fewer labels
        unlabeled = ~label_subset_mask(train.subject_ids, cfg.label_fraction, cfg.subset_seed, train.labels.numpy())
        train.labels[torch.from_numpy(unlabeled)] = float("nan")
    if len(train) < 2:
        raise DataError(f"{cfg.dataset_dir}: sparsity {cfg.sparsity} leaves {len(train)} training pair(s)")
    check_task_data(cfg, train)
    data = TrialData(train, test, tokenizer(train.texts), tokenizer(test.texts))
    if "sections" in needs:
        data.train_findings_tokens = tokenizer(train.findings)
        data.train_impression_tokens = tokenizer(train.impressions)
        data.train_sections = task_lib.base.sections_mask(train.findings, train.impressions)
    return data


def model_spec(cfg: TrialConfig) -> ModelSpec:
    channels = image_channels(cfg.dataset_dir)  # brats: multi-channel datasets
    return ModelSpec(
        cfg.model, cfg.model_pretrained, cfg.model_checkpoint, cfg.text_tower, cfg.image_channels, channels
    )


def training_reports(dataset_dir: str) -> list[str]:
    """The training split's report texts (what the ``wordpiece`` text tower learns its vocabulary from)."""
    table, _ = read_split(dataset_dir, "train", columns=["findings", "impression"])
    return [" ".join(p.strip() for p in (f, i) if p and p.strip())
            for f, i in zip(table["findings"].to_pylist(), table["impression"].to_pylist())]


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


def follow_config_lr(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR, lr: float
) -> None:
    """Makes a restored optimizer follow ``lr`` (the checkpoint stores the lr it was trained with).

    A no-op on a plain resume; after a PBT exploit the copied optimizer state carries
    the donor's lr, and the warmup/cosine schedule continues from the same step at the
    new peak.
    """
    scheduler.base_lrs = [lr] * len(optimizer.param_groups)
    values = [lr * factor(scheduler.last_epoch) for factor in scheduler.lr_lambdas]  # LambdaLR's own formula
    for group, value in zip(optimizer.param_groups, values, strict=True):
        group["initial_lr"] = lr
        group["lr"] = value


def run_trial(
    cfg: TrialConfig, report: Reporter, state: dict | None = None, parallel: DataParallel | None = None
) -> dict:
    """Train and evaluate one trial; returns the last epoch's metrics (rank 0 evaluates and reports)."""
    started = time.monotonic()
    parallel = parallel or DataParallel()
    torch.set_num_threads(cfg.threads or int(os.environ.get("CURRICLIP_THREADS", torch.get_num_threads())))
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    generator = torch.Generator().manual_seed(parallel.generator_seed(cfg.seed))
    device = parallel.device or select_device(cfg.device)
    compute = Compute.for_trial(cfg, device)
    parallel.local_batch_size(cfg.batch_size)

    spec = model_spec(cfg)
    reports = training_reports(cfg.dataset_dir) if spec.resolve()[3] == "wordpiece" else None
    clip, tokenizer, image_size = build_clip(spec, reports)
    data = load_trial_data(cfg, image_size, tokenizer)
    if cfg.arm == SHUFFLED_CONTROL:  # negative control: images paired with other samples' reports
        data = shuffle_pairs(data, cfg.seed)
    evaluator = Evaluator(data.train, data.test, data.test_tokens, tokenizer, cfg.eval_batch_size, device)
    tasks = {
        name: task_lib.get(name).configure(label_policy=cfg.label_policy, **parallel.task_options())
        for name in cfg.tasks
    }
    info = model_info(clip, len(data.train.label_names), image_size)
    heads = {}
    for name, task in tasks.items():
        head = task.build_head(info)
        if head is not None:
            heads[name] = head
    # the weighting is part of the model: its learnable parameters join the optimizer and the checkpoint
    combine = weighting.get(cfg.weighting)(cfg.tasks, steps_per_epoch=cfg.steps_per_epoch)
    model = compute.prepare_model(MultiTaskModel(clip, heads, combine).to(device))
    shared = [p for p in model.clip.parameters() if p.requires_grad]  # what every task shares
    optimizer, scheduler = build_optimizer(model, cfg)

    curriculum = TrialCurriculum(  # scorer -> order (control) -> paced sampler, and the task schedule
        cfg, data.train, data.train_tokens, rng, device,
        build_model=lambda: MultiTaskModel(build_clip(spec, reports)[0], {}).to(device),  # transfer teacher
    )

    start_epoch = 0
    if state is None:  # the untrained model: init_clip_score, init_i2t_r1, ...
        init = init_metrics(evaluator(model, tasks)) if parallel.is_main else {}
    else:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        follow_config_lr(optimizer, scheduler, cfg.lr)  # PBT may resume a checkpoint under a perturbed lr
        compute.load_state_dict(state)
        rng.bit_generator.state = state["numpy_rng"]
        generators = state.get("torch_generators") or []
        if len(generators) == parallel.world_size:  # each rank's own (a data-parallel checkpoint)
            generator.set_state(generators[parallel.rank])
        elif parallel.is_main:
            generator.set_state(state["torch_generator"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch = int(state["epoch"])
        init = dict(state.get("init_metrics") or {"init_clip_score": float(state["init_clip_score"])})
    parallel.broadcast_model(model)
    generator_states: list[torch.Tensor] = []

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
                "init_clip_score": init["init_clip_score"],
                "init_metrics": init,
                **({"torch_generators": generator_states} if parallel.distributed else {}),
                **compute.state_dict(),
            }

        return make

    metrics: dict = {}
    if start_epoch >= cfg.epochs and parallel.is_main:
        # Restored at the very end: a PBT exploit of a trial that had finished its budget, or a crash
        # after the last checkpoint. Report the final evaluation once, so the trial's last epoch is on record.
        metrics = {
            **evaluator(model, tasks),
            **init,
            "epoch": cfg.epochs,
            "train_pairs": len(data.train),
            "test_pairs": len(data.test),
            "time_s": time.monotonic() - started,
        }
        report(metrics, checkpoint_state(cfg.epochs))
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        epoch_start = time.monotonic()
        curriculum.start_epoch(epoch, model, rng)  # dynamic scorers re-score with the current model
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for step_in_epoch in range(cfg.steps_per_epoch):
            step = epoch * cfg.steps_per_epoch + step_in_epoch
            index = torch.as_tensor(parallel.shard(curriculum.batch(step, rng)), dtype=torch.long)
            batch = task_lib.Batch(
                images=compute.to_device(data.train.images[index]),
                tokens=compute.to_device(data.train_tokens[index]),
                labels=compute.to_device(data.train.labels[index]),
                masks=None if data.train.masks is None else compute.to_device(data.train.masks[index]).float(),
                findings_tokens=None if data.train_findings_tokens is None else data.train_findings_tokens[index],
                impression_tokens=None if data.train_impression_tokens is None else data.train_impression_tokens[index],
                has_sections=None if data.train_sections is None else data.train_sections[index],
            )
            ctx = task_lib.StepContext(model, batch, generator)
            weights = curriculum.weights(step)
            with compute.autocast():
                losses = {
                    name: tasks[name].loss(ctx, model.heads[name] if name in model.heads else None) for name in weights
                }
            optimizer.zero_grad(set_to_none=True)
            total = combine.backward(compute.scaled(losses), weights, shared=shared, generator=generator)
            losses = parallel.average({**losses, "total": total})  # over ranks; every rank sees the same values
            total = losses.pop("total")
            if not torch.isfinite(total):
                raise FloatingPointError(
                    f"non-finite loss {float(total)} at step {step} (losses: "
                    f"{ {k: float(v) for k, v in losses.items()} }); lower the learning rate"
                )
            parallel.sync_gradients(model.parameters())
            compute.step(optimizer)
            scheduler.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + value.item()
                counts[name] = counts.get(name, 0) + 1
            sums["total"] = sums.get("total", 0.0) + float(total)
        end_step = (epoch + 1) * cfg.steps_per_epoch
        generator_states = parallel.generator_states(generator) if parallel.distributed else []
        if not parallel.is_main:
            continue
        metrics = {
            **evaluator(model, tasks),
            **init,
            "epoch": epoch + 1,
            "loss": sums["total"] / cfg.steps_per_epoch,
            **{f"loss/{name}": sums[name] / counts[name] if name in counts else float("nan") for name in cfg.tasks},
            **curriculum.epoch_metrics(end_step - 1, data.train.difficulty),  # data_fraction, score_threshold, ...
            "active_tasks": ",".join(curriculum.weights(end_step - 1)),
            "train_pairs": len(data.train),
            "test_pairs": len(data.test),
            "logit_scale": float(model.logit_scale.detach().exp()),
            "epoch_time_s": time.monotonic() - epoch_start,
            "time_s": time.monotonic() - started,
        }
        report(metrics, checkpoint_state(epoch + 1))
    return metrics
