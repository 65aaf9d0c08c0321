"""The TaCo map against the CLIP baseline, with and without failure tasks, over map seeds.

For each arm (with / without failure tasks) and each seed this builds a task map of
the synthetic dataset (``build_map``: train split for training, validate for the fixed
evaluation set shared by both arms; test is never read) and reads, for TaCo and for
the CLIP baseline (the untrained ``tiny`` tower, the offline default): the clustering
of real-task instances by category (silhouette on cosine distance, k-means NMI / ARI),
kNN accuracy of the category among seen families and for families left out of
training, and the similarity-peak contrast. The prior's stability is Kendall's tau of
the auxiliary tasks' centrality between every pair of seeds (``prior_stability``).
Numbers are mean over seeds with a 95 % t interval.

    python benchmarks/bench_taskmap_fields.py --maps DIR   # writes benchmarks/results/taskmap_fields.{json,md}

Maps already under ``--maps`` are reused, so the arms can be built by separate processes
first (``--arms failure`` and ``--arms plain``, in parallel) and then tabulated.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SEEDS = (0, 1, 2)
ARMS = {"with failure tasks": True, "without failure tasks": False}
DATA = {"n": 600, "image_size": 64, "seed": 0}
STEPS = 80
EVAL_PER_FAMILY = 8
PRIOR_TASKS = ["findings", "rotation", "denoising", "masked_image", "segmentation", "image_contrastive"]
ROWS = {
    "silhouette": ("clustering", "silhouette"),
    "NMI": ("clustering", "nmi"),
    "ARI": ("clustering", "ari"),
    "kNN seen families": ("knn_seen", None),
    "kNN left-out families": ("knn_left_out", None),
    "peak contrast": ("peaks", "peak_contrast"),
}


def interval(values: list[float]) -> tuple[float, float]:
    x = np.asarray(values, dtype=np.float64)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else 0.0
    return float(x.mean()), float(half)


def read(metrics: dict, model: str, group: str, key: str | None) -> float:
    value = metrics[model][group]
    return float(value if key is None else value[key])


def main() -> None:
    import torch

    from curriclip.data.sources import resolve
    from curriclip.taskmap.mapping import build_map
    from curriclip.taskmap.prior import prior_stability
    from curriclip.taskmap.train import PRESETS

    parser = argparse.ArgumentParser()
    parser.add_argument("--maps", type=Path, default=None, help="Where the maps are built (default: a temp dir).")
    parser.add_argument("--arms", choices=["failure", "plain", "all"], default="all")
    args = parser.parse_args()
    started = time.time()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.maps or scratch)
        os.environ.setdefault("CURRICLIP_CACHE", str(Path(tmp) / "cache"))
        dataset = resolve("synthetic", **DATA)
        metrics: dict[str, list[dict]] = {arm: [] for arm in ARMS}
        stability = {}
        for arm, failure in ARMS.items():
            if args.arms != "all" and (args.arms == "failure") != failure:
                continue
            maps = []
            for seed in SEEDS:
                settings = dataclasses.replace(
                    PRESETS["smoke"], steps=STEPS, eval_per_family=EVAL_PER_FAMILY, seed=seed, failure_tasks=failure
                )
                out = Path(tmp) / f"{'failure' if failure else 'plain'}_{seed}"
                if not (out / "taskmap").is_dir():
                    build_map(dataset, out, settings, log=lambda line: print(line, file=sys.stderr))
                maps.append(out / "taskmap")
                metrics[arm].append(json.loads((maps[-1] / "metrics.json").read_text()))
            stability[arm] = prior_stability(maps, PRIOR_TASKS)
        settings = dataclasses.asdict(
            dataclasses.replace(PRESETS["smoke"], steps=STEPS, eval_per_family=EVAL_PER_FAMILY)
        )
        seconds = [m["total_seconds"] for arm in metrics.values() for m in arm]
    if args.arms != "all":
        return
    wall = round(time.time() - started, 1)
    table = {}
    for arm in ARMS:
        for model in ("taco", "clip"):
            table[f"{model} ({arm})"] = {
                name: interval([read(m, model, *where) for m in metrics[arm]]) for name, where in ROWS.items()
            }
    first = metrics[next(iter(ARMS))][0]
    out = {
        "commit": commit,
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__},
        "dataset": {"source": "synthetic", **DATA},
        "settings": settings,
        "seeds": list(SEEDS),
        "evaluation": {
            "split": first["evaluation_split"],
            "families": first["evaluation_families"],
            "held_out_families": first["held_out_families"],
            "instances_per_family": settings["eval_per_family"],
        },
        "clip_baseline": first["clip_baseline"],
        "table": table,
        "prior_stability": stability,
        "per_seed": metrics,
        "wall_seconds": wall,
        "map_seconds": seconds,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "taskmap_fields.json").write_text(json.dumps(out, indent=1))
    clip_rows = {name: v for name, v in table.items() if name.startswith("clip")}
    shown = {name: v for name, v in table.items() if name.startswith("taco")}
    shown["CLIP baseline (untrained tiny tower)"] = next(iter(clip_rows.values()))
    lines = [
        f"## Task map (TaCo) vs CLIP baseline (commit {commit[:10]}, synthetic n={DATA['n']}, "
        f"{len(SEEDS)} map seeds, {STEPS} steps, smoke-sized encoder; {sum(seconds):.0f} s of map building)",
        "",
        f"Evaluation: one fixed set of {settings['eval_per_family']} instances per family on the validate split "
        f"({len(first['evaluation_families'])} families; left out of training: "
        f"{', '.join(first['held_out_families'])}); mean over seeds +- 95 % t half-width.",
        "",
        "| model | " + " | ".join(ROWS) + " | prior Kendall tau (mean, min over seed pairs) |",
        "|---" * (len(ROWS) + 2) + "|",
    ]
    for name, row in shown.items():
        cells = [f"{mean:.3f} +- {half:.3f}" for mean, half in row.values()]
        arm = next((a for a in ARMS if a in name), None)
        tau = f"{stability[arm]['kendall_tau_mean']:+.2f}, {stability[arm]['kendall_tau_min']:+.2f}" if arm else "-"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {tau} |")
    lines.append("")
    for arm in ARMS:
        shares = ", ".join(f"{k} {v:.0%}" for k, v in stability[arm]["same_ordering_share"].items())
        lines.append(f"- prior {arm}: same ordering across seed pairs: {shares}")
    text = "\n".join(lines)
    (RESULTS / "taskmap_fields.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
