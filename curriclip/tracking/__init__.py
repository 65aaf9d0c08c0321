"""Experiment trackers (MLflow, Weights & Biases, TensorBoard) through Ray Tune's own logger callbacks.

The experiment file's ``tracking:`` section (``curriclip.config.tracking``) asks for them;
``tracker_callbacks`` builds the callbacks both phases hand to their Tuner's ``RunConfig``,
``log_answer`` logs the confirmed answer once as a run of its own, and ``require_trackers``
refuses a missing optional package in one line before any work starts.

TensorBoard needs nothing from curriclip: Ray Tune writes ``events.out.tfevents.*`` files
(every reported metric, at each training iteration) into each trial directory,
``<run>/trial_<id>/`` and ``<run>/confirm-N/trial_<id>/``, whenever tensorboardX is
installed; ``tensorboard --logdir <run>`` shows every trial of both phases.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from curriclip.config import ExperimentConfig
from curriclip.config.tracking import TrackingConfig
from curriclip.errors import ConfigError
from curriclip.tracking.packages import require


def _local(run_dir: str) -> Path | None:
    """The run directory as a local path; None for a remote run (s3://, gs://)."""
    return None if "://" in run_dir else Path(run_dir)


def mlflow_uri(experiment: ExperimentConfig, run_dir: str) -> str:
    """The MLflow store: ``tracking.mlflow.tracking_uri``, or a SQLite database in the (local) run directory."""
    settings = experiment.tracking.mlflow
    if settings is not None and settings.tracking_uri:
        return settings.tracking_uri
    local = _local(run_dir)
    if local is None:
        raise ConfigError("tracking.mlflow.tracking_uri: a remote run directory needs an explicit MLflow store")
    return f"sqlite:///{local.resolve()}/mlflow.db"


def wandb_dir(experiment: ExperimentConfig, run_dir: str) -> str:
    """Where W&B writes its files: ``tracking.wandb.dir``, or the (local) run directory, else the current one."""
    settings = experiment.tracking.wandb
    if settings is not None and settings.dir:
        return str(Path(settings.dir).expanduser().resolve())
    local = _local(run_dir)
    return str(local.resolve()) if local is not None else os.getcwd()


def _has_wandb_key() -> bool:
    netrc = Path.home() / ".netrc"
    return bool(os.environ.get("WANDB_API_KEY")) or (netrc.is_file() and "api.wandb.ai" in netrc.read_text())


def require_trackers(tracking: TrackingConfig) -> None:
    """Every package the section asks for is importable (and online W&B has a key), or one line, exit 2."""
    if tracking.mlflow is not None:
        require("mlflow")
    if tracking.wandb is not None:
        require("wandb")
        if tracking.wandb.mode == "online" and not _has_wandb_key():
            raise ConfigError(
                "tracking.wandb.mode: online needs a W&B API key (WANDB_API_KEY or `wandb login`); "
                "use mode: offline and `wandb sync` later"
            )
    if tracking.tensorboard:
        require("tensorboard")


def tracker_callbacks(experiment: ExperimentConfig, run_dir: str) -> list:
    """The Ray Tune callbacks the ``tracking:`` section asks for (none by default)."""
    tracking = experiment.tracking
    if not tracking.any:
        return []
    require_trackers(tracking)
    callbacks: list = []
    if tracking.mlflow is not None:
        from curriclip.tracking.mlflow_tracker import CurriclipMLflowCallback

        name = tracking.mlflow.experiment or experiment.name
        callbacks.append(CurriclipMLflowCallback(mlflow_uri(experiment, run_dir), name, run_dir))
    if tracking.wandb is not None:
        from curriclip.tracking.wandb_tracker import CurriclipWandbCallback

        w, directory = tracking.wandb, wandb_dir(experiment, run_dir)
        callbacks.append(CurriclipWandbCallback(w.project, experiment.name, w.mode, directory, w.entity))
    if tracking.tensorboard:
        from ray.tune.logger import TBXLoggerCallback

        callbacks.append(TBXLoggerCallback())
    return callbacks


def log_answer(experiment: ExperimentConfig, run_dir: str, answer_text: str | None) -> None:
    """Log the confirmed answer to every tracker the experiment uses (nothing when there is no answer yet)."""
    tracking = experiment.tracking
    if answer_text is None or (tracking.mlflow is None and tracking.wandb is None):
        return
    require_trackers(tracking)
    from curriclip.tracking.answer import log_answer_mlflow, log_answer_wandb

    if tracking.mlflow is not None:
        log_answer_mlflow(experiment, mlflow_uri(experiment, run_dir), run_dir, answer_text)
    if tracking.wandb is not None:
        log_answer_wandb(experiment, wandb_dir(experiment, run_dir), answer_text)
    print("curriclip: the answer is logged to the experiment trackers", file=sys.stderr, flush=True)


__all__ = ["log_answer", "mlflow_uri", "require_trackers", "tracker_callbacks", "wandb_dir"]
