"""Does the default benchmark align? single_task against shuffled_control, per lever setting, without a search.

    python benchmarks/bench_default_signal.py --variants default wordpiece --seeds 3 [--jobs 2]
    python benchmarks/bench_default_signal.py --list
    python benchmarks/bench_default_signal.py --record-run RUN_DIR --wall-s S --peak-rss-kb KB --load L

The default preset's main job can only call shuffled_control worse than single_task if
training on true pairs aligns clearly more than training on shuffled ones, seed after
seed. This measures that directly (``curriclip.protocol.direct``: each arm one fixed
recipe at training.lr, no search, no Ray) for named settings of the levers (training
budget, text tower, image size, batch, data size): at every level of the setting,
``--seeds`` paired seeds of both arms, and per metric the paired difference
single_task - shuffled_control, its seed SD and their ratio (the acceptance asks for at
least 5 on the robust metric), with the wall time of the setting's runs and the load.
Each setting's rows are added to ``benchmarks/results/default_signal.json`` (with the
commit, the library versions and the seeds), replacing an earlier measurement of the same
setting and seed count.

``--record-run`` reads a finished ``curriclip search`` run of the default preset (its
``answer.json``) and writes ``benchmarks/results/default_run.json``: per level and arm the
CLIP score and the robust metric, the verdicts against single_task on both, the shuffled
control's paired difference in seed SDs, the detectable effects in SDs, the conclusion, and
the wall time, peak RSS and load given (measured outside, with ``/usr/bin/time -v`` and ``uptime``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from curriclip.presets import preset_experiment
from curriclip.protocol.direct import FIRST_SEED, direct_runs
from curriclip.rundir.atomic import atomic_text

RESULTS = Path(__file__).parent / "results" / "default_signal.json"
RUN_RESULTS = Path(__file__).parent / "results" / "default_run.json"
RUN_TABLE = Path(__file__).parent / "results" / "default_run.md"
METRICS = ["retrieval_auc", "clip_score", "clip_score_gap", "spread_cosine_image", "spread_cosine_text", "time_s"]
ARMS = ("single_task", "shuffled_control")

#: name -> overrides of the default preset (the levers measured)
VARIANTS: dict[str, dict] = {
    "default": {},
    "epochs10": {"training": {"epochs": 10}},
    "steps40": {"training": {"steps_per_epoch": 40}},
    "wordpiece": {"model": "tiny-wordpiece"},
    "wordpiece-epochs10": {"model": "tiny-wordpiece", "training": {"epochs": 10}},
    "wordpiece-n3000": {"model": "tiny-wordpiece", "data": {"n": 3000}},
    "wordpiece-levels-20-50": {"model": "tiny-wordpiece", "space": {"sparsity": [0.2, 0.5]}},
    "batch64": {"training": {"batch_size": 64}},
    "image32": {"data": {"image_size": 32}},
    "n3000": {"data": {"n": 3000}},
}


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(name: str, overrides: dict, seeds: int, jobs: int) -> dict:
    """One setting: per level and metric, the paired difference single_task - shuffled_control and its SD."""
    from curriclip.trainables.provenance import VERSIONS

    experiment = preset_experiment("default", overrides)
    levels = list(experiment.space.sparsity)
    runs = [(level, arm, FIRST_SEED + k) for level in levels for k in range(seeds) for arm in ARMS]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    table = direct_runs(experiment, runs, METRICS, jobs=jobs, label=name)
    wall = time.perf_counter() - start
    levels_out = []
    for level in levels:
        at = table[(table["level"] - level).abs() < 1e-9]
        row = {"level": level}
        for metric in METRICS[:-1]:
            arm = at[at["arm"] == "single_task"].set_index("seed")[metric]
            control = at[at["arm"] == "shuffled_control"].set_index("seed")[metric]
            diff = (arm - control).to_numpy(dtype=float)
            sd = float(np.std(diff, ddof=1)) if len(diff) > 1 else float("nan")
            row[metric] = {
                "single_task": float(arm.mean()),
                "shuffled_control": float(control.mean()),
                "diff_mean": float(diff.mean()),
                "diff_sd": sd,
                "diff_in_sd": float(diff.mean() / sd) if sd > 0 else float("inf"),
                "single_task_runs": [float(v) for v in arm],
                "shuffled_control_runs": [float(v) for v in control],
            }
        levels_out.append(row)
    return {
        "variant": name,
        "overrides": overrides,
        "seeds": [FIRST_SEED + k for k in range(seeds)],
        "jobs": jobs,
        "runs": len(runs),
        "wall_s": round(wall, 1),
        "mean_trial_s": round(float(table["time_s"].mean()), 1),
        "load_1min_at_start": round(load, 2),
        "load_1min_at_end": round(os.getloadavg()[0], 2),
        "commit": _commit(),
        "versions": VERSIONS,
        "levels": levels_out,
    }


def _save(entry: dict) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"measurements": []}
    keep = [
        m for m in data["measurements"] if (m["variant"], len(m["seeds"])) != (entry["variant"], len(entry["seeds"]))
    ]
    data["measurements"] = [*keep, entry]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    atomic_text(RESULTS, json.dumps(data, indent=1) + "\n")


def _print(entry: dict) -> None:
    print(f"{entry['variant']}: {entry['runs']} runs in {entry['wall_s']:.0f} s (load {entry['load_1min_at_start']})")
    for row in entry["levels"]:
        for metric in ("retrieval_auc", "clip_score", "clip_score_gap"):
            m = row[metric]
            print(
                f"  {row['level']:.0%} {metric:<15} single {m['single_task']:.3f}  control "
                f"{m['shuffled_control']:.3f}  diff {m['diff_mean']:+.3f} sd {m['diff_sd']:.3f} "
                f"({m['diff_in_sd']:.1f} sd)"
            )


def record_run(run_dir: Path, wall_s: float, peak_rss_kb: int, load: float, commit: str | None = None) -> dict:
    """The answer table of a finished default run, with its time, memory and load."""
    from curriclip.trainables.provenance import VERSIONS

    answer = json.loads((run_dir / "answer.json").read_text())
    robust = answer["robust_metric"]
    means = {(r["level"], r["arm"], r["metric"]): r["mean"] for r in answer["arm_summary"]}
    verdicts = {
        (c["level"], c["arm"], c["metric"]): c for c in answer["comparisons"] if c["reference"] == "single_task"
    }
    table = []
    for level in answer["levels"]:
        for arm in [*answer["arms"], "untrained"]:
            row = {"level": level, "arm": arm}
            for metric in (answer["headline_metric"], robust):
                row[metric] = means.get((level, arm, metric))
                c = verdicts.get((level, arm, metric))
                if c is not None:
                    row[f"{metric}_diff"] = c["diff_mean"]
                    row[f"{metric}_verdict"] = c["verdict"]
                    sd = c["diff_sd"]
                    row[f"{metric}_diff_in_sd"] = c["diff_mean"] / sd if sd else None
                    row[f"{metric}_detectable_in_sd"] = (
                        c["detectable_effect"] / sd if sd and c["detectable_effect"] is not None else None
                    )
            table.append(row)
    entry = {
        "run_dir": str(run_dir),
        "commit": commit or _commit(),
        "versions": VERSIONS,
        "k": answer["k"],
        "confirm_seeds": answer["confirm_seeds"],
        "wall_s": wall_s,
        "peak_rss_kb": peak_rss_kb,
        "load_1min": load,
        "robust_metric": robust,
        "conclusion": answer.get("conclusion"),
        "winners": answer["winners"],
        "collapse": answer.get("collapse"),
        "table": table,
    }
    atomic_text(RUN_RESULTS, json.dumps(entry, indent=1) + "\n")
    atomic_text(RUN_TABLE, run_markdown(entry))
    return entry


def main_job_time(entry: dict) -> str:
    """The main job's wall time as the README and the docs state it (a test keeps them equal to the results)."""
    minutes, seconds = divmod(round(entry["wall_s"]), 60)
    return (
        f"{minutes} min {seconds} s on 2 CPU cores at a 1-minute load of {entry['load_1min']:.1f}, "
        f"peak RSS {entry['peak_rss_kb'] / 1024**2:.2f} GB"
    )


