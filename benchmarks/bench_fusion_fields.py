"""Fusion as BraTS would score it: K = 3 and 5 trials against every member and the rater floor, per case.

Trains ``TRIALS`` small trials (ITC + region segmentation, 4-contrast stem, seeds 0..)
on a synth-brats dataset with ``run_trial`` (no Ray), selects the top K by their
validate Dice (``--select-by dice``) and runs ``curriclip fuse``'s ``fuse_run`` for
K = 3 and 5. Every number is a per-case 3-D score against the raters' consensus on the
test cases: mean over cases with a 95 % bootstrap interval; the floor is each rater
against the same consensus; "fusion - best" is the paired comparison with the member
first by the selection metric (Bonferroni over the three regions).

    python benchmarks/bench_fusion_fields.py   # writes benchmarks/results/fusion_fields.{json,md}
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CASES, SLICES, SIZE, RATERS, DATA_SEED = 100, 4, 64, 4, 0
TRIALS, EPOCHS, STEPS, BATCH = 5, 4, 25, 32
REGIONS = ("wt", "tc", "et")


def _trial_config(dataset: Path, seed: int) -> dict:
    return {
        "arm": "multitask",
        "stage_span": 0.0,
        "pacing": "none",
        "dataset_dir": str(dataset),
        "tasks": ["itc", "regions"],
        "sparsity": 1.0,
        "epochs": EPOCHS,
        "steps_per_epoch": STEPS,
        "batch_size": BATCH,
        "eval_batch_size": 64,
        "threads": int(os.environ.get("CURRICLIP_THREADS", "2")),
        "device": "cpu",
        "image_channels": "stem",
        "seed": seed,
        "phase": "search",
    }


def train_run(work: Path) -> tuple[Path, Path]:
    from curriclip.config import TrialConfig
    from curriclip.data.brats.synth import generate_synth_brats
    from curriclip.trainables import run_trial

    dataset = generate_synth_brats(work / "brats", CASES, SLICES, SIZE, RATERS, DATA_SEED)
    run_dir = work / "run"
    rows = []
    for seed in range(TRIALS):
        cfg = _trial_config(dataset, seed)
        reports: list = []
        run_trial(TrialConfig.model_validate(cfg), lambda metrics, state, out=reports: out.append((metrics, state())))
        metrics, state = reports[-1]
        checkpoint = run_dir / f"trial_s{seed}" / "checkpoint_000000"
        checkpoint.mkdir(parents=True)
        torch.save(state, checkpoint / "state.pt")
        rows.append(
            {
                "trial_id": f"s{seed}",
                "status": "completed",
                "phase": "search",
                "config_json": json.dumps(cfg),
                "final/dice_mean": metrics["dice_mean"],
                "final/clip_score": metrics["clip_score"],
            }
        )
        print(f"trial s{seed}: validate dice_mean {metrics['dice_mean']:.3f}", file=sys.stderr)
    pd.DataFrame(rows).to_parquet(run_dir / "trials.parquet")
    (run_dir / "experiment.yaml").write_text(yaml.safe_dump({"search": {"metric": "clip_score"}}))
    return dataset, run_dir


def _cell(row: pd.Series, score: str, region: str, digits: int) -> str:
    mean, low, high = row[f"{score}_{region}"], row[f"{score}_{region}_low"], row[f"{score}_{region}_high"]
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


CASE_COLUMNS = [
    "target",
    "member",
    "kind",
    "case",
    "region",
    "dice",
    "hd95",
    "sensitivity",
    "specificity",
    "volume_ml",
    "target_volume_ml",
]


def compact(frame: pd.DataFrame) -> dict:
    """A fusion's rows for the results file: the summary rows, and the per-case table (rounded)."""
    summary = frame[frame["scope"] == "summary"].dropna(axis=1, how="all")
    cases = frame[frame["scope"] == "case"][CASE_COLUMNS].round(5)
    return {"summary": summary.to_dict(orient="records"), "cases": cases.to_dict(orient="list")}


