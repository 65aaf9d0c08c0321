"""Experiment presets: named overrides of the experiment defaults in ``config.py``.

``default`` is the main job (a real search that answers the research question on the
embedded synthetic benchmark in under 20 minutes on 2 CPU cores); ``smoke`` checks the
whole path in under 3 minutes.
"""

from __future__ import annotations

import copy

from curriclip.config import ExperimentConfig, parse_experiment
from curriclip.registry import Registry

DEFAULT: dict = {"name": "default"}

SMOKE: dict = {
    "name": "smoke",
    "data": {"n": 600, "image_size": 64},
    "training": {"epochs": 4, "steps_per_epoch": 15, "batch_size": 32},
    "space": {"sparsity": [0.3, 1.0], "pacing": ["linear", "root"]},
    "search": {"num_trials": 4, "seeds": [0], "grace_period": 1, "n_startup_trials": 2},
    "protocol": {"confirm_seeds": 2},
}

#: name -> overrides of the experiment defaults
EXPERIMENTS = Registry("experiment preset", "experiments")
EXPERIMENTS.lazy("default", "curriclip.presets:DEFAULT")
EXPERIMENTS.lazy("smoke", "curriclip.presets:SMOKE")


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def preset_experiment(name: str, overrides: dict | None = None, source: str | None = None) -> ExperimentConfig:
    """The experiment of a preset, with optional further overrides (e.g. from a YAML file named ``source``)."""
    raw = _merge(EXPERIMENTS.get(name), overrides or {})
    return parse_experiment(raw, source=source or f"preset {name!r}")
