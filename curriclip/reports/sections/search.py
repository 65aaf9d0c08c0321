"""Search: parameter importances, optimisation history, Pareto front, status counts, errors."""

from __future__ import annotations

from curriclip.names import Arm, TrialColumn

from ..blocks import Column, Plot, Table, cell, num, text
from ..figures import FIGURES
from ..results import Results
from ..stats import SCORE
from ..study import error_reasons, objectives
from . import Section, plot

ERROR_COLUMNS = [Column("error (last line of the trial's error.txt)"), Column("trials", True), Column("trial ids")]


def importance_blocks(results: Results) -> list:
    figure = FIGURES.get("importances")
    data = figure.data(results)
    if data.importances.empty:
        return [text("Parameter importances not shown: {note}.", note=data.note)]
    return [Plot(figure.draw(data)), text("{note}", note=data.note)]


def history_blocks(results: Results) -> list:
    trials = results.trials
    if ((trials[TrialColumn.ARM] == Arm.CURRICULUM) & trials[SCORE].notna()).any():
        return [plot("history", results)]
    return [text("Optimisation history: no curriculum trial has reported a CLIP score yet.")]


def pareto_blocks(results: Results) -> list:
    objs = objectives(results.experiment)
    if len(objs) >= 2:
        return [plot("pareto", results)]
    return [
        text(
            "Single-objective search (metric: {metric}): no Pareto front. A search with several objectives "
            "(<code>search.objectives</code> in experiment.yaml) gets one here.",
            metric=objs[0][0],
        )
    ]


def errors_table(results: Results):
    errors = error_reasons(results.trials)
    if errors.empty:
        return text("No trial errored.")
    rows = [[cell(r.error), num(r.n, "d"), cell(r.trial_ids)] for r in errors.itertuples()]
    for row in rows:
        row[0].css = "err"
    return Table(ERROR_COLUMNS, rows, css="errors", title="Error reasons")


def blocks(results: Results) -> list:
    if results.trials.empty:
        return [text("No trials recorded yet.", css="note", box=True)]
    out = [*importance_blocks(results), *history_blocks(results), *pareto_blocks(results)]
    return [*out, plot("status", results), errors_table(results)]


SECTION = Section("search", "Search", "Search", blocks)
