"""``curriclip fuse`` on a hand-made run directory (trials trained by ``run_trial``, no Ray)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import tiny_trial
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.config import TrialConfig
from curriclip.data.brats.synth import generate_synth_brats
from curriclip.fusion.summary import fusion_summary
from curriclip.reports.figures.fusion import draw
from curriclip.trainables import run_trial

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # Ray end to end: past the 300 s default


def _run_dir(tmp_path: Path) -> tuple[Path, dict[str, dict]]:
    dataset = generate_synth_brats(tmp_path / "brats", n_cases=10, slices_per_case=2, image_size=32, raters=3)
    run_dir = tmp_path / "run"
    rows, finals = [], {}
    for seed in range(3):
        cfg = tiny_trial(
            dataset, tasks=["itc", "regions"], seed=seed, epochs=1, steps_per_epoch=2, image_channels="stem"
        )
        cfg["phase"] = "confirm"  # evaluated on test, the split fusion scores on
        reports = []
        run_trial(TrialConfig.model_validate(cfg), lambda metrics, state, out=reports: out.append((metrics, state())))
        metrics, state = reports[-1]
        trial_id = f"t{seed}"
        (run_dir / f"trial_{trial_id}" / "checkpoint_000000").mkdir(parents=True)
        torch.save(state, run_dir / f"trial_{trial_id}" / "checkpoint_000000" / "state.pt")
        finals[trial_id] = metrics
        rows.append(
            {
                "trial_id": trial_id,
                "status": "completed",
                "config_json": json.dumps(cfg),
                "final/clip_score": metrics["clip_score"],
            }
        )
    pd.DataFrame(rows).to_parquet(run_dir / "trials.parquet")
    (run_dir / "experiment.yaml").write_text(yaml.safe_dump({"search": {"metric": "clip_score"}}))
    return run_dir, finals


def test_fuse_writes_rows_that_agree_with_each_trials_evaluation(tmp_path, monkeypatch):
    monkeypatch.setenv("CURRICLIP_CACHE", str(tmp_path / "cache"))
    run_dir, finals = _run_dir(tmp_path)
    result = CliRunner().invoke(app, ["fuse", str(run_dir), "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "selected on the search phase's metric (the validate split" in result.output
    frame = pd.read_parquet(run_dir / "fusion.parquet")
    assert sorted(frame["member"]) == ["fusion", "t0", "t1", "t2"]
    for trial_id, metrics in finals.items():  # the fusion re-predicts exactly what the trial evaluated
        row = frame[frame["member"] == trial_id].iloc[0]
        for region in ("wt", "tc", "et"):
            assert row[f"dice_{region}"] == pytest.approx(metrics[f"dice_{region}"], abs=1e-9)
        assert row["clip_score"] == pytest.approx(metrics["clip_score"], abs=1e-5)
    manifest = json.loads((tmp_path / "brats" / "manifest.json").read_text())
    assert frame["floor_wt"].iloc[0] == pytest.approx(manifest["raters"]["inter_rater_dice"]["wt"])
    assert set(frame["verdict_wt"]) <= {"within", "below"}
    assert frame["rank_dice_wt"].min() == 1
    again = CliRunner().invoke(app, ["fuse", str(run_dir), "--top", "2"])
    assert again.exit_code == 0, again.output
    frame = pd.read_parquet(run_dir / "fusion.parquet")
    assert sorted(frame.groupby("top_k").size().to_dict().items()) == [(2, 3), (3, 4)]
    section = fusion_summary(run_dir)
    assert [f["top_k"] for f in section["fusions"]] == [2, 3]
    assert len(draw(section).data) == 3 + 1 + 4 + 1  # bars per member and a floor marker, per panel
    assert np.isfinite(section["fusions"][1]["fusion"]["dice_wt"])
    # the report's Fusion section: one row per (K, method), the fused Dice as fused, and the figure
    from curriclip.reports import load_results
    from curriclip.reports.sections.fusion import SECTION

    blocks = SECTION.blocks(load_results(run_dir))
    table = next(b for b in blocks if b.kind == "table")
    assert [row[0].text for row in table.rows] == ["2", "3"]
    assert float(table.rows[1][2].text) == pytest.approx(section["fusions"][1]["fusion"]["dice_wt"], abs=5e-4)
    assert any(b.kind == "plot" for b in blocks)

    too_many = CliRunner().invoke(app, ["fuse", str(run_dir), "--top", "4"])
    assert too_many.exit_code == 2
    assert "only 3 completed trial(s) train the 'regions' head" in too_many.output
    assert len(pd.read_parquet(run_dir / "fusion.parquet")) == 7  # untouched
