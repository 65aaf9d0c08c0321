"""The report under the select-then-confirm protocol: the confirmed answer leads, from answer.json and
confirm.parquet; search-phase results follow, labelled as validation; "show your work" curves; old runs render
with one line saying they predate the protocol. Run directories are built by hand; values checked by hand."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from test_reports import make_frames, write_run

from curriclip.reports import build_report, load_results, page, stats
from curriclip.reports.confirmed import confirmed_answer
from curriclip.reports.figures import FIGURES
from curriclip.reports.sections.search_phase import LEGACY_LABEL, VALIDATION_LABEL

LEVELS = (0.1, 0.3)
CONFIRM_ARMS = ("single_task", "multitask", "curriculum", "curriculum_random", "shuffled_control")
SEEDS = (10000, 10001, 10002)
SUMMARY = "At 10% the curriculum beat single-task on CLIP score but not on the gap; at 30% nothing was shown."
DISAGREEMENT = "CLIP score rose but the gap did not: geometry, not alignment"


def search_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Search-phase trials of the three tuned arms (4 configurations each per level, one pruned curriculum trial
    and one errored one), scored on validate; plus the confirm phase's trials (phase confirm, scored on test)."""
    trials, epochs = make_frames(levels=LEVELS, n_single=4, n_curr=4, epochs=3, extra=True)
    multi = trials[trials["arm"] == "single_task"].copy()
    multi["trial_id"] = multi["trial_id"].str.replace("st_", "mt_")
    multi["arm"] = "multitask"
    multi["final_clip_score"] = multi["final_clip_score"] + 0.02
    trials = pd.concat([trials, multi], ignore_index=True)
    trials.loc[trials["trial_id"] == "pruned_0", "final_clip_score"] = 0.41  # the last value it reported
    trials["phase"], trials["split_evaluated"] = "search", "validate"
    confirm = [
        {"trial_id": f"cf_{arm}_{lv}_{k}", "status": "completed", "arm": arm, "sparsity": lv, "seed": seed,
         "final_clip_score": 0.5, "config_json": "{}", "phase": "confirm", "split_evaluated": "test"}
        for arm in CONFIRM_ARMS for lv in LEVELS for k, seed in enumerate(SEEDS)
    ]  # fmt: skip
    confirm_epochs = [
        {"trial_id": row["trial_id"], "arm": row["arm"], "sparsity": row["sparsity"], "epoch": 1, "clip_score": 9.9}
        for row in confirm
    ]
    trials = pd.concat([trials, pd.DataFrame(confirm)], ignore_index=True)
    return trials, pd.concat([epochs, pd.DataFrame(confirm_epochs)], ignore_index=True)


def confirm_frame() -> pd.DataFrame:
    """confirm.parquet: arm x level x seed; the untrained model's values depend on the seed only."""
    rows = []
    for (i, arm), level, (k, seed) in itertools.product(enumerate(CONFIRM_ARMS), LEVELS, enumerate(SEEDS)):
        rows.append(
            {"level": level, "arm": arm, "seed": seed, "seed_index": k, "trial_id": f"cf_{arm}_{level}_{k}",
             "source_trial_id": "cu_0_0", "status": "completed", "search_score": 0.7, "clip_score": 0.6 + 0.01 * i,
             "clip_score_gap": 0.1 + 0.01 * i, "mean_r1": 0.2, "init_clip_score": 0.30 + 0.02 * k,
             "init_clip_score_gap": 0.01 * k, "init_mean_r1": 0.05}
        )  # fmt: skip
    return pd.DataFrame(rows)


