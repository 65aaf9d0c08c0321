"""The confirmed answer: each arm's validation winner re-run on K fresh seeds shared across arms, scored once
on test, per level: arm means with intervals (controls on the same table), paired differences (against
single-task, and the curriculum against its shuffled order and against multitask) with Holm-corrected
intervals and the verdict in words, the winner's curse, the configurations each tuned arm tried, completed
and pruned, the metrics' disagreements beside the verdicts, the planned looks, and what a verdict covers.
Every number comes from ``answer.json`` (``reports.confirmed``)."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from ..blocks import Cell, Column, Heading, Table, cell, num, text
from ..confirmed import (
    ARM_ROLES,
    UNTRAINED,
    UNTRAINED_ROLE,
    ConfirmedAnswer,
    confirmed_answer,
    metric_label,
    metric_short,
    verdict_words,
)
from ..results import Results
from ..style import fmt_sparsity, is_missing
from . import Section, plot

METHOD_NOTE = (
    "Confirm phase: each tuned arm's validation winner at each level (for the controls: the winner they are built "
    "from) re-run with up to {k} seeds never used in the search; seed k is shared by every arm (initialisation, data "
    "order, subset draw), so differences are paired, and every run is scored once on the test split. Arm intervals "
    "are 95% over the seeds. Differences are arm − {reference} per seed (and curriculum − curriculum_random, "
    "curriculum − multitask); the corrected interval is Holm-corrected across levels × comparisons of one metric, "
    "at the level the planned look spends; verdicts: better / worse when the corrected interval excludes zero, "
    "equivalent when TOST (margin ±{margins}, declared before the run) rejects a larger difference, inconclusive "
    "otherwise, with the smallest effect these seeds could detect and the seeds the observed difference would need "
    "for 80% power. The two-level interval resamples seeds, then test patients (per-pair scores)."
)
WINNER_NOTE = (
    "Winner's curse: the search picked each winner by its validation score, the best of many, so the same "
    "configuration on fresh seeds and the test split usually scores lower. A large gap says the search score was "
    "luck as much as merit."
)


def interval(low: object, high: object, spec: str = "+.4f") -> Cell:
    """'[low, high]', sortable by the lower bound; blank when unknown."""
    if is_missing(low) or is_missing(high):
        return Cell("", "", "num")
    return Cell(f"[{format(float(low), spec)}, {format(float(high), spec)}]", repr(float(low)), "num")


def mean_interval(mean: object, low: object, high: object) -> Cell:
    if is_missing(mean):
        return Cell("—", "", "num")
    bounds = "" if is_missing(low) or is_missing(high) else f" [{float(low):.4f}, {float(high):.4f}]"
    return Cell(f"{float(mean):.4f}{bounds}", repr(float(mean)), "num")


def verdict_cell(verdict: object, reference: object = "single_task") -> Cell:
    """The verdict class as a word; what it means, against ``reference``, on hover."""
    shown = "" if is_missing(verdict) else str(verdict)
    return Cell(shown, shown, f"verdict {shown}".strip(), verdict_words(verdict, reference) or None)


def labelled(interval_cell: Cell, label: str) -> Cell:
    """An interval cell with a short label after it ('(t)', '(98.8%)'), left blank when the interval is."""
    if interval_cell.text and label:
        interval_cell.text = f"{interval_cell.text} ({label})"
    return interval_cell


def collapsed_cell(rec) -> Cell:
    """'2 of 5' confirm runs flagged collapsed (embeddings of one modality nearly coincide), marked when any."""
    if rec is None or is_missing(rec["runs"]) or not int(rec["runs"]):
        return cell("")
    shown = f"{int(rec['collapsed'])} of {int(rec['runs'])}"
    title = "runs whose image or report embeddings nearly coincide (mean pairwise cosine at least 0.9)"
    return Cell(shown, repr(int(rec["collapsed"])), "flag" if rec["collapsed"] else "", title)


def arms_table(answer: ConfirmedAnswer, level: float) -> Table:
    """Every arm's mean ± CI on both metrics, the controls (shuffled pairs, untrained model) on the same table."""
    rows_of = pd.concat([answer.arm_summary, answer.untrained], ignore_index=True)
    at = rows_of[rows_of["level"] == level]
    arms = [*dict.fromkeys(at["arm"])]
    columns = [Column("arm"), Column("role"), Column("seeds", True)]
    columns += [Column(f"{metric_label(m)} mean [95% CI]", True) for m in answer.metrics]
    collapse = answer.collapse[answer.collapse["level"] == level].set_index("arm")
    if not collapse.empty:
        columns.append(Column("collapsed runs"))
    rows = []
    for arm in arms:
        of_arm = at[at["arm"] == arm].set_index("metric")
        role = UNTRAINED_ROLE if arm == UNTRAINED else ARM_ROLES.get(arm, "")
        n = of_arm["n"].max() if len(of_arm) else None
        row = [cell(arm), cell(role), num(n, "d")]
        for metric in answer.metrics:
            rec = of_arm.loc[metric] if metric in of_arm.index else None
            row.append(
                Cell("—", "", "num") if rec is None else mean_interval(rec["mean"], rec["ci_low"], rec["ci_high"])
            )
        if not collapse.empty:
            row.append(collapsed_cell(collapse.loc[arm] if arm in collapse.index else None))
        rows.append(row)
    title = "Arms on the test split (controls: the shuffled pairs and the untrained model)"
    return Table(columns, rows, css="confirmed arms", title=title)


