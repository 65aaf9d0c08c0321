"""Curriculum choices: pacing function, task ordering, loss weighting, all searched parameters."""

from __future__ import annotations

from ..blocks import Column, Heading, Table, cell, num, text
from ..figures.ordering import best_orderings
from ..figures.parallel_coordinates import param_columns
from ..results import Results
from ..stats import curriculum_completed
from . import Section, plot

WEIGHTING = "weighting"
ORDERINGS_COLUMNS = [
    Column("ordering (first > … > last)"), Column("trials", True), Column("levels"),
    Column("mean CLIP score vs its level's mean", True), Column("best CLIP score", True), Column("best trial"),
]  # fmt: skip


def best_orderings_table(results: Results) -> Table | None:
    best = best_orderings(results.trials)
    if best.empty:
        return None
    rows = [
        [cell(r.ordering), num(r.n, "d"), cell(r.levels), num(r.mean_vs_level, "+.4f"), num(r.best), cell(r.best_trial)]
        for r in best.itertuples()
    ]
    return Table(ORDERINGS_COLUMNS, rows, css="sortable orderings", title="Best task orderings")


def weighting_blocks(results: Results, curriculum) -> list:
    if WEIGHTING in results.trials.columns and curriculum[WEIGHTING].nunique() > 1:
        return [plot("weighting", results)]
    used = sorted(curriculum[WEIGHTING].dropna().unique()) if WEIGHTING in results.trials.columns else []
    return [
        text(
            "One weighting strategy in this search ({used}): nothing to compare.",
            used=", ".join(map(str, used)) or "not recorded",
        )
    ]


def params_blocks(results: Results) -> list:
    params = param_columns(results.trials)
    if len(params) >= 2:
        return [plot("parallel_coordinates", results)]
    return [
        text(
            "Parallel coordinates skipped: fewer than 2 searched <code>param/*</code> columns vary ({params}).",
            params=", ".join(map(str, params)) or "none",
        )
    ]


def blocks(results: Results) -> list:
    curriculum = curriculum_completed(results.trials)
    if curriculum.empty:
        return [text("No completed curriculum trials yet.", css="note", box=True)]
    out = [Heading("Pacing function"), plot("pacing", results)]
    out += [Heading("Task ordering"), plot("ordering", results), plot("ordering_heatmap", results)]
    out.append(best_orderings_table(results))
    out += [Heading("Loss weighting"), *weighting_blocks(results, curriculum)]
    out += [Heading("All searched parameters"), *params_blocks(results)]
    return [b for b in out if b is not None]


SECTION = Section("choices", "Curriculum choices", "Curriculum choices", blocks)
