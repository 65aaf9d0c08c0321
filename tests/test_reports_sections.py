"""The report's newer sections on synthetic runs: extra arms, companion metrics, orderings,
losses, schedules, the Search section (importances, history, Pareto, status) and the safety of
the page against dataset text. No Ray, no torch; values checked by hand."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_reports import EVIL, ORDERINGS, make_frames, write_run

from curriclip.reports import build_report, load_results, stats, study
from curriclip.reports.figures import FIGURES, schedules
from curriclip.reports.figures import answer as figures_answer
from curriclip.reports.figures import companion as figures_companion
from curriclip.reports.figures import difference as figures_difference
from curriclip.reports.figures import history as figures_history
from curriclip.reports.figures import losses as figures_losses
from curriclip.reports.figures import pareto as figures_pareto
from curriclip.reports.figures import status as figures_status
from curriclip.reports.figures.companion import companion_metrics
from curriclip.reports.figures.importances import importance_data
from curriclip.reports.figures.losses import loss_tasks
from curriclip.reports.figures.ordering import best_orderings
from curriclip.reports.figures.ordering_heatmap import ordering_heatmap
from curriclip.reports.results import ordering_tasks

MULTI_YAML = "name: mo\nsearch:\n  objectives: {clip_score: max, modality_gap: min}\n"


def make_rich_frames(seed: int = 0, n_curr: int = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """make_frames plus: a shuffled_control arm, companion metrics (with CI bounds and untrained
    values, which are not companions), two weighting strategies, start times, full configs."""
    trials, epochs = make_frames(n_curr=n_curr, seed=seed)
    rng = np.random.default_rng(seed + 1)
    extra_t, extra_e = [], []
    for li, level in enumerate(sorted(trials["sparsity"].unique())):
        for s in range(3):
            tid = f"sh_{li}_{s}"
            row = trials[trials["arm"] == "single_task"].iloc[0].to_dict()
            final = 0.6 + 0.2 * li - 0.03 + 0.01 * rng.standard_normal()
            row.update(trial_id=tid, arm="shuffled_control", sparsity=level, seed=s, final_clip_score=final,
                       best_clip_score=final, pacing="none", ordering="itc > findings > rotation")  # fmt: skip
            extra_t.append(row)
            for e in range(1, 6):
                extra_e.append(
                    {"trial_id": tid, "arm": "shuffled_control", "sparsity": level, "epoch": e,
                     "clip_score": final * e / 5, "loss": 1.0 / e, "data_fraction": 1.0,
                     "active_tasks": "itc,findings,rotation", "time_s": 1.0, "loss/itc": 1.0 / e}
                )  # fmt: skip
    trials = pd.concat([trials, pd.DataFrame(extra_t)], ignore_index=True)
    epochs = pd.concat([epochs, pd.DataFrame(extra_e)], ignore_index=True)
    n = len(trials)
    trials["final/i2t_r1"] = np.linspace(0.1, 0.9, n)
    trials["final/modality_gap"] = np.linspace(1.0, 0.2, n)
    trials["final/clip_score_ci_low"] = trials["final_clip_score"] - 0.05
    trials["final/clip_score_ci_high"] = trials["final_clip_score"] + 0.05
    trials["final/init_i2t_r1"] = 0.05
    trials["final/train_pairs"] = 100
    trials["started_at"] = 1_700_000_000 + np.arange(n)[::-1] * 60.0  # file order is reverse start order
    trials["weighting"] = np.where(np.arange(n) % 2 == 0, "equal", "uncertainty")
    trials.loc[trials["arm"] != "curriculum", "weighting"] = "equal"
    trials["config_json"] = [
        json.dumps({"arm": a, "tasks": [t.strip() for t in str(o).split(">")], "pacing": p, "lr": lr,
                    "weighting": w, "seed": int(sd), "findings": "SECRET REPORT: small left pleural effusion"})
        for a, o, p, lr, w, sd in zip(trials["arm"], trials["ordering"], trials["pacing"], trials["lr"],
                                      trials["weighting"], trials["seed"])
    ]  # fmt: skip
    return trials, epochs


@pytest.fixture(scope="module")
def rich_run(tmp_path_factory):
    """One rich run, its report built once for the module (building takes seconds)."""
    trials, epochs = make_rich_frames()
    run = write_run(tmp_path_factory.mktemp("rich") / "rich", trials, epochs, yaml="name: rich\n")
    build_report(run)
    return run, trials, epochs


def page_of(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def test_extra_arm_is_handled_generically(rich_run):
    run, trials, _ = rich_run
    res = load_results(run)
    summ = stats.arm_summary(res.trials).set_index(["sparsity", "arm"])
    done = trials[trials["status"] == "completed"]
    single = done[(done["sparsity"] == 0.25) & (done["arm"] == "single_task")]["final_clip_score"]
    shuf = done[(done["sparsity"] == 0.25) & (done["arm"] == "shuffled_control")]["final_clip_score"]
    row = summ.loc[(0.25, "shuffled_control")]
    assert row["n"] == 3 and row["mean"] == pytest.approx(shuf.mean())
    assert row["diff"] == pytest.approx(shuf.mean() - single.mean())
    assert summ.loc[(0.25, "single_task"), "verdict"] == "baseline"
    assert row["verdict"].startswith(("shuffled_control ", "no clear difference"))
    fig = figures_answer.draw(figures_answer.answer_data(res.trials))
    names = [t.name for t in fig.data]
    # untrained model, 3 arms × (trials, mean ± CI), curriculum best
    assert len(fig.data) == 8 and names[0] == "untrained model" and "shuffled_control mean ± 95% CI" in names
    assert next(t for t in fig.data if t.name == "shuffled_control trials").marker.color == "#9467bd"
    diff = figures_difference.draw(figures_difference.difference_data(res.trials))
    assert [t.name for t in diff.data] == ["curriculum − single-task", "shuffled_control − single-task"]
    assert list(diff.data[1].y) == pytest.approx(summ.xs("shuffled_control", level="arm")["diff"].tolist())
    # the legend sits under the title, not on it
    assert fig.layout.title.yref == "container" and fig.layout.legend.y > 1 and fig.layout.margin.t >= 100
    page = page_of(run)
    assert "<h3>Other arms vs single-task</h3>" in page
    assert f"{shuf.mean():.4f}" in page
    # untrained model column of the answer table: mean init_clip_score at that level
    init = trials.loc[trials["sparsity"] == 0.25, "init_clip_score"].mean()
    assert stats.answer_summary(res.trials).set_index("sparsity").loc[0.25, "untrained_mean"] == pytest.approx(init)


def test_companion_metrics(rich_run):
    run, trials, _ = rich_run
    res = load_results(run)
    assert companion_metrics(res.trials) == ["i2t_r1", "modality_gap", "recall_at_5"]
    fig = figures_companion.draw(figures_companion.companion_data(res.trials))
    # 4 panels (clip_score + 3) × 3 arms + untrained markers for clip_score and i2t_r1
    assert len(fig.data) == 4 * 3 + 2
    assert [a.text for a in fig.layout.annotations] == ["clip_score", "i2t_r1", "modality_gap", "recall_at_5"]
    i2t = next(t for t in fig.data if "i2t_r1" in t.hovertemplate and t.name == "curriculum")
    done = trials[(trials["status"] == "completed") & (trials["arm"] == "curriculum") & (trials["sparsity"] == 0.05)]
    assert i2t.y[0] == pytest.approx(done["final/i2t_r1"].mean())
    page = page_of(run)
    assert "<th class=num>i2t_r1</th>" in page and "<th class=num>modality_gap</th>" in page
    assert "clip_score_ci_low</th>" not in page


def test_ordering_heatmap_and_best_orderings(rich_run):
    run, trials, _ = rich_run
    res = load_results(run)
    fig = ordering_heatmap(res.trials)
    assert len(fig.data) == 3 and all(t.type == "heatmap" for t in fig.data)
    cur = trials[(trials["status"] == "completed") & (trials["arm"] == "curriculum") & (trials["sparsity"] == 1.0)]
    # "findings" in position 1: ORDERINGS[2] starts with findings
    expected = cur.loc[cur["ordering"] == ORDERINGS[2], "final_clip_score"].mean() - cur["final_clip_score"].mean()
    hm = fig.data[2]
    tasks = list(hm.y)
    assert tasks[0] == "itc"
    assert hm.z[tasks.index("findings")][0] == pytest.approx(expected)
    best = best_orderings(res.trials, k=2)
    assert len(best) == 2 and best["mean_vs_level"].is_monotonic_decreasing
    assert set(best["ordering"]) <= set(ORDERINGS)
    assert ordering_tasks("itc > findings") == ["itc", "findings"] and ordering_tasks("a,b") == ["a", "b"]


def test_weighting_choice_figure(rich_run):
    run, *_ = rich_run
    page = page_of(run)
    assert "CLIP score by weighting strategy" in page and "uncertainty" in page


def test_loss_and_schedule_figures(rich_run, monkeypatch):
    run, trials, epochs = rich_run
    res = load_results(run)
    assert loss_tasks(res.epochs) == ["itc", "findings", "rotation"]
    loss = figures_losses.draw(figures_losses.loss_data(res.epochs, res.trials))
    # itc: 3 arms completed + curriculum not completed; findings, rotation: curriculum (completed, not)
    assert len(loss.data) == 4 + 2 + 2

    # schedule from the recorded epochs when the curriculum engine could not read a trial's config at export
    from curriclip.rundir import schedules as exported

    def unreadable(cfg, points=100, train_pairs=None):
        raise KeyError("tasks")

    monkeypatch.setattr(exported, "schedule_table", unreadable)
    planned = exported.schedules_table(res.trials)
    assert planned.empty
    frame, source = schedules.schedule_frame(res.epochs, planned, ["cu_0_0"])
    assert source.startswith("recorded epochs")
    assert set(frame["task"]) == {"itc", "findings", "rotation"} and np.allclose(frame["weight"], 1 / 3)
    ep = epochs[epochs["trial_id"] == "cu_0_0"]
    assert frame.drop_duplicates("x")["data_fraction"].tolist() == pytest.approx(ep["data_fraction"].tolist())
    fig = schedules.draw(schedules.schedules_data(res.epochs, res.trials, planned))
    assert len(fig.data) == 4  # itc, findings, rotation, data fraction
    assert fig.data[3].z.shape == (len(trials[trials["arm"] == "curriculum"]) - 1, 5)  # errored one has no epochs

    # from schedules.parquet when the export wrote it: planned weights over training progress, in epochs
    def fake_table(cfg, points=100, train_pairs=None):
        assert train_pairs == 100
        return pd.DataFrame({"step": [0, 0, 9, 9], "progress": [0.0, 0.0, 0.9, 0.9], "task": ["itc", "x"] * 2,
                             "weight": [1.0, 0.0, 1.0, 0.5], "data_fraction": [0.2, 0.2, 1.0, 1.0]})  # fmt: skip

    monkeypatch.setattr(exported, "schedule_table", fake_table)
    planned = exported.schedules_table(res.trials)
    frame, source = schedules.schedule_frame(res.epochs, planned, ["cu_0_0"])
    assert "schedules.parquet" in source and frame["x"].tolist() == pytest.approx([0, 0, 4.5, 4.5])


def test_importances_find_the_parameter_that_matters(tmp_path):
    rng = np.random.default_rng(3)
    n = 40
    lr = 10 ** rng.uniform(-4, -2, n)
    noise = rng.uniform(0, 1, n)
    trials = pd.DataFrame(
        dict(trial_id=[f"t{i}" for i in range(n)], status="completed", arm="curriculum",
             sparsity=np.where(np.arange(n) % 2, 0.1, 1.0), final_clip_score=0.5 + np.log10(lr) * 0.2
             + np.where(np.arange(n) % 2, 0.0, 0.7) + 0.001 * rng.standard_normal(n),
             **{"param/lr": lr, "param/noise": noise, "param/pacing": rng.choice(["a", "b"], n),
                "param/sparsity": np.where(np.arange(n) % 2, 0.1, 1.0)})
    )  # fmt: skip
    res = load_results(write_run(tmp_path / "imp", trials, None))
    imp, note = study.param_importances(res.trials)
    assert imp["param"].iloc[0] == "lr" and imp["importance"].iloc[0] > 0.5
    assert "sparsity" not in set(imp["param"])  # a grid axis, not a searched choice
    assert imp["importance"].sum() == pytest.approx(1.0)
    imp2, _ = study.param_importances(res.trials)
    pd.testing.assert_frame_equal(imp, imp2)  # deterministic
    rebuilt = study.rebuild_study(res.trials)
    dists = rebuilt.trials[0].distributions
    assert dists["lr"].log and type(dists["pacing"]).__name__ == "CategoricalDistribution"
    # too few completed trials: a reason, no figure
    few, why = study.param_importances(res.trials.head(3))
    assert few.empty and "needs ≥ 4" in why


def test_history_uses_start_order(rich_run):
    run, trials, _ = rich_run
    res = load_results(run)
    fig = figures_history.draw(figures_history.history_data(res.trials))
    cur = trials[(trials["arm"] == "curriculum") & trials["final_clip_score"].notna()]
    first = cur.sort_values("started_at").iloc[0]
    pts = [t for t in fig.data if t.mode == "markers"]
    x0 = next(t for t in pts if first["trial_id"] in {c[0] for c in t.customdata})
    i = [c[0] for c in x0.customdata].index(first["trial_id"])
    assert x0.x[i] == 0
    best = [t for t in fig.data if t.mode == "lines"]
    assert len(best) == 3 and all(np.all(np.diff(t.y) >= 0) for t in best)


def test_pareto_front(tmp_path):
    vals = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 2.0], [0.4, 0.4], [2.0, 2.0]])
    assert study.pareto_mask(vals, [True, True]).tolist() == [False, False, False, False, True]
    assert study.pareto_mask(vals, [True, False]).tolist() == [False, True, False, True, False]
    assert study.objectives({"search": {"objectives": {"clip_score": "max", "modality_gap": "min"}}}) == [
        ("clip_score", "maximize"), ("modality_gap", "minimize")]  # fmt: skip
    assert study.objectives({"search": {"metric": "i2t_r1"}}) == [("i2t_r1", "maximize")]
    assert study.objectives({}) == [("retrieval_auc", "maximize")]  # SearchConfig's default metric
    trials, epochs = make_rich_frames()
    trials["final/clip_score"] = trials["final_clip_score"]
    run = write_run(tmp_path / "mo", trials, epochs, yaml=MULTI_YAML)
    page = build_report(run).read_text(encoding="utf-8")
    assert "Pareto front: clip_score vs modality_gap" in page
    res = load_results(run)
    fig = figures_pareto.draw(figures_pareto.pareto_data(res.trials, study.objectives(res.experiment)))
    front = fig.data[-1]
    done = res.trials[res.trials["status"] == "completed"]
    mask = study.pareto_mask(done[["final/clip_score", "final/modality_gap"]].to_numpy(), [True, False])
    assert len(front.x) == mask.sum() and len(fig.data) == 3 + 1


def test_single_objective_note(rich_run):
    page = page_of(rich_run[0])
    assert "Single-objective search (metric: retrieval_auc): no Pareto front" in page  # the default metric
    # the field the note tells users to set is one the config accepts
    from curriclip.config import SearchConfig

    named = page.split("<code>search.", 1)[1].split("</code>", 1)[0]
    assert named == "objectives" and named in SearchConfig.model_fields


def test_importances_figure_is_optunas_with_the_computed_values(rich_run):
    res = load_results(rich_run[0])
    data = importance_data(res.trials)
    assert not data.importances.empty
    fig = FIGURES.get("importances").draw(data)
    bar = fig.data[0]
    drawn = dict(zip(bar.y, bar.x))
    expected = dict(zip(data.importances["param"], data.importances["importance"]))
    assert drawn == pytest.approx(expected)
    assert list(bar.y)[-1] == data.importances["param"].iloc[0]  # most important at the top
    assert all("Distribution)" in t for t in bar.hovertemplate)  # optuna's hover text


def test_every_registered_figure_builds_plain_data_and_draws(rich_run):
    import plotly.graph_objects as go

    res = load_results(rich_run[0])
    empty = set()
    for name in FIGURES:
        figure = FIGURES.get(name)
        data = figure.data(res)
        assert not isinstance(data, go.Figure), name
        drawn = figure.draw(data)
        assert isinstance(drawn, go.Figure), name
        if not drawn.data:
            empty.add(name)
    # a single-objective run has no Pareto front; a run without answer.json has no confirmed paired differences
    assert len(FIGURES) == 18 and empty == {"pareto", "paired_differences"}


def test_status_and_error_reasons(rich_run):
    run, trials, _ = rich_run
    res = load_results(run)
    errs = study.error_reasons(res.trials)
    assert errs.to_dict("records") == [{"error": "RuntimeError: CUDA out of memory", "n": 1, "trial_ids": "errored_0"}]
    fig = figures_status.draw(figures_status.status_counts(res.trials))
    assert [t.name for t in fig.data] == ["completed", "pruned", "errored"]
    assert list(fig.data[0].x[:3]) == ["single_task · 5%", "single_task · 25%", "single_task · 100%"]
    assert sum(sum(t.y) for t in fig.data) == len(trials)
    page = page_of(run)
    assert "<h3>Error reasons</h3>" in page


def test_full_configuration_on_hover_without_dataset_text(rich_run):
    run, trials, _ = rich_run
    page = page_of(run)
    start = page.index('<script type="application/json" id="trial-configs">')
    blob = page[page.index(">", start) + 1 : page.index("</script>", start)]
    configs = json.loads(blob)
    assert set(configs) == set(trials["trial_id"])
    cfg = configs["cu_1_2"]["config"]
    assert cfg["weighting"] in ("equal", "uncertainty") and cfg["tasks"] == ORDERINGS[2].split(" > ")
    assert "findings" not in cfg  # dataset text key dropped
    assert 'id="inspector"' in page and "plotly_hover" in page


def test_dataset_text_never_reaches_the_page(tmp_path):
    """Findings / impression text or image bytes in the inputs (they should never be there) are
    dropped on reading: no trace of them in the page."""
    trials, epochs = make_rich_frames()
    secret = "SECRET REPORT: small left pleural effusion"
    trials["findings"] = secret
    trials["impression"] = "IMPRESSION: no acute cardiopulmonary process"
    trials["param/report_text"] = secret
    trials["image"] = [b"\x89PNG fake pixels"] * len(trials)
    epochs["text"] = secret
    epochs["loss/findings"] = 0.5  # a metric named after the task is kept
    run = write_run(tmp_path / "secret", trials, epochs)
    page = build_report(run).read_text(encoding="utf-8")
    for needle in ("SECRET REPORT", "pleural effusion", "IMPRESSION:", "no acute cardiopulmonary", "fake pixels"):
        assert needle not in page
    res = load_results(run)
    assert not {"findings", "impression", "image", "param/report_text"} & set(res.trials.columns)
    assert "text" not in res.epochs.columns and "loss/findings" in res.epochs.columns


def test_new_sections_escape_user_strings(tmp_path):
    trials, epochs = make_rich_frames()
    trials.loc[trials["arm"] == "shuffled_control", "arm"] = "arm" + EVIL
    epochs.loc[epochs["arm"] == "shuffled_control", "arm"] = "arm" + EVIL
    trials.loc[trials["arm"] == "curriculum", "weighting"] = "w" + EVIL
    trials.loc[trials["arm"] == "curriculum", "ordering"] = "itc > " + EVIL
    trials["final/" + EVIL] = 0.5
    epochs["loss/" + EVIL] = 0.3
    trials.loc[trials["status"] == "errored", "error"] = "boom " + EVIL
    trials["config_json"] = json.dumps({"note_x": EVIL, "tasks": [EVIL]})
    page = build_report(write_run(tmp_path / "evil", trials, epochs)).read_text(encoding="utf-8")
    assert EVIL not in page and "<script>alert(1)" not in page
    assert "boom " + html.escape(EVIL) in page  # error reasons table
    assert page.count("<script") == page.count("</script>") == 1 + page.count("Plotly.newPlot(") + 2
    blob_start = page.index('id="trial-configs">')
    assert "\\u003c/script\\u003e" in page[blob_start : blob_start + 2000]


def test_reports_handle_a_run_without_optional_columns(tmp_path):
    """Only the contract columns: no loss/*, no final/*, no started_at, no weighting."""
    trials, epochs = make_frames(extra=False)
    trials = trials.drop(columns=["final/recall_at_5"])
    epochs = epochs.drop(columns=[c for c in epochs.columns if c.startswith("loss/")])
    page = build_report(write_run(tmp_path / "plain", trials, epochs)).read_text(encoding="utf-8")
    assert "Training loss per task" not in page and "companion metrics" not in page
    assert "trial (file order)" in page
    assert Path(tmp_path / "plain" / "report.html").exists()


def test_a_new_section_is_one_entry(tmp_path, monkeypatch):
    """A section added to the registry shows up in the navigation, numbered, with its blocks."""
    from curriclip.reports import page
    from curriclip.reports.blocks import text
    from curriclip.reports.sections import SECTIONS, Section, plot

    def task_map(results):
        return [text("{n} tasks <b>mapped</b>", n="<i>3</i>"), plot("status", results)]

    entries = {name: SECTIONS.get(name) for name in SECTIONS}
    entries["task_map"] = Section("task-map", "Task map", "Task map: which task helps which", task_map)

    class Sections(dict):
        def get(self, name):
            return self[name]

    monkeypatch.setattr(page, "SECTIONS", Sections(entries))
    trials, epochs = make_frames(levels=(0.5,), n_single=2, n_curr=2, extra=False)
    html_page = build_report(write_run(tmp_path / "map", trials, epochs)).read_text(encoding="utf-8")
    assert '<a href="#task-map">6. Task map</a>' in html_page
    section = html_page[html_page.index('<section id="task-map">') :]
    assert section.startswith('<section id="task-map"><h2>6. Task map: which task helps which</h2>')
    assert '<p class="small muted">&lt;i&gt;3&lt;/i&gt; tasks <b>mapped</b></p>' in section  # values escaped
    assert section.count('class="plotly-graph-div"') == 1


def test_verdict_words_name_the_arm_each_comparison_was_made_against():
    from curriclip.reports.confirmed import verdict_words
    from curriclip.reports.sections.confirmed import verdict_cell

    assert verdict_words("better", "curriculum_random").startswith("better than curriculum_random")
    assert verdict_words("worse", "multitask").startswith("worse than multitask")
    assert verdict_words("equivalent", "single_task").startswith("equivalent to single_task")
    assert verdict_words("inconclusive", "multitask").startswith("inconclusive")
    assert verdict_cell("better", "multitask").title.startswith("better than multitask")
