"""The outcome of one paired comparison (arm minus reference over shared seeds) within its family."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    """What a comparison licenses one to say: a difference either way, equivalence within the margin, or neither."""

    BETTER = "better"
    WORSE = "worse"
    EQUIVALENT = "equivalent"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class ComparisonResult:
    """Everything answer.json reports about one comparison.

    ``ci`` is the uncorrected (1 - alpha) interval ("t" below 10 seeds, else "bootstrap");
    ``corrected_ci`` is the t interval at ``corrected_confidence``, which excludes 0 exactly
    when Holm rejects. ``detectable_effect`` and ``seeds_needed`` use ``power`` at the
    corrected level 1 - corrected_confidence: the level this look's test is run at (Holm's step,
    spent over the planned looks). ``p_holm`` is the plain Holm-adjusted p of this look's tests,
    reported for reference; with several planned looks the verdict follows the spent levels.
    ``reason`` says why an untestable comparison has no verdict ("too few seeds", "no variance");
    its p-values and corrected interval are NaN.
    """

    n: int
    diff_mean: float
    diff_sd: float
    ci: tuple[float, float]
    ci_method: str
    p: float
    p_holm: float
    corrected_ci: tuple[float, float]
    corrected_confidence: float
    tost_p: float
    tost_p_holm: float
    verdict: Verdict
    detectable_effect: float
    seeds_needed: int | None
    power: float = 0.8
    statistic: float = float("nan")  # the paired t statistic
    reason: str | None = None
