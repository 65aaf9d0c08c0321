"""The validated configuration: the experiment file and the trial config (the contract).

This package sits at the bottom of curriclip and imports neither torch, open_clip nor
Ray: names are checked against the registries' catalogs, which resolve their entries
lazily. ``sections`` holds the plain parts (data, training, compute, model options,
resources), ``space`` and ``search`` what and how to search, ``trial`` the trial config
composed of those sections, ``experiment`` the whole file and its loading.
"""

from curriclip.config.experiment import (
    ExperimentConfig,
    describe_validation_error,
    load_experiment,
    load_trial_config,
    parse_experiment,
    read_yaml,
)
from curriclip.config.protocol import MIN_CONFIRM_SEEDS, ProtocolConfig
from curriclip.config.search import SearchConfig
from curriclip.config.sections import (
    ComputeConfig,
    DataConfig,
    Device,
    ModelOptions,
    Precision,
    ResourcesConfig,
    TrainingConfig,
)
from curriclip.config.space import SpaceConfig
from curriclip.config.tracking import MlflowTracking, TrackingConfig, WandbTracking
from curriclip.config.trial import TrialConfig, level_fields, trial_level
from curriclip.names import ARMS, ITC, ITC_ONLY_ARMS

__all__ = [
    "ARMS",
    "ITC",
    "ITC_ONLY_ARMS",
    "MIN_CONFIRM_SEEDS",
    "ComputeConfig",
    "DataConfig",
    "Device",
    "ExperimentConfig",
    "MlflowTracking",
    "ModelOptions",
    "Precision",
    "ProtocolConfig",
    "ResourcesConfig",
    "SearchConfig",
    "SpaceConfig",
    "TrackingConfig",
    "TrainingConfig",
    "TrialConfig",
    "WandbTracking",
    "describe_validation_error",
    "level_fields",
    "load_experiment",
    "load_trial_config",
    "parse_experiment",
    "read_yaml",
    "trial_level",
]