def markdown(frames: dict[int, pd.DataFrame], header: str) -> str:
    lines = [header, ""]
    for top, frame in frames.items():
        summary = frame[frame["scope"] == "summary"]
        cases = frame[frame["scope"] == "case"]
        main = cases[cases["target"] == summary["target"].iloc[0]]
        lines.append(f"### K = {top} (members selected by validate Dice), {int(summary['cases'].iloc[0])} test cases")
        lines.append("")
        columns = [f"Dice {r.upper()}" for r in REGIONS] + [f"HD95 {r.upper()} (mm)" for r in REGIONS]
        lines.append("| participant | " + " | ".join(columns) + " | BraTS rank |")
        lines.append("|---" * (len(columns) + 2) + "|")
        for _, row in summary.iterrows():
            cells = [_cell(row, "dice", r, 3) for r in REGIONS] + [_cell(row, "hd95", r, 1) for r in REGIONS]
            lines.append(f"| {row['member']} | " + " | ".join(cells) + f" | {int(row['brats_rank'])} |")
        from curriclip.metrics.brats_ranking import mean_interval

        raters = main[main["kind"] == "rater"]
        per_case = raters.groupby(["case", "region"])[["dice", "hd95"]].mean().reset_index()
        cells = []
        for score, digits in (("dice", 3), ("hd95", 1)):
            for region in REGIONS:
                mean, low, high = mean_interval(per_case[per_case["region"] == region][score].to_numpy())
                cells.append(f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]")
        lines.append("| rater floor (rater vs consensus, mean of raters) | " + " | ".join(cells) + " | - |")
        fused = summary[summary["member"] == "fusion"].iloc[0]
        lines.append("")
        for region in REGIONS:
            key = f"vs_best_dice_{region}"
            lines.append(
                f"- fusion - {fused['vs_best_member']} (first by validate Dice), Dice {region.upper()}: "
                f"{fused[f'{key}_diff']:+.3f} [{fused[f'{key}_low']:+.3f}, {fused[f'{key}_high']:+.3f}] "
                f"(98.3 % bootstrap, Bonferroni over 3 regions), paired permutation p = {fused[f'{key}_p']:.3g}: "
                f"{fused[f'{key}_verdict']}"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    import monai

    from curriclip.fusion.run import fuse_run

    started = time.time()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("CURRICLIP_CACHE", str(Path(tmp) / "cache"))
        _, run_dir = train_run(Path(tmp))
        frames = {top: fuse_run(run_dir, top, "vote", "dice") for top in (3, 5)}
        trials = pd.read_parquet(run_dir / "trials.parquet")
    wall = round(time.time() - started, 1)
    meta = {
        "commit": commit,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "monai": monai.__version__,
            "numpy": np.__version__,
        },
        "data": {
            "generator": "synth-brats",
            "cases": CASES,
            "slices_per_case": SLICES,
            "image_size": SIZE,
            "raters": RATERS,
            "seed": DATA_SEED,
        },
        "trials": {
            "count": TRIALS,
            "seeds": list(range(TRIALS)),
            "epochs": EPOCHS,
            "steps_per_epoch": STEPS,
            "batch_size": BATCH,
            "tasks": ["itc", "regions"],
            "image_channels": "stem",
            "validate_dice_mean": dict(zip(trials["trial_id"], trials["final/dice_mean"])),
        },
        "wall_seconds": wall,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {**meta, "fusions": {str(k): compact(f) for k, f in frames.items()}}
    (RESULTS / "fusion_fields.json").write_text(json.dumps(out, default=float))
    header = (
        f"## Fusion on synth-brats (commit {commit[:10]}, {TRIALS} trials, seeds 0-{TRIALS - 1}, "
        f"{CASES} cases of which the test split's are scored; wall {wall:.0f} s)\n\n"
        "Per-case 3-D scores against the raters' consensus (hierarchical majority vote of "
        f"{RATERS} simulated raters); mean over test cases [95 % percentile bootstrap over cases]."
    )
    text = markdown(frames, header)
    (RESULTS / "fusion_fields.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
