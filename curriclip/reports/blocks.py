"""What a section is made of: headings, text, figures and tables, as plain data.

Sections return lists of these; ``templates/report.html.j2`` renders each kind with a macro
(autoescaped). ``Text`` holds markup built with ``Markup(...).format(...)``, which escapes every
value it inserts, so a section can write ``<code>`` around a user string safely.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from .style import is_missing


@dataclass
class Heading:
    text: str
    kind: str = "heading"


@dataclass
class Text:
    """A paragraph (``css``: 'small muted', ...) or a boxed ``note`` / ``warn`` (``box``)."""

    markup: Markup
    css: str = "small muted"
    box: bool = False
    kind: str = "text"


def text(template: str, css: str = "small muted", box: bool = False, **values: Any) -> Text:
    """A ``Text`` from trusted markup with escaped ``{name}`` values."""
    return Text(Markup(template).format(**values), css, box)


@dataclass
class Plot:
    """A Plotly figure (rendered once, by the page, with plotly.js embedded once)."""

    figure: Any
    kind: str = "plot"


@dataclass
class Cell:
    """A table cell: shown text, the raw value for sorting (``data-value``), CSS class and tooltip."""

    text: str | Markup = ""
    value: str | None = None
    css: str = ""
    title: str | None = None


def cell(value: object) -> Cell:
    return Cell("" if is_missing(value) else str(value))


def num(value: object, spec: str = ".4f", css: str = "") -> Cell:
    """A numeric cell: formatted text, raw value in data-value ('' when missing)."""
    if is_missing(value):
        return Cell("", "", f"num {css}".strip())
    value = int(value) if spec == "d" else float(value)  # type: ignore[arg-type]
    return Cell(format(value, spec) if spec else str(value), repr(float(value)), f"num {css}".strip())


def plus_minus(mean: float, hw: float, spec: str = ".4f") -> Cell:
    """'mean ± half-width', just the mean when there is no interval, a dash when no mean."""
    shown = "—" if is_missing(mean) else format(mean, spec) + ("" if is_missing(hw) else f" ± {hw:.4f}")
    return Cell(shown, repr(mean), "num")


@dataclass
class Column:
    label: str
    numeric: bool = False


@dataclass
class Table:
    columns: list[Column]
    rows: list[list[Cell]]
    css: str = ""  # table class ('sortable trials', 'answer', ...)
    scroll: bool = False  # in a scrolling box
    row_keys: list[str] | None = None  # data-trial of each row (the trial inspector)
    kind: str = "table"
    title: str | None = None  # an <h3> above it


@dataclass
class Badges:
    """Trial counts per status (``Results.status_counts``)."""

    counts: dict[str, int]
    kind: str = "badges"


def verdict_css(verdict: str) -> str:
    return "verdict " + ("better" if " better " in verdict else "worse" if " worse " in verdict else "")
