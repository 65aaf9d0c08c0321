"""Tests of curriclip.reports on a synthetic run directory (no Ray, no torch; fast)."""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.offline
import pytest

from curriclip.reports import build_report, load_results, page, stats, style
from curriclip.reports.figures import answer as figures_answer
from curriclip.reports.figures import clip_dynamics as figures_clip_dynamics
from curriclip.reports.figures import data_fraction as figures_data_fraction
from curriclip.reports.figures import ordering as figures_ordering
from curriclip.reports.figures import parallel_coordinates as figures_parallel_coordinates
from curriclip.reports.figures.choice import pacing_figure
from curriclip.stats import over_trials

EVIL = "</script><script>alert(1)</script>"
LEVELS = (0.05, 0.25, 1.0)
PACINGS = ("linear", "root", "step")
ORDERINGS = ("rotation > itc > findings", "itc > findings > rotation", "findings > rotation > itc")
TASKS = ("itc", "findings", "rotation")


def make_frames(levels=LEVELS, n_single=3, n_curr=8, epochs=5, extra=True, seed=0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """trials/epochs frames following the contract: per level n_single single-task and n_curr
    curriculum completed trials; with ``extra`` also one pruned and one errored trial."""
    rng = np.random.default_rng(seed)
    trials, eps = [], []

    def add(tid, arm, level, s, status, pacing, ordering, final, n_ep, error=None):
        a, b, lr = rng.uniform(0.1, 1), rng.uniform(0, 5), 10 ** rng.uniform(-5, -3)
        init = 0.30 + 0.01 * rng.standard_normal()
        curve = init + (final - init) * np.arange(1, n_ep + 1) / max(n_ep, 1) if final is not None else []
        trials.append(
            {
                "trial_id": tid,
                "status": status,
                "arm": arm,
                "sparsity": level,
                "seed": s,
                "pacing": pacing,
                "ordering": ordering,
                "lr": lr,
                "epochs_done": n_ep,
                "final_clip_score": final,
                "best_clip_score": None if final is None else max(curve) if len(curve) else final,
                "init_clip_score": init,
                "error": error,
                "config_json": json.dumps({"pacing": pacing, "ordering": ordering, "lr": lr}),
                "param/pacing_a": a if arm == "curriculum" else np.nan,
                "param/pacing_b": b if arm == "curriculum" else np.nan,
                "param/lr": lr,
                "param/pacing": pacing,
                "final/recall_at_5": rng.uniform(0, 1),
            }
        )
        for e in range(1, n_ep + 1):
            frac = 1.0 if arm == "single_task" else min(1.0, a + (1 - a) * e / n_ep)
            row = {
                "trial_id": tid,
                "arm": arm,
                "sparsity": level,
                "epoch": e,
                "clip_score": float(curve[e - 1]) if len(curve) else np.nan,
                "loss": 2.0 / e,
                "data_fraction": frac,
                "active_tasks": "itc" if arm == "single_task" else ",".join(TASKS),
                "time_s": 1.5,
            }
            for t in TASKS:
                row[f"loss/{t}"] = 1.0 / e if (t == "itc" or arm == "curriculum") else np.nan
            eps.append(row)

    for li, level in enumerate(levels):
        base = 0.6 + 0.2 * li
        for s in range(n_single):
            add(f"st_{li}_{s}", "single_task", level, s, "completed", "none", "itc",
                base + 0.01 * rng.standard_normal(), epochs)  # fmt: skip
        for k in range(n_curr):
            add(f"cu_{li}_{k}", "curriculum", level, k % 3, "completed", PACINGS[k % 3],
                ORDERINGS[k % 3], base + 0.05 + 0.01 * rng.standard_normal(), epochs)  # fmt: skip
    if extra:
        add("pruned_0", "curriculum", levels[0], 0, "pruned", "linear", ORDERINGS[0], None, 2)
        trials[-1]["final_clip_score"] = None
        add("errored_0", "curriculum", levels[-1], 1, "errored", "step", ORDERINGS[1], None, 0,
            error="RuntimeError: CUDA out of memory")  # fmt: skip
    return pd.DataFrame(trials), pd.DataFrame(eps)


def write_run(run_dir: Path, trials: pd.DataFrame | None, epochs: pd.DataFrame | None, yaml: str | None = None):
    run_dir.mkdir(parents=True, exist_ok=True)
    if trials is not None:
        trials.to_parquet(run_dir / "trials.parquet")
    if epochs is not None:
        epochs.to_parquet(run_dir / "epochs.parquet")
    if yaml is not None:
        (run_dir / "experiment.yaml").write_text(yaml)
    return run_dir


PLOTLY_MARKER = re.compile(r"\* plotly\.js v\d")


@pytest.fixture
def full_run(tmp_path):
    trials, epochs = make_frames()
    run = write_run(tmp_path / "run_full", trials, epochs, yaml="name: demo\nlevels: [0.05, 0.25, 1.0]\n")
    return run, trials, epochs


def test_full_report_structure(full_run):
    run, trials, _ = full_run
    out = build_report(run)
    assert out == run / "report.html" and out.exists()
    page = out.read_text(encoding="utf-8")
    assert len(PLOTLY_MARKER.findall(page)) == 1  # plotly.js embedded exactly once
    # works offline: no external scripts or stylesheets (the bundle itself mentions a
    # topojson CDN default, used only by geo maps, so look outside it)
    outside = page.replace(plotly.offline.get_plotlyjs(), "")
    assert "<script src" not in page and "cdn.plot.ly" not in outside and "<link" not in outside
    # search phase: answer, difference, companion metrics, expected best vs configurations; pacing, ordering,
    # ordering heatmap, parallel coordinates; clip dynamics, per-task loss, schedule, data fraction; importances,
    # history, status (no answer.json: no confirmed-answer section)
    assert page.count('class="plotly-graph-div"') == 15
    assert page.count("Plotly.newPlot(") == 15
    # sections in order
    idx = [page.index(f'<section id="{s}">') for s in ("search_phase", "choices", "dynamics", "search", "trials")]
    assert idx == sorted(idx) and '<section id="confirmed">' not in page
    assert "CLIP score = 2.5 · max(cos(image, text), 0), mean over held-out pairs (Hessel et al. 2021)" in page
    assert "<h1>Curriculum search report: run_full</h1>" in page
    assert "completed: <b>33</b>" in page and "pruned: <b>1</b>" in page and "errored: <b>1</b>" in page
    assert "<details><summary>experiment.yaml" in page and "name: demo" in page
    # every trial in the table, the error message shown
    table = page[page.index('<table class="sortable trials">') :]
    assert table.count("<tr") == len(trials) + 1 and table.count("<tr data-trial=") == len(trials)
    assert "RuntimeError: CUDA out of memory" in table
    # hover carries the trial fields
    assert "%{customdata[0]}" in page and "ordering: %{customdata[4]}" in page
    # no leftovers from the atomic write
    expected = ["epochs.parquet", "experiment.yaml", "report.html", "trials.parquet"]
    assert sorted(p.name for p in run.iterdir()) == expected


def test_answer_table_values(full_run):
    run, trials, _ = full_run
    page = build_report(run).read_text(encoding="utf-8")
    level = 0.25
    done = trials[(trials["status"] == "completed") & (trials["sparsity"] == level)]
    single = done.loc[done["arm"] == "single_task", "final_clip_score"].to_numpy()
    curr = done.loc[done["arm"] == "curriculum", "final_clip_score"].to_numpy()
    # by hand: mean and t(0.975, 2) = 4.302653 interval for 3 seeds
    s_mean = single.sum() / 3
    s_hw = 4.302653 * np.sqrt(((single - s_mean) ** 2).sum() / 2) / np.sqrt(3)
    c_mean = curr.sum() / 8
    answer = page[page.index('<table class="answer">') : page.index("</table>", page.index('<table class="answer">'))]
    row = next(r for r in answer.split("<tr>") if 'data-value="0.25"' in r)
    assert f"{s_mean:.4f} ± {s_hw:.4f}" in row
    assert f'data-value="{c_mean!r}"' in row or f"{c_mean:.4f}" in row
    assert f"{curr.max():.4f}" in row
    assert f"{c_mean - s_mean:+.4f}" in row
    # synthetic curriculum is +0.05 above single-task with sd 0.01: the interval over trials excludes zero
    assert "curriculum better by" in row and "the 95% interval over trials excludes zero" in row
    assert "better (95% interval over trials excludes zero) at <b>3</b>" in page
    summ = stats.answer_summary(load_results(run).trials).set_index("sparsity")
    assert summ.loc[level, "single_mean"] == pytest.approx(s_mean)
    assert summ.loc[level, "single_hw"] == pytest.approx(s_hw, rel=1e-4)
    assert summ.loc[level, "curriculum_n"] == 8 and summ.loc[level, "single_n"] == 3
    # the pruned trial (level 0.05) is not in the answer
    assert summ.loc[0.05, "curriculum_n"] == 8


def test_verdicts():
    assert over_trials.verdict(1, 5, 0.1, float("nan")).startswith("not enough trials")
    assert over_trials.verdict(3, 3, 0.01, 0.05).startswith("no clear difference (|diff| 0.0100 < 95% interval")
    assert over_trials.verdict(3, 3, 0.1, 0.05).startswith("curriculum better by 0.1000")
    assert over_trials.verdict(3, 3, -0.1, 0.05).startswith("curriculum worse by 0.1000")


def test_t_quantiles_and_ci():
    # published two-sided 95% Student-t quantiles
    assert over_trials.t975(1) == pytest.approx(12.7062, abs=1e-4)
    assert over_trials.t975(30) == pytest.approx(2.0423, abs=1e-4)
    assert over_trials.t975(60) == pytest.approx(2.0003, abs=1e-4)
    assert over_trials.t975(1e9) == pytest.approx(1.95996, abs=1e-4)
    assert np.isnan(over_trials.t975(0.5))
    n, m, hw = over_trials.mean_ci([1.0])
    assert (n, m) == (1, 1.0) and np.isnan(hw)
    n, m, hw = over_trials.mean_ci([1.0, 2.0, 3.0])
    assert m == 2.0 and hw == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-6)


