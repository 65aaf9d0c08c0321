"""The report's figures: one module per figure, each a ``FigureSpec`` with a data builder and a drawer.

``data(results)`` returns plain data (a DataFrame, dict or dataclass: testable without Plotly)
and ``draw(data)`` turns it into a Plotly figure; ``draw`` also accepts ``None`` (nothing to show)
and returns an annotated empty figure. ``FIGURES`` names them for the page's sections.

Add a figure: write ``figures/<name>.py`` defining ``FIGURE = FigureSpec(title, data, draw)`` and add
one line below: ``FIGURES.lazy("<name>", "curriclip.reports.figures.<name>:FIGURE")``; a section
shows it with ``plot("<name>", results)`` (``curriclip.reports.sections``). The optional sections' figures
(``task_map``, ``fusion``) draw from their own files and are called by their sections directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from curriclip.registry import Registry

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from curriclip.reports.results import Results


@dataclass(frozen=True)
class FigureSpec:
    """A report figure: ``draw(data(results))``."""

    title: str
    data: Callable[[Results], Any]
    draw: Callable[[Any], go.Figure]

    def build(self, results: Results) -> go.Figure:
        return self.draw(self.data(results))


FIGURES: Registry[FigureSpec] = Registry("report figure", "figures")
FIGURES.lazy("paired_differences", "curriclip.reports.figures.paired_differences:FIGURE")
FIGURES.lazy("answer", "curriclip.reports.figures.answer:FIGURE")
FIGURES.lazy("difference", "curriclip.reports.figures.difference:FIGURE")
FIGURES.lazy("companion", "curriclip.reports.figures.companion:FIGURE")
FIGURES.lazy("pacing", "curriclip.reports.figures.choice:PACING")
FIGURES.lazy("weighting", "curriclip.reports.figures.choice:WEIGHTING")
FIGURES.lazy("ordering", "curriclip.reports.figures.ordering:FIGURE")
FIGURES.lazy("ordering_heatmap", "curriclip.reports.figures.ordering_heatmap:FIGURE")
FIGURES.lazy("parallel_coordinates", "curriclip.reports.figures.parallel_coordinates:FIGURE")
FIGURES.lazy("clip_dynamics", "curriclip.reports.figures.clip_dynamics:FIGURE")
FIGURES.lazy("losses", "curriclip.reports.figures.losses:FIGURE")
FIGURES.lazy("schedules", "curriclip.reports.figures.schedules:FIGURE")
FIGURES.lazy("data_fraction", "curriclip.reports.figures.data_fraction:FIGURE")
FIGURES.lazy("importances", "curriclip.reports.figures.importances:FIGURE")
FIGURES.lazy("history", "curriclip.reports.figures.history:FIGURE")
FIGURES.lazy("pareto", "curriclip.reports.figures.pareto:FIGURE")
FIGURES.lazy("status", "curriclip.reports.figures.status:FIGURE")
FIGURES.lazy("expected_max", "curriclip.reports.figures.expected_max:FIGURE")
