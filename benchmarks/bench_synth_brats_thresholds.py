"""How hard synth-brats is: a three-threshold rule against the rater floor, before and after the bias field.

The rule: WT = FLAIR > a, ET = T1c > c, TC = WT and (T1 < b or ET); the thresholds are
fitted on the train cases (grid over 0..255, mean per-case Dice against the reference)
and scored on the test cases, per case (3-D Dice, ``curriclip.metrics.brats``), against
the raters' consensus, beside the floor (each rater against that consensus). "before"
is the generator of commit ``BEFORE`` (read from git), "after" the working tree's.

    python benchmarks/bench_synth_brats_thresholds.py   # writes benchmarks/results/synth_brats_thresholds.json
"""

from __future__ import annotations

import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "synth_brats_thresholds.json"
BEFORE = "9517c50"  # the last commit with generator version 1 (symmetric slices, no bias field)
CASES, SLICES, SIZE, RATERS, SEEDS = 60, 4, 64, 4, (0, 1, 2)
T1, T1C, T2, FLAIR = range(4)
GRID = np.arange(0, 256, 4)


def _generator(commit: str | None):
    if commit is None:
        from curriclip.data.brats import synth

        return synth
    source = subprocess.run(
        ["git", "show", f"{commit}:curriclip/data/brats/synth.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "synth_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("synth_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _dice_per_case(pred: np.ndarray, ref: np.ndarray, cases: np.ndarray) -> float:
    scores = []
    for case in np.unique(cases):
        p, r = pred[cases == case], ref[cases == case]
        total = p.sum() + r.sum()
        scores.append(1.0 if total == 0 else 2 * (p & r).sum() / total)
    return float(np.mean(scores))


def _rule(images: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    wt = images[:, FLAIR] > a
    et = (images[:, T1C] > c) & wt
    tc = wt & ((images[:, T1] < b) & (images[:, T1] > 0) | et)
    return np.stack([wt, tc, et], axis=1)


def _fit(images: np.ndarray, ref: np.ndarray, cases: np.ndarray) -> tuple[float, float, float]:
    a = max(GRID, key=lambda t: _dice_per_case(images[:, FLAIR] > t, ref[:, 0], cases))
    c = max(GRID, key=lambda t: _dice_per_case((images[:, T1C] > t) & (images[:, FLAIR] > a), ref[:, 2], cases))
    b = max(GRID, key=lambda t: _dice_per_case(_rule(images, a, t, c)[:, 1], ref[:, 1], cases))
    return float(a), float(b), float(c)


def measure(commit: str | None, seed: int) -> dict:
    from curriclip.fusion.vote import hierarchical_vote
    from curriclip.metrics.brats import case_table

    slices = _generator(commit).generate_cases(CASES, SLICES, SIZE, RATERS, seed)
    part = {split: [s for s in slices if s.split == split] for split in ("train", "test")}
    arrays = {
        split: (
            np.stack([s.image for s in rows]).astype(np.float64),
            np.stack([s.masks for s in rows]).astype(bool),
            np.array([s.case_id for s in rows]),
        )
        for split, rows in part.items()
    }
    thresholds = _fit(*arrays["train"])
    images, reference, cases = arrays["test"]
    raters = np.stack([s.raters for s in part["test"]]).transpose(1, 0, 2, 3, 4)
    consensus = hierarchical_vote(raters)
    spacing = (1.0, 1.0, 1.0)  # Dice does not depend on it
    rule = case_table(_rule(images, *thresholds), consensus, cases, spacing).groupby("region")["dice"].mean()
    floor = pd.concat([case_table(r, consensus, cases, spacing) for r in raters]).groupby("region")["dice"].mean()
    return {
        "seed": seed,
        "thresholds_flair_t1_t1c": thresholds,
        "rule_dice": {r: float(rule[r]) for r in ("wt", "tc", "et")},
        "rater_floor_dice": {r: float(floor[r]) for r in ("wt", "tc", "et")},
        "test_cases": int(len(np.unique(cases))),
    }


def main() -> None:
    import monai
    import torch

    started = time.time()
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    results = {"before": [measure(BEFORE, s) for s in SEEDS], "after": [measure(None, s) for s in SEEDS]}
    out = {
        "what": "three-threshold rule vs rater floor on synth-brats (per-case Dice against the raters' consensus)",
        "commit": commit,
        "before_generator_commit": BEFORE,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "monai": monai.__version__,
        },
        "cases": CASES,
        "slices_per_case": SLICES,
        "image_size": SIZE,
        "raters": RATERS,
        "seeds": list(SEEDS),
        "results": results,
        "wall_seconds": round(time.time() - started, 1),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(out, indent=2))
    for when, rows in results.items():
        for region in ("wt", "tc", "et"):
            rule = [r["rule_dice"][region] for r in rows]
            floor = [r["rater_floor_dice"][region] for r in rows]
            print(
                f"{when:6s} {region}: rule {np.mean(rule):.3f} (seeds {', '.join(f'{v:.3f}' for v in rule)})"
                f"  floor {np.mean(floor):.3f} (seeds {', '.join(f'{v:.3f}' for v in floor)})"
            )
    print(f"written {RESULT} in {out['wall_seconds']} s", file=sys.stderr)


if __name__ == "__main__":
    main()
