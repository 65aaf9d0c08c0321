"""The confirmed answer as a paper table: CSV (numbers, rounded) and LaTeX (booktabs, formatted, escaped).

Rows are ``answer.json``'s comparisons as the report reads them (``reports.confirmed``):
one per level, arm, reference and metric, with the mean paired difference, its
Holm-corrected interval, the verdict and the smallest effect the K seeds detect with 80%
power. Numbers are rounded (4 decimals; p-values 3 significant digits) so no 16-digit
float reaches a paper; pandas' Styler writes the LaTeX, escaping ``_``, ``%`` and ``&``.
"""

from __future__ import annotations

import math

import pandas as pd

from ..confirmed import ConfirmedAnswer, metric_short
from ..style import fmt_sparsity, is_missing

DECIMALS = 4
#: CSV columns: answer.json's names, intervals split into their bounds.
CSV_COLUMNS = {
    "level": "level", "arm": "arm", "reference": "reference", "metric": "metric", "n": "n",
    "diff_mean": "diff_mean", "corrected_low": "corrected_ci_low", "corrected_high": "corrected_ci_high",
    "corrected_confidence": "corrected_confidence", "p_holm": "p_holm", "verdict": "verdict",
    "detectable_effect": "detectable_effect", "seeds_needed": "seeds_needed",
}  # fmt: skip
LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}  # fmt: skip


def latex_escape(text: str) -> str:
    """Text safe in LaTeX's text mode (for the caption; the cells go through pandas' own escaping)."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in text)


def _round(value: object, digits: int = DECIMALS) -> float | None:
    if is_missing(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
        return None
    return round(float(value), digits)  # type: ignore[arg-type]


def _significant(value: object, digits: int = 3) -> float | None:
    if is_missing(value):
        return None
    return float(f"{float(value):.{digits}g}")  # type: ignore[arg-type]


def csv_table(answer: ConfirmedAnswer) -> pd.DataFrame:
    """One row per comparison, machine-readable: numbers rounded, intervals as two columns."""
    frame = answer.comparisons.reindex(columns=list(CSV_COLUMNS)).rename(columns=CSV_COLUMNS)
    for column in ("level", "diff_mean", "corrected_ci_low", "corrected_ci_high", "detectable_effect"):
        frame[column] = frame[column].map(_round).astype("Float64")
    frame["corrected_confidence"] = frame["corrected_confidence"].map(lambda v: _round(v, 4)).astype("Float64")
    frame["p_holm"] = frame["p_holm"].map(_significant).astype("Float64")
    for column in ("n", "seeds_needed"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").round().astype("Int64")
    return frame


def _signed(value: object) -> str:
    return "--" if _round(value) is None else f"{float(value):+.{DECIMALS}f}"  # type: ignore[arg-type]


def _interval(low: object, high: object) -> str:
    if _round(low) is None or _round(high) is None:
        return "--"
    return f"[{_signed(low)}, {_signed(high)}]"


def latex_frame(answer: ConfirmedAnswer) -> pd.DataFrame:
    """The comparisons as the paper shows them: formatted text cells."""
    c = answer.comparisons
    return pd.DataFrame(
        {
            "Level": c["level"].map(fmt_sparsity),
            "Arm": c["arm"].astype(str),
            "vs": c["reference"].astype(str),
            "Metric": c["metric"].map(metric_short),
            "n": c["n"].map(lambda v: "--" if is_missing(v) else str(int(v))),
            "Mean diff.": c["diff_mean"].map(_signed),
            "Corrected CI": [_interval(lo, hi) for lo, hi in zip(c["corrected_low"], c["corrected_high"])],
            "Verdict": c["verdict"].map(lambda v: "--" if is_missing(v) else str(v)),
            "Detectable": c["detectable_effect"].map(lambda v: "--" if _round(v) is None else f"{v:.{DECIMALS}f}"),
        }
    )


def caption(answer: ConfirmedAnswer) -> str:
    """What the table shows, how it was computed and at what error rate."""
    k = "?" if answer.k is None else answer.k
    return (
        f"Confirmed comparisons on the test split: mean paired difference over K = {k} fresh seeds, "
        f"Holm-corrected confidence interval (family-wise alpha = {answer.alpha:g}), verdict, and the smallest "
        "difference the seeds detect with 80% power."
    )


def latex_table(answer: ConfirmedAnswer, label: str = "tab:curriclip-answer") -> str:
    """A booktabs ``table`` environment with the comparisons (``\\usepackage{booktabs}``)."""
    frame = latex_frame(answer)
    styler = frame.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    return styler.to_latex(
        hrules=True,
        column_format="llllrrrlr",
        caption=latex_escape(caption(answer)),
        label=label,
        position_float="centering",
    )
