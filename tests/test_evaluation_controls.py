"""Acceptance: the shuffled-pairs control learns no alignment (gap within noise of 0); a trained model does."""

from __future__ import annotations

import pytest
from conftest import tiny_trial

from curriclip.config import TrialConfig
from curriclip.trainables import run_trial


@pytest.fixture(scope="module")
def control_dataset(cache_dir):
    """1000 samples (100 held-out pairs): enough test pairs for the bootstrap to separate the two models."""
    from curriclip.data.sources import resolve

    return resolve("synthetic", n=1000, image_size=64, seed=0)


def _final(dataset, arm: str) -> dict:
    # 80 steps of batch 64 (a single evaluation round): the single-task recipe starts to align by then.
    cfg = tiny_trial(
        dataset,
        arm=arm,
        tasks=["itc"],
        pacing="none",
        pacing_params={},
        epochs=1,
        steps_per_epoch=80,
        batch_size=64,
        lr=2e-3,
    )
    reports = []
    run_trial(TrialConfig.model_validate(cfg), lambda metrics, state: reports.append(metrics))
    return reports[-1]


def test_shuffled_control_gap_is_noise_while_trained_gap_is_not(control_dataset):
    trained = _final(control_dataset, "single_task")
    control = _final(control_dataset, "shuffled_control")
    assert trained["test_split_hash"] == control["test_split_hash"]  # the same held-out pairs
    # trained on true pairs: matched pairs score clearly above mismatched ones
    assert trained["clip_score_gap_ci_low"] > 0.05, trained
    # trained on shuffled pairs: CLIP score rises anyway (embeddings drift together), but the gap stays at 0
    assert control["clip_score"] > control["init_clip_score"] + 0.1
    assert control["clip_score_gap_ci_low"] < 0 < control["clip_score_gap_ci_high"], control
    assert abs(control["clip_score_gap"]) < trained["clip_score_gap"] / 3
    # the untrained model has no gap either
    assert (
        trained["init_clip_score_gap_ci_low"] < 0 < trained["init_clip_score_gap_ci_high"]
        or abs(trained["init_clip_score_gap"]) < 0.01
    )