def per_pair_frame() -> pd.DataFrame:
    rows = [
        {"level": lv, "arm": arm, "seed": seed, "seed_index": k, "sample_id": f"s{j}", "subject_id": f"p{j // 2}",
         "clip_score": 0.6, "clip_score_gap": 0.1, "r1": 0.5}
        for arm in CONFIRM_ARMS for lv in LEVELS for k, seed in enumerate(SEEDS) for j in range(4)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def comparison(level, arm, metric, diff, corrected, verdict, detectable, needed, two_level=(-0.2, 0.2)):
    return {
        "level": level, "arm": arm, "metric": metric, "n": 3, "diff_mean": diff, "diff_sd": 0.02,
        "ci": [diff - 0.01, diff + 0.01], "ci_method": "t", "corrected_ci": list(corrected),
        "corrected_confidence": 0.9875, "p": 0.01, "p_holm": 0.04, "tost_p_holm": 0.5,
        "two_level_ci": list(two_level), "verdict": verdict, "detectable_effect": detectable,
        "seeds_needed": needed, "sentence": f"{arm} vs single_task at {level:.0%}: {verdict}",
    }  # fmt: skip


CONFIGURATIONS = [
    {"arm": arm, "level": lv, "tried": 4, "completed": 3 if arm == "curriculum" else 4,
     "pruned": 1 if arm == "curriculum" else 0, "errored": 0}
    for arm in ("single_task", "multitask", "curriculum") for lv in LEVELS
]  # fmt: skip
CLAIM = "conditional on this test set: the seeds vary, the test patients do not."
LOOKS = {
    "planned": [3, 6], "alpha_spending": "obrien_fleming", "next_look": 6,
    "done": [{"look": 1, "seeds": 3, "alpha_spent": 0.00305, "nominal_level": 0.00305,
              "comparisons": [{"decision": "better"}, {"decision": "inconclusive"}, {"decision": "worse"}]}],
}  # fmt: skip


def make_answer() -> dict:
    comparisons = []
    for level in LEVELS:
        comparisons += [
            comparison(level, "multitask", "clip_score", 0.001, (-0.01, 0.012), "equivalent", 0.02, None),
            comparison(level, "multitask", "clip_score_gap", 0.002, (-0.02, 0.024), "equivalent", 0.03, None),
            comparison(level, "curriculum_random", "clip_score", 0.0, (-0.08, 0.08), "inconclusive", 0.09, 40),
            comparison(level, "curriculum_random", "clip_score_gap", 0.0, (-0.08, 0.08), "inconclusive", 0.09, 41),
            comparison(level, "shuffled_control", "clip_score", -0.3, (-0.4, -0.2), "worse", 0.05, None),
            comparison(level, "shuffled_control", "clip_score_gap", -0.09, (-0.12, -0.06), "worse", 0.05, None),
        ]
    comparisons += [
        comparison(0.1, "curriculum", "clip_score", 0.0312, (0.0111, 0.0513), "better", 0.0222, None, (0.004, 0.06)),
        comparison(0.1, "curriculum", "clip_score_gap", 0.0044, (-0.03, 0.04), "inconclusive", 0.0444, 12),
        comparison(0.3, "curriculum", "clip_score", -0.0066, (-0.05, 0.04), "inconclusive", 0.0333, 97),
        comparison(0.3, "curriculum", "clip_score_gap", -0.0077, (-0.06, 0.05), "inconclusive", 0.0555, 63),
    ]
    arm_summary = [
        {"level": lv, "arm": arm, "metric": metric, "n": 3, "mean": 0.6 + 0.01 * i + (0.5 if metric == "clip_score_gap"
         else 0), "ci": [0.55 + 0.01 * i, 0.65 + 0.01 * i]}
        for lv in LEVELS for i, arm in enumerate(CONFIRM_ARMS) for metric in ("clip_score", "clip_score_gap")
    ]  # fmt: skip
    winners = [
        {"level": 0.1, "arm": "curriculum", "trial_id": "cu_0_2", "search_score": 0.7123, "confirm_mean": 0.6423,
         "gap": 0.07},
        {"level": 0.1, "arm": "single_task", "trial_id": "st_0_1", "search_score": 0.65, "confirm_mean": 0.6,
         "gap": 0.05},
        {"level": 0.3, "arm": "curriculum", "trial_id": "cu_1_3", "search_score": 0.9, "confirm_mean": 0.8,
         "gap": 0.1},
    ]  # fmt: skip
    return {
        "schema": 1, "headline_metric": "clip_score", "robust_metric": "clip_score_gap", "alpha": 0.05,
        "equivalence_margin": {"clip_score": 0.05, "clip_score_gap": 0.04}, "reference_arm": "single_task",
        "k": 3, "confirm_seeds": list(SEEDS), "levels": list(LEVELS), "arms": list(CONFIRM_ARMS),
        "arm_summary": arm_summary, "comparisons": comparisons, "winners": winners,
        "disagreements": [{"level": 0.1, "arm": "curriculum", "sentence": DISAGREEMENT}], "summary": SUMMARY,
        "configurations": CONFIGURATIONS, "looks": LOOKS, "claim": CLAIM,
    }  # fmt: skip


def write_protocol_run(run_dir: Path, answer: dict | None = None) -> Path:
    trials, epochs = search_frames()
    write_run(run_dir, trials, epochs, yaml="name: protocol\n")
    confirm_frame().to_parquet(run_dir / "confirm.parquet")
    per_pair_frame().to_parquet(run_dir / "per_pair.parquet")
    (run_dir / "answer.json").write_text(json.dumps(make_answer() if answer is None else answer))
    return run_dir


@pytest.fixture(scope="module")
def protocol_run(tmp_path_factory):
    run = write_protocol_run(tmp_path_factory.mktemp("protocol") / "run")
    build_report(run)
    return run


def page_of(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def section(html_page: str, section_id: str) -> str:
    start = html_page.index(f'<section id="{section_id}">')
    return html_page[start : html_page.index("</section>", start)]


def table_rows(html_part: str, css: str) -> list[list[str]]:
    """The body rows of the first table with class ``css`` as lists of cell texts (tags stripped)."""
    start = html_part.index(f'<table class="{css}">')
    body = html_part[start : html_part.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>")[1], flags=re.S)
    return [[re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, flags=re.S)] for r in rows]


def comparison_rows(html_part: str, reference: str = "single_task") -> dict[tuple[str, str], list[str]]:
    """The comparisons table's rows against ``reference``, keyed by (arm, metric), without the 'vs' cell."""
    rows = table_rows(html_part, "confirmed comparisons")
    return {(r[0], r[2]): [r[0], *r[2:]] for r in rows if r[1] == reference}


def level_part(confirmed: str, level: str) -> str:
    start = confirmed.index(f"<h3>Kept fraction {level}</h3>")
    end = confirmed.find("<h3>Kept fraction", start + 1)
    return confirmed[start : end if end > 0 else len(confirmed)]


def test_confirmed_answer_leads_the_page(protocol_run):
    html_page = page_of(protocol_run)
    order = [html_page.index(f'<section id="{s}">') for s in ("confirmed", "search_phase", "search", "trials")]
    assert order == sorted(order)
    assert "<h2>1. Confirmed answer" in html_page
    confirmed = section(html_page, "confirmed")
    # the summary paragraph on top, before any table
    assert confirmed.index(SUMMARY.replace("'", "&#39;")) < confirmed.index("<table")
    assert page.LEGACY_LINE not in html_page and page.PENDING_LINE not in html_page
    search_phase = section(html_page, "search_phase")
    assert VALIDATION_LABEL in search_phase and LEGACY_LABEL not in html_page


def test_verdicts_and_numbers_in_their_rows(protocol_run):
    confirmed = section(page_of(protocol_run), "confirmed")
    assert len(table_rows(level_part(confirmed, "10%"), "confirmed comparisons")) == 8  # 4 arms x 2 metrics
    by_key = comparison_rows(level_part(confirmed, "10%"))
    assert len(by_key) == 8  # all against single-task (no reference given: the answer's reference arm)
    better = by_key[("curriculum", "CLIP score")]
    assert better == ["curriculum", "CLIP score", "+0.0312", "better", "[+0.0111, +0.0513] (98.8%)",
                      "[+0.0040, +0.0600]", "0.0222", "—", DISAGREEMENT]  # fmt: skip
    cells = re.findall(r"<td[^>]*>", level_part(confirmed, "10%"))
    assert 'title="uncorrected 95% CI [+0.0212, +0.0412] (t); p (Holm) 0.04; TOST p (Holm) 0.5"' in " ".join(cells)
    gap = by_key[("curriculum", "CLIP-score gap")]
    assert gap[3] == "inconclusive" and gap[6] == "0.0444" and gap[7] == "12" and gap[8] == DISAGREEMENT
    assert by_key[("multitask", "CLIP score")][3] == "equivalent"
    assert by_key[("shuffled_control", "CLIP score")][3] == "worse"
    assert by_key[("shuffled_control", "CLIP score")][8] == ""  # no disagreement there
    high = comparison_rows(level_part(confirmed, "30%"))
    assert high[("curriculum", "CLIP score")][2] == "-0.0066" and high[("curriculum", "CLIP score")][7] == "97"
    assert high[("curriculum", "CLIP score")][8] == ""  # the disagreement belongs to 10% only
    # the disagreement in a box above the 10% verdicts, not at 30%
    assert "Where CLIP score alone misleads" in level_part(confirmed, "10%") and DISAGREEMENT in level_part(
        confirmed, "10%"
    )
    assert "Where CLIP score alone misleads" not in level_part(confirmed, "30%")


def test_configurations_looks_and_claim_in_the_confirmed_section(protocol_run):
    confirmed = section(page_of(protocol_run), "confirmed")
    rows = {r[0]: r for r in table_rows(level_part(confirmed, "10%"), "confirmed configurations")}
    assert list(rows) == ["single_task", "multitask", "curriculum"]
    assert rows["curriculum"] == ["curriculum", "4", "3", "1", "0"]
    looks = table_rows(confirmed, "confirmed looks")
    assert looks == [["1", "3", "0.00305", "0.00305", "3", "2"]]
    assert "Next planned look: 6 seeds" in confirmed
    assert "What a verdict covers</b>: " + CLAIM in confirmed


def test_arm_means_and_controls_on_one_table(protocol_run):
    confirmed = section(page_of(protocol_run), "confirmed")
    rows = {r[0]: r for r in table_rows(level_part(confirmed, "10%"), "confirmed arms")}
    assert list(rows) == [*CONFIRM_ARMS, "untrained model"]
    assert rows["curriculum"][3] == "0.6200 [0.5700, 0.6700]" and rows["curriculum"][4] == "1.1200 [0.5700, 0.6700]"
    assert rows["shuffled_control"][1].startswith("control") and rows["shuffled_control"][3].startswith("0.6400")
    # untrained model: init_clip_score 0.30, 0.32, 0.34 over the three seeds, t(0.975, 2) interval
    half = 4.302653 * np.std([0.30, 0.32, 0.34], ddof=1) / np.sqrt(3)
    assert rows["untrained model"][2] == "3"
    assert rows["untrained model"][3] == f"0.3200 [{0.32 - half:.4f}, {0.32 + half:.4f}]"
    assert rows["untrained model"][4].startswith("0.0100 [")
    winners = {r[0]: r for r in table_rows(level_part(confirmed, "10%"), "confirmed winners")}
    assert winners["curriculum"] == ["curriculum", "cu_0_2", "0.7123", "0.6423", "+0.0700"]


def test_forest_figure_values(protocol_run):
    results = load_results(protocol_run)
    figure = FIGURES.get("paired_differences").build(results)
    by_panel = {(t.name, t.xaxis): t for t in figure.data}
    curriculum = by_panel[("curriculum", "x")]  # the CLIP score panel
    assert list(curriculum.y) == ["10% · curriculum", "30% · curriculum"]
    assert list(curriculum.x) == pytest.approx([0.0312, -0.0066])
    assert list(curriculum.error_x.array) == pytest.approx([0.0513 - 0.0312, 0.04 + 0.0066])
    assert list(curriculum.error_x.arrayminus) == pytest.approx([0.0312 - 0.0111, -0.0066 + 0.05])
    assert list(by_panel[("curriculum", "x2")].x) == pytest.approx([0.0044, -0.0077])
    bands = sorted((s.x0, s.x1) for s in figure.layout.shapes if s.type == "rect")
    assert bands == [(-0.05, 0.05), (-0.04, 0.04)]
    assert sum(1 for s in figure.layout.shapes if s.type == "line" and s.x0 == s.x1 == 0) == 2
    assert len(figure.data) == 8  # 4 arms x 2 metrics


def test_expected_max_by_hand():
    # sorted [1, 2, 3], N = 3: n=1 the mean; n=2: 1/9 + 2*3/9 + 3*5/9 = 22/9; n=3: (1 + 2*7 + 3*19)/27 = 8/3
    assert stats.expected_max([3.0, 1.0, 2.0]) == pytest.approx([2.0, 22 / 9, 8 / 3])
    values = [0.2, 0.5, 0.5, 0.9]
    for n in (1, 2, 3):  # brute force over every draw of n with replacement
        draws = [max(d) for d in itertools.product(values, repeat=n)]
        assert stats.expected_max(values)[n - 1] == pytest.approx(np.mean(draws))
    assert stats.expected_max([]).size == 0


def test_expected_max_figure_from_search_trials(protocol_run):
    results = load_results(protocol_run)
    data = FIGURES.get("expected_max").data(results)
    assert data.arms == ["single_task", "multitask", "curriculum"] and data.levels == list(LEVELS)
    trials, _ = search_frames()
    at = trials[(trials["phase"] == "search") & (trials["sparsity"] == 0.1) & (trials["arm"] == "curriculum")]
    # completed trials and the pruned one with its last value (0.41); the errored one (at 30%) has none
    values = at.loc[at["status"].isin(["completed", "pruned"]), "final_clip_score"].to_numpy()
    assert len(values) == 5 and 0.41 in values
    curve = data.curves[(data.curves["level"] == 0.1) & (data.curves["arm"] == "curriculum")]
    assert curve["n"].tolist() == [1, 2, 3, 4, 5] and (curve["pool"] == 5).all()
    assert curve["expected_max"].iloc[0] == pytest.approx(values.mean())
    assert curve["expected_max"].iloc[-1] == pytest.approx(
        sum(v * ((i / 5) ** 5 - ((i - 1) / 5) ** 5) for i, v in enumerate(sorted(values), start=1))
    )
    figure = FIGURES.get("expected_max").draw(data)
    assert len(figure.data) == 6  # 3 arms x 2 levels
    assert "pruned trials count with their last reported value" in section(page_of(protocol_run), "search_phase")


def test_phases_are_kept_apart(protocol_run):
    results = load_results(protocol_run)
    assert set(results.trials["phase"]) == {"search"} and set(results.confirm_trials["phase"]) == {"confirm"}
    assert len(results.confirm_trials) == len(CONFIRM_ARMS) * len(LEVELS) * len(SEEDS)
    assert not results.epochs["trial_id"].str.startswith("cf_").any()  # confirm runs' epochs stay out of Dynamics
    summary = stats.answer_summary(results.trials).set_index("sparsity")
    assert summary.loc[0.1, "curriculum_n"] == 4 and summary.loc[0.1, "single_n"] == 4
    trials_table = section(page_of(protocol_run), "trials")
    assert trials_table.count("<tr data-trial=") == len(results.all_trials)
    assert trials_table.count("<td>confirm</td>") == len(results.confirm_trials)


def test_old_run_renders_with_the_legacy_line(tmp_path):
    trials, epochs = make_frames(levels=(0.1, 1.0), n_single=2, n_curr=3, epochs=2)
    run = write_run(tmp_path / "old", trials, epochs)
    html_page = build_report(run).read_text(encoding="utf-8")
    assert html_page.count(page.LEGACY_LINE) == 1 and page.PENDING_LINE not in html_page
    assert html_page.index(page.LEGACY_LINE) < html_page.index("<section")
    assert '<section id="confirmed">' not in html_page and "<h2>1. Search phase" in html_page
    assert LEGACY_LABEL in section(html_page, "search_phase") and VALIDATION_LABEL not in html_page
    results = load_results(run)
    assert set(results.trials["phase"]) == {"search"} and set(results.trials["split_evaluated"]) == {"test"}
    assert results.legacy and results.answer is None and results.confirm.empty


def test_protocol_run_before_confirm_says_so(tmp_path):
    trials, epochs = search_frames()
    trials = trials[trials["phase"] == "search"]
    run = write_run(tmp_path / "pending", trials, epochs)
    (run / "answer.json").write_text('{"schema": 1, "summ')  # half written
    html_page = build_report(run).read_text(encoding="utf-8")
    assert html_page.count(page.PENDING_LINE) == 1 and page.LEGACY_LINE not in html_page
    assert "could not read answer.json" in html_page and '<section id="confirmed">' not in html_page
    assert VALIDATION_LABEL in section(html_page, "search_phase")


def test_confirmed_answer_reads_missing_fields_as_blank():
    answer = confirmed_answer({"schema": 1, "comparisons": [{"level": 0.5, "arm": "curriculum"}]})
    assert answer.headline_metric == "clip_score" and answer.robust_metric == "clip_score_gap"
    assert answer.levels == [0.5] and answer.arm_summary.empty and answer.winners.empty
    assert np.isnan(answer.comparisons.loc[0, "corrected_low"]) and confirmed_answer(None) is None


def test_no_seed_noise_in_the_package():
    """Configuration spread is not seed noise: nothing in curriclip calls it that."""
    root = Path(page.__file__).resolve().parents[1]
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".j2", ".js", ".css", ".md", ".yaml"}
        and "seed noise" in path.read_text(encoding="utf-8", errors="replace").lower()
    ]
    assert offenders == []


