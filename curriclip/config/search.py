"""How a search runs (``search:``): searcher, scheduler, budget, replicate seeds, objectives."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from curriclip.config.common import Strict


class SearchConfig(Strict):
    num_trials: int = Field(24, ge=0, description="curriculum trials proposed by Optuna")
    seeds: list[int] = Field(
        default_factory=lambda: [0, 1],
        min_length=1,
        description="seeds the search-phase configurations cycle through (the confirm phase uses fresh ones)",
    )
    scheduler: Literal["asha", "median", "fifo", "pbt"] = Field(
        "asha",
        description="per tuned arm and sparsity level (a curriculum only once its last task has joined): asha / "
        "median stop weak configurations early; pbt (population-based training) lets curricula change during "
        "training: every `perturbation_interval` epochs the weakest quarter continue from a stronger trial's "
        "checkpoint with perturbed lr, stage span and pacing parameters",
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
    metric: str = Field(
        "retrieval_auc",
        description="the validate metric trials are ranked, pruned and selected on: retrieval_auc (matched pair "
        "against mismatched ones; a model cannot win it by collapsing every embedding together, as it can win "
        "clip_score)",
    )
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

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy_fields(cls, raw: Any) -> Any:
        """``control_seeds`` of runs from before the protocol: the shuffled control now runs on the confirm seeds."""
        if isinstance(raw, dict) and "control_seeds" in raw:
            raw = {k: v for k, v in raw.items() if k != "control_seeds"}
        return raw

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
