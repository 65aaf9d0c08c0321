"""The task map's figures (TaCo against the CLIP baseline), drawn from the map's own files.

A map directory holds ``metrics.json`` and ``embeddings.parquet`` (``curriclip taskmap
map`` writes both); the data functions read them, the drawing functions make three
views per model: a 2-D PCA projection of the held-out instances coloured by category,
the cosine-similarity matrix ordered by family (TaCo's distance peaks are its diagonal
blocks), and each sweep's distance from its first (weakest) modification against strength.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.rundir.task_map import EMBEDDINGS_FILE, METRICS_FILE, find_map_dir

MODELS = {"taco": "TaCo", "clip": "CLIP baseline"}
COLOURS = {"semantic": "#1f77b4", "generative": "#2ca02c", "transformation": "#ff7f0e", "failure": "#7f7f7f"}


@dataclass
class TaskMapData:
    map_dir: Path
    metrics: dict[str, Any]
    embeddings: pd.DataFrame


def task_map_data(path: str | Path) -> TaskMapData | None:
    """Metrics and embeddings of the map at ``path`` (a map or run directory); None when there is none."""
    map_dir = find_map_dir(path)
    if map_dir is None:
        return None
    metrics = json.loads((map_dir / METRICS_FILE).read_text())
    return TaskMapData(map_dir, metrics, pd.read_parquet(map_dir / EMBEDDINGS_FILE))


def _unit_rows(rows: pd.DataFrame) -> np.ndarray:
    x = np.stack(rows["embedding"].to_numpy()).astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _held_out(embeddings: pd.DataFrame, model: str) -> pd.DataFrame:
    return embeddings[(embeddings["model"] == model) & (embeddings["set"] == "eval")]


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, list[float | None]]]:
    """(measure, value per model) for the headline numbers: clustering, peaks, trajectory Spearman per sweep."""
    keys = [("clustering", k) for k in ("silhouette", "nmi", "ari", "knn_accuracy")]
    keys += [("peaks", k) for k in ("peak_contrast", "same_task_auc")]
    keys += [("trajectories", sweep) for sweep in sorted(metrics.get("taco", {}).get("trajectories", {}))]
    rows = []
    for group, key in keys:
        values = []
        for model in MODELS:
            value = metrics.get(model, {}).get(group, {}).get(key)
            values.append(value.get("spearman") if isinstance(value, dict) else value)
        rows.append((f"{key} spearman" if group == "trajectories" else key, values))
    return rows


def projection_figure(embeddings: pd.DataFrame) -> go.Figure:
    from sklearn.decomposition import PCA

    fig = make_subplots(rows=1, cols=2, subplot_titles=list(MODELS.values()))
    for col, model in enumerate(MODELS, start=1):
        rows = _held_out(embeddings, model)
        if rows.empty:
            continue
        xy = PCA(n_components=2, random_state=0).fit_transform(_unit_rows(rows))
        for category, colour in COLOURS.items():
            chosen = (rows["category"] == category).to_numpy()
            if chosen.any():
                fig.add_trace(
                    go.Scatter(
                        x=xy[chosen, 0],
                        y=xy[chosen, 1],
                        mode="markers",
                        name=category,
                        legendgroup=category,
                        showlegend=col == 1,
                        marker={"color": colour, "size": 7},
                        text=[f"{f} ({s:.2f})" for f, s in zip(rows["family"][chosen], rows["strength"][chosen])],
                        hoverinfo="text",
                    ),
                    row=1,
                    col=col,
                )
    fig.update_layout(title="Held-out task instances, PCA of the embeddings, coloured by category", height=460)
    return fig


def similarity_figure(embeddings: pd.DataFrame) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(MODELS.values()))
    for col, model in enumerate(MODELS, start=1):
        rows = _held_out(embeddings, model)
        if rows.empty:
            continue
        rows = rows.sort_values(["category", "family", "strength"], kind="stable")
        labels = [f"{f} #{i}" for f, i in zip(rows["family"], rows["index"])]
        unit = _unit_rows(rows)
        fig.add_trace(
            go.Heatmap(z=unit @ unit.T, x=labels, y=labels, colorscale="Viridis", showscale=col == 2, zmin=-1, zmax=1),
            row=1,
            col=col,
        )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    fig.update_layout(title="Cosine similarity of held-out instances (ordered by category, family)", height=520)
    return fig


def trajectory_figure(embeddings: pd.DataFrame) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=list(MODELS.values()))
    for col, model in enumerate(MODELS, start=1):
        rows = embeddings[(embeddings["model"] == model) & (embeddings["set"] == "sweep")]
        for sweep, part in rows.groupby("sweep", sort=True):
            strengths, distances = [], []
            for _, one in part.groupby("repeat"):
                x = np.stack(one["embedding"].to_numpy()).astype(np.float64)
                strengths.append(one["strength"].to_numpy() / max(one["strength"].max(), 1e-9))
                distances.append(np.linalg.norm(x - x[0], axis=1))
            fig.add_trace(
                go.Scatter(
                    x=np.mean(strengths, axis=0),
                    y=np.mean(distances, axis=0),
                    mode="lines+markers",
                    name=str(sweep),
                    legendgroup=str(sweep),
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="modification strength (fraction of the sweep)")
    fig.update_yaxes(title_text="distance from the first modification")
    fig.update_layout(title="Trajectories of iterative modifications (mean over repeats)", height=420)
    return fig
