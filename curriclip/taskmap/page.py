"""The task map's interactive page (Plotly, works offline) and its section for ``curriclip report``.

Three views per model (TaCo and the CLIP baseline): a 2-D PCA projection of the
held-out task instances coloured by category, the cosine-similarity matrix of the
instances ordered by family (TaCo's distance peaks are its diagonal blocks), and each
sweep's distance from the unmodified task against the modification strength.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from curriclip.taskmap.metrics import similarity_matrix, unit

MODELS = {"taco": "TaCo", "clip": "CLIP baseline"}
COLOURS = {"semantic": "#1f77b4", "generative": "#2ca02c", "transformation": "#ff7f0e", "failure": "#7f7f7f"}


def find_map_dir(path: str | Path) -> Path | None:
    """``path`` itself when it is a map directory, ``path/taskmap`` when a run holds one, else None."""
    root = Path(path)
    for candidate in (root, root / "taskmap"):
        if (candidate / "metrics.json").is_file() and (candidate / "embeddings.parquet").is_file():
            return candidate
    return None


def section_data(path: str | Path) -> dict | None:
    """Metrics and embeddings of the map at ``path`` (a map or run directory); None when there is none."""
    map_dir = find_map_dir(path)
    if map_dir is None:
        return None
    return {
        "map_dir": str(map_dir),
        "metrics": json.loads((map_dir / "metrics.json").read_text()),
        "embeddings": pd.read_parquet(map_dir / "embeddings.parquet"),
    }


def _matrix(rows: pd.DataFrame) -> np.ndarray:
    return np.stack(rows["embedding"].to_numpy()).astype(np.float64)


def projection_figure(embeddings: pd.DataFrame) -> go.Figure:
    from sklearn.decomposition import PCA

    fig = make_subplots(rows=1, cols=2, subplot_titles=[MODELS[m] for m in MODELS])
    for col, model in enumerate(MODELS, start=1):
        rows = embeddings[(embeddings["model"] == model) & (embeddings["set"] == "eval")]
        if rows.empty:
            continue
        xy = PCA(n_components=2, random_state=0).fit_transform(unit(_matrix(rows)))
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
    fig = make_subplots(rows=1, cols=2, subplot_titles=[MODELS[m] for m in MODELS])
    for col, model in enumerate(MODELS, start=1):
        rows = embeddings[(embeddings["model"] == model) & (embeddings["set"] == "eval")]
        if rows.empty:
            continue
        rows = rows.sort_values(["category", "family", "strength"], kind="stable")
        labels = [f"{f} #{i}" for f, i in zip(rows["family"], rows["index"])]
        fig.add_trace(
            go.Heatmap(
                z=similarity_matrix(_matrix(rows)),
                x=labels,
                y=labels,
                colorscale="Viridis",
                showscale=col == 2,
                zmin=-1,
                zmax=1,
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    fig.update_layout(title="Cosine similarity of held-out instances (ordered by category, family)", height=520)
    return fig


def trajectory_figure(embeddings: pd.DataFrame) -> go.Figure:
    fig = make_subplots(rows=1, cols=2, subplot_titles=[MODELS[m] for m in MODELS])
    for col, model in enumerate(MODELS, start=1):
        rows = embeddings[(embeddings["model"] == model) & (embeddings["set"] == "sweep")]
        for sweep, part in rows.groupby("sweep", sort=True):
            strengths, distances = [], []
            for _, one in part.groupby("repeat"):
                x = _matrix(one)
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
    fig.update_yaxes(title_text="distance from the unmodified task")
    fig.update_layout(title="Trajectories of iterative modifications (mean over repeats)", height=420)
    return fig


def metrics_table(metrics: dict[str, Any]) -> str:
    """The headline numbers of both models as an HTML table."""
    lines = ["<table><tr><th>measure</th>" + "".join(f"<th>{MODELS[m]}</th>" for m in MODELS) + "</tr>"]
    keys = [("clustering", k) for k in ("silhouette", "nmi", "ari", "knn_accuracy")]
    keys += [("peaks", k) for k in ("peak_contrast", "same_task_auc")]
    keys += [("trajectories", sweep) for sweep in sorted(metrics.get("taco", {}).get("trajectories", {}))]
    for group, key in keys:
        cells = []
        for model in MODELS:
            value = metrics.get(model, {}).get(group, {}).get(key)
            if isinstance(value, dict):
                value = value.get("spearman")
            cells.append("" if value is None else f"{value:.3f}")
        name = f"{key} spearman" if group == "trajectories" else key
        lines.append(f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join(lines + ["</table>"])


def section_html(data: dict) -> str:
    """The map as an HTML fragment (figures without plotly.js, which the page includes once)."""
    embeddings, metrics = data["embeddings"], data["metrics"]
    parts = [
        f"<p>Task map of <code>{html.escape(str(metrics.get('dataset')))}</code>: "
        f"{len(metrics.get('families', []))} task families, failure tasks: "
        f"{html.escape(', '.join(metrics.get('failure_families', [])) or 'none')}; "
        f"CLIP baseline: {html.escape(str(metrics.get('clip_baseline', 'untrained tower')))}.</p>",
        metrics_table(metrics),
    ]
    for figure in (projection_figure(embeddings), similarity_figure(embeddings), trajectory_figure(embeddings)):
        parts.append(figure.to_html(full_html=False, include_plotlyjs=False))
    return "\n".join(parts)


def write_page(map_dir: str | Path, path: str | Path) -> Path:
    """A standalone page with plotly.js embedded (opens offline), written atomically."""
    import plotly.offline

    data = section_data(map_dir)
    if data is None:
        raise FileNotFoundError(f"{map_dir}: no task map")
    body = section_html(data)
    script = plotly.offline.get_plotlyjs()
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>curriclip task map</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style>"
        f"<script>{script}</script></head><body><h1>Task map (TaCo)</h1>\n{body}\n</body></html>"
    )
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
