"""Population-based training for curricula that change during training.

A curriculum is a schedule, so its best settings may differ between early and late
training. PBT (Jaderberg et al. 2017) keeps a population of trials per sparsity level;
every ``perturbation_interval`` epochs the weakest ``pbt_quantile`` continue from the
checkpoint of a trial in the top quantile, with its config perturbed: the learning
rate and the stage span inside the space's ranges, and the pacing function's own
parameters inside that function's ranges (they are conditional on the function, so a
custom explore step handles them). Task ordering, pacing function, sparsity and seed
are kept from the copied trial: the checkpoint's heads and data subset depend on them.

Ray Tune's ``PopulationBasedTraining`` does the bookkeeping; ``PerLevelScheduler``
keeps one population per level and leaves baselines and controls alone, as it does
for ASHA.
"""

from __future__ import annotations

import contextlib
import functools
import random
from typing import Any

import numpy as np
from ray import tune
from ray.tune.schedulers import PopulationBasedTraining

from curriclip.config import ExperimentConfig
from curriclip.curriculum import pacing
from curriclip.names import Arm
from curriclip.search.scheduler import PerLevelScheduler

#: how far one explore step moves a continuous parameter (Ray's own default factors)
FACTORS = (1.2, 0.8)


def pacing_ranges(experiment: ExperimentConfig, name: str) -> dict[str, tuple[float, float, bool]]:
    """(low, high, integer) of each parameter of pacing function ``name``, as the space allows."""
    overrides = experiment.space.pacing.get(name, {})
    out = {}
    for param, default in pacing.get(name).params.items():
        low, high = overrides.get(param, (default.low, default.high))
        out[param] = (float(low), float(high), bool(default.integer))
    return out


def explore_pacing(config: dict[str, Any], experiment: ExperimentConfig, rng: random.Random) -> dict[str, Any]:
    """Perturbs the pacing parameters of a trial config (x1.2 / x0.8, or resampled with p=0.25), in range."""
    trial = config.get("trial", {})
    if trial.get("arm") != Arm.CURRICULUM or trial.get("pacing") not in experiment.space.pacing:
        return config
    params = dict(trial.get("pacing_params") or {})
    for param, (low, high, integer) in pacing_ranges(experiment, trial["pacing"]).items():
        if param not in params:
            continue
        if rng.random() < 0.25:
            value = rng.uniform(low, high)
        else:
            value = params[param] * rng.choice(FACTORS)
        value = min(max(value, low), high)
        params[param] = float(round(value)) if integer else value
    return {**config, "trial": {**trial, "pacing_params": params}}


def hyperparam_mutations(experiment: ExperimentConfig) -> dict[str, Any]:
    """What PBT perturbs directly, nested under ``trial`` as the trainable reads it."""
    space = experiment.space
    mutations: dict[str, Any] = {"stage_span": tune.uniform(*space.stage_span)}
    if space.lr is not None:
        mutations["lr"] = tune.loguniform(*space.lr)
    return {"trial": mutations}


class SeededPBT(PopulationBasedTraining):
    """Ray's PBT drawing every random choice (donor, resample, factor) from its own seeded stream.

    Ray's PBT draws from the global ``random`` and ``numpy.random`` modules, which anything
    else in the driver also consumes, so a PBT search was not reproducible from
    ``search.sampler_seed``. Each call into the scheduler swaps in this scheduler's own
    states and puts the global ones back, so its draws depend only on its seed and on
    the sequence of results it sees. The states are plain attributes, saved with the
    scheduler when Ray snapshots the experiment.
    """

    def __init__(self, *args: Any, seed: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._python_state = random.Random(seed).getstate()
        self._numpy_state = np.random.RandomState(seed % 2**32).get_state()

    @contextlib.contextmanager
    def own_random(self):
        saved = random.getstate(), np.random.get_state()
        random.setstate(self._python_state)
        np.random.set_state(self._numpy_state)
        try:
            yield
        finally:
            self._python_state, self._numpy_state = random.getstate(), np.random.get_state()
            random.setstate(saved[0])
            np.random.set_state(saved[1])

    def on_trial_add(self, tune_controller, trial) -> None:
        with self.own_random():
            super().on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller, trial, result: dict) -> str:
        with self.own_random():
            return super().on_trial_result(tune_controller, trial, result)


def level_seed(seed: int, level: float) -> int:
    """A per-level seed: populations at different levels draw different streams."""
    return seed * 1_000_003 + round(level * 1_000_000)


def make_pbt_scheduler(experiment: ExperimentConfig, metric: str, seed: int = 0) -> PerLevelScheduler:
    """One PBT population per sparsity level (curriculum trials only), each seeded from the search."""

    def make(level: float) -> SeededPBT:
        rng = random.Random(level_seed(seed, level) + 1)  # the pacing explore step's own stream
        return SeededPBT(
            time_attr="training_iteration",
            metric=metric,
            mode="max",
            perturbation_interval=experiment.search.perturbation_interval,
            quantile_fraction=experiment.search.pbt_quantile,
            hyperparam_mutations=hyperparam_mutations(experiment),
            custom_explore_fn=functools.partial(_explore, experiment=experiment, rng=rng),
            log_config=True,
            seed=level_seed(seed, level),
        )

    # PBT rewrites configs (stage span, pacing): only curricula form populations; the baseline arms get the same
    # number of configurations, each run to its full budget
    return PerLevelScheduler(make, "PBT", final_epoch=experiment.training.epochs, arms=(Arm.CURRICULUM,))


def _explore(config: dict[str, Any], experiment: ExperimentConfig, rng: random.Random) -> dict[str, Any]:
    """After Ray's own step (which multiplies without bounds): clip lr and span to the space, explore pacing."""
    trial = dict(config.get("trial", {}))
    space = experiment.space
    if "stage_span" in trial:
        trial["stage_span"] = min(max(float(trial["stage_span"]), space.stage_span[0]), space.stage_span[1])
    if space.lr is not None and "lr" in trial:
        trial["lr"] = min(max(float(trial["lr"]), space.lr[0]), space.lr[1])
    return explore_pacing({**config, "trial": trial}, experiment, rng)
