"""From the experiment file to search-phase trial configs: the curriculum space and the tuned baseline arms.

``CurriculumSpace`` is an Optuna define-by-run function: conditional parameters (each
pacing function's own a, b) are asked only when that function is chosen, and the
function returns the complete, validated trial config under the key ``trial``, so the
searched parameters and the contract travel together through Ray Tune.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from curriclip.config import ExperimentConfig, TrialConfig, level_fields
from curriclip.curriculum import pacing
from curriclip.errors import ConfigError
from curriclip.names import ITC, Arm
from curriclip.spaces.permutations import lehmer_decode, random_keys_decode
from curriclip.spaces.priors import prior_name, prior_params


def base_trial_fields(experiment: ExperimentConfig, dataset_dir: str) -> dict[str, Any]:
    """Fields every trial of a search shares (data, model, budget, compute)."""
    return experiment.shared_trial_fields(dataset_dir)


def curriculum_trials(experiment: ExperimentConfig) -> int:
    """Curriculum configurations the search proposes: ``search.num_trials``, or none when no arm uses them.

    Only the curriculum arm's winner is confirmed from curricula (curriculum_random re-runs it and
    needs it); a protocol without it (e.g. ``arms: [single_task, multitask]``) would spend its search
    on trials nobody reads. The tuned baselines keep their budget (``configs_per_level``) either way.
    """
    return experiment.search.num_trials if Arm.CURRICULUM in experiment.protocol.arms else 0


def configs_per_level(experiment: ExperimentConfig) -> int:
    """Search configurations each tuned arm gets per level: the curriculum's share of ``search.num_trials``."""
    return max(1, math.ceil(experiment.search.num_trials / len(experiment.space.sparsity)))


def baseline_lrs(experiment: ExperimentConfig, level_index: int) -> list[float]:
    """The learning rates the single-task and multitask arms try at one level.

    ``protocol.tuning: matched``: as many as the curriculum's configurations per level,
    log-uniform over ``space.lr`` from a seeded generator (the same values for both arms,
    so their tuning differs in nothing); ``fixed``: ``training.lr``, once per search seed.
    """
    if experiment.protocol.tuning == "fixed":
        return [experiment.training.lr] * len(experiment.search.seeds)
    low, high = experiment.space.lr
    rng = np.random.default_rng([experiment.search.sampler_seed, level_index])
    return [float(np.exp(v)) for v in rng.uniform(np.log(low), np.log(high), configs_per_level(experiment))]


def _arm_fields(experiment: ExperimentConfig, arm: Arm) -> dict[str, Any]:
    if arm == Arm.MULTITASK:  # the curriculum's tasks and weighting, every task from step 0, no pacing
        space = experiment.space
        return {"tasks": [ITC, *space.tasks], "stage_span": 0.0, "weighting": space.weighting[0]}
    return {"tasks": [ITC]}


def baseline_configs(experiment: ExperimentConfig, dataset_dir: str, arm: Arm) -> list[dict[str, Any]]:
    """The search-phase configurations of a tuned baseline arm (single_task or multitask) at every level."""
    base = base_trial_fields(experiment, dataset_dir)
    seeds = experiment.search.seeds
    configs = []
    for index, level in enumerate(experiment.space.sparsity):
        for number, lr in enumerate(baseline_lrs(experiment, index)):
            cfg = TrialConfig(
                **{**base, "lr": lr, **_arm_fields(experiment, arm)},
                arm=arm,
                pacing="none",
                seed=seeds[number % len(seeds)],
                **level_fields(experiment.space.sparsity_mode, level),
            )
            configs.append(cfg.model_dump())
    return configs


def search_baselines(experiment: ExperimentConfig, dataset_dir: str) -> list[dict[str, Any]]:
    """Every tuned baseline arm's search configurations, interleaved level by level and arm by arm.

    Interleaving puts one configuration of each (arm, level) group in every run of that many
    consecutive trials, so in a synchronous search with no more slots than groups a trial
    starts after every earlier trial of its group has ended, and the schedulers' rungs
    compare it only with finished trials.
    """
    arms = [arm for arm in (Arm.SINGLE_TASK, Arm.MULTITASK) if arm in experiment.protocol.arms]
    per_arm = [baseline_configs(experiment, dataset_dir, arm) for arm in arms]
    levels = len(experiment.space.sparsity)
    per_level = len(per_arm[0]) // levels if per_arm else 0
    out = []
    for number in range(per_level):
        for index in range(levels):
            for configs in per_arm:
                out.append(configs[index * per_level + number])
    return out


def sparsity_grid(experiment: ExperimentConfig) -> list[dict[str, float]]:
    """Partial Optuna points fixing only the sparsity, round-robin, so every level gets the same budget.

    None when the sparsity is a searched parameter (``space.sparsity_axis: searched``).
    """
    if experiment.space.sparsity_axis == "searched":
        return []
    levels = experiment.space.sparsity
    return [{"sparsity": levels[i % len(levels)]} for i in range(experiment.search.num_trials)]