def written_like_the_confirm_phase() -> dict:
    """answer.json as ``curriclip.protocol.answer`` writes it: comparisons and disagreements name their reference,
    the curriculum is also compared with its shuffled-order control, arm_summary holds the untrained model (arm
    ``untrained``), the shuffled control is a disagreement rather than a comparison, and NaN is written as NaN."""
    answer = make_answer()
    answer["comparisons"] = [
        {**c, "reference": "single_task"} for c in answer["comparisons"] if c["arm"] != "shuffled_control"
    ]
    against_random = comparison(0.1, "curriculum", "clip_score", 0.0211, (-0.002, 0.044), "inconclusive", 0.03, 25)
    answer["comparisons"].append({**against_random, "reference": "curriculum_random", "two_level_ci": [NAN, NAN]})
    answer["arm_summary"] += [
        {"level": lv, "arm": "untrained", "metric": metric, "n": 3, "mean": 0.2222, "ci": [0.2, 0.25]}
        for lv in LEVELS for metric in ("clip_score", "clip_score_gap")
    ]  # fmt: skip
    answer["disagreements"] = [
        {"level": 0.1, "arm": "curriculum", "reference": "single_task", "sentence": DISAGREEMENT},
        {"level": 0.3, "arm": "shuffled_control", "reference": "single_task", "sentence": SHUFFLED_SENTENCE},
    ]
    return answer


