"""The trial config: the contract between the search side and the training side.

A plain JSON-serialisable model that ``spaces`` produces and ``trainables`` consumes, and
that ``curriclip train TRIAL.json`` runs without Ray. It is *composed* of the experiment's
sections: it inherits ``TrainingConfig`` (budget, optimiser) and ``ComputeConfig``
(precision, TF32, ...) and nests ``ModelOptions``, so no field is written twice; what it
adds is what one trial resolves: its arm, ordering, pacing, sparsity level and seed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from curriclip.config.common import ModelName, known, known_pacing
from curriclip.config.sections import ComputeConfig, ModelOptions, TrainingConfig
from curriclip.names import EVAL_SPLIT, ITC, ITC_ONLY_ARMS, Arm, Control, Phase, SparsityMode, Split
from curriclip.tasks import TASKS
from curriclip.weighting import WEIGHTINGS

#: Flat model fields of trial configs written before the trial nested ``model_options`` (old run directories).
_LEGACY_MODEL_FIELDS = {
    "model_pretrained": "pretrained",
    "model_checkpoint": "checkpoint",
    "text_tower": "text_tower",
    "image_channels": "image_channels",
}


class TrialConfig(ComputeConfig, TrainingConfig):  # TrainingConfig fields first: precision is checked against device
    """Everything one trial needs, resolved: no ranges, no presets, no Ray."""

    arm: Arm
    phase: Phase = Field(
        Phase.SEARCH, description="search: evaluated on validate (what ranks and selects); confirm: on test, once"
    )
    dataset_dir: str
    model: ModelName = "tiny"
    model_options: ModelOptions = Field(default_factory=ModelOptions)
    label_policy: Literal["ignore", "zeros", "ones"] = Field(
        "ignore", description="uncertain (-1) finding labels: U-ignore, U-zeros or U-ones (CheXpert)"
    )
    tasks: list[str] = Field(description="task ordering; tasks join in this order (cumulative)")
    stage_span: float = Field(0.5, ge=0.0, le=1.0, description="fraction of training over which tasks join")
    pacing: str = "none"
    pacing_params: dict[str, float] = Field(default_factory=dict)
    scorer: str = "metadata"
    scorer_params: dict[str, float] = Field(default_factory=dict, description="the scorer's parameters (e.g. steps)")
    control: Control = Field(
        Control.NONE, description="curriculum control: none (easiest first), anti (hardest first), random order"
    )
    schedule: Literal["cumulative", "sequential", "ramped"] = Field(
        "cumulative", description="how the task ordering becomes loss weights (curriclip.curriculum.schedule)"
    )
    stage_pacing: str = Field("linear", description="pacing function that sets the stage lengths within stage_span")
    stage_pacing_params: dict[str, float] = Field(
        default_factory=lambda: {"a": 1.0}, description="its parameters (linear with a=1: equal stages)"
    )
    weighting: str = "equal"
    sparsity: float = Field(
        1.0, gt=0.0, le=1.0, description="the KEPT fraction of training pairs (1.0: every pair; 0.1: a tenth)"
    )
    label_fraction: float = Field(
        1.0, gt=0.0, le=1.0, description="label sparsity: the kept fraction of the kept pairs' finding labels"
    )
    sparsity_mode: SparsityMode = Field(
        SparsityMode.PAIRS,
        description="which of sparsity / label_fraction is this trial's sparsity level; reports: sparsity "
        "subsets only the image-report pairing (image-only and label tasks see every training image)",
    )
    validate_fraction: float = Field(
        0.15, gt=0.0, lt=0.5, description="share of training patients carved as validate when the dataset has none"
    )
    subset_seed: int = Field(0, description="seed of the nested sparsity subsets (same for a whole search)")
    seed: int = 0
    threads: int | None = Field(None, ge=1, description="torch CPU threads (default: the CPUs Ray gave the trial)")
    gpu_memory_fraction: float | None = Field(
        None,
        gt=0.0,
        le=1.0,
        description="CUDA: cap on this trial's share of its GPU's memory (default: the GPU fraction Ray gave it)",
    )

    @model_validator(mode="before")
    @classmethod
    def _nest_legacy_model_fields(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and any(key in raw for key in _LEGACY_MODEL_FIELDS):
            raw = dict(raw)
            options = dict(raw.get("model_options") or {})
            for old, new in _LEGACY_MODEL_FIELDS.items():
                if old in raw:
                    options.setdefault(new, raw.pop(old))
            raw["model_options"] = options
        return raw

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
            known(TASKS, name)
        if len(set(v)) != len(v):
            raise ValueError(f"task ordering repeats a task: {v}")
        if ITC not in v:
            raise ValueError("task ordering must include 'itc' (CLIP score measures its alignment)")
        return v

    @field_validator("pacing", "stage_pacing")
    @classmethod
    def _pacing_known(cls, v: str) -> str:
        known_pacing(v)
        return v

    @field_validator("scorer")
    @classmethod
    def _scorer_known(cls, v: str) -> str:
        from curriclip.curriculum import scorers

        return known(scorers.SCORERS, v)

    @field_validator("weighting")
    @classmethod
    def _weighting_known(cls, v: str) -> str:
        return known(WEIGHTINGS, v)

    @field_validator("pacing_params", "stage_pacing_params", "scorer_params")
    @classmethod
    def _parameters_known(cls, params: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        """Each parameter exists and lies in its domain; the error names this field."""
        from curriclip.curriculum import scorers

        owner = {"pacing_params": "pacing", "stage_pacing_params": "stage_pacing", "scorer_params": "scorer"}
        what = owner[info.field_name]
        name = info.data.get(what)
        if name is None:  # the function itself did not validate: that error is the one reported
            return params
        declared = scorers.get(name).params if what == "scorer" else known_pacing(name).params
        unknown = set(params) - set(declared)
        if unknown:
            raise ValueError(f"{what.replace('_', ' ')} {name!r} has no parameter(s) {sorted(unknown)}")
        for param, value in params.items():
            if not declared[param].admits(value):
                raise ValueError(
                    f"{name!r} parameter {param!r}: {value} is outside its domain {declared[param].domain()}"
                )
        return params

    @model_validator(mode="after")
    def _consistent(self) -> TrialConfig:
        if self.arm in ITC_ONLY_ARMS and (self.tasks != [ITC] or self.pacing != "none"):
            raise ValueError(f"the {self.arm} arm trains ITC alone without pacing (tasks: [itc], pacing: none)")
        if self.arm == Arm.MULTITASK and (len(self.tasks) < 2 or self.pacing != "none" or self.stage_span != 0):
            raise ValueError("the multitask arm trains every task from step 0 (stage_span: 0, pacing: none)")
        if self.arm == Arm.CURRICULUM_RANDOM and self.control != Control.RANDOM:
            raise ValueError("the curriculum_random arm shuffles the curriculum's sample order (control: random)")
        return self

    @property
    def eval_split(self) -> Split:
        """The held-out split this trial evaluates on: validate in the search phase, test in the confirm phase."""
        return EVAL_SPLIT[self.phase]

    @property
    def level(self) -> float:
        """The sparsity level this trial stands for (pairs or reports: ``sparsity``; labels: ``label_fraction``)."""
        return self.label_fraction if self.sparsity_mode == SparsityMode.LABELS else self.sparsity

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def level_fields(mode: str, level: float) -> dict[str, Any]:
    """Trial-config fields for one sparsity level under a sparsity mode."""
    if mode == SparsityMode.LABELS:
        return {"sparsity": 1.0, "label_fraction": level, "sparsity_mode": SparsityMode.LABELS}
    if mode == SparsityMode.REPORTS:
        return {"sparsity": level, "sparsity_mode": SparsityMode.REPORTS}
    return {"sparsity": level, "sparsity_mode": SparsityMode.PAIRS}


def trial_level(trial: dict) -> float:
    """The sparsity level of a trial-config dict (what reports and schedulers group by)."""
    if trial.get("sparsity_mode") == SparsityMode.LABELS:
        return float(trial.get("label_fraction", 1.0))
    return float(trial.get("sparsity", 1.0))
