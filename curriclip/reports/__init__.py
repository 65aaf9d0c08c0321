"""Search reports: one self-contained HTML page per run directory, built from result files only.

    from curriclip.reports import build_report
    build_report("runs/my_search")          # -> runs/my_search/report.html

Reads ``trials.parquet``, ``epochs.parquet`` and ``experiment.yaml`` (all optional); imports
neither Ray nor torch, so it can run anywhere the result files can be read.
"""

from .page import Results, build_report, load_results, render_html

__all__ = ["Results", "build_report", "load_results", "render_html"]
