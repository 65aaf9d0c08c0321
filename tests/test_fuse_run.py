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
                "final/dice_mean": [0.2, 0.9, 0.5][seed],  # an order unlike clip_score's, for --select-by dice
            }
        )
    pd.DataFrame(rows).to_parquet(run_dir / "trials.parquet")
    (run_dir / "experiment.yaml").write_text(yaml.safe_dump({"search": {"metric": "clip_score"}}))
    return run_dir, finals


def test_fuse_scores_members_fusion_and_raters_per_case_against_one_target(tmp_path, monkeypatch):
    monkeypatch.setenv("CURRICLIP_CACHE", str(tmp_path / "cache"))
    run_dir, finals = _run_dir(tmp_path)
    result = CliRunner().invoke(app, ["fuse", str(run_dir), "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "selected on the search phase's metric (the validate split" in result.output
    assert "rater floor (each rater against the raters' consensus" in result.output
    frame = pd.read_parquet(run_dir / "fusion.parquet")
    summary, cases = frame[frame["scope"] == "summary"], frame[frame["scope"] == "case"]
    assert sorted(summary["member"]) == ["fusion", "t0", "t1", "t2"]
    # every participant (3 trials, the fusion, 3 raters) per case and region, against the consensus and the reference
    n_cases = cases["case"].nunique()
    assert n_cases == 2 and len(cases) == 2 * 7 * n_cases * 3
    assert set(cases["target"]) == {"consensus", "reference"} and set(summary["target"]) == {"consensus"}
    main = cases[cases["target"] == "consensus"]
    for _, row in summary.iterrows():
        for region in ("wt", "tc", "et"):
            part = main[(main["member"] == row["member"]) & (main["region"] == region)]
            assert row[f"dice_{region}"] == pytest.approx(part["dice"].mean(), abs=1e-12)
            assert row[f"hd95_{region}"] == pytest.approx(part["hd95"].mean(), abs=1e-12)
            assert row[f"dice_{region}_low"] <= row[f"dice_{region}"] <= row[f"dice_{region}_high"]
    raters = main[(main["kind"] == "rater") & (main["region"] == "wt")]
    assert summary["floor_wt"].iloc[0] == pytest.approx(raters["dice"].mean(), abs=1e-12)
    assert (cases["volume_ml"] >= 0).all() and (cases["target_volume_ml"] > 0).any()
    assert set(summary["verdict_wt"]) <= {"within", "below"}
    assert sorted(summary["brats_rank"])[0] == 1 and summary["rank_dice_wt"].min() == 1
    fused = summary[summary["member"] == "fusion"].iloc[0]
    best = max(finals, key=lambda t: finals[t]["clip_score"])  # the first by the selection metric
    assert fused["vs_best_member"] == best
    assert 0 < fused["vs_best_dice_wt_p"] <= 1 and fused["vs_best_dice_wt_verdict"] in {
        "better",
        "worse",
        "inconclusive",
    }
    assert summary[summary["member"] != "fusion"]["vs_best_dice_wt_p"].isna().all()

    again = CliRunner().invoke(app, ["fuse", str(run_dir), "--top", "2", "--select-by", "dice"])
    assert again.exit_code == 0, again.output
    frame = pd.read_parquet(run_dir / "fusion.parquet")
    summary = frame[frame["scope"] == "summary"]
    assert sorted(summary.groupby("top_k").size().to_dict().items()) == [(2, 3), (3, 4)]
    assert sorted(summary[summary["top_k"] == 2]["member"]) == ["fusion", "t1", "t2"]  # highest validate Dice
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

    rows = len(pd.read_parquet(run_dir / "fusion.parquet"))
    too_many = CliRunner().invoke(app, ["fuse", str(run_dir), "--top", "4"])
    assert too_many.exit_code == 2
    assert "only 3 completed trial(s) train the 'regions' head" in too_many.output
    bad = CliRunner().invoke(app, ["fuse", str(run_dir), "--select-by", "loss"])
    assert bad.exit_code == 2 and "--select-by 'loss'" in bad.output
    assert len(pd.read_parquet(run_dir / "fusion.parquet")) == rows  # untouched
