"""Trials: every trial of both phases in a sortable table; hovering a row shows its full configuration."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from curriclip.names import FINAL_PREFIX, Status, TrialColumn

from ..blocks import Badges, Cell, Column, Table, cell, num, text
from ..figures.companion import companion_metrics
from ..results import PHASE, SPLIT_EVALUATED, Results
from ..style import fmt_sparsity, is_missing, plot_text
from . import Section

#: The embedding-spread flag (``curriclip.metrics.spread``): 1 when a modality's embeddings nearly coincide.
COLLAPSED = FINAL_PREFIX + "collapsed"
ERROR_SHOWN = 300  # characters of an error message shown in its cell (all of it on hover)


@dataclass(frozen=True)
class TrialField:
    column: str
    label: str
    spec: str | None = None  # number format; None: text


TRIAL_TABLE = (
    TrialField(TrialColumn.TRIAL_ID, "trial"),
    TrialField(TrialColumn.STATUS, "status"),
    TrialField(PHASE, "phase"),
    TrialField(SPLIT_EVALUATED, "scored on"),
    TrialField(TrialColumn.ARM, "arm"),
    TrialField(TrialColumn.SPARSITY, "sparsity", ".4g"),
    TrialField(TrialColumn.SEED, "seed", "d"),
    TrialField(TrialColumn.PACING, "pacing"),
    TrialField(TrialColumn.ORDERING, "ordering"),
    TrialField(TrialColumn.LR, "lr", ".2e"),
    TrialField(TrialColumn.EPOCHS_DONE, "epochs", "d"),
    TrialField(TrialColumn.FINAL_CLIP_SCORE, "final CLIP", ".4f"),
    TrialField(TrialColumn.BEST_CLIP_SCORE, "best CLIP", ".4f"),
    TrialField(TrialColumn.ERROR, "error"),
)


def trial_fields(trials: pd.DataFrame) -> list[TrialField]:
    """The table's columns: the fixed ones, weighting when recorded, companion metrics before the error."""
    fields = list(TRIAL_TABLE)
    if "weighting" in trials.columns:
        fields.insert(9, TrialField("weighting", "weighting"))
    if COLLAPSED in trials.columns:
        fields.insert(-1, TrialField(COLLAPSED, "collapsed"))
    for metric in companion_metrics(trials):
        fields.insert(-1, TrialField(FINAL_PREFIX + metric, metric, ".4f"))
    return fields


def _cell(field: TrialField, value: object) -> Cell:
    if field.column == TrialColumn.ERROR and not is_missing(value):
        full = str(value)
        return Cell(full if len(full) <= ERROR_SHOWN else full[:ERROR_SHOWN] + "…", css="err", title=full)
    if field.column == TrialColumn.SPARSITY and not is_missing(value):
        return Cell(fmt_sparsity(value), repr(float(value)), "num")  # type: ignore[arg-type]
    if field.column == COLLAPSED:
        flagged = not is_missing(value) and float(value) > 0  # type: ignore[arg-type]
        return Cell("yes" if flagged else "" if is_missing(value) else "no", css="flag" if flagged else "")
    if field.column == TrialColumn.STATUS:
        shown = cell(value)
        shown.css = f"s-{value}" if value in tuple(Status) else ""
        return shown
    return cell(value) if field.spec is None else num(value, field.spec)


def trials_table(trials: pd.DataFrame) -> Table:
    fields = trial_fields(trials)
    records = trials[[f.column for f in fields]].to_dict("records")
    rows = [[_cell(f, rec[f.column]) for f in fields] for rec in records]
    keys = [plot_text(rec[TrialColumn.TRIAL_ID]) for rec in records]  # as the figures' hover data carry it
    columns = [Column(f.label, f.spec is not None) for f in fields]
    return Table(columns, rows, css="sortable trials", scroll=True, row_keys=keys)


def blocks(results: Results) -> list:
    trials = results.all_trials
    if trials.empty:
        return [text("No trials recorded yet.", css="note", box=True)]
    hint = (
        "Both phases: search-phase trials were scored on the split in “scored on” and selected the winners; "
        "confirm-phase trials re-ran the winners on fresh seeds and were scored once on test. Click a column header "
        "to sort. Hover a row (or any point in a figure) to see that trial's full configuration."
    )
    return [Badges(results.status_counts()), text(hint), trials_table(trials)]


SECTION = Section("trials", "Trials", "Trials", blocks)
