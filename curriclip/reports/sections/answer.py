"""1. The answer: curriculum vs single-task at each sparsity level (headline, figure, table), the
difference from single-task per arm, other arms, companion metrics."""

from __future__ import annotations

import pandas as pd

from curriclip.names import Arm

from ..blocks import Cell, Column, Table, cell, num, plus_minus, text, verdict_css
from ..figures.companion import companion_metrics
from ..results import Results
from ..stats import BASELINE_ARM, answer_summary, answer_trials, arm_summary
from ..style import fmt_sparsity
from . import Section, plot

METHOD_NOTE = (
    "Completed trials only (pruned trials are shown under Dynamics and Trials). Means use each trial's "
    "final-epoch CLIP score; intervals are 95% Student-t over the trials at that level (no interval when n = 1). "
    "The difference uses a Welch interval; “outside seed noise” means its 95% interval excludes zero. The "
    "curriculum mean averages over every configuration the search tried; the best trial is what a search would "
    "pick, and is optimistic because it is selected on the same held-out score. The untrained model (grey dash) "
    "is the CLIP score before any training."
)
ANSWER_COLUMNS = [
    Column("sparsity", True), Column("untrained model", True), Column("single-task n", True),
    Column("single-task mean ± 95% CI", True), Column("curriculum n", True), Column("curriculum mean ± 95% CI", True),
    Column("curriculum best", True), Column("best trial"),
    Column("diff (curriculum mean − single-task mean) ± 95% CI", True), Column("best − single-task mean", True),
    Column("verdict"),
]  # fmt: skip
ARMS_COLUMNS = [
    Column("sparsity", True), Column("arm"), Column("n", True), Column("mean ± 95% CI", True),
    Column("diff vs single-task ± 95% CI", True), Column("verdict"),
]  # fmt: skip


def sparsity_cell(level: float) -> Cell:
    return Cell(fmt_sparsity(level), repr(float(level)), "num")


def headline(summary: pd.DataFrame):
    """One sentence: at how many sparsity levels the curriculum mean beats single-task."""
    verdicts = summary["verdict"]
    counts = {
        "better": int(verdicts.str.startswith("curriculum better").sum()),
        "worse": int(verdicts.str.startswith("curriculum worse").sum()),
        "noise": int(verdicts.str.startswith("within seed noise").sum()),
        "short": int(verdicts.str.startswith("not enough").sum()),
    }
    levels = len(summary)
    template = (
        "Curriculum (mean over its trials) vs single-task, over {levels} sparsity level{plural}: better outside seed "
        "noise at <b>{better}</b>, worse at <b>{worse}</b>, within noise at <b>{noise}</b>"
        + (", not enough trials at <b>{short}</b>" if counts["short"] else "")
        + "."
    )
    return text(template, css="headline", levels=levels, plural="s" if levels != 1 else "", **counts)


def answer_table(summary: pd.DataFrame) -> Table:
    rows = [
        [
            sparsity_cell(r.sparsity),
            num(r.untrained_mean),
            num(r.single_n, "d"),
            plus_minus(r.single_mean, r.single_hw),
            num(r.curriculum_n, "d"),
            plus_minus(r.curriculum_mean, r.curriculum_hw),
            num(r.curriculum_best),
            cell(r.curriculum_best_trial),
            plus_minus(r.diff, r.diff_hw, "+.4f"),
            num(r.best_minus_single, "+.4f"),
            Cell(r.verdict, css=verdict_css(r.verdict).strip()),
        ]  # fmt: skip
        for r in summary.itertuples()
    ]
    return Table(ANSWER_COLUMNS, rows, css="answer")


def other_arms_table(arms: pd.DataFrame) -> Table | None:
    """Per level, every arm beyond single-task and curriculum (e.g. shuffled_control) vs single-task."""
    extra = arms[~arms["arm"].isin([BASELINE_ARM, Arm.CURRICULUM])] if not arms.empty else arms
    if extra.empty:
        return None
    rows = [
        [
            sparsity_cell(r.sparsity),
            cell(r.arm),
            num(r.n, "d"),
            plus_minus(r.mean, r.hw),
            plus_minus(r.diff, r.diff_hw, "+.4f"),
            Cell(r.verdict, css=verdict_css(r.verdict).strip()),
        ]  # fmt: skip
        for r in extra.itertuples()
    ]
    return Table(ARMS_COLUMNS, rows, css="sortable arms", title="Other arms vs single-task")


def blocks(results: Results) -> list:
    trials = results.trials
    if answer_trials(trials).empty:
        return [text("No completed trials yet: the answer appears once trials finish.", css="note", box=True)]
    summary = answer_summary(trials)
    out = [headline(summary), plot("answer", results), answer_table(summary), text(METHOD_NOTE)]
    out += [plot("difference", results), other_arms_table(arm_summary(trials))]
    if companion_metrics(trials):
        out.append(plot("companion", results))
    return [b for b in out if b is not None]


SECTION = Section("answer", "The answer", "The answer: curriculum vs single-task, per sparsity level", blocks)
