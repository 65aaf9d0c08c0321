"""What a run's fusions say (``fusion.json``): per fusion, the comparison with its members, and each trial
against the inter-rater floor. ``curriclip fuse`` writes it beside ``fusion.parquet``; the report reads it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from curriclip.names import RunFile
from curriclip.rundir.atomic import atomic_json


def write_fusion_summary(run_dir: str | Path) -> Path | None:
    """Write ``fusion.json`` from the run's ``fusion.parquet`` (None when nothing was fused)."""
    summary = fusion_summary(run_dir)
    return None if summary is None else atomic_json(Path(run_dir) / RunFile.FUSION_SUMMARY, summary)


def fusion_summary(run_dir: str | Path) -> dict | None:
    """``{"fusions": [comparison per (K, method)], "rows": records, "trials": floor verdicts}``, or None
    when nothing was fused. ``trials``: every trial's last-epoch Dice per region, described as
    within or below the inter-rater floor."""
    from curriclip.fusion.compare import comparison, regions_of, summary_rows

    path = Path(run_dir) / RunFile.FUSION
    if not path.is_file():
        return None
    frame = summary_rows(pd.read_parquet(path))
    groups = [group for _, group in frame.groupby(["top_k", "method"], sort=True)]
    return {
        "fusions": [comparison(group) for group in groups],
        "rows": frame.to_dict(orient="records"),
        "regions": regions_of(frame),
        "trials": trial_verdicts(Path(run_dir)),
    }


def trial_verdicts(run_dir: Path) -> list[dict]:
    """Each trial with Dice per region: its last-epoch Dice and "within"/"below" the inter-rater floor."""
    import json

    from curriclip.data.store import read_manifest
    from curriclip.errors import DataError
    from curriclip.fusion.compare import floor_verdict

    trials_path = run_dir / RunFile.TRIALS
    if not trials_path.is_file():
        return []
    trials = pd.read_parquet(trials_path)
    regions = [c.removeprefix("final/dice_") for c in trials.columns if c.startswith("final/dice_")]
    regions = [r for r in regions if r != "mean"]
    out, floors = [], {}
    for _, row in trials.iterrows():
        if not regions or pd.isna(row[f"final/dice_{regions[0]}"]):
            continue
        dataset_dir = json.loads(row["config_json"]).get("dataset_dir", "")
        if dataset_dir not in floors:
            try:
                floors[dataset_dir] = (read_manifest(dataset_dir).get("raters") or {}).get("inter_rater_dice") or {}
            except DataError:
                floors[dataset_dir] = {}
        entry = {"trial_id": row["trial_id"]}
        for region in regions:
            dice = float(row[f"final/dice_{region}"])
            entry[f"dice_{region}"] = dice
            entry[f"verdict_{region}"] = floor_verdict(dice, floors[dataset_dir].get(region))
        out.append(entry)
    return out