NAN = float("nan")
SHUFFLED_SENTENCE = "at 30% the shuffled-pairs control scores 0.640 CLIP score against single_task's 0.600"


def test_answer_as_the_confirm_phase_writes_it(tmp_path):
    run = write_protocol_run(tmp_path / "run", written_like_the_confirm_phase())
    assert "NaN" in (run / "answer.json").read_text()
    confirmed = section(build_report(run).read_text(encoding="utf-8"), "confirmed")
    low = level_part(confirmed, "10%")
    against_random = comparison_rows(low, "curriculum_random")
    assert list(against_random) == [("curriculum", "CLIP score")]
    row = against_random[("curriculum", "CLIP score")]
    assert row[2:5] == ["+0.0211", "inconclusive", "[-0.0020, +0.0440] (98.8%)"] and row[5] == "" and row[7] == "25"
    assert row[8] == ""  # the disagreement is about curriculum vs single_task
    assert comparison_rows(low)[("curriculum", "CLIP score")][8] == DISAGREEMENT
    # the untrained model from the answer's own summary, once (not recomputed from confirm.parquet)
    arms = [r for r in table_rows(low, "confirmed arms") if r[0] == "untrained model"]
    assert arms == [
        ["untrained model", "control: no training", "3", "0.2222 [0.2000, 0.2500]", "0.2222 [0.2000, 0.2500]"]
    ]
    shown = str(escape(SHUFFLED_SENTENCE))  # the page escapes the apostrophe
    assert shown in level_part(confirmed, "30%") and shown not in low
    figure = FIGURES.get("paired_differences").build(load_results(run))
    names = [t.name for t in figure.data if t.xaxis == "x"]
    assert names == ["multitask", "curriculum", "curriculum − curriculum_random", "curriculum_random"]
    # the table: curriculum against single-task (both metrics), then against its shuffled-order control
    order = [(r[0], r[1], r[2]) for r in table_rows(low, "confirmed comparisons")][2:5]
    assert order == [("curriculum", "single_task", "CLIP score"), ("curriculum", "single_task", "CLIP-score gap"),
                     ("curriculum", "curriculum_random", "CLIP score")]  # fmt: skip
    trace = next(t for t in figure.data if t.name == "curriculum − curriculum_random")
    assert list(trace.y) == ["10% · curriculum − curriculum_random"] and list(trace.x) == pytest.approx([0.0211])
