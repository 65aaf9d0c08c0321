"""Search reports: one self-contained HTML page per run directory, built from result files only.

    from curriclip.reports import build_report
    build_report("runs/my_search")          # -> runs/my_search/report.html

Reads ``trials.parquet``, ``epochs.parquet``, ``experiment.yaml`` and, once the confirm phase has run,
``answer.json`` and ``confirm.parquet`` (all optional); imports neither Ray nor torch, so it runs anywhere
the result files can be read. The page leads with the confirmed answer (from ``answer.json``); the search
phase follows, labelled as the validation scores that selected the winners (runs from before the protocol
say in one line that theirs were selected on test). Built like ``optuna.visualization``:

- ``results``: a run directory -> normalised trials (search / confirm phase) / epochs frames, the confirm
  table and answer.json (dataset text dropped);
- ``confirmed``: answer.json as frames (arm means, paired differences, winners, disagreements) and the
  untrained model's control row;
- ``stats``: the search phase's intervals (``scipy.stats``), per-level summaries, verdicts, expected best
  score after n configurations;
- ``study``: an Optuna study rebuilt from ``param/*`` columns (importances), objectives;
- ``style``: colours, layout, text made literal for Plotly;
- ``figures/``: one module per figure, ``data(results)`` (plain data) and ``draw(data)``
  (Plotly), registered in ``figures.FIGURES``;
- ``sections/``: the page's sections in order, each a list of blocks (``blocks``),
  registered in ``sections.SECTIONS``;
- ``page``: renders the sections with ``templates/report.html.j2`` (CSS and JS in ``static/``).

Add a figure: a module ``figures/<name>.py`` with ``FIGURE = FigureSpec(title, data, draw)``, and one
line in ``figures/__init__.py``: ``FIGURES.lazy("<name>", "curriclip.reports.figures.<name>:FIGURE")``;
show it from a section with ``plot("<name>", results)``.

Add a section: a module ``sections/<name>.py`` with ``SECTION = Section(id, nav, title, blocks)``
(``blocks(results)`` returns headings, text, plots and tables), and one line in
``sections/__init__.py``: ``SECTIONS.lazy("<name>", "curriclip.reports.sections.<name>:SECTION")``,
placed where the section goes on the page.

``notebooks/explore_run.ipynb`` uses the same functions to explore a run interactively.
"""

from .page import build_report, render_html
from .results import Results, load_results

__all__ = ["Results", "build_report", "load_results", "render_html"]
