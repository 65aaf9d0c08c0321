"""Render time and file size of the HTML report for a large synthetic search.

    python benchmarks/bench_report.py [--trials 2000] [--epochs 50] [--repeats 1] [--keep DIR]

Builds synthetic ``trials.parquet`` / ``epochs.parquet`` in the export's format (three arms,
five sparsity levels, four pacing functions, six task orderings, companion metrics, per-task
losses, 10% pruned and 1% errored trials), then times ``build_report`` (loading included) and
prints the page size. The goal: the page stays under 20 MB (curves are thinned and drawn with
WebGL above a few hundred trials) and renders in well under a minute.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

LIMIT_MB = 20.0
TASKS = ("itc", "findings", "rotation")
ORDERINGS = [
    " > ".join(p) for p in (("itc", "findings", "rotation"), ("itc", "rotation", "findings"),
                            ("findings", "itc", "rotation"), ("findings", "rotation", "itc"),
                            ("rotation", "itc", "findings"), ("rotation", "findings", "itc"))
]  # fmt: skip
PACINGS = ("linear", "root", "exponential", "step")
LEVELS = (0.05, 0.1, 0.3, 0.5, 1.0)


def synthetic_run(n_trials: int, n_epochs: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    arm = np.where(np.arange(n_trials) % 20 == 0, "single_task",
                   np.where(np.arange(n_trials) % 20 == 1, "shuffled_control", "curriculum"))  # fmt: skip
    level = rng.choice(LEVELS, n_trials)
    pacing = np.where(arm == "curriculum", rng.choice(PACINGS, n_trials), "none")
    ordering = np.where(arm == "single_task", "itc", rng.choice(ORDERINGS, n_trials))
    lr = 10 ** rng.uniform(-3.5, -2.7, n_trials)
    span = rng.uniform(0.2, 0.8, n_trials)
    u = rng.uniform(size=n_trials)
    status = np.where(u < 0.01, "errored", np.where(u < 0.11, "pruned", "completed"))
    done = np.where(status == "completed", n_epochs, np.where(status == "pruned", n_epochs // 3, 0))
    ceiling = 0.6 + 0.8 * level + 0.05 * (arm == "curriculum") + 0.02 * rng.standard_normal(n_trials)
    ids = [f"{i:08x}" for i in range(n_trials)]
    e = np.arange(1, n_epochs + 1)
    curves = ceiling[:, None] * (1 - np.exp(-e[None, :] / (n_epochs / 5))) + 0.01 * rng.standard_normal(
        (n_trials, n_epochs)
    )
    final = np.array([curves[i, d - 1] if d else np.nan for i, d in enumerate(done)])
    trials = pd.DataFrame(
        {
            "trial_id": ids, "status": status, "arm": arm, "sparsity": level, "seed": rng.integers(0, 3, n_trials),
            "pacing": pacing, "ordering": ordering, "lr": lr, "epochs_done": done, "final_clip_score": final,
            "best_clip_score": final, "init_clip_score": 0.05 + 0.01 * rng.standard_normal(n_trials),
            "error": np.where(status == "errored", "RuntimeError: CUDA out of memory", None),
            "config_json": [
                json.dumps({"arm": a, "tasks": o.split(" > "), "pacing": p, "lr": r, "stage_span": s, "sparsity": lv,
                            "epochs": n_epochs, "steps_per_epoch": 40, "batch_size": 64, "weighting": "equal",
                            "model": "tiny", "seed": 0})
                for a, o, p, r, s, lv in zip(arm, ordering, pacing, lr, span, level)
            ],
            "started_at": 1.7e9 + np.arange(n_trials) * 30.0,
            "final/i2t_r1": rng.uniform(0, 1, n_trials), "final/modality_gap": rng.uniform(0.2, 1.2, n_trials),
            "param/pacing": np.where(arm == "curriculum", pacing, None),
            "param/lr": lr, "param/stage_span": np.where(arm == "curriculum", span, np.nan),
            "param/order_0": np.where(arm == "curriculum", rng.integers(0, 3, n_trials), np.nan),
            "param/order_1": np.where(arm == "curriculum", rng.integers(0, 2, n_trials), np.nan),
            "param/sparsity": level,
        }
    )  # fmt: skip
    mask = e[None, :] <= done[:, None]
    ti, ei = np.nonzero(mask)
    epochs = pd.DataFrame(
        {
            "trial_id": np.array(ids)[ti], "arm": arm[ti], "sparsity": level[ti], "epoch": e[ei],
            "clip_score": curves[ti, ei], "loss": 3.0 / e[ei], "data_fraction": np.minimum(1.0, 0.3 + e[ei] / n_epochs),
            "active_tasks": np.where(arm[ti] == "single_task", "itc", "itc,findings,rotation"), "time_s": 2.0,
            "loss/itc": 4.0 / e[ei], "loss/findings": np.where(arm[ti] == "single_task", np.nan, 0.5 / e[ei]),
            "loss/rotation": np.where(arm[ti] == "single_task", np.nan, 1.0 / e[ei]),
        }
    )  # fmt: skip
    return trials, epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--keep", type=Path, default=None, help="write the run (and report) here instead of a temp dir")
    args = parser.parse_args()

    from curriclip.reports import build_report

    trials, epochs = synthetic_run(args.trials, args.epochs)
    with tempfile.TemporaryDirectory() as tmp:
        run = args.keep or Path(tmp) / "bench_run"
        run.mkdir(parents=True, exist_ok=True)
        trials.to_parquet(run / "trials.parquet")
        epochs.to_parquet(run / "epochs.parquet")
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            out = build_report(run)
            times.append(time.perf_counter() - t0)
        size_mb = out.stat().st_size / 1e6
        page = out.read_text(encoding="utf-8")
        n_figs = page.count('class="plotly-graph-div"')
    print(f"trials: {len(trials)}  epoch rows: {len(epochs)}")
    print(f"render time: {min(times):.1f} s (best of {len(times)})  page: {size_mb:.2f} MB  figures: {n_figs}")
    verdict = "OK" if size_mb < LIMIT_MB else "TOO LARGE"
    print(f"size limit {LIMIT_MB:.0f} MB: {verdict}")
    if size_mb >= LIMIT_MB:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
