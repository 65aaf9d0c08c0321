"""The A/A test from independent fresh seeds: how often the protocol's family calls a difference that is not there.

Every arm of the main family (single_task, multitask, curriculum, curriculum_random) trains
the same recipe (single_task's), each run on its own fresh seed (30000 + ...), K runs per arm
and level, and the protocol reads the family as it would (``curriclip.protocol.fresh_aa``).
Runs are direct (no Ray, no search), shrunk to a small size so that many independent repeats
fit: the rate is the protocol's own, the size only sets what the metric's seed noise looks like.
Chunks of repeats are kept under ``--work`` so an interrupted run resumes.

    python benchmarks/bench_fresh_aa.py --work /tmp/fresh-aa --repeats 300 --jobs 2 --record
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "calibration_aa.json"
RENDERED = ROOT / "benchmarks" / "results" / "calibration_aa.md"
#: the size of an A/A run: a small version of the preset's benchmark
SIZE: dict = {
    "data": {"n": 400, "image_size": 32},
    "training": {"epochs": 2, "steps_per_epoch": 4, "batch_size": 16, "eval_batch_size": 64},
}
CHUNK = 10  # repeats per resumable piece
#: the machinery check: the same family read on normal draws (no training), where the paired t-test is exact
NORMAL_REPEATS = 1000
NORMAL_SEED = 0


def _rows(outcome: dict) -> list[dict]:
    return [
        {
            "metric": r.metric,
            "repeats": r.repeats,
            "false_calls": r.false_calls,
            "rate": r.rate,
            "ci": list(r.ci),
            "passes": r.passes,
            "alpha": r.alpha,
            "comparison_calls": r.comparison_calls,
            "comparisons": r.comparisons,
        }
        for r in outcome.values()
    ]


def train_chunk(experiment, repeats: range, pairs: int, jobs: int) -> pd.DataFrame:
    """The runs of ``repeats``: every arm trained as single_task on its own seed, at every level."""
    from curriclip.protocol.direct import direct_runs
    from curriclip.protocol.fresh_aa import aa_runs

    plan = [run for run in aa_runs(repeats.stop, list(experiment.space.sparsity), pairs) if run["repeat"] in repeats]
    table = direct_runs(
        experiment,
        [(run["level"], "single_task", run["seed"]) for run in plan],
        list(experiment.protocol.metrics),
        jobs=jobs,
        label=f"A/A repeats {repeats.start}-{repeats.stop - 1}",
    )
    return pd.concat([pd.DataFrame(plan), table[list(experiment.protocol.metrics)]], axis=1)


def render(record: dict) -> str:
    """The A/A table in Markdown (what docs/calibration.md includes and a test compares)."""
    lines = [
        f"Fresh-seed A/A (`benchmarks/bench_fresh_aa.py`, commit {record['commit']}, {record['preset']} preset at "
        f"{record['size']['data']['n']} pairs, {record['size']['data']['image_size']} px, "
        f"{record['size']['training']['epochs']} x {record['size']['training']['steps_per_epoch']} steps; levels "
        f"{', '.join(f'{level:.0%}' for level in record['levels'])}; K = {record['pairs']} seeds per arm; seeds "
        f"{record['seeds'][0]}–{record['seeds'][1]}, every run its own; {record['runs']} runs in "
        f"{record['wall_s'] / 60:.0f} min on 2 CPU cores): every arm of the main family trains single_task's recipe. "
        f"Beside it, the machinery alone: the same family read on {record['normal']['repeats']} repeats of normal "
        f"draws (seed {record['normal']['seed']}), where the paired t-test is exact and the rate should be alpha.",
        "",
        "| values | metric | repeats | repeats with a false call | rate [95% Clopper-Pearson] "
        "| pass: upper bound ≤ α + 0.02 | false calls / comparisons |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    rows = [("trained runs", row) for row in record["metrics"]]
    rows += [("normal draws, no training", row) for row in record["normal"]["metrics"]]
    for source, row in rows:
        verdict = "**pass**" if row["passes"] else "**FAIL**"
        lines.append(
            f"| {source} | {row['metric']} | {row['repeats']} | {row['false_calls']} | {row['rate']:.3f} "
            f"[{row['ci'][0]:.3f}, {row['ci'][1]:.3f}] | {verdict} (≤ {row['alpha'] + 0.02:.2f}) "
            f"| {row['comparison_calls']} / {row['comparisons']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/fresh-aa"), help="resumable chunks of runs")
    parser.add_argument("--preset", default="default")
    parser.add_argument(
        "--levels", type=float, nargs="*", default=None, help="sparsity levels (default: the preset's first)"
    )
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name} and {RENDERED.name}")
    parser.add_argument("--render", action="store_true", help="only render the committed record")
    args = parser.parse_args()
    if args.render:
        RENDERED.write_text(render(json.loads(RESULTS.read_text())))
        return

    from curriclip.presets import preset_experiment
    from curriclip.protocol.fresh_aa import aa_runs, fresh_seed_aa, normal_aa_runs
    from curriclip.rundir.atomic import atomic_text
    from curriclip.trainables.provenance import VERSIONS

    levels = args.levels or preset_experiment(args.preset).space.sparsity[:1]
    experiment = preset_experiment(args.preset, {**SIZE, "space": {"sparsity": levels}})
    pairs = experiment.protocol.max_confirm_seeds
    args.work.mkdir(parents=True, exist_ok=True)
    wall_file = args.work / "wall_s.txt"  # summed over the sessions of a resumed run
    spent = float(wall_file.read_text()) if wall_file.exists() else 0.0
    chunks = []
    for start in range(0, args.repeats, CHUNK):
        repeats = range(start, min(start + CHUNK, args.repeats))
        piece = (
            args.work
            / f"{args.preset}-{'-'.join(f'{v:g}' for v in levels)}-k{pairs}-{repeats.start}-{repeats.stop - 1}.csv"
        )
        if not piece.exists():
            started = time.monotonic()
            table = train_chunk(experiment, repeats, pairs, args.jobs)
            atomic_text(piece, table.to_csv(index=False))
            spent += time.monotonic() - started
            wall_file.write_text(f"{spent}\n")
        chunks.append(pd.read_csv(piece))
        print(f"A/A: {repeats.stop}/{args.repeats} repeats, {spent / 60:.1f} min", file=sys.stderr, flush=True)
    runs = pd.concat(chunks, ignore_index=True)
    outcome = fresh_seed_aa(experiment, runs)
    normal = fresh_seed_aa(experiment, normal_aa_runs(experiment, NORMAL_REPEATS, NORMAL_SEED))
    plan = aa_runs(args.repeats, list(experiment.space.sparsity), pairs)
    record = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
        ).stdout.strip(),
        "versions": VERSIONS,
        "preset": args.preset,
        "size": SIZE,
        "levels": list(experiment.space.sparsity),
        "pairs": pairs,
        "seeds": [min(r["seed"] for r in plan), max(r["seed"] for r in plan)],
        "runs": len(runs),
        "wall_s": spent,
        "metrics": _rows(outcome),
        "normal": {"repeats": NORMAL_REPEATS, "seed": NORMAL_SEED, "metrics": _rows(normal)},
    }
    text = render(record)
    print(text)
    if args.record:
        atomic_text(RESULTS, json.dumps(record, indent=1) + "\n")
        atomic_text(RENDERED, text)


if __name__ == "__main__":
    main()
