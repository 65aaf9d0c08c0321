"""Verdicts from Holm-corrected tests, and the one sentence that states each with its evidence.

A difference test that survives Holm decides "better"/"worse"; failing that, equivalence
needs TOST to survive Holm against the declared margin; anything else is "inconclusive",
and then the sentence says what the experiment could have detected and what the observed
difference would need, so that "no difference found" is never read as "no difference".
"""

from __future__ import annotations

import math

from curriclip.stats.power import MAX_SEEDS
from curriclip.stats.result import ComparisonResult, Verdict


def decide_verdict(diff_mean: float, p_holm: float, tost_p_holm: float, alpha: float = 0.05) -> Verdict:
    """BETTER/WORSE if Holm rejects "no difference"; else EQUIVALENT if Holm-TOST rejects; else INCONCLUSIVE.

    NaN p-values (an untestable comparison) compare False and end in INCONCLUSIVE.
    """
    if p_holm < alpha and diff_mean > 0:
        return Verdict.BETTER
    if p_holm < alpha and diff_mean < 0:
        return Verdict.WORSE
    if tost_p_holm < alpha:
        return Verdict.EQUIVALENT
    return Verdict.INCONCLUSIVE


def format_p(p: float) -> str:
    """Two significant digits, "<0.001" below that (more digits would claim precision a t-test lacks)."""
    return "<0.001" if p < 0.001 else f"={p:.2g}"


def format_confidence(confidence: float) -> str:
    """A confidence level as a percentage with up to four significant digits: 0.95 -> "95", 0.98333 -> "98.33"."""
    return f"{100 * confidence:.4g}"


def verdict_sentence(label: str, result: ComparisonResult, margin: float, alpha: float = 0.05) -> str:
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
            f"(TOST p{format_p(result.tost_p_holm)}, Holm; observed {observed}, {seeds})"
        )
    return f"{label}: inconclusive: {_why_inconclusive(result, observed)}"


def _why_inconclusive(result: ComparisonResult, observed: str) -> str:
    """What this many seeds can detect and what the observed difference would need."""
    if result.n < 2:
        return f"only {result.n} paired seed{'s' if result.n != 1 else ''}; a paired test needs at least 2"
    power = f"{100 * result.power:.0f}% power"
    if not math.isfinite(result.detectable_effect):
        return f"this K={result.n} cannot reach {power} at the corrected level"
    capacity = f"this K={result.n} detects |difference| >= {result.detectable_effect:.3f} with {power}"
    if result.seeds_needed is not None:
        return f"{capacity}; the observed {observed} would need K={result.seeds_needed}"
    if result.diff_mean == 0 or not result.diff_sd > 0:
        return f"{capacity}; the observed difference is {observed}"
    return f"{capacity}; the observed {observed} would need more than K={MAX_SEEDS}"
