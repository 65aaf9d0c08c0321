"""The optional packages a tracker or an export needs, refused in one line before any work starts."""

from __future__ import annotations

import importlib

from curriclip.errors import ConfigError

#: tracker -> (module to import, what to install)
PACKAGES = {
    "mlflow": ("mlflow", "pip install 'curriclip[mlflow]'"),
    "wandb": ("wandb", "pip install 'curriclip[wandb]'"),
    "tensorboard": ("tensorboardX", "pip install tensorboardX"),
}


def require(tracker: str, field: str | None = None) -> None:
    """Import ``tracker``'s package; a ``ConfigError`` naming the field and the extra to install if it is missing."""
    module, install = PACKAGES[tracker]
    try:
        importlib.import_module(module)
    except ImportError:
        where = field or f"tracking.{tracker}"
        raise ConfigError(f"{where}: the {module} package is not installed ({install})") from None
