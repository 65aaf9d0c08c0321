"""The difficulty-scorer catalog: names, descriptions and parameters, known without numpy or torch.

Validating an experiment file needs each scorer's name and parameters, not its code; the
scorer classes (``difficulty`` with numpy, ``model_scorers`` with torch) are imported
when a trial creates one.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from curriclip.curriculum.pacing import ParamRange
from curriclip.registry import Registry


@dataclass(frozen=True)
class ScorerSpec:
    """A registry entry: enough to list, validate and (lazily) create a scorer."""

    name: str
    description: str
    target: str  # "module:Class" of the Scorer, imported on first use
    dynamic: bool = False
    needs_model: bool = False
    params: dict[str, ParamRange] = field(default_factory=dict)

    def load(self) -> type:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def create(self, params: Mapping[str, float] | None = None) -> Any:
        params = dict(params or {})
        unknown = set(params) - set(self.params)
        if unknown:
            raise ValueError(f"scorer {self.name!r} has no parameter(s) {sorted(unknown)}")
        full = {k: params.get(k, r.default) for k, r in self.params.items()}
        return self.load()(**full)

    def __str__(self) -> str:
        return self.description


METADATA = ScorerSpec("metadata", "the dataset's difficulty column", "curriclip.curriculum.difficulty:Metadata")
FINDING_COUNT = ScorerSpec(
    "finding_count", "number of positive findings (labels == 1)", "curriclip.curriculum.difficulty:FindingCount"
)
REPORT_LENGTH = ScorerSpec("report_length", "words in the report text", "curriclip.curriculum.difficulty:ReportLength")
TRANSFER_TEACHER = ScorerSpec(
    "transfer_teacher",
    "per-sample ITC loss under a reference model trained briefly on the same subset",
    "curriclip.curriculum.model_scorers:TransferTeacher",
    needs_model=True,
    params={
        "steps": ParamRange(
            default=30,
            low=10,
            high=200,
            log=True,
            integer=True,
            minimum=1,
            maximum=float("inf"),
            minimum_inclusive=True,
        )
    },
)
SELF_PACED = ScorerSpec(
    "self_paced",
    "current per-sample ITC loss, re-scored each epoch (threshold grows with pacing)",
    "curriclip.curriculum.model_scorers:SelfPaced",
    dynamic=True,
    needs_model=True,
)
IMAGE_TEXT_AGREEMENT = ScorerSpec(
    "image_text_agreement",
    "1 - cosine of the pair under the current model, re-scored each epoch",
    "curriclip.curriculum.model_scorers:ImageTextAgreement",
    dynamic=True,
    needs_model=True,
)

#: name -> ScorerSpec
SCORERS = Registry("difficulty scorer", "scorers")
SCORERS.lazy("metadata", "curriclip.curriculum.scorers:METADATA")
SCORERS.lazy("finding_count", "curriclip.curriculum.scorers:FINDING_COUNT")
SCORERS.lazy("report_length", "curriclip.curriculum.scorers:REPORT_LENGTH")
SCORERS.lazy("transfer_teacher", "curriclip.curriculum.scorers:TRANSFER_TEACHER")
SCORERS.lazy("self_paced", "curriclip.curriculum.scorers:SELF_PACED")
SCORERS.lazy("image_text_agreement", "curriclip.curriculum.scorers:IMAGE_TEXT_AGREEMENT")


def get(name: str) -> ScorerSpec:
    return SCORERS.get(name)


def create(name: str, params: Mapping[str, float] | None = None) -> Any:
    """The scorer ``name`` with ``params`` (missing ones take their defaults)."""
    return get(name).create(params)
