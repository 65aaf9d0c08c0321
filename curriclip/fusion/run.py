"""``curriclip fuse RUN_DIR --top K``: fuse the best trials' segmentations and embeddings, compare with each.

BRATS's claim under test: fusing several good algorithms by hierarchical majority vote
ranks above every single one. The top-K trials are selected on the search phase's
validate results (``--select-by``: the search metric, ``dice`` or ``clip_score``); their
test-split predictions and the fusion are scored per case (3-D) and region against the
raters' consensus and the reference (``scoring``), beside the raters themselves (the
floor). The fused embedding is the concatenation of the K L2-normalised member
embeddings divided by sqrt(K): a unit vector whose cosine with another fused vector is the
mean of the K members' cosines, so vectors of independently trained models are never
added together. ``fusion.parquet`` gets one summary row per member and the fusion
(``scope`` "summary") and the per-case x region table (``scope`` "case"), atomically; the
rows of an earlier fuse with the same K and method are replaced.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from curriclip.errors import ConfigError, DataError
from curriclip.fusion.compare import ALIGNMENT, FUSED, SELECTION, comparison, floor_verdict
from curriclip.fusion.members import predict_member, select_trials
from curriclip.fusion.vote import fuse
from curriclip.names import RunFile

#: ``--select-by`` -> the trials.parquet metric (``final/<metric>``, the search phase's validate value)
SELECT_BY = {"dice": "dice_mean", "clip_score": "clip_score"}


def _search_metric(run_dir: Path) -> str:
    path = run_dir / RunFile.EXPERIMENT
    if not path.is_file():
        raise DataError(f"{path}: missing (not a run directory)")
    return str((yaml.safe_load(path.read_text()).get("search") or {}).get("metric", "clip_score"))


def selection_metric(run_dir: Path, select_by: str | None) -> str:
    """The metric members are selected by: ``--select-by`` (dice | clip_score) or the run's search metric."""
    if select_by is None:
        return _search_metric(run_dir)
    if select_by not in SELECT_BY:
        raise ConfigError(f"--select-by {select_by!r}: expected one of {', '.join(SELECT_BY)}")
    return SELECT_BY[select_by]


def fused_embeddings(members: list[torch.Tensor]) -> torch.Tensor:
    """(N, K D): the members' L2-normalised embeddings side by side, divided by sqrt(K) (unit norm)."""
    parts = [torch.nn.functional.normalize(m, dim=-1) for m in members]
    return torch.cat(parts, dim=-1) / math.sqrt(len(parts))


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