def test_welch_interval_rounds_degrees_of_freedom_down():
    a, b = [1.0, 2.0, 3.0], [2.0, 4.0, 9.0, 5.0]
    diff, hw = over_trials.welch_ci(a, b)
    var_a, var_b = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 4
    dof = (var_a + var_b) ** 2 / (var_a**2 / 2 + var_b**2 / 3)  # 3.96: rounded down to 3
    assert diff == pytest.approx(3.0) and 3 < dof < 4
    assert hw == pytest.approx(3.182446 * np.sqrt(var_a + var_b), rel=1e-6)  # t(0.975, 3)


def test_escaping(tmp_path):
    trials, epochs = make_frames(levels=(0.1, 1.0), n_single=2, n_curr=4, epochs=3)
    trials.loc[trials["arm"] == "curriculum", "ordering"] = EVIL
    trials.loc[trials["arm"] == "curriculum", "pacing"] = "pace" + EVIL
    trials.loc[trials["status"] == "errored", "error"] = "boom " + EVIL
    trials.loc[0, "trial_id"] = "t" + EVIL
    trials["param/evil"] = [EVIL if i % 2 else "ok" for i in range(len(trials))]
    epochs.loc[epochs["trial_id"] == "st_0_0", "trial_id"] = "t" + EVIL
    run = write_run(tmp_path / "run_evil", trials, epochs, yaml=f"note: '{EVIL}'\n")
    page = build_report(run).read_text(encoding="utf-8")
    assert EVIL not in page
    assert "<script>alert(1)" not in page
    # only our own scripts: plotly.js, one per figure, the trial configurations (JSON data), the page script
    n_scripts = page.count("<script")
    assert n_scripts == page.count("</script>") == 1 + page.count("Plotly.newPlot(") + 2
    assert page.count('<script type="application/json" id="trial-configs">') == 1
    # shown escaped in the HTML parts
    assert html.escape(EVIL) in page  # table cells / yaml
    assert "boom " + html.escape(EVIL) in page
    # in the figures: made literal for plotly's text renderer, then JSON-escaped
    assert "&lt;\\u002fscript&gt;&lt;script&gt;alert(1)&lt;\\u002fscript&gt;" in page


