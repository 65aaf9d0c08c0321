"""Every schedule mode, scorer and control trains a trial on the tiny preset (2 epochs x 3 steps)."""

from __future__ import annotations

import copy
import math

import pytest
from conftest import tiny_trial

from curriclip.config import TrialConfig
from curriclip.curriculum import difficulty, scorers
from curriclip.trainables import run_trial

TIMING = {"epoch_time_s", "time_s", "scoring_time_s"}


def _run(cfg: dict, state=None) -> tuple[list[dict], list[dict]]:
    reports, states = [], []

    def report(metrics, make_state):
        reports.append(metrics)
        states.append(copy.deepcopy(make_state()))

    run_trial(TrialConfig.model_validate(cfg), report, state)
    return reports, states


def _short(dataset, **overrides) -> dict:
    return tiny_trial(dataset, **{"epochs": 2, "steps_per_epoch": 3, **overrides})


@pytest.mark.parametrize(
    "mode,first,last",
    [
        ("cumulative", "rotation,itc", "rotation,itc,findings"),
        ("sequential", "itc", "itc,findings"),
        ("ramped", "rotation,itc", "rotation,itc,findings"),
    ],
)
def test_each_schedule_mode_trains(tiny_dataset, mode, first, last):
    # span 1.0 over 6 steps: itc joins at step 2, findings at step 4
    reports, _ = _run(_short(tiny_dataset, schedule=mode, stage_span=1.0))
    assert [r["active_tasks"] for r in reports] == [first, last]
    assert all(math.isfinite(r["clip_score"]) and math.isfinite(r["loss"]) for r in reports)
    assert reports[0]["data_fraction"] == pytest.approx(0.3 + 0.7 * 2 / 3, abs=0.01)


@pytest.mark.parametrize("scorer", scorers.SCORERS.names())
def test_each_scorer_trains(tiny_dataset, scorer):
    params = {"steps": 2} if scorer == "transfer_teacher" else {}
    reports, _ = _run(_short(tiny_dataset, scorer=scorer, scorer_params=params))
    assert len(reports) == 2 and all(math.isfinite(r["clip_score"]) for r in reports)
    assert all(math.isfinite(r["score_threshold"]) for r in reports)
    assert reports[0]["data_fraction"] < 1.0 and reports[-1]["data_fraction"] == 1.0
    dynamic = scorers.get(scorer).dynamic
    assert (reports[1]["scoring_time_s"] > 0) == dynamic  # re-scored at the second epoch's start


def test_controls_change_what_is_admitted(tiny_dataset):
    """With the metadata scorer, easiest-first admits easier samples than random, random easier than anti."""
    pools = {}
    for control in difficulty.CONTROLS:
        reports, _ = _run(_short(tiny_dataset, epochs=1, control=control, pacing_params={"a": 0.9, "b": 0.2}))
        pools[control] = reports[0]["pool_difficulty"]
        assert reports[0]["data_fraction"] < 1.0
        if control == "random":
            assert math.isnan(reports[0]["score_threshold"])
    assert pools["none"] < pools["random"] < pools["anti"]


def _same(a: dict, b: dict) -> bool:
    keys = set(a) - TIMING
    if keys != set(b) - TIMING:
        return False
    return all(a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) for k in keys)


def test_dynamic_scorer_trial_resumes_exactly(tiny_dataset):
    """A resumed trial re-scores from the restored model and random state, as the uninterrupted run did."""
    cfg = _short(tiny_dataset, steps_per_epoch=2, scorer="self_paced", schedule="ramped")
    full, states = _run(cfg)
    resumed, _ = _run(cfg, state=states[0])
    assert len(resumed) == 1 and _same(resumed[0], full[1])
    assert resumed[0]["score_threshold"] == full[1]["score_threshold"]


def test_trial_config_validates_curriculum_fields(tiny_dataset):
    with pytest.raises(ValueError, match="scorer 'metadata' has no parameter"):
        TrialConfig.model_validate(_short(tiny_dataset, scorer_params={"steps": 3}))
    with pytest.raises(ValueError, match="stage pacing 'linear' has no parameter"):
        TrialConfig.model_validate(_short(tiny_dataset, stage_pacing_params={"c0": 0.1}))
    with pytest.raises(ValueError, match="control"):
        TrialConfig.model_validate(_short(tiny_dataset, control="sideways"))
    with pytest.raises(ValueError, match="schedule"):
        TrialConfig.model_validate(_short(tiny_dataset, schedule="zigzag"))
