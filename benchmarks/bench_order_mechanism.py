"""planted-order's control: does any fixed order hurt, or starting at the easy end?

    python benchmarks/bench_order_mechanism.py --seeds 10 --jobs 2 --record

planted-order plants "easiest-first is worse than random order". Read as a statement about the
data (the easiest pairs are normal studies with interchangeable reports), it predicts that the
same pacing in the opposite order, hardest first, is not worse than random order; read as "any
fixed order of a small starting pool hurts", it predicts that it is. This trains planted-order's
fixed recipe (``ORDER_PACING``, every task from the first step) three ways on the same paired seeds
(20000 + k, the truth's) at each of its levels: easiest first (the curriculum), hardest first (the
same difficulty reversed) and random order (curriculum_random), all direct runs scored on test, and
compares each pair with ``compare_family`` (Holm over the levels, per question and metric).
``--record`` writes ``benchmarks/results/order_mechanism.json`` (commit, versions, seeds, wall time,
every run's values) and the table ``order_mechanism.md`` that docs/calibration.md includes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from curriclip.names import Control
from curriclip.presets import ORDER_PACING, preset_experiment
from curriclip.protocol.direct import FIRST_SEED, direct_runs, paired_comparisons
from curriclip.rundir.atomic import atomic_text
from curriclip.trainables.provenance import VERSIONS

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "order_mechanism.json"
RENDERED = ROOT / "benchmarks" / "results" / "order_mechanism.md"
PRESET = "planted-order"
METRICS = ["retrieval_auc", "clip_score"]
#: the orders compared: name in the table -> (direct-run arm, the curriculum's order)
ORDERS: dict[str, tuple[str, Control]] = {
    "easiest first": ("curriculum", Control.NONE),
    "hardest first": ("curriculum", Control.ANTI),
    "random order": ("curriculum_random", Control.NONE),
}
#: what the record keeps of each comparison
KEPT = ("diff_mean", "ci", "verdict", "n")
#: (order, reference order) pairs compared
QUESTIONS = [("easiest first", "random order"), ("hardest first", "random order"), ("hardest first", "easiest first")]


def measure(seeds: int, jobs: int) -> pd.DataFrame:
    """One row per (order, level, seed) with the test metrics, every order on the same seeds."""
    experiment = preset_experiment(PRESET)
    levels = [float(level) for level in experiment.space.sparsity]
    frames = []
    for order, (arm, control) in ORDERS.items():
        runs = [(level, arm, FIRST_SEED + k) for level in levels for k in range(seeds)]
        table = direct_runs(
            experiment, runs, METRICS, jobs, label=order, curriculum_pacing=ORDER_PACING, curriculum_order=control
        )
        frames.append(table.drop(columns="arm").assign(order=order))
    return pd.concat(frames, ignore_index=True)[["order", "level", "seed", *METRICS]]


def comparisons(rows: pd.DataFrame) -> list[dict]:
    """Every question on every metric and level: the paired difference, its Holm interval over the levels, the call."""
    protocol = preset_experiment(PRESET).protocol
    return [
        {"question": f"{order} vs {reference}", "metric": metric, "level": level, **{k: c[k] for k in KEPT}}
        for order, reference in QUESTIONS
        for metric in METRICS
        for level, c in paired_comparisons(rows, order, reference, metric, protocol, column="order").items()
    ]


def render(record: dict) -> str:
    """The Markdown table docs/calibration.md includes (a test keeps it equal to the record)."""
    seeds = record["seeds"]
    lines = [
        f"planted-order's recipe in three orders (`benchmarks/bench_order_mechanism.py`, commit {record['commit']}; "
        f"{len(seeds)} paired seeds {seeds[0]}–{seeds[-1]}, direct runs on test, {len(record['rows'])} runs in "
        f"{record['wall_s'] / 60:.0f} min on 2 CPU cores; Holm over the levels):",
        "",
        "| question | metric | level | difference [95% CI, Holm] | verdict (K) |",
        "|---|---|---|---|---|",
    ]
    for c in record["comparisons"]:
        low, high = c["ci"]
        lines.append(
            f"| {c['question']} | {c['metric']} | {c['level']:.0%} | {c['diff_mean']:+.3f} [{low:+.3f}, {high:+.3f}] | "
            f"{c['verdict']} ({c['n']}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="paired seeds per order and level")
    parser.add_argument("--jobs", type=int, default=2, help="direct runs at a time, one thread each")
    parser.add_argument("--record", action="store_true", help="write results/order_mechanism.{json,md}")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    started = time.monotonic()
    rows = measure(args.seeds, args.jobs)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    record = {
        "preset": PRESET,
        "commit": commit,
        "versions": VERSIONS,
        "curriculum_pacing": ORDER_PACING,
        "seeds": [FIRST_SEED + k for k in range(args.seeds)],
        "wall_s": round(time.monotonic() - started, 1),
        "load_1min": round(os.getloadavg()[0], 2),
        "comparisons": comparisons(rows),
        "rows": json.loads(rows.to_json(orient="records")),
    }
    text = render(record)
    print(text)
    if args.record:
        atomic_text(RESULTS, json.dumps(record, indent=1) + "\n")
        atomic_text(RENDERED, text)
    print(f"{record['wall_s']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
