"""Fusion of the best trials: Dice per region of each member and of the fusion, beside the inter-rater floor.

Drawn from ``fusion.json`` (``curriclip fuse`` writes it); one panel per (K, method).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def draw(section: dict) -> go.Figure:
    """Grouped bars: Dice per region of each selected trial and of the fusion, one panel per (K, method);
    the inter-rater floor of each region as a dashed marker."""
    frame = pd.DataFrame(section["rows"])
    keys = sorted({(int(k), str(m)) for k, m in zip(frame["top_k"], frame["method"])})
    regions = section.get("regions") or [
        c.removeprefix("dice_") for c in frame.columns if c.startswith("dice_") and c != "dice_mean"
    ]
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
