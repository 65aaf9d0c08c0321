"""What every config section shares: strictness and name checks that import nothing heavy.

Names (tasks, weightings, scorers, model presets, data sources) are checked against the
registries' catalogs, which know every name without importing the entry's module, so a
mistyped field is answered before torch or open_clip is ever loaded.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from curriclip.errors import UnknownNameError
from curriclip.models.presets import PRESETS, known_architecture
from curriclip.registry import Registry


class Strict(BaseModel):
    """A config section: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False)


def known(registry: Registry, name: str) -> str:
    """``name`` if ``registry`` has it; a ``ValueError`` listing the known names otherwise (imports nothing)."""
    try:
        return registry.check(name)
    except UnknownNameError as exc:
        raise ValueError(str(exc)) from None


def known_model(name: str) -> str:
    """A model preset or any open_clip architecture name."""
    if known_architecture(name):
        return name
    return known(PRESETS, name)  # the registry's error lists the presets


def text_tower_form(v: str | None) -> str | None:
    if v is not None and v != "wordpiece" and not (v.startswith("hf:") and len(v) > 3):
        raise ValueError(f"text_tower {v!r}: expected 'wordpiece' or 'hf:<hub id or local directory>'")
    return v


def known_pacing(name: str):
    """The pacing function ``name`` (pure Python: its parameters' domains are needed to validate ranges)."""
    from curriclip.curriculum import pacing

    try:
        return pacing.get(name)
    except UnknownNameError as exc:
        raise ValueError(str(exc)) from None


#: A model preset or open_clip architecture, checked by name (the experiment and every trial config use it).
ModelName = Annotated[
    str,
    AfterValidator(known_model),
    Field(description="model preset (curriclip list presets) or any open_clip architecture"),
]
