"""The report's sections, in page order: each a ``Section`` whose ``blocks(results)`` returns the
headings, text, figures and tables it shows (``curriclip.reports.blocks``).

Add a section: write ``sections/<name>.py`` defining ``SECTION = Section(id, nav, title, blocks)``
and add one line below, where it should appear on the page:
``SECTIONS.lazy("<name>", "curriclip.reports.sections.<name>:SECTION")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from curriclip.registry import Registry

from ..blocks import Plot
from ..figures import FIGURES

if TYPE_CHECKING:
    from ..results import Results


@dataclass(frozen=True)
class Section:
    id: str  # the HTML id (links: report.html#<id>)
    nav: str  # its name in the page's navigation bar
    title: str  # its heading
    blocks: Callable[[Results], list[Any]]
    optional: bool = False  # left off the page when it has nothing to show (e.g. a run without a task map)


def plot(name: str, results: Results) -> Plot:
    """The registered figure ``name`` drawn from ``results``."""
    return Plot(FIGURES.get(name).build(results))


SECTIONS: Registry[Section] = Registry("report section", "sections")
SECTIONS.lazy("confirmed", "curriclip.reports.sections.confirmed:SECTION")
SECTIONS.lazy("search_phase", "curriclip.reports.sections.search_phase:SECTION")
SECTIONS.lazy("choices", "curriclip.reports.sections.choices:SECTION")
SECTIONS.lazy("dynamics", "curriclip.reports.sections.dynamics:SECTION")
SECTIONS.lazy("search", "curriclip.reports.sections.search:SECTION")
SECTIONS.lazy("trials", "curriclip.reports.sections.trials:SECTION")
SECTIONS.lazy("task_map", "curriclip.reports.sections.task_map:SECTION")
SECTIONS.lazy("fusion", "curriclip.reports.sections.fusion:SECTION")
