"""The experiment file: its sections put together, and loading with one-line errors.

``ExperimentConfig`` is the YAML experiment file (what to search, how, where). Defaults
live in the section models and nowhere else; presets only override them. Importing this
module loads neither torch, open_clip nor Ray, so a mistyped field is answered at once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from curriclip.config.common import ModelName, Strict
from curriclip.config.protocol import ProtocolConfig
from curriclip.config.search import SearchConfig
from curriclip.config.sections import (
    ComputeConfig,
    DataConfig,
    ModelOptions,
    ResourcesConfig,
    TrainingConfig,
)
from curriclip.config.space import SpaceConfig
from curriclip.config.tracking import TrackingConfig
from curriclip.config.trial import TrialConfig
from curriclip.errors import ConfigError
from curriclip.names import Arm


class ExperimentConfig(Strict):
    name: str = Field("default", pattern=r"^[A-Za-z0-9._-]+$")
    model: ModelName = "tiny"
    model_options: ModelOptions = Field(default_factory=ModelOptions)
    data: DataConfig = Field(default_factory=DataConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    space: SpaceConfig = Field(default_factory=SpaceConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    protocol: ProtocolConfig = Field(default_factory=ProtocolConfig)
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, validate_default=True)
    compute: ComputeConfig = Field(default_factory=ComputeConfig, validate_default=True)
    storage: str = Field("runs", description="where run directories go: <storage>/<name>/")
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)

    @field_validator("name")
    @classmethod
    def _name_is_a_directory_name(cls, v: str) -> str:
        if v in (".", ".."):
            raise ValueError(f"{v!r} is not a run name (it would name the storage folder or its parent)")
        return v

    @field_validator("resources")
    @classmethod
    def _resources_fit_training(cls, v: ResourcesConfig, info: ValidationInfo) -> ResourcesConfig:
        training = info.data.get("training")
        if training is None:
            return v
        if training.device == "cuda" and not v.use_gpu:
            raise ValueError("training.device is 'cuda' but gpus_per_trial is 0: trials would be given no GPU")
        if training.batch_size % v.workers_per_trial:
            raise ValueError(
                f"workers_per_trial {v.workers_per_trial} does not divide training.batch_size {training.batch_size} "
                "(each worker trains batch_size / workers_per_trial pairs of every batch)"
            )
        return v

    @field_validator("compute")
    @classmethod
    def _precision_needs_gpu(cls, v: ComputeConfig, info: ValidationInfo) -> ComputeConfig:
        training, resources = info.data.get("training"), info.data.get("resources")
        if v.precision in ("bf16", "fp16"):
            if training is not None and training.device == "cpu":
                raise ValueError(f"precision {v.precision!r} needs a GPU but training.device is 'cpu'")
            if resources is not None and not resources.use_gpu:
                raise ValueError(f"precision {v.precision!r} needs a GPU: set resources.gpus_per_trial > 0")
        return v

    @model_validator(mode="after")
    def _protocol_fits(self) -> ExperimentConfig:
        protocol, search = self.protocol, self.search
        fresh = {protocol.confirm_seed(k) for k in range(protocol.max_confirm_seeds)}
        reused = sorted(fresh & set(search.seeds))
        if reused:
            raise ValueError(
                f"protocol.confirm_seed_offset: confirm seeds {reused} are also search.seeds; "
                "confirm runs need seeds the search never used"
            )
        if self.data.seed in fresh:
            # every search trial draws its sparsity subset with data.seed; a confirm run of that seed would re-use it
            raise ValueError(
                f"data.seed: {self.data.seed} is also a confirm seed (protocol.confirm_seed_offset "
                f"{protocol.confirm_seed_offset}, up to {protocol.max_confirm_seeds} seeds): the search's subset draw "
                "would be re-used by a confirm run; pick another data.seed or offset"
            )
        if protocol.tuning == "matched" and self.space.lr is None:
            raise ValueError(
                "protocol.tuning: matched tunes every arm's lr over space.lr, which is null; "
                "give space.lr a range or use tuning: fixed"
            )
        if Arm.MULTITASK in protocol.arms and not self.space.tasks:
            raise ValueError("protocol.arms: multitask needs auxiliary tasks (space.tasks is empty)")
        return self

    def shared_trial_fields(self, dataset_dir: str) -> dict[str, Any]:
        """The trial-config fields every trial of this experiment shares (data, model, budget, compute).

        Taken whole from the sections a ``TrialConfig`` is composed of, so a field added to
        ``training:`` or ``compute:`` reaches every trial without being copied by hand.
        """
        return {
            "dataset_dir": dataset_dir,
            "model": self.model,
            "model_options": self.model_options.model_dump(),
            "label_policy": self.space.label_policy[0],
            "subset_seed": self.data.seed,
            "validate_fraction": self.protocol.validate_fraction,
            **self.training.model_dump(),
            **self.compute.model_dump(),
            "gpu_memory_fraction": self.resources.gpu_memory_fraction,
        }


def _where(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def describe_validation_error(err: ValidationError, source: str) -> str:
    """One line: ``source: field.path: message`` for the first problem (and a count of others)."""
    first = err.errors()[0]
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    more = len(err.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    if not first["loc"] and re.match(r"^[a-z_]+\.[a-z_.]+: ", msg):  # a check across sections names its field
        return f"{source}: {msg}{tail}"
    return f"{source}: {_where(first['loc'])}: {msg}{tail}"


def parse_experiment(raw: Any, source: str = "experiment") -> ExperimentConfig:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(raw).__name__}")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, source)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader refusing a key given twice in one mapping (YAML would keep the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line)
            except TypeError:  # an unhashable key: PyYAML's own error follows
                continue
            if first != key_node.start_mark.line:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (lines {first + 1} and {key_node.start_mark.line + 1})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """An experiment file's YAML, every problem as one line naming the file (and line)."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: is a directory, not an experiment file (YAML)")
    if not p.is_file():
        raise ConfigError(f"{p}: experiment file not found")
    try:
        return yaml.load(p.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (an experiment file is UTF-8 YAML)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{p}: {line}{problem}") from None


def load_experiment(path: str | Path) -> ExperimentConfig:
    """Read and validate an experiment file."""
    return parse_experiment(read_yaml(path), source=str(path))


def load_trial_config(path: str | Path) -> TrialConfig:
    """Read a trial config JSON: a bare TrialConfig, or Ray Tune's ``params.json`` (its ``trial`` key)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: trial config not found")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a text file (a trial config is JSON)") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{p}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(raw, dict) and "trial" in raw and isinstance(raw["trial"], dict):
        raw = raw["trial"]
    try:
        return TrialConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, str(p))) from None
