"""The controls on the default synthetic benchmark: untrained model, shuffled-pairs control, single-task ITC.

    python benchmarks/bench_controls.py [--n 3000] [--epochs 8] [--steps 40] [--seed 0] [--sparsity 1.0]

Runs one single-task trial and one shuffled-control trial (the default search's budget:
8 epochs x 40 steps of batch 64, no Ray) on the same held-out split and prints CLIP score
and Recall@1 with their 95% bootstrap intervals, the matched-vs-mismatched gap and the
modality gap, for the untrained model (``init_*``), the control and the trained model.
About a minute per trial on one free CPU core.
"""

from __future__ import annotations

import argparse

from curriclip.config import TrialConfig
from curriclip.data.sources import resolve
from curriclip.trainables import run_trial

ROWS = [
    ("CLIP score", "clip_score", True),
    ("gap matched-mismatched", "clip_score_gap", True),
    ("image->text R@1", "i2t_r1", True),
    ("text->image R@1", "t2i_r1", True),
    ("recall sum (max 6)", "recall_sum", False),
    ("modality gap", "modality_gap", False),
    ("zero-shot AUROC", "zeroshot_auroc", False),
]


def _cell(metrics: dict, key: str, ci: bool, prefix: str = "") -> str:
    value = metrics[prefix + key]
    if ci and prefix + key + "_ci_low" in metrics:
        return f"{value:.3f} [{metrics[prefix + key + '_ci_low']:.3f}, {metrics[prefix + key + '_ci_high']:.3f}]"
    return f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sparsity", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    dataset = resolve("synthetic", n=args.n, image_size=128, seed=0)
    final = {}
    for arm in ("single_task", "shuffled_control"):
        cfg = TrialConfig(
            arm=arm,
            dataset_dir=str(dataset),
            tasks=["itc"],
            pacing="none",
            sparsity=args.sparsity,
            seed=args.seed,
            epochs=args.epochs,
            steps_per_epoch=args.steps,
            threads=args.threads,
            device="cpu",
        )
        reports: list[dict] = []
        run_trial(cfg, lambda metrics, state, reports=reports: reports.append(metrics))
        final[arm] = reports[-1]
        print(
            f"{arm}: {final[arm]['time_s']:.0f} s, {final[arm]['test_pairs']} test pairs, "
            f"split {final[arm]['test_split_hash']}",
            flush=True,
        )
    assert final["single_task"]["test_split_hash"] == final["shuffled_control"]["test_split_hash"]
    print(f"\n{'metric':<24} {'untrained':<26} {'shuffled control':<26} {'single-task ITC':<26}")
    for label, key, ci in ROWS:
        print(
            f"{label:<24} {_cell(final['single_task'], key, ci, 'init_'):<26} "
            f"{_cell(final['shuffled_control'], key, ci):<26} {_cell(final['single_task'], key, ci):<26}"
        )


if __name__ == "__main__":
    main()
