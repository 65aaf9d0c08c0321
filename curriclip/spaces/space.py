"""From the experiment file to trial configs: the curriculum space and the single-task arm.

``CurriculumSpace`` is an Optuna define-by-run function: conditional parameters (each
pacing function's own a, b) are asked only when that function is chosen, and the
function returns the complete, validated trial config under the key ``trial``, so the
searched parameters and the contract travel together through Ray Tune.
"""

from __future__ import annotations

from typing import Any

from curriclip.config import ITC, ExperimentConfig, TrialConfig
from curriclip.curriculum import pacing
from curriclip.spaces.permutations import lehmer_decode


def base_trial_fields(experiment: ExperimentConfig, dataset_dir: str) -> dict[str, Any]:
    """Fields every trial of a search shares (data, model, budget)."""
    t = experiment.training
    return {
        "dataset_dir": dataset_dir,
        "model": experiment.model,
        "subset_seed": experiment.data.seed,
        "lr": t.lr,
        "weight_decay": t.weight_decay,
        "warmup_fraction": t.warmup_fraction,
        "batch_size": t.batch_size,
        "epochs": t.epochs,
        "steps_per_epoch": t.steps_per_epoch,
        "eval_batch_size": t.eval_batch_size,
        "device": t.device,
    }


def single_task_configs(experiment: ExperimentConfig, dataset_dir: str) -> list[dict[str, Any]]:
    """The baseline arm: ITC alone, no pacing, every seed at every sparsity level."""
    base = base_trial_fields(experiment, dataset_dir)
    configs = []
    for level in experiment.space.sparsity:
        for seed in experiment.search.seeds:
            cfg = TrialConfig(**base, arm="single_task", tasks=[ITC], pacing="none", sparsity=level, seed=seed)
            configs.append(cfg.model_dump())
    return configs


def sparsity_grid(experiment: ExperimentConfig) -> list[dict[str, float]]:
    """Partial Optuna points fixing only the sparsity, round-robin, so every level gets the same budget."""
    levels = experiment.space.sparsity
    return [{"sparsity": levels[i % len(levels)]} for i in range(experiment.search.num_trials)]


class CurriculumSpace:
    """Define-by-run search space over orderings, pacing (+ its parameters), span, sparsity, lr."""

    def __init__(self, experiment: ExperimentConfig, dataset_dir: str) -> None:
        self.space = experiment.space
        self.seeds = list(experiment.search.seeds)
        self.base = base_trial_fields(experiment, dataset_dir)
        self.items = [ITC, *self.space.tasks]

    def __call__(self, trial: Any) -> dict[str, Any]:
        s = self.space
        sparsity = trial.suggest_categorical("sparsity", s.sparsity)
        code = [trial.suggest_int(f"order_{i}", 0, len(self.items) - 1 - i) for i in range(len(self.items) - 1)]
        ordering = lehmer_decode(code, self.items)
        pacing_name = trial.suggest_categorical("pacing", list(s.pacing))
        fn = pacing.get(pacing_name)
        params = {}
        for param, default_range in fn.params.items():
            low, high = s.pacing[pacing_name].get(param, (default_range.low, default_range.high))
            params[param] = trial.suggest_float(f"{pacing_name}_{param}", low, high, log=default_range.log)
        stage_span = trial.suggest_float("stage_span", *s.stage_span)
        fields = dict(self.base)
        if s.lr is not None:
            fields["lr"] = trial.suggest_float("lr", *s.lr, log=True)
        if len(s.scorer) > 1:
            fields["scorer"] = trial.suggest_categorical("scorer", s.scorer)
        else:
            fields["scorer"] = s.scorer[0]
        if len(s.weighting) > 1:
            fields["weighting"] = trial.suggest_categorical("weighting", s.weighting)
        else:
            fields["weighting"] = s.weighting[0]
        cfg = TrialConfig(
            **fields,
            arm="curriculum",
            tasks=ordering,
            stage_span=stage_span,
            pacing=pacing_name,
            pacing_params=params,
            sparsity=sparsity,
            seed=self.seeds[trial.number % len(self.seeds)],
        )
        return {"trial": cfg.model_dump()}
