"""``curriclip fuse RUN_DIR --top K``: fuse the best trials' segmentations and embeddings, compare with each.

BRATS's claim under test: fusing several good algorithms by hierarchical majority vote
ranks above every single one. For the top-K trials (``compare.SELECTION``) this
computes, on the test split, Dice per region of every member and of the fusion, their
ranks (1 = best; ties share the best rank), which member is best on which region, the
inter-rater floor verdict, and the same comparison for alignment: the mean of the K
models' L2-normalised image (and text) embeddings scored by CLIP score, gap and R@1.
Rows are added to ``fusion.parquet`` in the run directory (atomically; the rows of an
earlier fuse with the same K and method are replaced).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from curriclip.errors import DataError
from curriclip.fusion.compare import ALIGNMENT, FUSED, SELECTION, comparison, floor_verdict
from curriclip.fusion.members import predict_member, select_trials
from curriclip.fusion.vote import fuse
from curriclip.metrics.dice import dice_per_region
from curriclip.names import RunFile


def _search_metric(run_dir: Path) -> str:
    path = run_dir / RunFile.EXPERIMENT
    if not path.is_file():
        raise DataError(f"{path}: missing (not a run directory)")
    return str((yaml.safe_load(path.read_text()).get("search") or {}).get("metric", "clip_score"))


def _reference(dataset_dir: str, size: int) -> tuple[np.ndarray, list[str], dict]:
    """The test split's reference masks at the models' size, the region names, the rater floor."""
    from curriclip.data.loader import load_split
    from curriclip.data.store import read_manifest

    test = load_split(dataset_dir, "test", size, masks=True)
    floor = (read_manifest(dataset_dir).get("raters") or {}).get("inter_rater_dice") or {}
    return test.masks[torch.arange(len(test))].numpy().astype(bool), test.label_names, floor


def _alignment(images: torch.Tensor, texts: torch.Tensor, positives: torch.Tensor) -> dict[str, float]:
    from curriclip.metrics.spec import EvalInputs
    from curriclip.trainables.evaluation import run_metrics

    metrics = run_metrics(EvalInputs(n_resamples=100, images=images, texts=texts, positives=positives))
    return {name: metrics[name] for name in ALIGNMENT}


def _same_report(dataset_dir: str) -> torch.Tensor:
    """(N, N) test pairs whose reports are identical (positives for retrieval, as in the per-epoch evaluation)."""
    from curriclip.data.loader import load_split
    from curriclip.trainables.evaluation import identical_rows

    index: dict[str, int] = {}
    ids = [index.setdefault(text, len(index)) for text in load_split(dataset_dir, "test").texts]
    return identical_rows(torch.tensor(ids)[:, None])


def _rank(frame: pd.DataFrame, column: str) -> pd.Series:
    return frame[column].rank(ascending=False, method="min").astype(int)


def fuse_run(run_dir: Path, top: int, method: str = "vote") -> pd.DataFrame:
    """Fuse the top-``top`` trials of ``run_dir``; returns (and saves) this fusion's rows."""
    from curriclip.fusion.summary import write_fusion_summary
    from curriclip.rundir.atomic import atomic_parquet

    trials_path = run_dir / RunFile.TRIALS
    if not trials_path.is_file():
        raise DataError(f"{trials_path}: missing (run `curriclip report {run_dir}` to export the results)")
    metric = _search_metric(run_dir)
    selected, task = select_trials(pd.read_parquet(trials_path), metric, top)
    members = [predict_member(run_dir, row, task, metric) for _, row in selected.iterrows()]
    dataset_dir = json.loads(selected.iloc[0]["config_json"])["dataset_dir"]
    reference, names, floor = _reference(dataset_dir, members[0].masks.shape[-1])
    nested = task == "regions"
    fused_masks = fuse(np.stack([m.masks for m in members]), method, nested)
    positives = _same_report(dataset_dir)
    rows = []
    for name, masks, images, texts, value in [
        *[(m.trial_id, m.masks, m.image_embeddings, m.text_embeddings, m.metric_value) for m in members],
        (
            FUSED,
            fused_masks,
            torch.stack([m.image_embeddings for m in members]).mean(0),
            torch.stack([m.text_embeddings for m in members]).mean(0),
            float("nan"),
        ),
    ]:
        dice = dice_per_region(masks, reference).mean(axis=0)
        row = {"member": name, "kind": FUSED if name == FUSED else "trial", "search_metric_value": value}
        row.update({f"dice_{region}": float(score) for region, score in zip(names, dice)})
        row["dice_mean"] = float(dice.mean())
        row.update(_alignment(images, texts, positives))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in [f"dice_{region}" for region in names] + ["dice_mean", *ALIGNMENT]:
        frame[f"rank_{column}"] = _rank(frame, column)
    for region in names:
        frame[f"floor_{region}"] = floor.get(region, np.nan)
        frame[f"verdict_{region}"] = [floor_verdict(d, floor.get(region)) for d in frame[f"dice_{region}"]]
    frame.insert(0, "top_k", top)
    frame.insert(1, "method", method)
    frame.insert(2, "task", task)
    frame["search_metric"] = metric
    frame["selection"] = SELECTION
    path = run_dir / RunFile.FUSION
    previous = pd.read_parquet(path) if path.is_file() else pd.DataFrame()
    if not previous.empty:
        previous = previous[~((previous["top_k"] == top) & (previous["method"] == method))]
    atomic_parquet(pd.concat([previous, frame], ignore_index=True), path)
    write_fusion_summary(run_dir)
    return frame


def summary_lines(frame: pd.DataFrame) -> list[str]:
    """The CLI's account of one fusion."""
    facts = comparison(frame)
    regions = list(facts["best_trial_per_region"])
    lines = [f"fusion of the top {facts['top_k']} trials ({facts['method']}), {SELECTION}"]
    header = "member      " + " ".join(f"{'dice_' + r:>9}" for r in regions) + "  clip_score  gap     i2t_r1"
    lines.append(header)
    for _, row in frame.iterrows():
        dice = " ".join(f"{row[f'dice_{r}']:9.3f}" for r in regions)
        lines.append(
            f"{row['member']:<11} {dice}  {row['clip_score']:10.3f}  {row['clip_score_gap']:6.3f}  {row['i2t_r1']:6.3f}"
        )
    floor = ", ".join(f"{r} {v:.3f}" for r, v in facts["floor"].items() if not np.isnan(v))
    lines.append(f"inter-rater floor (test split): {floor or 'no raters'}")
    for _, row in frame.iterrows():
        verdicts = ", ".join(f"{r} {row[f'verdict_{r}']}" for r in regions)
        lines.append(f"  {row['member']:<11} vs rater variability: {verdicts}")
    lines.append(
        "best single trial per region: " + ", ".join(f"{r} {t}" for r, t in facts["best_trial_per_region"].items())
    )
    common = facts["one_trial_best_on_all_regions"]
    lines.append(f"one trial best on all regions: {', '.join(common) if common else 'none'}")
    above = facts["fusion_above_every_trial"]
    lines.append(
        "fusion above every single trial: " + ", ".join(f"{c} {'yes' if v else 'no'}" for c, v in above.items())
    )
    return lines
