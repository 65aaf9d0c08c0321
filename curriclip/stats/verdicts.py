"""Verdicts from Holm-corrected tests, and the one sentence that states each with its evidence.

A difference test that survives Holm decides "better"/"worse"; failing that, equivalence
needs TOST to survive Holm against the declared margin; anything else is "inconclusive",
and then the sentence says what the experiment could have detected and what the observed
difference would need, so that "no difference found" is never read as "no difference".
"""

from __future__ import annotations

import math

from curriclip.stats.paired import MIN_SEEDS, NO_VARIANCE, TOO_FEW_SEEDS
from curriclip.stats.power import MAX_SEEDS
from curriclip.stats.result import ComparisonResult, Verdict


def decide_verdict(
    diff_mean: float,
    p_holm: float,
    tost_p_holm: float,
    alpha: float = 0.05,
    corrected_ci: tuple[float, float] | None = None,
    margin: float | None = None,
    *,
    rejected: bool | None = None,
    equivalence_rejected: bool | None = None,
) -> Verdict:
    """BETTER/WORSE if Holm rejects "no difference"; else EQUIVALENT if Holm-TOST rejects; else INCONCLUSIVE.

    With ``corrected_ci`` and ``margin``, EQUIVALENT also needs the corrected interval that the
    report shows to lie inside ±margin: TOST at a Holm level is a (1 - 2 alpha_i) interval, narrower
    than the two-sided (1 - alpha_i) one shown, and a reader must never see "equivalent" beside an
    interval that leaves the margin. NaN p-values (an untestable comparison) end in INCONCLUSIVE.
    ``rejected`` / ``equivalence_rejected``, when given, are the family's step-down decisions at
    this look (``curriclip.stats.sequential``) and replace the comparison of the p-values with alpha.
    """
    differs = p_holm < alpha if rejected is None else rejected
    if differs and diff_mean > 0:
        return Verdict.BETTER
    if differs and diff_mean < 0:
        return Verdict.WORSE
    inside = corrected_ci is None or margin is None or (-margin < corrected_ci[0] and corrected_ci[1] < margin)
    equivalent = tost_p_holm < alpha if equivalence_rejected is None else equivalence_rejected
    if equivalent and inside:
        return Verdict.EQUIVALENT
    return Verdict.INCONCLUSIVE


def format_p(p: float) -> str:
    """Two significant digits, "<0.001" below that (more digits would claim precision a t-test lacks)."""
    return "<0.001" if p < 0.001 else f"={p:.2g}"


def format_confidence(confidence: float) -> str:
    """A confidence level as a percentage with up to four significant digits: 0.95 -> "95", 0.98333 -> "98.33"."""
    return f"{100 * confidence:.4g}"


def verdict_sentence(label: str, result: ComparisonResult, margin: float) -> str:
    """One sentence: the label, the verdict and the numbers that justify it (see the module docstring)."""
    observed = f"{result.diff_mean:+.3f}"
    seeds = f"n={result.n} paired seed{'s' if result.n != 1 else ''}"
    if result.verdict in (Verdict.BETTER, Verdict.WORSE):
        low, high = result.corrected_ci
        interval = f"Holm-corrected {format_confidence(result.corrected_confidence)}% CI {low:+.3f} to {high:+.3f}"
        return f"{label}: {result.verdict}: {observed} ({interval}, {seeds})"
    if result.verdict is Verdict.EQUIVALENT:
        return (
            f"{label}: equivalent within the declared margin ±{margin:g} "
            f"(TOST p{format_p(result.tost_p_holm)}, Holm; Holm-corrected "
            f"{format_confidence(result.corrected_confidence)}% CI {result.corrected_ci[0]:+.3f} to "
            f"{result.corrected_ci[1]:+.3f}; observed {observed}, {seeds})"
        )
    return f"{label}: inconclusive: {_why_inconclusive(result, observed)}"


def _why_inconclusive(result: ComparisonResult, observed: str) -> str:
    """Why no verdict was possible, or what this many seeds can detect and what the observed difference would need."""
    if result.reason == TOO_FEW_SEEDS:
        return f"{TOO_FEW_SEEDS} (n={result.n} paired; a verdict needs at least {MIN_SEEDS})"
    if result.reason == NO_VARIANCE:
        return (
            f"{NO_VARIANCE} (the difference is {observed} on every one of n={result.n} seeds: nothing to test against)"
        )
    power = f"{100 * result.power:.0f}% power"
    if not math.isfinite(result.detectable_effect):
        return f"this K={result.n} cannot reach {power} at the corrected level"
    capacity = f"this K={result.n} detects |difference| >= {result.detectable_effect:.3f} with {power}"
    if result.seeds_needed is not None:
        return f"{capacity}; the observed {observed} would need K={result.seeds_needed}"
    if result.diff_mean == 0 or not result.diff_sd > 0:
        return f"{capacity}; the observed difference is {observed}"
    return f"{capacity}; the observed {observed} would need more than K={MAX_SEEDS}"
