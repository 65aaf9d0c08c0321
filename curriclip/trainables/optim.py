"""A trial's optimizer and learning-rate schedule: AdamW with warmup and a cosine decay to 10% of the peak."""

from __future__ import annotations

import math

import torch

from curriclip.config import TrialConfig


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


def follow_config_lr(optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR, lr: float) -> None:
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
