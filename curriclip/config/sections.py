"""The experiment file's plain sections: data, training budget, compute, model options, resources.

``TrainingConfig``, ``ComputeConfig`` and the model options are also parts of every trial
config (``TrialConfig`` inherits the first two and nests the third), so each field, its
default and its validator are written once, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from curriclip.config.common import Strict, known, text_tower_form

#: mixed precision of a trial (``compute.precision``); ``device.resolve_precision`` says what each means
Precision = Literal["auto", "bf16", "fp16", "fp32"]
#: where a trial trains: auto (CUDA when the trial was given a GPU), cpu, cuda
Device = Literal["auto", "cpu", "cuda"]


class TrainingConfig(Strict):
    """The step budget and optimiser of every trial (the same at every sparsity level)."""

    epochs: int = Field(8, ge=1)
    steps_per_epoch: int = Field(40, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(
        1e-3, gt=0.0, description="learning rate of the single-task arm (and curriculum when not searched)"
    )
    weight_decay: float = Field(0.1, ge=0.0)
    warmup_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    eval_batch_size: int = Field(256, ge=1)
    device: Device = "auto"
    checkpoint_every_s: float = Field(
        60.0,
        ge=0.0,
        description="a trial checkpoints after its last epoch and after any epoch that ends at least this many "
        "seconds after its previous checkpoint (0: every epoch); a crash repeats at most this much of a trial. "
        "PBT (it restores from checkpoints) always checkpoints every epoch",
    )


class ComputeConfig(Strict):
    """How trials compute on a GPU; every setting is a no-op on a CPU except ``compile``."""

    precision: Precision = Field(
        "auto",
        description="auto: bf16 autocast on GPUs that support it (A100, H100: fp32's range, no loss scaling), fp16 "
        "autocast with a gradient scaler on older GPUs (V100, T4), fp32 on a CPU; bf16/fp16 need gpus_per_trial > 0",
    )
    tf32: bool = Field(
        True,
        description="fp32 matmuls and convolutions on TF32 tensor cores (A100+: several times faster; the "
        "parts autocast leaves in fp32, and everything under precision fp32)",
    )
    channels_last: bool = Field(
        False,
        description="channels-last image tower: faster convolutional towers (ResNet, ConvNeXt) on tensor "
        "cores; ViTs gain little",
    )
    pin_memory: bool = Field(
        True, description="copy each batch from pinned host memory without blocking, so the copy overlaps compute"
    )
    compile: bool = Field(
        False,
        description="torch.compile the image and text towers: a minute or more of compilation per trial, "
        "then faster steps; worth it for long trials of big models",
    )


class ModelOptions(Strict):
    """How the model is built beyond its name (see ``curriclip.models.factory``)."""

    pretrained: str | None = Field(None, description="open_clip pretrained tag (downloads when named)")
    checkpoint: str | None = Field(None, description="local open_clip state dict (loaded weights_only)")
    text_tower: str | None = Field(None, description="'wordpiece' or 'hf:<hub id or local directory>'")
    image_channels: Literal["replicate", "stem"] = Field(
        "replicate", description="grayscale input: replicated to RGB, or a one-channel stem"
    )

    @field_validator("text_tower")
    @classmethod
    def _text_tower_form(cls, v: str | None) -> str | None:
        return text_tower_form(v)

    @field_validator("checkpoint")
    @classmethod
    def _checkpoint_exists(cls, v: str | None) -> str | None:
        if v is not None and not Path(v).is_file():
            raise ValueError(f"{v}: checkpoint file not found")
        return v


class DataConfig(Strict):
    source: str = Field("synthetic", description="registered data source: synthetic | dir")
    path: str | None = Field(None, description="dataset directory (source: dir) or cache root (synthetic)")
    n: int = Field(3000, ge=100, description="synthetic: number of samples")
    image_size: int = Field(128, ge=16, le=1024, description="synthetic: image side in pixels")
    seed: int = Field(0, description="synthetic: generator seed; also the sparsity-subset seed")
    variant: Literal["noisy_hard_pairs"] | None = Field(
        None,
        description="synthetic: a planted-effect variant (curriclip.data.synthetic.variants); null: the benchmark. "
        "noisy_hard_pairs: noise_fraction of the training pairs, among the hardest, carry another pair's report",
    )
    noise_fraction: float = Field(
        0.0, ge=0.0, lt=1.0, description="synthetic noisy_hard_pairs: the fraction of training pairs made noisy"
    )
    noise_band: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="synthetic noisy_hard_pairs: the hardest fraction of the training pairs the noisy ones are drawn "
        "from (at least noise_fraction; default twice it)",
    )

    @field_validator("source")
    @classmethod
    def _source_known(cls, v: str) -> str:
        from curriclip.data.sources import SOURCES

        return known(SOURCES, v)

    @model_validator(mode="after")
    def _variant_options(self) -> DataConfig:
        if self.variant is not None and self.source != "synthetic":
            raise ValueError(f"variant {self.variant!r} is a synthetic benchmark option (source: synthetic)")
        if self.variant == "noisy_hard_pairs" and self.noise_fraction <= 0:
            raise ValueError("variant 'noisy_hard_pairs' needs noise_fraction > 0")
        if self.variant is None and (self.noise_fraction > 0 or self.noise_band is not None):
            raise ValueError(
                "noise_fraction and noise_band are options of variant 'noisy_hard_pairs' (set data.variant)"
            )
        if self.noise_band is not None and self.noise_band < self.noise_fraction:
            raise ValueError(f"noise_band ({self.noise_band:g}) must hold the noise: at least noise_fraction")
        return self

    def source_options(self) -> dict:
        """The keyword arguments of the data source (``curriclip.data.sources.resolve``)."""
        return self.model_dump(exclude={"source"})


class ResourcesConfig(Strict):
    """What each trial asks Ray for; a data-parallel trial asks it for each of its workers."""

    cpus_per_trial: float = Field(
        1.0, gt=0, description="CPUs per trial (per worker when workers_per_trial > 1); also its torch threads"
    )
    gpus_per_trial: float = Field(
        0.0,
        ge=0,
        description="GPUs per trial (per worker when workers_per_trial > 1); a trial given GPUs trains on CUDA. "
        "A fraction shares a GPU: 0.5 runs 2 trials on each GPU, 0.25 runs 4, each capped at that share of the "
        "GPU's memory (torch.cuda.set_per_process_memory_fraction) so one trial cannot starve the others",
    )
    workers_per_trial: int = Field(
        1,
        ge=1,
        description="data-parallel workers per trial (Ray Train; gloo on CPUs, NCCL on GPUs): each trains "
        "training.batch_size / workers_per_trial pairs of every batch and the ITC loss sees the whole batch; the "
        "trial takes workers_per_trial x (cpus_per_trial, gpus_per_trial)",
    )
    gpu_memory_fraction: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="cap on each trial's share of its GPU's memory (default: gpus_per_trial when below 1, else "
        "none); lower it when a model's activations spike, raise it when the trials beside it need little",
    )

    @property
    def use_gpu(self) -> bool:
        """Trials (their workers) get GPUs: they train on CUDA, data-parallel ones over NCCL."""
        return self.gpus_per_trial > 0

    @field_validator("workers_per_trial")
    @classmethod
    def _whole_gpus_per_worker(cls, v: int, info: ValidationInfo) -> int:
        gpus = info.data.get("gpus_per_trial", 0.0)
        if v > 1 and 0 < gpus < 1:
            raise ValueError(
                f"{v} workers with gpus_per_trial {gpus}: data-parallel workers need a whole GPU each "
                "(NCCL cannot run two ranks of one trial on one GPU); share GPUs with workers_per_trial: 1"
            )
        return v

    @field_validator("gpu_memory_fraction")
    @classmethod
    def _fraction_needs_gpu(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None and info.data.get("gpus_per_trial", 0.0) == 0:
            raise ValueError("a GPU memory cap needs gpus_per_trial > 0")
        return v