COMPARISON_TABLE = [
    Column("arm"), Column("vs"), Column("metric"), Column("Δ mean", True), Column("verdict"),
    Column("Holm-corrected CI", True), Column("two-level CI", True), Column("detectable effect", True),
    Column("seeds for 80% power", True), Column("metrics disagree"),
]  # fmt: skip
VERDICT_LEGEND = (
    "<b>better</b> / <b>worse</b>: the Holm-corrected interval lies above / below zero; <b>equivalent</b>: TOST "
    "shows the difference inside ± the declared margin; <b>inconclusive</b>: neither, with the smallest effect these "
    "seeds could detect and the seeds the observed difference would need for 80% power. Hover a corrected interval "
    "for the uncorrected one and the Holm-adjusted p-values (all in answer.json)."
)


def _details(rec: dict) -> str:
    """The uncorrected interval and the Holm-adjusted p-values, shown on hover over the corrected interval."""
    method = "" if is_missing(rec["ci_method"]) else f" ({rec['ci_method']})"
    uncorrected = interval(rec["ci_low"], rec["ci_high"]).text or "n/a"
    p_holm, tost = num(rec["p_holm"], ".3g").text or "n/a", num(rec["tost_p_holm"], ".3g").text or "n/a"
    return f"uncorrected 95% CI {uncorrected}{method}; p (Holm) {p_holm}; TOST p (Holm) {tost}"


def comparison_row(rec: dict, disagreement: str) -> list[Cell]:
    confidence = "" if is_missing(rec["corrected_confidence"]) else f"{float(rec['corrected_confidence']):.1%}"
    corrected = labelled(interval(rec["corrected_low"], rec["corrected_high"]), confidence)
    corrected.title = _details(rec)
    needed = rec["seeds_needed"]
    return [
        cell(rec["arm"]),
        cell(rec["reference"]),
        cell(metric_short(rec["metric"])),
        num(rec["diff_mean"], "+.4f"),
        verdict_cell(rec["verdict"], rec["reference"]),
        corrected,
        interval(rec["two_level_low"], rec["two_level_high"]),
        num(rec["detectable_effect"], ".4f"),
        Cell("—", "", "num") if is_missing(needed) else num(needed, "d"),
        Cell(disagreement, css="disagree" if disagreement else ""),
    ]


def comparisons_table(answer: ConfirmedAnswer, level: float) -> Table:
    """Paired differences against single-task, both metrics, with the verdict beside the metrics' disagreement."""
    at = answer.comparisons[answer.comparisons["level"] == level]
    disagreements = answer.disagreements[answer.disagreements["level"] == level]
    disagree = disagreements.groupby(["arm", "reference"])["sentence"].agg(" ".join).to_dict()
    rows = [comparison_row(rec, disagree.get((rec["arm"], rec["reference"]), "")) for rec in at.to_dict("records")]
    title = "Paired differences, arm − reference per seed (Holm-corrected across levels × comparisons of one metric)"
    return Table(COMPARISON_TABLE, rows, css="confirmed comparisons", title=title)


WINNER_TABLE = [
    Column("arm"), Column("winner trial"), Column("search score (validation)", True),
    Column("confirmed mean (test)", True), Column("gap (search − confirmed)", True),
]  # fmt: skip


def winners_table(answer: ConfirmedAnswer, level: float) -> Table | None:
    at = answer.winners[answer.winners["level"] == level]
    if at.empty:
        return None
    rows = [
        [cell(r["arm"]), cell(r["trial_id"]), num(r["search_score"]), num(r["confirm_mean"]), num(r["gap"], "+.4f")]
        for r in at.to_dict("records")
    ]
    metric = at["metric"].iloc[0] if "metric" in at else "clip_score"  # answers before the field: CLIP score
    title = f"Winner's curse on {metric} (the search's metric): search score vs confirmed mean"
    return Table(WINNER_TABLE, rows, css="confirmed winners", title=title)


