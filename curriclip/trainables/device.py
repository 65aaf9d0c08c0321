"""Where and how one trial computes: device, mixed precision, TF32, memory layout, host-to-device copies.

The training loop asks this module for a ``Compute`` and then only calls its hooks
(``autocast()``, ``to_device()``, ``scaled()``, ``step()``), so the loop reads the same
on a laptop CPU and on a GPU node. Every setting acts on CUDA only: on a CPU the hooks
are the identity (no autocast, no loss scaling, no pinned memory, contiguous images),
so a CPU trial computes exactly what it computed before GPUs were supported and stays
deterministic given its seed.

Precision ``auto`` means bf16 autocast on GPUs that support it (Ampere and newer: same
exponent range as fp32, so no loss scaling), fp16 autocast with a gradient scaler on
older GPUs (V100, T4), and fp32 on a CPU. Parameters and optimizer state stay fp32 in
every case (autocast only lowers the precision of matmuls and convolutions).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, get_args

import torch
from torch import nn

from curriclip.config import Precision
from curriclip.errors import ConfigError, DataError

#: What ``precision`` may be set to (the trial config and the experiment's ``compute:`` section).
PRECISIONS = get_args(Precision)
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def select_device(requested: str) -> torch.device:
    """The torch device of a trial; a clear error (not a CUDA traceback) when cuda is asked for but absent."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise DataError("device: 'cuda' requested but no CUDA GPU is visible to this trial")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``bf16``, ``fp16`` or ``fp32``: what ``precision`` means on ``device`` (``auto`` picks the GPU's best)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
    if device.type != "cuda":
        if precision in _DTYPES:
            raise ConfigError(f"precision {precision!r} needs a CUDA GPU; this trial runs on {device.type}")
        return "fp32"
    bf16 = torch.cuda.is_bf16_supported(including_emulation=False)  # emulated bf16 (pre-Ampere) is slow
    if precision == "auto":
        return "bf16" if bf16 else "fp16"
    if precision == "bf16" and not bf16:
        raise ConfigError("precision 'bf16': this GPU does not support bfloat16; use fp16 (or auto)")
    return precision


def set_tf32(enabled: bool) -> None:
    """Let fp32 matmuls and convolutions on CUDA use TF32 tensor cores (10-bit mantissa, about 8x faster on A100+).

    Uses the per-backend ``fp32_precision`` switches where torch has them (2.9+), which
    must not be mixed with the legacy ``allow_tf32`` flags in one process.
    """
    matmul = torch.backends.cuda.matmul
    if hasattr(matmul, "fp32_precision"):
        mode = "tf32" if enabled else "ieee"
        matmul.fp32_precision = mode
        torch.backends.cudnn.conv.fp32_precision = mode
    else:  # older torch
        torch.set_float32_matmul_precision("high" if enabled else "highest")
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


class _ScaleGradient(torch.autograd.Function):
    """Identity on the value, times ``scale`` on the gradient.

    fp16 loss scaling that leaves the loss values untouched, so weighting strategies
    that read them (uncertainty, DWA, GradNorm) see the true losses while every
    gradient they produce is scaled, as ``GradScaler`` expects.
    """

    @staticmethod
    def forward(ctx: Any, value: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(scale)
        return value.view_as(value)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (scale,) = ctx.saved_tensors
        return grad * scale.to(grad.dtype), None


def _first_conv(model: nn.Module) -> nn.Conv2d | None:
    return next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)


@dataclass
class Compute:
    """A trial's compute settings, resolved for its device (see the module docstring)."""

    device: torch.device
    precision: str = "fp32"  # resolved: bf16, fp16 or fp32
    pin_memory: bool = False
    channels_last: bool = False
    compile: bool = False
    scaler: torch.amp.GradScaler | None = None

    @classmethod
    def for_trial(cls, cfg: Any, device: torch.device) -> Compute:
        """Resolve a trial config's compute fields on ``device`` and apply the process-wide CUDA settings.

        On CUDA: TF32 on or off (``cfg.tf32``), deterministic cuBLAS workspaces, and this
        process's share of the GPU's memory capped at ``cfg.gpu_memory_fraction`` (a trial
        on a fractional GPU must not take the memory of the trials beside it).
        """
        precision = resolve_precision(cfg.precision, device)
        cuda = device.type == "cuda"
        if cuda:
            # deterministic cuBLAS (the loop asks torch for deterministic algorithms); read when cuBLAS starts
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            set_tf32(cfg.tf32)
            fraction = getattr(cfg, "gpu_memory_fraction", None)
            if fraction is not None and fraction < 1.0:
                index = device.index if device.index is not None else torch.cuda.current_device()
                torch.cuda.set_per_process_memory_fraction(float(fraction), index)
        return cls(
            device=device,
            precision=precision,
            pin_memory=cuda and cfg.pin_memory,
            channels_last=cuda and cfg.channels_last,
            compile=cfg.compile,
            scaler=torch.amp.GradScaler("cuda") if precision == "fp16" else None,
        )

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype (None: fp32, no autocast)."""
        return _DTYPES.get(self.precision)

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward pass's autocast context (a no-op in fp32)."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def to_device(self, tensor: torch.Tensor) -> torch.Tensor:
        """A host batch on the trial's device; from pinned memory on CUDA, so the copy overlaps compute."""
        if self.pin_memory and tensor.device.type == "cpu":
            tensor = tensor.pin_memory()
        return tensor.to(self.device, non_blocking=True)

    def prepare_model(self, model: nn.Module) -> nn.Module:
        """Channels-last image tower and compiled towers, in place (state-dict keys stay as they are).

        Channels-last matters for convolutional towers (ResNet, ConvNeXt) on tensor
        cores; the first convolution's input is converted by a pre-hook because the
        model builds its (B, C, H, W) input from grayscale itself. ``nn.Module.compile``
        compiles in place, so checkpoints written with and without it are interchangeable.
        """
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
            conv = _first_conv(model)
            if conv is not None:
                conv.register_forward_pre_hook(
                    lambda _m, args: (args[0].contiguous(memory_format=torch.channels_last), *args[1:])
                )
        if self.compile:
            for tower in _towers(model):
                tower.compile()
        return model

    def scaled(self, losses: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The losses to back-propagate: fp16 scales their gradients (not their values); otherwise themselves."""
        if self.scaler is None:
            return losses
        scale = self.scaler.scale(torch.ones((), device=self.device))  # the current scale, without a host sync
        return {name: _ScaleGradient.apply(value, scale) for name, value in losses.items()}

    def step(self, optimizer: torch.optim.Optimizer) -> None:
        """Optimizer step; with fp16, unscale, skip the step on inf/NaN gradients and adapt the scale."""
        if self.scaler is None:
            optimizer.step()
            return
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict:
        """What a checkpoint keeps of the compute state (the fp16 loss scale; empty otherwise)."""
        return {} if self.scaler is None else {"grad_scaler": self.scaler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.scaler is not None and "grad_scaler" in state:
            self.scaler.load_state_dict(state["grad_scaler"])


def _towers(model: nn.Module) -> Iterator[nn.Module]:
    """The encoders worth compiling: the image tower and the text transformer (heads are tiny)."""
    clip = getattr(model, "clip", model)
    for name in ("visual", "transformer", "text"):
        tower = getattr(clip, name, None)
        if isinstance(tower, nn.Module):
            yield tower