def test_plotly_json_escapes_script_close():
    """What the page relies on (besides _seal_scripts): plotly's JSON has no raw '<' or '/'."""
    import plotly.graph_objects as go
    import plotly.io as pio

    fig = go.Figure(go.Scatter(x=[1], y=[1], name=EVIL, customdata=[[EVIL]]), layout_title_text=EVIL)
    js = pio.to_json(fig)
    assert EVIL not in js and "</" not in js
    assert "\\u003c\\u002fscript\\u003e" in js
    div = pio.to_html(fig, include_plotlyjs=False, full_html=False)
    assert EVIL not in div and div.count("</script>") == 1


def test_seal_scripts_neutralises_raw_close_tags():
    frag = '<div><script type="text/javascript">var a = "</script><b>";</script></div>'
    sealed = page.seal_scripts(frag)
    assert sealed.count("</script>") == 1 and '"<\\/script><b>"' in sealed


@pytest.mark.parametrize("variant", ["no_files", "empty_files", "corrupt"])
def test_no_results_yet(tmp_path, variant):
    run = tmp_path / "starting"
    run.mkdir()
    if variant == "empty_files":
        pd.DataFrame({"trial_id": pd.Series([], dtype=str)}).to_parquet(run / "trials.parquet")
        pd.DataFrame().to_parquet(run / "epochs.parquet")
    elif variant == "corrupt":
        (run / "trials.parquet").write_bytes(b"PAR1 half written")
    out = build_report(run, tmp_path / "elsewhere" / "r.html")
    assert out == tmp_path / "elsewhere" / "r.html"
    page = out.read_text(encoding="utf-8")
    assert "No results yet" in page
    assert "plotly-graph-div" not in page and not PLOTLY_MARKER.search(page)
    assert "CLIP score = 2.5" in page
    if variant == "corrupt":
        assert "could not read trials.parquet" in page


