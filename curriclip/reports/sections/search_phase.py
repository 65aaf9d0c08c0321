"""The search phase per sparsity level: every tuned arm's trials (headline, figure, table), the difference from
single-task per arm, other arms, companion metrics, and each arm's expected best score against the number of
configurations tried. Labelled as what it is: the scores that selected the winners, not the answer."""

from __future__ import annotations

import pandas as pd

from curriclip.names import Arm, Status, TrialColumn
from curriclip.stats.over_trials import NO_CLEAR_DIFFERENCE

from ..blocks import Cell, Column, Plot, Table, cell, num, plus_minus, text, verdict_css
from ..figures import FIGURES
from ..figures.companion import companion_metrics
from ..figures.expected_max import TUNED_ARMS, search_score_column
from ..results import VALIDATE_SPLIT, Results
from ..stats import BASELINE_ARM, answer_summary, answer_trials, arm_summary
from ..style import fmt_sparsity
from . import Section, plot

VALIDATION_LABEL = "Search phase: validation split; these scores selected the winners and are not the answer."
LEGACY_LABEL = (
    "Search phase, scored on the test split (this run predates the select-then-confirm protocol): these scores "
    "selected the winners on the split that judges them, so the best trial is optimistic and none of this is a "
    "confirmed answer."
)
METHOD_NOTE = (
    "Completed trials only (pruned trials are left out here; they are shown under Dynamics and Trials and count in "
    "the expected-best curves). Means use each trial's final-epoch CLIP score; intervals are 95% Student-t over the "
    "trials at that level (no interval when n = 1). The trials of a tuned arm are different configurations, so "
    "this spread is the spread of the configurations the search tried, not seed-to-seed variation of one model; "
    "the difference uses a Welch interval over those trials. The best trial is the highest CLIP score shown, so "
    "it is optimistic; the search picks its winners on its own metric (search.metric: retrieval AUC by default, "
    "which a collapsed model cannot win), not necessarily this trial. The untrained model (grey dash) is the CLIP "
    "score before any training."
)
EXPECTED_MAX_NOTE = (
    "Show your work (Dodge et al. 2019): each tuned arm's expected best validation {metric} after n configurations, "
    "E[max_n] = Σ_i v_(i) [(i/N)^n − ((i−1)/N)^n] over the N final scores v_(1) ≤ … ≤ v_(N) of its search-phase "
    "trials at that level. Completed trials and pruned trials count; pruned trials count with their last reported "
    "value ({pruned} here), errored and running trials are left out. If an arm's curve still climbs at the budget "
    "every arm got, the search budget, not the arm, may decide the comparison."
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
        "unclear": int(verdicts.str.startswith(NO_CLEAR_DIFFERENCE).sum()),
        "short": int(verdicts.str.startswith("not enough").sum()),
    }
    levels = len(summary)
    template = (
        "Search phase, curriculum (mean over its trials) vs single-task, over {levels} sparsity level{plural}: "
        "better (95% interval over trials excludes zero) at <b>{better}</b>, worse at <b>{worse}</b>, no clear "
        "difference at <b>{unclear}</b>" + (", not enough trials at <b>{short}</b>" if counts["short"] else "") + "."
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


def phase_label(results: Results):
    """What the search phase's numbers are: validation scores, or (before the protocol) test scores."""
    legacy = results.search_split != VALIDATE_SPLIT
    return text(
        "<b>{label}</b>", css="warn" if legacy else "note", box=True, label=LEGACY_LABEL if legacy else VALIDATION_LABEL
    )


def expected_max_blocks(results: Results) -> list:
    """The show-your-work figure and its caption (naming the metric and how many pruned trials it counts)."""
    figure = FIGURES.get("expected_max")
    data = figure.data(results)
    if data is None:
        return [text("Expected best score vs configurations: no completed or pruned trial of a tuned arm yet.")]
    trials = results.trials
    column = search_score_column(results)[1]
    pruned = trials[TrialColumn.ARM].isin(TUNED_ARMS) & (trials[TrialColumn.STATUS] == Status.PRUNED)
    counted = int((pruned & trials[column].notna()).sum())
    return [Plot(figure.draw(data)), text(EXPECTED_MAX_NOTE, metric=data.metric, pruned=counted)]


def blocks(results: Results) -> list:
    trials = results.trials
    label = phase_label(results)
    if answer_trials(trials).empty:
        return [label, text("No completed search-phase trials yet.", css="note", box=True)]
    summary = answer_summary(trials)
    out = [label, headline(summary), plot("answer", results), answer_table(summary), text(METHOD_NOTE)]
    out += [plot("difference", results), other_arms_table(arm_summary(trials))]
    if companion_metrics(trials):
        out.append(plot("companion", results))
    out += expected_max_blocks(results)
    return [b for b in out if b is not None]


SECTION = Section("search_phase", "Search phase", "Search phase: arms per sparsity level (selection scores)", blocks)
