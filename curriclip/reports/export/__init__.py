"""Paper exports of a run: the answer table (CSV, LaTeX), every report figure (SVG, PDF), a methods paragraph.

``curriclip report RUN --export DIR`` calls ``export_run``. It reads only the run's files
(through ``reports.results.load_results``, like the page) and writes into a hidden
staging folder inside ``DIR`` first, moving each file into place only when all of them
were written, so an export that fails (no browser for the figures) leaves no half set.

Files: ``answer.csv`` and ``answer.tex`` (once the confirm phase has run),
``figures/NN_<section>_<title>.svg`` and ``.pdf``, ``methods.md``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..confirmed import confirmed_answer
from ..results import load_results
from .answer_table import csv_table, latex_table
from .figures import report_figures, write_figures
from .methods import methods_markdown

ANSWER_CSV, ANSWER_TEX, METHODS, FIGURES_DIR = "answer.csv", "answer.tex", "methods.md", "figures"


def export_run(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the run's paper exports into ``out_dir``; the paths written, in order."""
    results = load_results(run_dir)
    answer = confirmed_answer(results.answer, results.confirm)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        written = []
        if answer is not None:
            csv_table(answer).to_csv(staging / ANSWER_CSV, index=False)
            (staging / ANSWER_TEX).write_text(latex_table(answer), encoding="utf-8")
            written += [ANSWER_CSV, ANSWER_TEX]
        (staging / METHODS).write_text(methods_markdown(results, answer), encoding="utf-8")
        written.append(METHODS)
        (staging / FIGURES_DIR).mkdir()
        figures = write_figures(report_figures(results), staging / FIGURES_DIR)
        written += [f"{FIGURES_DIR}/{p.name}" for p in figures]
        (out / FIGURES_DIR).mkdir(exist_ok=True)
        for name in written:
            os.replace(staging / name, out / name)
        return [out / name for name in written]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


__all__ = ["export_run"]
