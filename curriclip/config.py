"""The validated configuration: the experiment file and the trial config.

Two pydantic models carry everything a run needs. ``ExperimentConfig`` is the YAML
experiment file (what to search, how, where). ``TrialConfig`` is the contract between
the search side and the training side: a plain JSON-serialisable dict that ``spaces``
produces and ``trainables`` consumes, and that ``curriclip train TRIAL.json`` runs
without Ray. Defaults live here and nowhere else; presets only override them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from curriclip.curriculum import difficulty, pacing
from curriclip.errors import ConfigError, UnknownNameError
from curriclip.models.factory import PRESETS, known_architecture
from curriclip.tasks import TASKS
from curriclip.weighting import WEIGHTINGS

ITC = "itc"
ARMS = ("curriculum", "single_task", "shuffled_control")
#: Arms that train ITC alone without pacing (the baseline and the shuffled-pairs negative control).
ITC_ONLY_ARMS = ("single_task", "shuffled_control")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


def _known(registry, name: str) -> str:
    try:
        registry.get(name)
    except UnknownNameError as exc:
        raise ValueError(str(exc)) from None
    return name


def _known_model(name: str) -> str:
    """A model preset or any open_clip architecture name."""
    if known_architecture(name):
        return name
    return _known(PRESETS, name)  # the registry's error lists the presets


def _text_tower(v: str | None) -> str | None:
    if v is not None and v != "wordpiece" and not (v.startswith("hf:") and len(v) > 3):
        raise ValueError(f"text_tower {v!r}: expected 'wordpiece' or 'hf:<hub id or local directory>'")
    return v


# ---------------------------------------------------------------------------
# Trial config: the contract between spaces/search and trainables.
# ---------------------------------------------------------------------------


#: mixed precision of a trial (``compute.precision``); ``device.resolve_precision`` says what each means
Precision = Literal["auto", "bf16", "fp16", "fp32"]


class TrialConfig(_Strict):
    """Everything one trial needs, resolved: no ranges, no presets, no Ray."""

    arm: Literal["curriculum", "single_task", "shuffled_control"]
    dataset_dir: str
    model: str = Field("tiny", description="model preset (curriclip list presets) or any open_clip architecture")
    model_pretrained: str | None = Field(None, description="open_clip pretrained tag (downloads when named)")
    model_checkpoint: str | None = Field(None, description="local open_clip state dict (loaded weights_only)")
    text_tower: str | None = Field(
        None, description="null: the model's own; 'wordpiece': domain vocabulary + small BERT; 'hf:<hub id or dir>'"
    )
    image_channels: Literal["replicate", "stem"] = Field(
        "replicate", description="grayscale input: replicated to RGB, or a one-channel stem"
    )
    label_policy: Literal["ignore", "zeros", "ones"] = Field(
        "ignore", description="uncertain (-1) finding labels: U-ignore, U-zeros or U-ones (CheXpert)"
    )
    tasks: list[str] = Field(description="task ordering; tasks join in this order (cumulative)")
    stage_span: float = Field(0.5, ge=0.0, le=1.0, description="fraction of training over which tasks join")
    pacing: str = "none"
    pacing_params: dict[str, float] = Field(default_factory=dict)
    scorer: str = "metadata"
    scorer_params: dict[str, float] = Field(default_factory=dict, description="the scorer's parameters (e.g. steps)")
    control: Literal["none", "anti", "random"] = Field(
        "none", description="curriculum control: none (easiest first), anti (hardest first), random order"
    )
    schedule: Literal["cumulative", "sequential", "ramped"] = Field(
        "cumulative", description="how the task ordering becomes loss weights (curriclip.curriculum.schedule)"
    )
    stage_pacing: str = Field("linear", description="pacing function that sets the stage lengths within stage_span")
    stage_pacing_params: dict[str, float] = Field(
        default_factory=lambda: {"a": 1.0}, description="its parameters (linear with a=1: equal stages)"
    )
    weighting: str = "equal"
    sparsity: float = Field(1.0, gt=0.0, le=1.0, description="fraction of training pairs used")
    label_fraction: float = Field(
        1.0, gt=0.0, le=1.0, description="label sparsity: fraction of the kept pairs whose finding labels are kept"
    )
    sparsity_mode: Literal["pairs", "labels"] = Field(
        "pairs", description="which of sparsity / label_fraction is this trial's sparsity level"
    )
    subset_seed: int = Field(0, description="seed of the nested sparsity subsets (same for a whole search)")
    seed: int = 0
    lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(0.1, ge=0.0)
    warmup_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    batch_size: int = Field(64, ge=2)
    epochs: int = Field(8, ge=1, description="evaluation rounds; CLIP score is measured after each")
    steps_per_epoch: int = Field(40, ge=1, description="optimizer steps per epoch (same budget at every sparsity)")
    eval_batch_size: int = Field(256, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: the CPUs Ray gave the trial)")
    # compute settings (experiment section ``compute:``, see ComputeConfig); on a CPU only ``compile`` acts
    precision: Precision = Field(
        "auto", description="auto: bf16 autocast on GPUs with bf16, fp16 + loss scaling on older GPUs, fp32 on CPU"
    )
    tf32: bool = Field(True, description="CUDA: fp32 matmuls and convolutions on TF32 tensor cores")
    channels_last: bool = Field(False, description="CUDA: channels-last image tower (convolutional towers gain)")
    pin_memory: bool = Field(True, description="CUDA: batches copied from pinned host memory without blocking")
    compile: bool = Field(False, description="torch.compile the image and text towers")
    gpu_memory_fraction: float | None = Field(
        None, gt=0.0, le=1.0,
        description="CUDA: cap on this trial's share of its GPU's memory (default: the GPU fraction Ray gave it)",
    )

    @field_validator("model")
    @classmethod
    def _model_known(cls, v: str) -> str:
        return _known_model(v)

    @field_validator("text_tower")
    @classmethod
    def _text_tower_form(cls, v: str | None) -> str | None:
        return _text_tower(v)

    @field_validator("precision")
    @classmethod
    def _precision_needs_gpu(cls, v: str, info: ValidationInfo) -> str:
        if v in ("bf16", "fp16") and info.data.get("device") == "cpu":
            raise ValueError(f"{v!r} autocast needs a CUDA GPU but device is 'cpu' (use auto or fp32)")
        return v

    @field_validator("tasks")
    @classmethod
    def _tasks_known(cls, v: list[str]) -> list[str]:
        for name in v:
            _known(TASKS, name)
        if len(set(v)) != len(v):
            raise ValueError(f"task ordering repeats a task: {v}")
        if ITC not in v:
            raise ValueError("task ordering must include 'itc' (CLIP score measures its alignment)")
        return v

    @field_validator("pacing")
    @classmethod
    def _pacing_known(cls, v: str) -> str:
        return _known(pacing.PACING, v)

    @field_validator("scorer")
    @classmethod
    def _scorer_known(cls, v: str) -> str:
        return _known(difficulty.SCORERS, v)

    @field_validator("weighting")
    @classmethod
    def _weighting_known(cls, v: str) -> str:
        return _known(WEIGHTINGS, v)

    @field_validator("stage_pacing")
    @classmethod
    def _stage_pacing_known(cls, v: str) -> str:
        return _known(pacing.PACING, v)

    @model_validator(mode="after")
    def _curriculum_consistent(self) -> TrialConfig:
        unknown = set(self.stage_pacing_params) - set(pacing.get(self.stage_pacing).params)
        if unknown:
            raise ValueError(f"stage pacing {self.stage_pacing!r} has no parameter(s) {sorted(unknown)}")
        unknown = set(self.scorer_params) - set(difficulty.get(self.scorer).params)
        if unknown:
            raise ValueError(f"scorer {self.scorer!r} has no parameter(s) {sorted(unknown)}")
        return self

    @model_validator(mode="after")
    def _consistent(self) -> TrialConfig:
        fn = pacing.get(self.pacing)
        unknown = set(self.pacing_params) - set(fn.params)
        if unknown:
            raise ValueError(f"pacing {self.pacing!r} has no parameter(s) {sorted(unknown)}")
        if self.arm in ITC_ONLY_ARMS and (self.tasks != [ITC] or self.pacing != "none"):
            raise ValueError(f"the {self.arm} arm trains ITC alone without pacing (tasks: [itc], pacing: none)")
        return self

    @property
    def level(self) -> float:
        """The sparsity level this trial stands for (pairs or labels, by ``sparsity_mode``)."""
        return self.sparsity if self.sparsity_mode == "pairs" else self.label_fraction

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def level_fields(mode: str, level: float) -> dict[str, Any]:
    """Trial-config fields for one sparsity level under a sparsity mode."""
    if mode == "labels":
        return {"sparsity": 1.0, "label_fraction": level, "sparsity_mode": "labels"}
    return {"sparsity": level, "sparsity_mode": "pairs"}


def trial_level(trial: dict) -> float:
    """The sparsity level of a trial-config dict (what reports and schedulers group by)."""
    if trial.get("sparsity_mode") == "labels":
        return float(trial.get("label_fraction", 1.0))
    return float(trial.get("sparsity", 1.0))


# ---------------------------------------------------------------------------
# Experiment file.
# ---------------------------------------------------------------------------


class DataConfig(_Strict):
    source: str = Field("synthetic", description="registered data source: synthetic | dir")
    path: str | None = Field(None, description="dataset directory (source: dir) or cache root (synthetic)")
    n: int = Field(3000, ge=100, description="synthetic: number of samples")
    image_size: int = Field(128, ge=16, le=1024, description="synthetic: image side in pixels")
    seed: int = Field(0, description="synthetic: generator seed; also the sparsity-subset seed")

    @field_validator("source")
    @classmethod
    def _source_known(cls, v: str) -> str:
        from curriclip.data.sources import SOURCES

        return _known(SOURCES, v)


class TrainingConfig(_Strict):
    epochs: int = Field(8, ge=1)
    steps_per_epoch: int = Field(40, ge=1)
    batch_size: int = Field(64, ge=2)
    lr: float = Field(
        1e-3, gt=0.0, description="learning rate of the single-task arm (and curriculum when not searched)"
    )
    weight_decay: float = Field(0.1, ge=0.0)
    warmup_fraction: float = Field(0.05, ge=0.0, lt=1.0)
    eval_batch_size: int = Field(256, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"


class SpaceConfig(_Strict):
    """What the search may try: orderings of these tasks, these pacing functions, these levels."""

    tasks: list[str] = Field(
        default_factory=lambda: ["findings", "rotation"], description="auxiliary tasks ordered with itc"
    )
    pacing: dict[str, dict[str, tuple[float, float]]] = Field(
        default_factory=lambda: {"linear": {}, "root": {}, "exponential": {}, "step": {}},
        description="pacing function -> {param: [low, high]} (empty: the function's own ranges)",
    )
    stage_span: tuple[float, float] = (0.2, 0.8)
    sparsity: list[float] = Field(default_factory=lambda: [0.1, 0.3, 1.0])
    sparsity_axis: Literal["grid", "searched"] = Field(
        "grid",
        description="grid: curriculum trials go round-robin over the levels, so each gets the same budget; "
        "searched: the searcher picks the level like any other parameter (pair with objectives such as "
        "{clip_score: max, train_pairs: min} to trade data for alignment). Baselines run at every level either way",
    )
    ordering_encoding: Literal["random_keys", "lehmer"] = Field(
        "random_keys", description="how orderings become Optuna parameters (see benchmarks/bench_encoding.py)"
    )
    sparsity_mode: Literal["pairs", "labels"] = Field(
        "pairs", description="pairs: levels subset the image-report pairs; labels: all pairs, levels subset labels"
    )
    lr: tuple[float, float] | None = Field((3e-4, 2e-3), description="log-uniform range, or null to use training.lr")
    scorer: list[str] = Field(default_factory=lambda: ["metadata"])
    scorer_params: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="scorer -> {param: value} (fixed, not searched; e.g. transfer_teacher steps)"
    )
    control: list[Literal["none", "anti", "random"]] = Field(
        default_factory=lambda: ["none"], min_length=1, description="curriculum controls to try (searched when > 1)"
    )
    schedule: list[Literal["cumulative", "sequential", "ramped"]] = Field(
        default_factory=lambda: ["cumulative"], min_length=1, description="schedule modes to try (searched when > 1)"
    )
    stage_pacing: dict[str, dict[str, tuple[float, float]]] | None = Field(
        None,
        description="pacing functions for the stage lengths -> {param: [low, high]}; null: equal stages (linear, a=1)",
    )
    weighting: list[str] = Field(default_factory=lambda: ["equal"])
    label_policy: list[Literal["ignore", "zeros", "ones"]] = Field(
        default_factory=lambda: ["ignore"], min_length=1, description="uncertain-label policies (searched when > 1)"
    )
    ordering_prior: Literal["none", "taco"] = Field(
        "none", description="taco: try the task map's orderings first (space.task_map; curriclip.taskmap.prior)"
    )
    task_map: str | None = Field(None, description="task map directory (`curriclip taskmap map`) for ordering_prior")

    @field_validator("tasks")
    @classmethod
    def _aux_tasks(cls, v: list[str]) -> list[str]:
        for name in v:
            _known(TASKS, name)
        if ITC in v:
            raise ValueError("list auxiliary tasks only; itc is always part of the ordering")
        if len(set(v)) != len(v):
            raise ValueError(f"repeated task in {v}")
        return v

    @field_validator("pacing", mode="before")
    @classmethod
    def _pacing_list(cls, v: Any) -> Any:
        if isinstance(v, list):  # allow a plain list of names
            return {name: {} for name in v}
        return v

    @field_validator("pacing")
    @classmethod
    def _pacing_known(cls, v: dict[str, dict[str, tuple[float, float]]]) -> dict:
        if not v:
            raise ValueError("at least one pacing function is needed")
        for name, ranges in v.items():
            fn = _known_pacing(name)
            for param, (low, high) in ranges.items():
                if param not in fn.params:
                    raise ValueError(f"pacing {name!r} has no parameter {param!r} (has: {sorted(fn.params)})")
                if not low <= high:
                    raise ValueError(f"pacing {name!r} parameter {param!r}: low {low} > high {high}")
        return v

    @field_validator("stage_pacing", mode="before")
    @classmethod
    def _stage_pacing_list(cls, v: Any) -> Any:
        if isinstance(v, list):
            return {name: {} for name in v}
        return v

    @field_validator("stage_pacing")
    @classmethod
    def _stage_pacing_known(cls, v: dict | None) -> dict | None:
        if v is None:
            return v
        if not v:
            raise ValueError("list at least one stage pacing function, or leave stage_pacing out")
        return cls._pacing_known(v)

    @model_validator(mode="after")
    def _scorer_params_known(self) -> SpaceConfig:
        for name, values in self.scorer_params.items():
            spec = difficulty.get(name) if name in difficulty.SCORERS else None
            if spec is None:
                raise ValueError(f"scorer_params: unknown scorer {name!r} (known: {', '.join(difficulty.SCORERS)})")
            unknown = set(values) - set(spec.params)
            if unknown:
                raise ValueError(f"scorer_params: scorer {name!r} has no parameter(s) {sorted(unknown)}")
        return self

    @field_validator("sparsity")
    @classmethod
    def _levels(cls, v: list[float]) -> list[float]:
        if not v:
            raise ValueError("at least one sparsity level is needed")
        for level in v:
            if not 0 < level <= 1:
                raise ValueError(f"sparsity level {level} is not in (0, 1]")
        return sorted(set(v))

    @field_validator("scorer")
    @classmethod
    def _scorers(cls, v: list[str]) -> list[str]:
        return [_known(difficulty.SCORERS, n) for n in v]

    @field_validator("weighting")
    @classmethod
    def _weightings(cls, v: list[str]) -> list[str]:
        return [_known(WEIGHTINGS, n) for n in v]


def _known_pacing(name: str) -> pacing.PacingFunction:
    try:
        return pacing.get(name)
    except UnknownNameError as exc:
        raise ValueError(str(exc)) from None


class SearchConfig(_Strict):
    num_trials: int = Field(24, ge=0, description="curriculum trials proposed by Optuna")
    seeds: list[int] = Field(
        default_factory=lambda: [0, 1],
        min_length=1,
        description="replicate seeds: the single-task arm runs each at every level",
    )
    control_seeds: int = Field(
        1,
        ge=1,
        description="shuffled-pairs negative control: runs of the first N seeds at every level (never pruned)",
    )
    scheduler: Literal["asha", "median", "fifo", "pbt"] = Field(
        "asha",
        description="per sparsity level (baselines and controls are never stopped): asha / median stop weak "
        "curricula early; pbt (population-based training) lets curricula change during training: every "
        "`perturbation_interval` epochs the weakest quarter continue from a stronger trial's checkpoint with "
        "perturbed lr, stage span and pacing parameters",
    )
    searcher: Literal["optuna", "random"] | None = Field(
        None,
        description="who proposes curriculum trials: optuna (TPE / NSGA-II; the default) or random (Optuna's "
        "random sampler, drawn up front; the default with pbt, which Ray Tune cannot combine with a searcher)",
    )
    perturbation_interval: int = Field(2, ge=1, description="pbt: epochs between exploit/explore steps")
    pbt_quantile: float = Field(
        0.25, gt=0.0, le=0.5, description="pbt: fraction of a level's population that copies the top fraction"
    )
    grace_period: int = Field(2, ge=1, description="ASHA: epochs before a trial may be stopped")
    reduction_factor: int = Field(3, ge=2)
    max_concurrent: int | None = Field(None, ge=1, description="default: as many as the cluster's resources allow")
    sampler_seed: int = 0
    n_startup_trials: int = Field(8, ge=0, description="TPE: random trials before modelling")
    metric: str = "clip_score"
    objectives: dict[str, Literal["max", "min"]] | None = Field(
        None,
        description="multi-objective mode (NSGA-II), e.g. {clip_score: max, time_s: min}; the scheduler still "
        "stops trials on `metric`",
    )
    optuna_storage: str | None = Field(
        None, description="SQLAlchemy URL of the Optuna study (default: sqlite:///<run dir>/optuna.db)"
    )
    points: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Optuna parameter dicts to try first (names as in the space: sparsity, order_0, pacing, "
        "linear_a, stage_span, lr, ...); missing parameters are sampled",
    )

    @model_validator(mode="after")
    def _pbt_without_searcher(self) -> SearchConfig:
        if self.scheduler == "pbt" and self.searcher == "optuna":
            raise ValueError(
                "scheduler 'pbt' cannot be combined with searcher 'optuna': Ray Tune's population-based training "
                "rewrites trial configs itself, so a searcher would learn from configs that never ran; "
                "use searcher: random (the pbt default) or another scheduler"
            )
        if self.scheduler == "pbt" and self.objectives:
            raise ValueError("scheduler 'pbt' ranks trials on one metric; remove objectives or pick another scheduler")
        return self

    @property
    def proposer(self) -> str:
        """The searcher in effect: optuna unless set, random under pbt."""
        return self.searcher or ("random" if self.scheduler == "pbt" else "optuna")


class ResourcesConfig(_Strict):
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


class ComputeConfig(_Strict):
    """How trials compute on a GPU; every setting is a no-op on a CPU except ``compile``."""

    precision: Precision = Field(
        "auto",
        description="auto: bf16 autocast on GPUs that support it (A100, H100: fp32's range, no loss scaling), fp16 "
        "autocast with a gradient scaler on older GPUs (V100, T4), fp32 on a CPU; bf16/fp16 need gpus_per_trial > 0",
    )
    tf32: bool = Field(
        True, description="fp32 matmuls and convolutions on TF32 tensor cores (A100+: several times faster; the "
        "parts autocast leaves in fp32, and everything under precision fp32)"
    )
    channels_last: bool = Field(
        False, description="channels-last image tower: faster convolutional towers (ResNet, ConvNeXt) on tensor "
        "cores; ViTs gain little"
    )
    pin_memory: bool = Field(
        True, description="copy each batch from pinned host memory without blocking, so the copy overlaps compute"
    )
    compile: bool = Field(
        False, description="torch.compile the image and text towers: a minute or more of compilation per trial, "
        "then faster steps; worth it for long trials of big models"
    )


class ModelOptions(_Strict):
    """How the model is built beyond its name (see ``curriclip.models.factory``)."""

    pretrained: str | None = Field(None, description="open_clip pretrained tag (downloads when named)")
    checkpoint: str | None = Field(None, description="local open_clip state dict (loaded weights_only)")
    text_tower: str | None = Field(None, description="'wordpiece' or 'hf:<hub id or local directory>'")
    image_channels: Literal["replicate", "stem"] = "replicate"

    @field_validator("text_tower")
    @classmethod
    def _text_tower_form(cls, v: str | None) -> str | None:
        return _text_tower(v)

    @field_validator("checkpoint")
    @classmethod
    def _checkpoint_exists(cls, v: str | None) -> str | None:
        if v is not None and not Path(v).is_file():
            raise ValueError(f"{v}: checkpoint file not found")
        return v


class ExperimentConfig(_Strict):
    name: str = Field("default", pattern=r"^[A-Za-z0-9._-]+$")
    model: str = Field("tiny", description="model preset (curriclip list presets) or any open_clip architecture")
    model_options: ModelOptions = Field(default_factory=ModelOptions)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    space: SpaceConfig = Field(default_factory=SpaceConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, validate_default=True)
    compute: ComputeConfig = Field(default_factory=ComputeConfig, validate_default=True)
    storage: str = Field("runs", description="where run directories go: <storage>/<name>/")

    @field_validator("model")
    @classmethod
    def _model_known(cls, v: str) -> str:
        return _known_model(v)

    @field_validator("resources")
    @classmethod
    def _resources_fit_training(cls, v: ResourcesConfig, info: ValidationInfo) -> ResourcesConfig:
        training = info.data.get("training")
        if training is None:
            return v
        if training.device == "cuda" and not v.use_gpu:
            raise ValueError("training.device is 'cuda' but gpus_per_trial is 0: trials would be given no GPU")
        if training.batch_size % v.workers_per_trial:
            raise ValueError(
                f"workers_per_trial {v.workers_per_trial} does not divide training.batch_size {training.batch_size} "
                "(each worker trains batch_size / workers_per_trial pairs of every batch)"
            )
        return v

    @field_validator("compute")
    @classmethod
    def _precision_needs_gpu(cls, v: ComputeConfig, info: ValidationInfo) -> ComputeConfig:
        training, resources = info.data.get("training"), info.data.get("resources")
        if v.precision in ("bf16", "fp16"):
            if training is not None and training.device == "cpu":
                raise ValueError(f"precision {v.precision!r} needs a GPU but training.device is 'cpu'")
            if resources is not None and not resources.use_gpu:
                raise ValueError(f"precision {v.precision!r} needs a GPU: set resources.gpus_per_trial > 0")
        return v

    def compute_fields(self) -> dict[str, Any]:
        """The trial-config fields of ``compute:`` and ``resources.gpu_memory_fraction`` (copied into every trial)."""
        return {**self.compute.model_dump(), "gpu_memory_fraction": self.resources.gpu_memory_fraction}


# ---------------------------------------------------------------------------
# Loading, with one-line errors naming the file and field.
# ---------------------------------------------------------------------------


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def describe_validation_error(err: ValidationError, source: str) -> str:
    """One line: ``source: field.path: message`` for the first problem (and a count of others)."""
    first = err.errors()[0]
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    more = len(err.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {_where(first['loc'])}: {msg}{tail}"


def parse_experiment(raw: Any, source: str = "experiment") -> ExperimentConfig:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, source)) from None


def read_yaml(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: experiment file not found")
    try:
        return yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{p}: {line}{problem}") from None


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment file."""
    return parse_experiment(read_yaml(path), source=str(path))


def load_trial_config(path: str | Path) -> TrialConfig:
    """Read a trial config JSON: a bare TrialConfig, or Ray Tune's ``params.json`` (its ``trial`` key)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: trial config not found")
    try:
        raw = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(raw, dict) and "trial" in raw and isinstance(raw["trial"], dict):
        raw = raw["trial"]
    try:
        return TrialConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, str(p))) from None
