"""Search reports: one self-contained HTML page per run directory, built from result files only.

    from curriclip.reports import build_report
    build_report("runs/my_search")          # -> runs/my_search/report.html

Reads ``trials.parquet``, ``epochs.parquet`` and ``experiment.yaml`` (all optional); imports
neither Ray nor torch, so it can run anywhere the result files can be read.

- ``figures``: one function per figure (the answer, arms side by side, companion metrics,
  curriculum choices, orderings, learning curves, per-task losses, schedules) and the
  statistics behind them;
- ``study``: the Search section, from an Optuna study rebuilt in memory from ``param/*``
  columns (importances, optimisation history, Pareto front, status counts, error reasons);
- ``page``: loading (dropping any column that could carry dataset text), the HTML page,
  the sortable trial table and the trial inspector (full configuration on hover).

``notebooks/explore_run.ipynb`` uses the same functions to explore a run interactively.
"""

from .page import Results, build_report, load_results, render_html

__all__ = ["Results", "build_report", "load_results", "render_html"]
