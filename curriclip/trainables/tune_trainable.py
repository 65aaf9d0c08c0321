"""The Ray Tune function trainable: a thin adapter around ``run_trial``.

It reads the trial config from ``config["trial"]``, resumes from
``tune.get_checkpoint()`` when Tune restarts the trial, and reports each epoch's
metrics together with a checkpoint directory holding ``state.pt``.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable

import torch
from ray import tune

from curriclip.config import TrialConfig
from curriclip.trainables.loop import run_trial

STATE_FILE = "state.pt"


def load_state(directory: str) -> dict:
    """A checkpoint's state, loaded with ``weights_only=True`` (no arbitrary unpickling)."""
    return torch.load(os.path.join(directory, STATE_FILE), map_location="cpu", weights_only=True)


def curriclip_trainable(config: dict) -> None:
    """Ray Tune entry point; the searched parameters sit beside ``trial`` only for Tune's records."""
    for name in ("ray.train", "ray.tune"):  # one "checkpoint created" line per epoch and trial is noise
        logging.getLogger(name).setLevel(logging.WARNING)
    cfg = TrialConfig.model_validate(config["trial"])
    if cfg.threads is None:
        cpus = tune.get_context().get_trial_resources().required_resources.get("CPU", 1)
        cfg = cfg.model_copy(update={"threads": max(1, int(cpus))})

    state = None
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as directory:
            state = load_state(directory)

    def report(metrics: dict, make_state: Callable[[], dict]) -> None:
        with tempfile.TemporaryDirectory() as directory:
            torch.save(make_state(), os.path.join(directory, STATE_FILE))
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))

    run_trial(cfg, report, state)
