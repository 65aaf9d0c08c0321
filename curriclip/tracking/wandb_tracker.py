"""Weights & Biases: Ray Tune's ``WandbLoggerCallback`` with curriclip's run names and per-trial tags.

Ray's callback starts one logging actor per trial, which calls ``wandb.init`` with the
trial's config and logs every result. It gives all trials the same ``wandb.init``
arguments; this subclass adds each trial's arm, phase, level and seed as tags
(``arm:curriculum``) and names its run like the MLflow one. In offline mode nothing
reaches the network: W&B writes ``<dir>/wandb/offline-run-*/`` folders that
``wandb sync`` uploads later.
"""

from __future__ import annotations

import os

from ray.air.integrations.wandb import WandbLoggerCallback

from curriclip.tracking.fields import run_name, trial_tags

#: Result keys W&B should not log: the trainable's timing breakdown and library versions (dicts of details).
EXCLUDED = ["timing", "versions", "test_split_hash", "active_tasks"]


class CurriclipWandbCallback(WandbLoggerCallback):
    """One W&B run per trial, grouped by the experiment's name, tagged by arm, phase, level and seed."""

    def __init__(self, project: str, group: str, mode: str, directory: str, entity: str | None = None) -> None:
        extra = {"entity": entity} if entity else {}
        super().__init__(project=project, group=group, excludes=EXCLUDED, mode=mode, dir=directory, **extra)
        self.mode = mode

    def setup(self, *args, **kwargs) -> None:
        if self.mode == "offline":  # Ray asks for an API key unless the driver's environment says offline
            os.environ["WANDB_MODE"] = "offline"
        os.makedirs(self.kwargs["dir"], exist_ok=True)
        super().setup(*args, **kwargs)

    def log_trial_start(self, trial) -> None:
        shared = self.kwargs
        tags = [f"{key}:{value}" for key, value in trial_tags(trial.config).items()]
        self.kwargs = {**shared, "tags": tags, "name": run_name(trial.config, trial.trial_id)}
        try:
            super().log_trial_start(trial)
        finally:
            self.kwargs = shared
