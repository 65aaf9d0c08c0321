"""The "Fusion" report section: data from ``fusion.parquet`` and a figure of Dice per region with the floor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FUSION_FILE = "fusion.parquet"


def report_section(run_dir: str | Path) -> dict | None:
    """``{"fusions": [comparison per (K, method)], "rows": records, "trials": floor verdicts}``, or None
    when nothing was fused. ``trials``: every trial's last-epoch Dice per region, described as
    within or below the inter-rater floor."""
    from curriclip.fusion.compare import comparison, summary_rows

    path = Path(run_dir) / FUSION_FILE
    if not path.is_file():
        return None
    frame = summary_rows(pd.read_parquet(path))
    groups = [group for _, group in frame.groupby(["top_k", "method"], sort=True)]
    return {
        "fusions": [comparison(group) for group in groups],
        "rows": frame.to_dict(orient="records"),
        "trials": trial_verdicts(Path(run_dir)),
    }


def trial_verdicts(run_dir: Path) -> list[dict]:
    """Each trial with Dice per region: its last-epoch Dice and "within"/"below" the inter-rater floor."""
    import json

    from curriclip.data.store import read_manifest
    from curriclip.errors import DataError
    from curriclip.fusion.compare import floor_verdict

    trials_path = run_dir / "trials.parquet"
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


def draw(section: dict):
    """Grouped bars: Dice per region of each selected trial and of the fusion, one panel per (K, method);
    the inter-rater floor of each region as a dashed marker."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from curriclip.fusion.compare import regions_of

    frame = pd.DataFrame(section["rows"])
    keys = sorted({(int(k), str(m)) for k, m in zip(frame["top_k"], frame["method"])})
    regions = regions_of(frame)
    figure = make_subplots(rows=1, cols=len(keys), subplot_titles=[f"top {k}, {m}" for k, m in keys])
    for col, (top, method) in enumerate(keys, start=1):
        part = frame[(frame["top_k"] == top) & (frame["method"] == method)]
        for _, row in part.iterrows():
            figure.add_trace(
                go.Bar(
                    x=regions,
                    y=[row[f"dice_{r}"] for r in regions],
                    name=str(row["member"]),
                    legendgroup=str(row["member"]),
                    showlegend=col == 1 or row["kind"] == "fusion",
                    marker_pattern_shape="/" if row["kind"] == "fusion" else "",
                ),
                row=1,
                col=col,
            )
        floors = [part[f"floor_{r}"].iloc[0] for r in regions]
        figure.add_trace(
            go.Scatter(
                x=regions,
                y=floors,
                mode="markers",
                marker={"symbol": "line-ew-open", "size": 30},
                name="inter-rater floor",
                showlegend=col == 1,
            ),
            row=1,
            col=col,
        )
    figure.update_layout(barmode="group", yaxis_title="Dice (test split)", title="Fusion of the best trials")
    return figure
