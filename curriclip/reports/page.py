"""The page: sections rendered by ``templates/report.html.j2`` into one self-contained, offline file.

Escaping: the template autoescapes every value. Figures travel as Plotly JSON, which encodes
``<``, ``>`` and ``/`` as ``\\u003c``..., and ``seal_scripts`` additionally neutralises any ``</``
inside a figure's script; the trial configurations are JSON with ``<``, ``>`` and ``&`` escaped,
read by the inspector as inert ``application/json`` data. plotly.js is embedded once, in ``<head>``,
and only when the page has a figure. The page is written atomically (temp name, then rename), so a
browser or a file watcher never sees a partial page.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import jinja2
import pandas as pd
import plotly.io as pio
import plotly.offline
from markupsafe import Markup

from curriclip.names import RunFile, TrialColumn
from curriclip.rundir.atomic import atomic_text

from .blocks import Plot
from .live import RunStatus, run_status
from .results import Results, clean_config, load_results
from .sections import SECTIONS
from .style import CLIP_SCORE_DEFINITION, plot_text

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
PACKAGE = "curriclip.reports"


def _static(name: str) -> str:
    return resources.files(PACKAGE).joinpath("static", name).read_text(encoding="utf-8")


def _environment() -> jinja2.Environment:
    loader = jinja2.PackageLoader(PACKAGE, "templates")
    return jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)


def seal_scripts(fragment: str) -> str:
    """Make sure nothing inside a figure's <script> can close it early.

    plotly's JSON already writes ``<``/``>``/``/`` as ``\\u003c``-style escapes; this is the
    belt to those braces, not relying on a plotly implementation detail: between the
    fragment's first ``<script ...>`` and its last ``</script>``, ``</`` becomes ``<\\/``
    and ``<!--`` becomes ``<\\!--`` (equivalent inside JavaScript strings).
    """
    start = fragment.find("<script")
    end = fragment.rfind("</script>")
    if start < 0 or end < 0:
        return fragment
    open_end = fragment.index(">", start) + 1
    inner = fragment[open_end:end].replace("</", "<\\/").replace("<!--", "<\\!--")
    return fragment[:open_end] + inner + fragment[end:]


def figure_html(fig) -> Markup:
    """A figure as a div + script (plotly.js itself is embedded once, in <head>)."""
    height = fig.layout.height or 450
    div = pio.to_html(
        fig,
        include_plotlyjs=False,
        full_html=False,
        config=PLOTLY_CONFIG,
        default_width="100%",
        default_height=f"{int(height)}px",
    )
    return Markup(f'<div class="card figure" data-traces="{len(fig.data)}">{seal_scripts(div)}</div>')


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _json_safe(x) for k, x in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(x) for x in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def trial_configs_json(trials: pd.DataFrame) -> Markup:
    """Every trial's full configuration, keyed by the (escaped) id the figures' hover data carry,
    as JSON safe inside a <script type="application/json"> element."""
    columns = (trials[TrialColumn.TRIAL_ID], trials[TrialColumn.CONFIG_JSON], trials[TrialColumn.STATUS])
    configs = {
        plot_text(trial_id): {"trial_id": str(trial_id), "status": status, "config": clean_config(config)}
        for trial_id, config, status in zip(*columns)
    }
    text = json.dumps(_json_safe(configs), sort_keys=True, default=str, allow_nan=False)
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


LEGACY_LINE = (
    "This run predates the select-then-confirm protocol: its numbers were selected on the test split and are not a "
    "confirmed answer."
)
PENDING_LINE = (
    "The confirm phase has not run yet (no answer.json): every number below is a search-phase validation score "
    "that selected the winners, not the answer. `curriclip confirm RUN_DIR --seeds K` adds it."
)


def protocol_line(results: Results) -> str | None:
    """The one line at the top that says what the page's numbers are, when they are not a confirmed answer."""
    if results.answer is not None or results.empty:
        return None
    return LEGACY_LINE if results.legacy else PENDING_LINE


def conclusion_line(results: Results) -> str | None:
    """What the run can conclude, one sentence from answer.json (the page's first line); None before confirm."""
    answer = results.answer if isinstance(results.answer, dict) else None
    conclusion = answer.get("conclusion") if answer else None
    return str(conclusion) if conclusion else None


def page_sections(results: Results) -> list[dict]:
    """Every registered section, in order, with its blocks (none when there are no results)."""
    out = []
    for name in SECTIONS:
        section = SECTIONS.get(name)
        blocks = [] if results.empty else section.blocks(results)
        if section.optional and not blocks:
            continue
        out.append({"id": section.id, "nav": section.nav, "title": section.title, "blocks": blocks})
    return out


def render_html(
    results: Results, generated: str | None = None, status: RunStatus | None = None, refresh: float | None = None
) -> str:
    """The whole page as a string (``build_report`` writes it); ``status`` says whether the run is still going,
    ``refresh`` makes the page reload itself every so many seconds (while a watched run goes on)."""
    sections = page_sections(results)
    has_figures = any(isinstance(b, Plot) for s in sections for b in s["blocks"])
    has_trials = not results.all_trials.empty
    script = _static("sort.js") + (_static("inspector.js") if has_trials else "")
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            results=results,
            sections=sections,
            generated=generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            clip_score_definition=CLIP_SCORE_DEFINITION,
            css=Markup(_static("report.css")),
            script=Markup(script),
            plotly_js=Markup(plotly.offline.get_plotlyjs()) if has_figures else None,
            configs_json=trial_configs_json(results.all_trials) if has_trials else None,
            protocol_line=protocol_line(results),
            conclusion_line=conclusion_line(results),
            figure_html=figure_html,
            status=status.sentence() if status is not None else None,
            refresh=max(1, round(refresh)) if refresh and not (status is not None and status.finished) else None,
        )
    )


def build_report(run_dir: str | Path, out: str | Path | None = None, refresh: float | None = None) -> Path:
    """Write the run's HTML report (default ``RUN_DIR/report.html``) and return its path.

    ``refresh``: seconds after which the page reloads itself (a served, watched report).
    """
    run_dir = Path(run_dir)
    out_path = Path(out) if out is not None else run_dir / RunFile.REPORT
    out_path.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(load_results(run_dir), status=run_status(run_dir), refresh=refresh)
    return atomic_text(out_path, page)
