"""The ``tracking:`` section: which experiment trackers see the search (MLflow, Weights & Biases, TensorBoard).

Every tracker is off by default. Each is reached through Ray Tune's own logger callbacks
(``curriclip.tracking`` builds them), so a trial's config, its metrics at every epoch and
its arm, phase, level and seed arrive in the tracker without curriclip's trainable
knowing about it. This module only validates the section: it imports neither MLflow,
W&B nor Ray.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from curriclip.config.common import Strict


class MlflowTracking(Strict):
    """One MLflow run per trial, plus one run holding the confirmed answer."""

    tracking_uri: str | None = Field(
        None,
        description="where MLflow stores runs: sqlite:///path/mlflow.db, a local folder or http://server; "
        "default: sqlite:///<run directory>/mlflow.db (`mlflow ui --backend-store-uri` opens it)",
    )
    experiment: str | None = Field(None, description="MLflow experiment name (default: the experiment's name)")


class WandbTracking(Strict):
    """One Weights & Biases run per trial, grouped by the experiment's name, plus one answer run."""

    project: str = Field(..., min_length=1, description="W&B project")
    mode: Literal["offline", "online"] = Field(
        "offline",
        description="offline: runs are written under <dir>/wandb/ and uploaded later with `wandb sync`; "
        "online: streamed to the W&B server (needs WANDB_API_KEY)",
    )
    entity: str | None = Field(None, description="W&B entity (team or user; default: the API key's)")
    dir: str | None = Field(None, description="folder for W&B's files (default: the run directory)")


class TrackingConfig(Strict):
    mlflow: MlflowTracking | None = Field(None, description="log to MLflow (pip install 'curriclip[mlflow]')")
    wandb: WandbTracking | None = Field(None, description="log to Weights & Biases (pip install 'curriclip[wandb]')")
    tensorboard: bool = Field(
        False,
        description="require Ray Tune's TensorBoard event files in every trial directory (an error when "
        "tensorboardX is missing); Ray writes them anyway whenever tensorboardX is installed",
    )

    @property
    def any(self) -> bool:
        """Whether any tracker is asked for."""
        return self.mlflow is not None or self.wandb is not None or self.tensorboard
