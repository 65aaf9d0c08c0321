"""Paper exports (``curriclip report RUN --export DIR``): the answer table as CSV and LaTeX with the numbers of
answer.json rounded, every report figure as SVG and PDF, a methods paragraph from the run's own settings; a missing
kaleido or browser is one line and exit 2, before anything is written. Runs are built by hand (no Ray)."""

from __future__ import annotations

import re
import sys

import pandas as pd
import pytest
import yaml
from test_reports_confirmed import SEEDS, make_answer, write_protocol_run
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.config import parse_experiment
from curriclip.reports import load_results
from curriclip.reports.export import answer_table, figures, methods
from curriclip.reports.export.figures import report_figures

EXPERIMENT = {
    "name": "protocol",
    "space": {"sparsity": [0.1, 0.3], "pacing": ["linear", "step"], "tasks": ["findings", "rotation"]},
    "search": {"num_trials": 8, "seeds": [0, 1], "grace_period": 2, "n_startup_trials": 4},
    "protocol": {
        "confirm_seeds": 3,
        "equivalence_margin": {"clip_score": 0.05, "retrieval_auc": 0.02, "clip_score_gap": 0.04},
    },
}
LONG_FLOAT = re.compile(r"\d\.\d{5,}")  # more than 4 decimals: a raw float reached the file


def _has_exporter() -> bool:
    try:
        figures.check_exporter()
    except Exception:  # noqa: BLE001 - any reason means: no figures here
        return False
    return True


@pytest.fixture(scope="module")
def protocol_run(tmp_path_factory):
    run = write_protocol_run(tmp_path_factory.mktemp("export") / "run")
    stored = parse_experiment(EXPERIMENT).model_dump(mode="json")  # what a search stores as experiment.yaml
    (run / "experiment.yaml").write_text(yaml.safe_dump(stored, sort_keys=False))
    return run


@pytest.fixture(scope="module")
def exported(protocol_run, tmp_path_factory):
    if not _has_exporter():
        pytest.skip("kaleido or a Chromium-based browser is missing (pip install 'curriclip[export]'; chromium)")
    out = tmp_path_factory.mktemp("paper")
    result = CliRunner().invoke(app, ["report", str(protocol_run), "--export", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_answer_csv_holds_the_answers_numbers_rounded(protocol_run, tmp_path):
    from curriclip.reports.confirmed import confirmed_answer

    results = load_results(protocol_run)
    table = answer_table.csv_table(confirmed_answer(results.answer, results.confirm))
    path = tmp_path / "answer.csv"
    table.to_csv(path, index=False)
    text = path.read_text()
    assert not LONG_FLOAT.search(text)
    back = pd.read_csv(path)
    assert len(back) == len(make_answer()["comparisons"]) == 16
    row = back[(back["level"] == 0.1) & (back["arm"] == "curriculum") & (back["metric"] == "clip_score")].iloc[0]
    assert (row["diff_mean"], row["corrected_ci_low"], row["corrected_ci_high"]) == (0.0312, 0.0111, 0.0513)
    assert row["verdict"] == "better" and row["detectable_effect"] == 0.0222 and row["reference"] == "single_task"
    assert row["corrected_confidence"] == 0.9875 and row["p_holm"] == 0.04 and row["n"] == 3
    inconclusive = back[(back["level"] == 0.3) & (back["arm"] == "curriculum") & (back["metric"] == "clip_score")]
    assert inconclusive.iloc[0]["seeds_needed"] == 97


def _balanced(tex: str) -> bool:
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            return False
    return not stack


def test_latex_table_is_booktabs_balanced_and_escaped(protocol_run):
    from curriclip.reports.confirmed import confirmed_answer

    results = load_results(protocol_run)
    tex = answer_table.latex_table(confirmed_answer(results.answer, results.confirm))
    assert _balanced(tex) and tex.count("\\begin{tabular}") == 1
    assert all(rule in tex for rule in ("\\toprule", "\\midrule", "\\bottomrule"))
    assert not re.search(r"(?<!\\)[_%#]", tex)  # every underscore and percent escaped
    assert not re.search(r"(?<![\\ ])&|&(?! )", tex)  # an ampersand is a column separator or escaped
    assert not LONG_FLOAT.search(tex)
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0]
    rows = [r.strip() for r in body.split("\\\\") if r.strip()]
    assert len(rows) == 16
    assert (
        "10\\% & curriculum & single\\_task & CLIP score & 3 & +0.0312 & [+0.0111, +0.0513] & better & 0.0222" in rows
    )
    assert all(len(r.split(" & ")) == 9 for r in rows)  # no cell broke the columns


def test_methods_paragraph_states_the_runs_own_settings(protocol_run):
    from curriclip.reports.confirmed import confirmed_answer

    results = load_results(protocol_run)
    text = methods.methods_markdown(results, confirmed_answer(results.answer, results.confirm))
    assert "We compared 5 arms" in text and "10% and 30% of the training image-report pairs" in text
    assert "the pacing functions linear and step" in text and "auxiliary tasks were findings and rotation" in text
    assert f"K = 3 fresh paired seeds ({SEEDS[0]}, {SEEDS[1]} and {SEEDS[2]})" in text
    assert "family-wise alpha = 0.05" in text and "CLIP score ±0.05, CLIP-score gap ±0.04" in text
    assert "search seeds 0 and 1" in text and "grace period 2 epochs" in text and "Student-t intervals" in text
    assert "ranked on the validation split" in text and "evaluated once on the test split" in text


def test_export_writes_every_file(exported, protocol_run):
    out, output = exported
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    stems = [stem for stem, _ in report_figures(load_results(protocol_run))]
    assert len(stems) >= 10
    expected = {"answer.csv", "answer.tex", "methods.md"} | {f"figures/{s}.{f}" for s in stems for f in ("svg", "pdf")}
    assert names == expected  # and no staging folder left behind
    for stem in stems:
        assert (out / "figures" / f"{stem}.svg").read_text().startswith("<svg")
        assert (out / "figures" / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    assert str(out / "answer.tex") in output


def test_the_svg_holds_the_figure(exported):
    out, _ = exported
    svg = next((out / "figures").glob("01_confirmed_*.svg")).read_text()
    assert "Confirmed paired differences" in svg and 'class="main-svg"' in svg


@pytest.mark.parametrize("missing", ["kaleido", "browser"])
def test_a_missing_exporter_is_one_line_before_anything_is_written(protocol_run, tmp_path, monkeypatch, missing):
    if missing == "kaleido":
        monkeypatch.setitem(sys.modules, "kaleido", None)
    else:
        pytest.importorskip("kaleido")
        monkeypatch.setattr(figures, "find_browser", lambda: None)
    out = tmp_path / "paper"
    before = (protocol_run / "report.html").stat().st_mtime_ns if (protocol_run / "report.html").exists() else None
    result = CliRunner().invoke(app, ["report", str(protocol_run), "--export", str(out)])
    assert result.exit_code == 2
    line = result.output.strip()
    assert len(line.splitlines()) == 1 and line.startswith("curriclip: error: --export: ")
    assert ("pip install 'curriclip[export]'" in line) if missing == "kaleido" else ("Chromium" in line)
    assert not out.exists()
    after = (protocol_run / "report.html").stat().st_mtime_ns if (protocol_run / "report.html").exists() else None
    assert after == before  # refused before the report was rendered