def test_partial_run_trials_only_running(tmp_path):
    """Trials started but none finished and no epochs: page renders, with notes, no crash."""
    trials, _ = make_frames(levels=(0.5,), n_single=1, n_curr=2, extra=False)
    trials["status"] = "running"
    trials["final_clip_score"] = np.nan
    trials = trials.drop(columns=[c for c in trials.columns if c.startswith("param/")] + ["init_clip_score"])
    run = write_run(tmp_path / "run_partial", trials, None)
    page = build_report(run).read_text(encoding="utf-8")
    assert "No completed search-phase trials yet" in page and "No per-epoch records yet" in page
    assert "running: <b>3</b>" in page
    assert page.count('class="plotly-graph-div"') == 1  # the trial status counts only
    assert "no curriculum trial has reported a CLIP score yet" in page


def test_single_seed_and_few_params(tmp_path):
    """n = 1 per arm: points only, 'not enough trials'; < 2 params: no parallel coordinates."""
    trials, epochs = make_frames(levels=(0.05, 1.0), n_single=1, n_curr=1, extra=False)
    trials = trials.drop(columns=["param/pacing_a", "param/pacing_b", "param/pacing"])
    run = write_run(tmp_path / "run_small", trials, epochs)
    page = build_report(run).read_text(encoding="utf-8")
    assert "not enough trials" in page
    # answer, difference, companion, expected best, pacing, ordering, heatmap, clip, loss, schedule, data fraction,
    # history, status
    assert page.count('class="plotly-graph-div"') == 13
    assert "Parameter importances not shown" in page
    assert "Parallel coordinates skipped" in page


def test_atomic_write_failure_leaves_no_temp_and_keeps_old(tmp_path, full_run, monkeypatch):
    run, *_ = full_run
    out = run / "report.html"
    out.write_text("old report")

    def boom(src, dst):
        raise OSError("disk full")

    from curriclip.rundir import atomic

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        build_report(run)
    assert out.read_text() == "old report"
    assert not [p for p in run.iterdir() if ".tmp" in p.name]


