"""Every figure of the report as SVG and PDF, through Plotly's exporter (kaleido, driving a Chromium).

The figures are the report's own: the sections' ``Plot`` blocks in page order
(``reports.page.page_sections``), so a paper figure and the page never differ. Kaleido
(>= 1) renders them in a headless Chromium-based browser it finds on the system
(``BROWSER_PATH``, ``chromium``, ``google-chrome``, ...); all files are written in one
browser session. A missing kaleido or browser is one line naming what to install.
"""

from __future__ import annotations

import re
from pathlib import Path

from curriclip.errors import CurriclipError

from ..blocks import Plot
from ..results import Results

FORMATS = ("svg", "pdf")
WIDTH, HEIGHT = 900, 500  # px; PDF pages take the same size in points


def report_figures(results: Results) -> list[tuple[str, object]]:
    """(file stem, figure) for every figure of the report, in page order: ``01_confirmed_answer-at-each-level``."""
    from ..page import page_sections

    out = []
    for section in page_sections(results):
        for block in section["blocks"]:
            if isinstance(block, Plot):
                title = block.figure.layout.title.text or "figure"
                slug = re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]+>", " ", title).lower()).strip("-")[:48]
                out.append((f"{len(out) + 1:02d}_{section['id']}_{slug}", block.figure))
    return out


def find_browser() -> str | None:
    """The Chromium-based browser kaleido would drive; None when there is none."""
    from choreographer.browsers.chromium import Chromium

    path = Chromium.find_browser(skip_local=False)
    return path if path and Path(path).exists() else None


def check_exporter() -> None:
    """kaleido and a browser are there, or one line saying what to install."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        raise CurriclipError("--export: writing figures needs kaleido (pip install 'curriclip[export]')") from None
    if find_browser() is None:
        raise CurriclipError(
            "--export: kaleido found no Chromium-based browser (install one, e.g. apt-get install chromium, "
            "or point BROWSER_PATH at it)"
        )


def write_figures(figures: list[tuple[str, object]], directory: Path) -> list[Path]:
    """Every figure as SVG and PDF in ``directory`` (which the caller moves into place); the paths written."""
    import plotly.io as pio

    if not figures:
        return []
    check_exporter()
    paths, figs = [], []
    for stem, figure in figures:
        for fmt in FORMATS:
            paths.append(directory / f"{stem}.{fmt}")
            figs.append(figure)
    height = [int(fig.layout.height or HEIGHT) for fig in figs]
    pio.write_images(figs, paths, width=WIDTH, height=height)
    return paths
