"""``curriclip taskmap map --preset smoke`` end to end (CI-sized: well under a minute on one CPU)."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from curriclip.reports.figures.task_map import task_map_data
from curriclip.reports.sections.task_map import task_map_blocks
from curriclip.taskmap import FAILURE_FAMILIES, TASK_FAMILIES
from curriclip.taskmap.train import PRESETS
from curriclip.taskmap.trajectories import SWEEPS


def test_smoke_map_writes_embeddings_metrics_and_page(tiny_dataset, tmp_path, monkeypatch):
    from curriclip.cli import app

    monkeypatch.setenv("CURRICLIP_THREADS", "1")
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(app, ["taskmap", "map", str(tiny_dataset), "--out", str(run_dir), "--preset", "smoke"])
    assert result.exit_code == 0, result.output
    map_dir = run_dir / "taskmap"
    assert sorted(p.name for p in map_dir.iterdir()) == [
        "embeddings.parquet",
        "encoder.pt",
        "metrics.json",
        "settings.json",
        "taskmap.html",
    ]
    assert not (run_dir / ".taskmap.partial").exists()

    smoke = PRESETS["smoke"]
    families = len(TASK_FAMILIES) + len(FAILURE_FAMILIES)  # the synthetic data has masks: every family
    embeddings = pd.read_parquet(map_dir / "embeddings.parquet")
    for model in ("taco", "clip"):
        rows = embeddings[embeddings["model"] == model]
        assert (rows["set"] == "eval").sum() == smoke.eval_per_family * families
        assert (rows["set"] == "sweep").sum() == len(SWEEPS) * smoke.sweep_repeats * smoke.sweep_points
    taco_vectors = embeddings[embeddings["model"] == "taco"]["embedding"]
    assert {len(v) for v in taco_vectors} == {smoke.dim}
    assert all(abs(sum(x * x for x in v) - 1.0) < 1e-4 for v in taco_vectors)  # unit vectors

    metrics = json.loads((map_dir / "metrics.json").read_text())
    for model in ("taco", "clip"):
        for key in ("silhouette", "nmi", "ari", "knn_accuracy"):
            assert math.isfinite(metrics[model]["clustering"][key])
        assert 0.0 <= metrics[model]["peaks"]["same_task_auc"] <= 1.0
        assert sorted(metrics[model]["trajectories"]) == sorted(SWEEPS)
    assert metrics["failure_families"] == list(FAILURE_FAMILIES)

    state = torch.load(map_dir / "encoder.pt", weights_only=True)
    assert "net.conv1.weight" in state["encoder"] and state["encoder"]["net.conv1.weight"].shape[1] == 2

    page = (map_dir / "taskmap.html").read_text()
    # opens offline: nothing is fetched from the web, and the plotting library itself is inline
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", page)
    assert page.count("plotly.js v") >= 1
    assert page.count("Plotly.newPlot") == 3  # the map's three figures
    data = task_map_data(run_dir)
    assert data is not None and data.metrics == metrics
    assert [b.kind for b in task_map_blocks(data)] == ["text", "table", "plot", "plot", "plot"]
    assert task_map_data(tmp_path) is None
    assert json.loads((map_dir / "settings.json").read_text())["steps"] == smoke.steps  # CI-sized: the preset's

    again = CliRunner().invoke(app, ["taskmap", "map", str(tiny_dataset), "--out", str(run_dir), "--preset", "smoke"])
    assert again.exit_code == 2 and "already exists" in again.stderr

    # curriclip report includes the map when the run has one, and only then
    from test_reports import make_frames

    from curriclip.reports import build_report

    trials, epochs = make_frames(extra=False)
    for directory in (run_dir, tmp_path / "plain"):
        directory.mkdir(exist_ok=True)
        trials.to_parquet(directory / "trials.parquet")
        epochs.to_parquet(directory / "epochs.parquet")
    with_map = build_report(run_dir).read_text()
    without = build_report(tmp_path / "plain").read_text()
    assert 'id="task-map"' in with_map and 'id="task-map"' not in without
    assert with_map.count("Plotly.newPlot") == without.count("Plotly.newPlot") + 3


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_smoke_map_as_a_ray_task(tiny_dataset, tmp_path):
    """With --address the map is built by a Ray task (here on a fresh local Ray) and lands in the same place."""
    import ray

    from curriclip.cli import app

    try:
        result = CliRunner().invoke(
            app,
            ["taskmap", "map", str(tiny_dataset), "--out", str(tmp_path), "--preset", "smoke", "--address", "local"],
        )
    finally:
        ray.shutdown()
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "taskmap" / "metrics.json").read_text())
    assert math.isfinite(metrics["taco"]["clustering"]["nmi"])