def matched_points(experiment: ExperimentConfig) -> list[dict[str, float]]:
    """The partial Optuna points that fix each curriculum's level and, under matched tuning, its lr.

    The lr is the one parameter every tuned arm shares, so every arm draws it the same way:
    the curriculum's j-th configuration at a level takes the j-th of the learning rates the
    baselines try there (``baseline_lrs``: seeded log-uniform draws), and TPE searches only
    what is the curriculum's own (ordering, pacing, span). With a searched sparsity the level
    is not known in advance: the curricula take their own seeded log-uniform draws, the
    baselines' distribution. Under ``tuning: fixed`` (or ``space.lr: null``) no lr is searched.
    """
    grid = sparsity_grid(experiment)
    if experiment.protocol.tuning != "matched" or experiment.space.lr is None:
        return grid
    n = experiment.search.num_trials
    if not grid:
        low, high = experiment.space.lr
        rng = np.random.default_rng([experiment.search.sampler_seed, len(experiment.space.sparsity), n])
        return [{"lr": float(np.exp(v))} for v in rng.uniform(np.log(low), np.log(high), n)]
    levels = len(experiment.space.sparsity)
    lrs = [baseline_lrs(experiment, index) for index in range(levels)]
    return [{**point, "lr": lrs[j % levels][j // levels]} for j, point in enumerate(grid)]


def suggest_pacing_params(
    trial: Any, name: str, ranges: dict[str, tuple[float, float]], prefix: str = ""
) -> dict[str, float]:
    """Conditional parameters of pacing function ``name`` (asked only when it is chosen), as floats."""
    params = {}
    for param, default_range in pacing.get(name).params.items():
        low, high = ranges.get(param, (default_range.low, default_range.high))
        key = f"{prefix}{name}_{param}"
        if default_range.integer:
            params[param] = float(trial.suggest_int(key, int(round(low)), int(round(high)), log=default_range.log))
        else:
            params[param] = trial.suggest_float(key, low, high, log=default_range.log)
    return params


def random_population(
    experiment: ExperimentConfig,
    dataset_dir: str,
    points: list[dict],
    prior_orderings: Mapping[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """``curriculum_trials`` curriculum configs drawn up front by Optuna's random sampler.

    For schedulers that cannot take a searcher (PBT) and for plain random search. The
    same define-by-run space and the same partial points (user points, then the
    sparsity grid) as the Optuna searcher, so both modes search the same space.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=experiment.search.sampler_seed))
    for point in points[: curriculum_trials(experiment)]:
        study.enqueue_trial(point, skip_if_exists=False)
    space = CurriculumSpace(experiment, dataset_dir, prior_orderings)
    return [space(study.ask()) for _ in range(curriculum_trials(experiment))]


class CurriculumSpace:
    """Define-by-run search space over orderings, pacing (+ its parameters), span, sparsity, lr."""

    def __init__(
        self, experiment: ExperimentConfig, dataset_dir: str, prior_orderings: Mapping[str, list[str]] | None = None
    ) -> None:
        self.space = experiment.space
        self.seeds = list(experiment.search.seeds)
        self.tuning = experiment.protocol.tuning
        self.base = base_trial_fields(experiment, dataset_dir)
        self.items = [ITC, *self.space.tasks]
        if self.space.ordering_prior != "none" and prior_orderings is None:
            raise ConfigError(
                f"space.ordering_prior: {self.space.ordering_prior!r} needs its orderings handed to the space "
                "(curriclip.taskmap.prior.experiment_orderings)"
            )
        # prior ordering name -> its parameters, recorded as each trial's `param/prior` in trials.parquet
        self.priors = prior_params(experiment, prior_orderings) if prior_orderings else {}

    def __call__(self, trial: Any) -> dict[str, Any]:
        s = self.space
        sparsity = trial.suggest_categorical("sparsity", s.sparsity)
        if s.ordering_encoding == "lehmer":
            code = [trial.suggest_int(f"order_{i}", 0, len(self.items) - 1 - i) for i in range(len(self.items) - 1)]
            ordering = lehmer_decode(code, self.items)
            ordering_params = {f"order_{i}": digit for i, digit in enumerate(code)}
        else:
            keys = [trial.suggest_float(f"key_{task}", 0.0, 1.0) for task in self.items]
            ordering = random_keys_decode(keys, self.items)
            ordering_params = {f"key_{task}": key for task, key in zip(self.items, keys)}
        pacing_name = trial.suggest_categorical("pacing", list(s.pacing))
        params = suggest_pacing_params(trial, pacing_name, s.pacing[pacing_name])
        stage_span = trial.suggest_float("stage_span", *s.stage_span)
        fields = dict(self.base)
        if s.lr is not None and self.tuning == "matched":
            fields["lr"] = trial.suggest_float("lr", *s.lr, log=True)
        if len(s.scorer) > 1:
            fields["scorer"] = trial.suggest_categorical("scorer", s.scorer)
        else:
            fields["scorer"] = s.scorer[0]
        if len(s.weighting) > 1:
            fields["weighting"] = trial.suggest_categorical("weighting", s.weighting)
        else:
            fields["weighting"] = s.weighting[0]
        if len(s.label_policy) > 1:
            fields["label_policy"] = trial.suggest_categorical("label_policy", s.label_policy)
        fields["scorer_params"] = dict(s.scorer_params.get(fields["scorer"], {}))
        fields["control"] = trial.suggest_categorical("control", s.control) if len(s.control) > 1 else s.control[0]
        fields["schedule"] = trial.suggest_categorical("schedule", s.schedule) if len(s.schedule) > 1 else s.schedule[0]
        if s.stage_pacing:  # otherwise the TrialConfig default: equal stages
            names = list(s.stage_pacing)
            name = trial.suggest_categorical("stage_pacing", names) if len(names) > 1 else names[0]
            fields["stage_pacing"] = name
            fields["stage_pacing_params"] = suggest_pacing_params(trial, name, s.stage_pacing[name], prefix="stage_")
        cfg = TrialConfig(
            **fields,
            arm=Arm.CURRICULUM,
            tasks=ordering,
            stage_span=stage_span,
            pacing=pacing_name,
            pacing_params=params,
            **level_fields(s.sparsity_mode, sparsity),
            seed=self.seeds[trial.number % len(self.seeds)],
        )
        if self.priors:
            return {"trial": cfg.model_dump(), "prior": prior_name(ordering_params, self.priors)}
        return {"trial": cfg.model_dump()}