def _cell(value: float | None, digits: int = 3, sign: bool = False) -> str:
    if value is None:
        return ""
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def run_markdown(entry: dict) -> str:
    """The recorded main job as a Markdown table (docs include it): means, differences vs single_task, verdicts."""
    robust = entry["robust_metric"]
    lines = [
        f"Main job (`curriclip search`, commit {entry['commit']}, K = {entry['k']} confirm seeds "
        f"{entry['confirm_seeds'][0]}–{entry['confirm_seeds'][-1]}): {main_job_time(entry)}.",
        "",
        f"| level | arm | {robust} | Δ {robust} vs single_task (σ) | verdict | CLIP score | Δ CLIP score | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in entry["table"]:
        sd = row.get(f"{robust}_diff_in_sd")
        lines.append(
            f"| {row['level']:.0%} | {row['arm']} | {_cell(row[robust])} | "
            f"{_cell(row.get(f'{robust}_diff'), sign=True)}{f' ({sd:+.1f})' if sd is not None else ''} | "
            f"{row.get(f'{robust}_verdict', '')} | {_cell(row['clip_score'])} | "
            f"{_cell(row.get('clip_score_diff'), sign=True)} | {row.get('clip_score_verdict', '')} |"
        )
    lines += ["", f"Conclusion (the report's first line): {entry['conclusion']}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["default"], choices=sorted(VARIANTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--list", action="store_true", help="print the variants and their overrides")
    parser.add_argument("--record-run", type=Path, help="a finished default run to record (see above)")
    parser.add_argument("--wall-s", type=float)
    parser.add_argument("--peak-rss-kb", type=int)
    parser.add_argument("--load", type=float, help="1-minute load average during the run")
    parser.add_argument("--commit", help="the commit the recorded run ran (default: HEAD)")
    parser.add_argument("--render", action="store_true", help="rewrite default_run.md from default_run.json")
    args = parser.parse_args()
    if args.render:
        atomic_text(RUN_TABLE, run_markdown(json.loads(RUN_RESULTS.read_text())))
        return
    if args.record_run:
        entry = record_run(args.record_run, args.wall_s, args.peak_rss_kb, args.load, args.commit)
        print(json.dumps(entry["table"], indent=1))
        print(entry["conclusion"])
        return
    if args.list:
        for name, overrides in VARIANTS.items():
            print(f"{name}: {json.dumps(overrides)}")
        return
    for name in args.variants:
        entry = measure(name, VARIANTS[name], args.seeds, args.jobs)
        _save(entry)
        _print(entry)


if __name__ == "__main__":
    main()
