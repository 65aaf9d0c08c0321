"""TaCo against the CLIP baseline, with and without failure tasks, on held-out task instances.

Builds (or reuses) ``OUT/failure/taskmap`` and ``OUT/no_failure/taskmap`` with the
given preset and prints, for each, the clustering of the held-out instances by
category (silhouette, NMI, ARI, kNN accuracy) for TaCo and CLIP, the sharpness of the
same-task similarity peaks, and the smoothness of the brightness / rotation / noise
trajectories (Spearman of strength with distance from the unmodified task).

    PYTHONPATH=. CURRICLIP_CACHE=/tmp/cc CURRICLIP_THREADS=1 OMP_NUM_THREADS=1 nice -n 10 \
        python benchmarks/bench_taskmap.py --dataset DIR --out /tmp/taskmap-bench
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

ARMS = {"failure": True, "no_failure": False}
ROWS = [
    ("clustering", "silhouette"),
    ("clustering", "nmi"),
    ("clustering", "ari"),
    ("clustering", "knn_accuracy"),
    ("family_clustering", "knn_accuracy"),
    ("peaks", "peak_contrast"),
    ("peaks", "same_task_auc"),
    ("trajectories", "brightness"),
    ("trajectories", "rotation"),
    ("trajectories", "noise"),
]


def value(metrics: dict, model: str, group: str, key: str) -> float:
    entry = metrics[model][group][key]
    return entry["spearman"] if isinstance(entry, dict) else entry


def main() -> None:
    from curriclip.taskmap.mapping import build_map
    from curriclip.taskmap.train import PRESETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    args = parser.parse_args()
    results = {}
    for arm, failure in ARMS.items():
        map_dir = Path(args.out) / arm / "taskmap"
        if not (map_dir / "metrics.json").is_file():
            settings = dataclasses.replace(PRESETS[args.preset], failure_tasks=failure)
            build_map(args.dataset, Path(args.out) / arm, settings)
        results[arm] = json.loads((map_dir / "metrics.json").read_text())
    header = f"{'measure':32s}" + "".join(f"{arm + ' ' + model:>22s}" for arm in ARMS for model in ("taco", "clip"))
    print(header)
    for group, key in ROWS:
        label = (
            f"{key} spearman" if group == "trajectories" else (f"family {key}" if group == "family_clustering" else key)
        )
        cells = "".join(f"{value(results[arm], model, group, key):22.3f}" for arm in ARMS for model in ("taco", "clip"))
        print(f"{label:32s}{cells}")
    for arm in ARMS:
        print(f"{arm}: training {results[arm]['train_seconds']:.0f} s, whole map {results[arm]['total_seconds']:.0f} s")
    (Path(args.out) / "summary.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
