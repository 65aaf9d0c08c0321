"""What a tracker records of one trial: its parameters, its tags and its metrics, as plain values.

Pure functions of the trial config and of one reported result, shared by the MLflow and
W&B callbacks so both trackers show a trial the same way. Parameters are the trial
config flattened (``pacing_params/a``; lists as JSON), tags the few fields a user
filters by (arm, phase, level, seed), metrics every finite number of a result except
the config and the trainable's timing breakdown.
"""

from __future__ import annotations

import json
import math
from typing import Any

from curriclip.config import trial_level
from curriclip.names import Phase

#: Result keys that are not metrics: the config (logged as parameters), the trainable's overhead breakdown and
#: library versions (in trials.parquet), Ray's bookkeeping.
NOT_METRICS = frozenset(
    {"config", "timing", "versions", "done", "trial_id", "pid", "date", "hostname", "node_ip", "timestamp",
     "experiment_tag", "checkpoint_dir_name", "should_checkpoint", "test_split_hash", "active_tasks"}
)  # fmt: skip
#: Tag names (MLflow tags, W&B tags as ``name:value``).
TAG_FIELDS = ("arm", "phase", "level", "seed")


def trial_config(config: dict) -> dict:
    """The curriclip trial config inside Ray Tune's config (``{"trial": {...}}``)."""
    inner = config.get("trial", config)
    return inner if isinstance(inner, dict) else {}


def flatten(values: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a/b`` keys."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}/"))
        else:
            out[name] = value
    return out


def trial_params(config: dict) -> dict[str, str]:
    """The trial config as tracker parameters: flattened, every value a string (lists and None as JSON)."""
    params = {}
    for key, value in flatten(trial_config(config)).items():
        params[key] = value if isinstance(value, str) else json.dumps(value, default=str)
    return params


def trial_tags(config: dict) -> dict[str, str]:
    """Arm, phase, level and seed of a trial: what a user filters the tracker's runs by."""
    cfg = trial_config(config)
    return {
        "arm": str(cfg.get("arm", "")),
        "phase": str(cfg.get("phase") or Phase.SEARCH),
        "level": f"{trial_level(cfg):g}",
        "seed": str(cfg.get("seed", "")),
    }


def run_name(config: dict, trial_id: str) -> str:
    """A run name that reads in a tracker's run list: ``search curriculum 0.3 seed 0 (a1b2c3d4)``."""
    tags = trial_tags(config)
    return f"{tags['phase']} {tags['arm']} {tags['level']} seed {tags['seed']} ({trial_id})"


def result_metrics(result: dict) -> dict[str, float]:
    """Every finite number a trial reported (flattened), without config, timing and Ray's bookkeeping."""
    metrics = {}
    kept = {key: value for key, value in result.items() if key not in NOT_METRICS}
    for key, value in flatten(kept).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            metrics[key] = float(value)
    return metrics


def result_step(result: dict) -> int:
    """The step a result is logged at: the trial's epoch (Ray's training_iteration when there is none)."""
    return int(result.get("epoch") or result.get("training_iteration") or 0)