def test_figures_return_figures_and_hover(full_run):
    run, *_ = full_run
    res = load_results(run)
    figs = [
        figures_answer.draw(figures_answer.answer_data(res.trials)),
        pacing_figure(res.trials),
        figures_ordering.draw(figures_ordering.ordering_data(res.trials)),
        figures_parallel_coordinates.draw(figures_parallel_coordinates.parallel_data(res.trials)),
        figures_clip_dynamics.draw(figures_clip_dynamics.dynamics_data(res.epochs, res.trials)),
        figures_data_fraction.draw(figures_data_fraction.data_fraction_data(res.epochs, res.trials)),
    ]
    import plotly.graph_objects as go

    assert all(isinstance(f, go.Figure) and f.layout.template.layout.paper_bgcolor for f in figs)
    # trial points hover with trial_id, arm, sparsity, pacing, ordering, lr
    pts = next(t for t in figs[0].data if t.name == "curriculum trials")
    row = list(pts.customdata[0])
    assert row[0].startswith("cu_") and row[1] == "curriculum" and row[2].endswith("%")
    assert html.unescape(row[4]) in ORDERINGS and "e-0" in row[5]  # escaped for plotly text
    # arm colours are consistent
    assert pts.marker.color == style.ARM_COLORS["curriculum"]
    # the parallel coordinates include log10(lr) and the categorical pacing
    labels = [d.label for d in figs[3].data[0].dimensions]
    assert "log10(lr)" in labels and "pacing" in labels and labels[-1] == "final CLIP score"
    # empty inputs give an annotated empty figure, not an exception
    empty = load_results(run.parent / "nothing_here")
    assert isinstance(figures_answer.draw(figures_answer.answer_data(empty.trials)), go.Figure)
    assert isinstance(
        figures_clip_dynamics.draw(figures_clip_dynamics.dynamics_data(empty.epochs, empty.trials)), go.Figure
    )


def test_no_ray_or_torch_imported():
    """The report layer reads files only: importing it pulls in no Ray / torch / Optuna
    (measured on top of whatever the parent package itself imports)."""
    import subprocess

    code = (
        "import sys, curriclip; before = set(sys.modules); import curriclip.reports; "
        "new = {m.split('.')[0] for m in set(sys.modules) - before}; "
        "bad = new & {'ray', 'torch', 'optuna'}; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1], timeout=120)


def test_rendering_imports_neither_torch_nor_ray(tmp_path):
    """Every section renders without torch or Ray, the optional Task map and Fusion sections included."""
    import subprocess

    trials, epochs = make_frames(extra=False)
    trials.to_parquet(tmp_path / "trials.parquet")
    epochs.to_parquet(tmp_path / "epochs.parquet")
    code = (
        "import sys; from curriclip.reports import build_report; "
        f"build_report({str(tmp_path)!r}); import curriclip.reports.task_map_page, curriclip.reports.figures.fusion; "
        "bad = {m.split('.')[0] for m in sys.modules} & {'ray', 'torch'}; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_report_modules_import_only_light_dependencies():
    """Static check of curriclip/reports/**.py: stdlib, numpy, pandas, plotly, scipy, scikit-learn, jinja2, yaml,
    optuna and kaleido (imported inside functions only) and itself, plus the shared names, the registry, the
    errors, the config contract and its presets, the run directory's atomic writes and task-map files, and the
    statistics over trials, so the report layer never needs Ray or torch, nor the packages that compute
    (curriculum, fusion, taskmap, trainables)."""
    import ast

    allowed = {"numpy", "pandas", "plotly", "yaml", "optuna", "scipy", "sklearn", "jinja2", "markupsafe", "curriclip"}
    allowed |= {"kaleido", "choreographer"}  # Plotly's figure exporter and its browser finder (paper exports)
    allowed |= set(sys.stdlib_module_names)
    allowed_internal = ("curriclip.reports", "curriclip.names", "curriclip.config", "curriclip.registry")
    allowed_internal += ("curriclip.errors", "curriclip.rundir.atomic", "curriclip.rundir.task_map")
    allowed_internal += ("curriclip.stats.over_trials", "curriclip.presets")
    root = Path(page.__file__).parent
    paths = list(root.rglob("*.py"))
    assert len(paths) > 20  # the figure and section modules are checked too
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [] if node.level else [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, (path.name, name)
                assert not name.startswith("curriclip.") or name.startswith(allowed_internal), (path.name, name)
