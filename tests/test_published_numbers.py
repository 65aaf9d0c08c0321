"""Numbers the README and the docs state come from committed results files, and stay equal to them."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_the_main_jobs_time_in_the_readme_and_docs_is_the_recorded_runs():
    bench = _benchmark("bench_default_signal")
    entry = json.loads((RESULTS / "default_run.json").read_text())
    stated = bench.main_job_time(entry)
    for page in ("README.md", "docs/getting-started.md", "docs/presets.md"):
        assert stated in (ROOT / page).read_text(), f"{page} does not state the recorded main job: {stated!r}"


def test_the_main_jobs_table_is_rendered_from_its_results_file():
    bench = _benchmark("bench_default_signal")
    entry = json.loads((RESULTS / "default_run.json").read_text())
    assert (RESULTS / "default_run.md").read_text() == bench.run_markdown(entry)
    assert '--8<-- "benchmarks/results/default_run.md"' in (ROOT / "docs" / "presets.md").read_text()


def test_the_calibration_table_is_rendered_from_the_committed_records():
    bench = _benchmark("bench_calibration")
    entries = bench.committed_entries()
    assert entries and {entry["preset"] for entry in entries} <= set(bench.QUESTIONS)
    for entry in entries:  # each record says where its numbers came from
        assert entry["commit"] and entry["versions"] and entry["truth"]["seeds"] and entry["protocol"]["confirm_seeds"]
        assert all(row["protocol"]["n"] == entry["protocol"]["k"] for row in entry["comparisons"])
    assert (RESULTS / "calibration.md").read_text() == bench.render_table(entries)
    assert '--8<-- "benchmarks/results/calibration.md"' in (ROOT / "docs" / "calibration.md").read_text()


def test_the_readmes_calibration_table_is_rendered_from_the_committed_records():
    bench = _benchmark("bench_calibration")
    entries = bench.committed_entries()
    assert [entry["preset"] for entry in entries] == ["planted-noise", "planted-mtl", "planted-order", "null"]
    summary = bench.render_summary(entries, json.loads((RESULTS / "calibration_aa.json").read_text()))
    assert summary in (ROOT / "README.md").read_text()
    assert summary.count("| planted-order (K = 10) |") == 2 and summary.count("| A/A, independent fresh seeds") == 2


def test_the_search_efficiency_tables_and_the_readmes_default_come_from_the_committed_record():
    bench = _benchmark("bench_search_efficiency")
    record = json.loads((RESULTS / "search_efficiency.json").read_text())
    assert record["repeats"] >= 100 and all(row["repeats"] == record["repeats"] for row in record["summary"])
    assert {row["combination"] for row in record["summary"]} == {combo.name for combo in bench.COMBINATIONS}
    assert (RESULTS / "search_efficiency.md").read_text() == bench.render(record)
    assert '--8<-- "benchmarks/results/search_efficiency.md"' in (ROOT / "docs" / "search-efficiency.md").read_text()
    assert bench.reading(record) in (ROOT / "README.md").read_text()


def test_the_tabular_benchmark_holds_every_run_it_claims_with_its_provenance():
    import pyarrow.parquet as pq

    table = pq.read_table(ROOT / "benchmarks" / "curriculum_table" / "table.parquet")
    meta = json.loads(table.schema.metadata[b"curriclip"])
    frame = table.to_pandas()
    assert meta["commit"] and meta["versions"] and meta["build_wall_s"] > 0
    curricula = frame[frame["arm"] == "curriculum"]
    epochs = frame["epoch"].max()
    assert len(curricula) == meta["configs_per_level"] * len(meta["levels"]) * len(meta["seeds"]) * epochs
    assert frame.groupby(["arm", "config", "level", "seed"]).size().eq(epochs).all()  # whole curves only
    assert frame["retrieval_auc"].between(0, 1).all() and (frame["epoch_time_s"] > 0).all()
    record = json.loads((RESULTS / "search_efficiency.json").read_text())
    assert record["table"]["commit"] == meta["commit"] and record["table"]["runs"] == meta["runs"]


def test_the_fresh_seed_aa_table_is_rendered_from_its_record_and_applies_the_pass_rule():
    bench = _benchmark("bench_fresh_aa")
    record = json.loads((RESULTS / "calibration_aa.json").read_text())
    assert record["commit"] and record["versions"] and record["runs"] and record["seeds"][0] >= 30_000
    for row in record["metrics"]:  # every repeat is independent: its own K runs per arm
        assert row["passes"] == (row["ci"][1] <= row["alpha"] + 0.02)
        assert record["runs"] == row["repeats"] * 4 * record["pairs"] * len(record["levels"])
    assert (RESULTS / "calibration_aa.md").read_text() == bench.render(record)
    assert '--8<-- "benchmarks/results/calibration_aa.md"' in (ROOT / "docs" / "calibration.md").read_text()


def test_the_calibration_summary_counts_called_effects_and_unsupported_calls():
    bench = _benchmark("bench_calibration")

    def row(truth: str, call: str) -> dict:
        return {"metric": "m", "truth": {"verdict": truth}, "protocol": {"verdict": call}}

    comparisons = [row("better", "better"), row("worse", "inconclusive"), row("inconclusive", "worse")]
    comparisons += [row("worse", "better"), {**row("better", "better"), "truth": None}]
    entry = {"preset": "p", "protocol": {"k": 7}, "comparisons": comparisons}
    aa = {
        "pairs": 5,
        "metrics": [
            {
                "metric": "m",
                "ci": [0.0, 0.08],
                "repeats": 10,
                "comparisons": 50,
                "false_calls": 1,
                "rate": 0.1,
                "passes": False,
                "alpha": 0.05,
            }
        ],
    }
    lines = bench.render_summary([entry], aa).splitlines()
    assert lines[2] == "| p (K = 7) | m | 4 | 1 of 3 | 2 |"  # unmeasured truths are left out
    assert lines[3].endswith("a false call in 1 of 10 repeats: 0.100 [0.000, 0.080], FAIL (≤ 0.07) |")


def test_the_test_run_recorder_reads_pytest_and_gnu_time_and_refuses_a_failed_run():
    bench = _benchmark("record_test_run")
    log = (
        "== pytest\n....\n1085 passed, 3 warnings in 598.41s (0:09:58)\n"
        "\tElapsed (wall clock) time (h:mm:ss or m:ss): 11:57.12\n"
        "\tMaximum resident set size (kbytes): 3460000\n\tExit status: 0\n"
    )
    figures = bench.parse_log(log)
    assert figures == {"tests_passed": 1085, "pytest_wall_s": 598.41, "script_wall_s": 717.1, "peak_rss_gib": 3.3}
    assert bench._clock_seconds("1:02:03.5") == 3723.5
    for broken in (
        log.replace("1085 passed,", "1080 passed, 5 failed,"),
        log.replace("Exit status: 0", "Exit status: 1"),
        log.replace("1085 passed", "no tests ran"),
        log.split("\tElapsed")[0],
    ):
        with pytest.raises(ValueError):
            bench.parse_log(broken)
    record = {**figures, "commit": "abc1234", "cores": 2}
    assert bench.statement(record) == (
        "on a clean clone `.ci/run` ran the 1,085 tests in 9 min 58 s on 2 CPU cores (11 min 57 s with the set-up; "
        "commit abc1234, `benchmarks/results/test_run.json`)"
    )


def test_the_order_mechanism_table_is_rendered_from_its_record_and_its_runs_recompute_it():
    import pandas as pd

    bench = _benchmark("bench_order_mechanism")
    record = json.loads((RESULTS / "order_mechanism.json").read_text())
    assert record["commit"] and record["versions"] and record["seeds"][0] == 20_000
    rows = pd.DataFrame(record["rows"])
    assert len(rows) == len(bench.ORDERS) * len(record["seeds"]) * rows["level"].nunique()
    recomputed = bench.comparisons(rows)
    assert [c["verdict"] for c in recomputed] == [c["verdict"] for c in record["comparisons"]]
    assert [c["diff_mean"] for c in recomputed] == pytest.approx([c["diff_mean"] for c in record["comparisons"]])
    assert (RESULTS / "order_mechanism.md").read_text() == bench.render(record)
    assert '--8<-- "benchmarks/results/order_mechanism.md"' in (ROOT / "docs" / "calibration.md").read_text()
    # easiest first vs random order is planted-order's truth: the same recipe on the same seeds
    truth = json.loads((RESULTS / "calibration" / "planted-order.json").read_text())
    planted = {
        (row["metric"], row["level"]): row["truth"]["diff_mean"]
        for row in truth["comparisons"]
        if row["question"] == "curriculum vs curriculum_random"
    }
    for c in record["comparisons"]:
        if c["question"] == "easiest first vs random order":
            assert c["diff_mean"] == pytest.approx(planted[c["metric"], c["level"]], abs=1e-6)


def test_the_readmes_test_time_is_the_recorded_clean_clone_run():
    bench = _benchmark("record_test_run")
    record = json.loads((RESULTS / "test_run.json").read_text())
    assert record["commit"] and record["tests_passed"] > 1000 and record["cores"] >= 1
    assert record["pytest_wall_s"] < record["script_wall_s"]  # the set-up (venv, install, ruff, docs) comes first
    stated = bench.statement(record)
    for page in ("README.md", "docs/getting-started.md"):
        assert stated in (ROOT / page).read_text(), f"{page} does not state the recorded test run: {stated!r}"