def fuse_run(run_dir: Path, top: int, method: str = "vote", select_by: str | None = None) -> pd.DataFrame:
    """Fuse the top-``top`` trials of ``run_dir``; returns (and saves) this fusion's rows."""
    from curriclip.fusion.scoring import RATER, TRIAL, case_rows, fusion_vs_best, summary
    from curriclip.fusion.summary import write_fusion_summary
    from curriclip.fusion.targets import load_targets
    from curriclip.rundir.atomic import atomic_parquet

    trials_path = run_dir / RunFile.TRIALS
    if not trials_path.is_file():
        raise DataError(f"{trials_path}: missing (run `curriclip report {run_dir}` to export the results)")
    metric = selection_metric(run_dir, select_by)
    selected, task = select_trials(pd.read_parquet(trials_path), metric, top)
    members = [predict_member(run_dir, row, task, metric) for _, row in selected.iterrows()]
    dataset_dir = json.loads(selected.iloc[0]["config_json"])["dataset_dir"]
    targets = load_targets(dataset_dir, members[0].masks.shape[-1])
    fused_masks = fuse(np.stack([m.masks for m in members]), method, task == "regions")
    participants = {m.trial_id: (TRIAL, m.masks) for m in members}
    participants[FUSED] = (FUSED, fused_masks)
    for index, masks in enumerate(targets.raters if targets.raters is not None else []):
        participants[f"rater_{index}"] = (RATER, masks)
    cases = case_rows(participants, targets)
    order = [m.trial_id for m in members] + [FUSED]
    frame = summary(cases, targets.primary, order)
    positives = _same_report(dataset_dir)
    embeddings = [(m.image_embeddings, m.text_embeddings) for m in members]
    embeddings.append(
        (
            fused_embeddings([m.image_embeddings for m in members]),
            fused_embeddings([m.text_embeddings for m in members]),
        )
    )
    for column, values in zip(ALIGNMENT, zip(*[_alignment(i, t, positives).values() for i, t in embeddings])):
        frame[column] = values
    frame.insert(1, "kind", [TRIAL] * len(members) + [FUSED])
    frame.insert(2, "search_metric_value", [m.metric_value for m in members] + [float("nan")])
    regions = [c.removeprefix("floor_") for c in frame.columns if c.startswith("floor_") and "hd95" not in c]
    for column in [f"dice_{region}" for region in regions] + ["dice_mean", *ALIGNMENT]:
        frame[f"rank_{column}"] = _rank(frame, column)
    for region in regions:
        floor = frame[f"floor_{region}"].iloc[0]
        frame[f"verdict_{region}"] = [
            floor_verdict(d, None if np.isnan(floor) else floor) for d in frame[f"dice_{region}"]
        ]
    versus = fusion_vs_best(cases, targets.primary, members[0].trial_id)
    for key, value in versus.items():
        frame[key] = [value if member == FUSED else None for member in frame["member"]]
    frame["target"] = targets.primary
    frame["spacing_recorded"] = targets.spacing_recorded
    frame["scope"] = "summary"
    cases["scope"] = "case"
    rows = pd.concat([frame, cases], ignore_index=True)
    rows.insert(0, "top_k", top)
    rows.insert(1, "method", method)
    rows.insert(2, "task", task)
    rows["search_metric"] = metric
    rows["selection"] = SELECTION
    path = run_dir / RunFile.FUSION
    previous = pd.read_parquet(path) if path.is_file() else pd.DataFrame()
    if not previous.empty:
        previous = previous[~((previous["top_k"] == top) & (previous["method"] == method))]
    atomic_parquet(pd.concat([previous, rows], ignore_index=True), path)
    write_fusion_summary(run_dir)
    return rows


def summary_lines(frame: pd.DataFrame) -> list[str]:
    """The CLI's account of one fusion."""
    from curriclip.fusion.compare import summary_rows

    facts = comparison(frame)
    frame = summary_rows(frame)
    regions = list(facts["best_trial_per_region"])
    target = frame["target"].iloc[0] if "target" in frame.columns else "reference"
    lines = [
        f"fusion of the top {facts['top_k']} trials ({facts['method']}), {SELECTION}; "
        f"per-case 3-D scores against the {target}, mean over {int(frame['cases'].iloc[0])} test cases [95% interval]"
    ]
    for _, row in frame.iterrows():
        dice = "  ".join(
            f"dice_{r} {row[f'dice_{r}']:.3f} [{row[f'dice_{r}_low']:.3f}, {row[f'dice_{r}_high']:.3f}]"
            f" hd95_{r} {row[f'hd95_{r}']:.1f} mm"
            for r in regions
        )
        lines.append(
            f"{row['member']:<11} {dice}  BraTS rank {int(row['brats_rank'])} (mean rank {row['brats_mean_rank']:.2f})"
            f"  clip_score {row['clip_score']:.3f}  i2t_r1 {row['i2t_r1']:.3f}"
        )
    floor = ", ".join(f"{r} {v:.3f}" for r, v in facts["floor"].items() if not np.isnan(v))
    lines.append(f"rater floor (each rater against the raters' consensus, test cases): {floor or 'no raters'}")
    for _, row in frame.iterrows():
        verdicts = ", ".join(f"{r} {row[f'verdict_{r}']}" for r in regions)
        lines.append(f"  {row['member']:<11} vs rater variability: {verdicts}")
    lines.append(
        "best single trial per region: " + ", ".join(f"{r} {t}" for r, t in facts["best_trial_per_region"].items())
    )
    common = facts["one_trial_best_on_all_regions"]
    lines.append(f"one trial best on all regions: {', '.join(common) if common else 'none'}")
    for region, versus in facts["fusion_vs_best_member"].items():
        lines.append(
            f"fusion - {facts['best_member']} (best by selection), dice_{region}: {versus['diff']:+.3f} "
            f"[{versus['low']:+.3f}, {versus['high']:+.3f}] (Bonferroni over regions), "
            f"permutation p {versus['p']:.3g}: {versus['verdict']}"
        )
    return lines
