"""How the answer is reached (``protocol:``): which arms, how they are tuned, how winners are confirmed.

The search phase ranks, prunes and selects on the ``validate`` split only; the confirm
phase re-runs each arm's validation winner with K fresh seeds, shared across arms so the
comparison is paired, and is the only code that reads ``test``. Everything a verdict
depends on (arms, margin, alpha, seeds) is declared here, before the run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from curriclip.config.common import Strict
from curriclip.names import ARMS, REFERENCE_ARM, Arm

#: The fewest confirm seeds that can test a comparison (a paired difference needs a spread); 0 skips the phase.
#: New searches and ``curriclip confirm`` refuse fewer; a stored run asking for fewer still loads.
MIN_CONFIRM_SEEDS = 2

#: Robust metrics a verdict can also be given on (keys the metrics report; ``mean_r1`` is derived).
ROBUST_METRICS = ("clip_score_gap", "mean_r1")


class ProtocolConfig(Strict):
    arms: list[Arm] = Field(
        default_factory=lambda: list(ARMS),
        description="arms compared at every level: single_task (the reference), multitask, curriculum, "
        "curriculum_random (the selected curriculum with its sample order shuffled), shuffled_control",
    )
    tuning: Literal["matched", "fixed"] = Field(
        "matched",
        description="matched: single_task, multitask and curriculum each get search.num_trials configurations "
        "per level, the same scheduler and the same lr range (space.lr); fixed: every arm trains at training.lr",
    )
    confirm_seeds: int = Field(
        5,
        ge=0,
        description="K: fresh seeds each arm's winner is re-run with on test "
        "(0: search phase only; a new search needs at least 2)",
    )
    confirm_seed_offset: int = Field(
        10_000, ge=0, description="confirm seed k is offset + k (never a search seed: checked)"
    )
    alpha: float = Field(0.05, gt=0.0, lt=0.5, description="family-wise error rate (Holm across levels x arms)")
    equivalence_margin: dict[str, float] = Field(
        default_factory=lambda: {"clip_score": 0.05, "clip_score_gap": 0.05, "mean_r1": 0.02},
        description="TOST margin per metric, declared before the run: |difference| below it counts as equivalent",
    )
    robust_metric: Literal["clip_score_gap", "mean_r1"] = Field(
        "clip_score_gap",
        description="the geometry-robust metric the verdict is also given on (matched minus mismatched CLIP "
        "score, or the mean of image->text and text->image R@1)",
    )
    synchronous: bool = Field(
        True,
        description="make each proposal with exactly the proposals one window of concurrent slots earlier told, "
        "in proposal order, so the search does not depend on which trial finishes first (a slot idles only "
        "when a trial ends before the one a window earlier)",
    )
    validate_fraction: float = Field(
        0.15, gt=0.0, lt=0.5, description="share of training patients carved as validate when a dataset has none"
    )

    @field_validator("arms")
    @classmethod
    def _reference_first(cls, v: list[Arm]) -> list[Arm]:
        if REFERENCE_ARM not in v:
            raise ValueError(f"{REFERENCE_ARM} is the reference every arm is compared with: keep it in arms")
        if len(set(v)) != len(v):
            raise ValueError(f"repeated arm in {[str(a) for a in v]}")
        if Arm.CURRICULUM_RANDOM in v and Arm.CURRICULUM not in v:
            raise ValueError("curriculum_random re-runs the selected curriculum: it needs the curriculum arm")
        return [arm for arm in ARMS if arm in v]  # report order

    @model_validator(mode="after")
    def _margins(self) -> ProtocolConfig:
        for metric, margin in self.equivalence_margin.items():  # a wrong margin first: it is what was written
            if not margin > 0:
                raise ValueError(f"equivalence_margin: {metric!r} margin {margin} must be > 0")
        for metric in ("clip_score", self.robust_metric):
            if metric not in self.equivalence_margin:
                raise ValueError(f"equivalence_margin: declare a margin for {metric!r}")
        return self

    def confirm_seed(self, k: int) -> int:
        """Confirm seed number ``k`` (0-based)."""
        return self.confirm_seed_offset + k

    @property
    def metrics(self) -> tuple[str, str]:
        """(headline, robust): the two metrics every verdict is given on."""
        return ("clip_score", self.robust_metric)