CONFIGURATION_TABLE = [
    Column("arm"), Column("tried", True), Column("completed", True), Column("pruned", True), Column("errored", True),
]  # fmt: skip


def configurations_table(answer: ConfirmedAnswer, level: float) -> Table | None:
    """The search configurations each tuned arm tried, completed and pruned: the budget behind each winner."""
    at = answer.configurations[answer.configurations["level"] == level]
    if at.empty:
        return None
    rows = [
        [cell(r["arm"]), num(r["tried"], "d"), num(r["completed"], "d"), num(r["pruned"], "d"), num(r["errored"], "d")]
        for r in at.to_dict("records")
    ]
    title = "Search configurations per tuned arm (validation): tried, completed, pruned, errored"
    return Table(CONFIGURATION_TABLE, rows, css="confirmed configurations", title=title)


LOOK_TABLE = [
    Column("look"), Column("seeds", True), Column("alpha spent", True), Column("nominal level", True),
    Column("tested", True), Column("decided", True),
]  # fmt: skip
LOOKS_NOTE = (
    "Planned looks (declared before the run): verdicts are read at {planned} confirm seeds, alpha spent "
    "{spending} (Lan-DeMets); a comparison decided at a look gets no more seeds, the others are tested again at the "
    "next look. The nominal level is one comparison's share before Holm. {next}"
)


def looks_blocks(answer: ConfirmedAnswer) -> list:
    """The plan of looks and, per look taken, how many comparisons it tested and decided."""
    looks = answer.looks
    if not looks or not looks.get("done"):
        return []
    rows = []
    for look in looks["done"]:
        tested = look.get("comparisons") or []
        decided = sum(1 for r in tested if r.get("decision") in ("better", "worse", "equivalent"))
        rows.append(
            [
                num(look.get("look"), "d"),
                num(look.get("seeds"), "d"),
                num(look.get("alpha_spent"), ".3g"),
                num(look.get("nominal_level"), ".3g"),
                num(len(tested), "d"),
                num(decided, "d"),
            ]
        )
    following = looks.get("next_look")
    next_words = (
        f"Next planned look: {following} seeds (curriclip confirm RUN --seeds {following})."
        if following
        else "No look is left to take: every comparison is decided or the plan is done."
    )
    planned = ", ".join(str(n) for n in looks.get("planned") or [])
    spending = str(looks.get("alpha_spending", "")).replace("_", "-")
    table = Table(LOOK_TABLE, rows, css="confirmed looks", title="Looks taken (all in answer.json)")
    return [table, text(LOOKS_NOTE, planned=planned, spending=spending, next=next_words)]


def disagreement_box(answer: ConfirmedAnswer, level: float):
    """The metrics' disagreements at one level, boxed above its verdicts."""
    at = answer.disagreements[answer.disagreements["level"] == level]
    if at.empty:
        return None
    items = Markup("").join(
        Markup("<li><b>{}</b>: {}</li>").format(r["arm"], r["sentence"]) for r in at.to_dict("records")
    )
    template = "<b>Where CLIP score alone misleads</b> (it can move with embedding geometry):<ul>{items}</ul>"
    return text(template, css="warn disagreements", box=True, items=items)


def level_blocks(answer: ConfirmedAnswer, level: float) -> list:
    out = [Heading(f"Kept fraction {fmt_sparsity(level)}"), disagreement_box(answer, level)]
    out += [arms_table(answer, level), comparisons_table(answer, level), text(VERDICT_LEGEND)]
    out += [winners_table(answer, level), configurations_table(answer, level)]
    return [b for b in out if b is not None]


def blocks(results: Results) -> list:
    answer = confirmed_answer(results.answer, results.confirm)
    if answer is None:
        return []
    out: list = [text("{summary}", css="headline", summary=answer.summary)] if answer.summary else []
    for level in answer.levels:
        out += level_blocks(answer, level)
    margins = ", ".join(f"{metric_label(m)} {v:g}" for m, v in answer.margins.items()) or "not declared"
    k = answer.k if answer.k is not None else len(answer.seeds)
    out += [
        plot("paired_differences", results),
        *looks_blocks(answer),
        text(METHOD_NOTE, k=k, reference=answer.reference_arm, margins=margins),
    ]
    if answer.claim:
        out.append(text("<b>What a verdict covers</b>: {claim}", css="claim", claim=answer.claim))
    return [*out, text(WINNER_NOTE)]


SECTION = Section(
    "confirmed",
    "Confirmed answer",
    "Confirmed answer: fresh seeds, paired against single-task, scored once on test",
    blocks,
    optional=True,
)
