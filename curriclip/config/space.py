"""The search space (``space:``): which orderings, pacing functions, levels and ranges a search may try."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from curriclip.config.common import Strict, known, known_pacing
from curriclip.curriculum import scorers
from curriclip.names import ITC, Control, SparsityMode
from curriclip.tasks import TASKS
from curriclip.weighting import WEIGHTINGS


class SpaceConfig(Strict):
    """What the search may try: orderings of these tasks, these pacing functions, these levels."""

    tasks: list[str] = Field(
        default_factory=lambda: ["findings", "rotation"], description="auxiliary tasks ordered with itc"
    )
    pacing: dict[str, dict[str, tuple[float, float]]] = Field(
        default_factory=lambda: {"linear": {}, "root": {}, "exponential": {}, "step": {}},
        description="pacing function -> {param: [low, high]} (empty: the function's own ranges)",
    )
    stage_span: tuple[float, float] = (0.2, 0.8)
    sparsity: list[float] = Field(
        default_factory=lambda: [0.1, 0.3, 1.0],
        description="sparsity levels: the fraction of training pairs (or labels, by sparsity_mode) each trial KEEPS",
    )
    sparsity_axis: Literal["grid", "searched"] = Field(
        "grid",
        description="grid: curriculum trials go round-robin over the levels, so each gets the same budget; "
        "searched: the searcher picks the level like any other parameter (pair with objectives such as "
        "{clip_score: max, train_pairs: min} to trade data for alignment). Baselines run at every level either way",
    )
    ordering_encoding: Literal["random_keys", "lehmer"] = Field(
        "random_keys", description="how orderings become Optuna parameters (see benchmarks/bench_encoding.py)"
    )
    sparsity_mode: SparsityMode = Field(
        SparsityMode.PAIRS,
        description="pairs: levels subset the image-report pairs; labels: all pairs, levels subset labels; "
        "reports: levels subset only the pairing (image-only and label tasks see every training image)",
    )
    lr: tuple[float, float] | None = Field((3e-4, 2e-3), description="log-uniform range, or null to use training.lr")
    scorer: list[str] = Field(default_factory=lambda: ["metadata"])
    scorer_params: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="scorer -> {param: value} (fixed, not searched; e.g. transfer_teacher steps)"
    )
    control: list[Control] = Field(
        default_factory=lambda: [Control.NONE],
        min_length=1,
        description="curriculum controls to try (searched when > 1)",
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
            known(TASKS, name)
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
            fn = known_pacing(name)
            for param, (low, high) in ranges.items():
                if param not in fn.params:
                    raise ValueError(f"pacing {name!r} has no parameter {param!r} (has: {sorted(fn.params)})")
                if not low <= high:
                    raise ValueError(f"pacing {name!r} parameter {param!r}: low {low} > high {high}")
                spec = fn.params[param]
                for end in (low, high):
                    if not spec.admits(end):
                        raise ValueError(
                            f"pacing {name!r} parameter {param!r}: {end} is outside its domain {spec.domain()}"
                        )
        return v

    @field_validator("stage_span")
    @classmethod
    def _span_range(cls, v: tuple[float, float]) -> tuple[float, float]:
        low, high = v
        if not 0 <= low <= high <= 1:
            raise ValueError(
                f"[{low}, {high}]: a stage span range needs 0 <= low <= high <= 1 (a fraction of training)"
            )
        return v

    @field_validator("lr")
    @classmethod
    def _lr_range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not 0 < v[0] <= v[1]:
            raise ValueError(f"[{v[0]}, {v[1]}]: a learning-rate range needs 0 < low <= high (searched log-uniformly)")
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
            spec = scorers.get(name) if name in scorers.SCORERS else None
            if spec is None:
                raise ValueError(f"scorer_params: unknown scorer {name!r} (known: {', '.join(scorers.SCORERS)})")
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
        return [known(scorers.SCORERS, n) for n in v]

    @field_validator("weighting")
    @classmethod
    def _weightings(cls, v: list[str]) -> list[str]:
        return [known(WEIGHTINGS, n) for n in v]
