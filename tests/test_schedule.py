"""Task schedules (cumulative, sequential, ramped; stage lengths from a pacing function) and their inspection."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from curriclip.curriculum import pacing
from curriclip.curriculum.schedule import MODES, TaskSchedule

ORDER = ("rotation", "itc", "findings")


def test_equal_stages_by_default_and_cumulative_weights():
    schedule = TaskSchedule(ORDER, stage_span=0.6)
    assert schedule.start_steps(100) == (0, 20, 40)
    assert schedule.weights(0, 100) == {"rotation": 1.0}
    assert schedule.weights(19, 100) == {"rotation": 1.0}
    assert schedule.weights(20, 100) == {"rotation": 1.0, "itc": 1.0}
    assert schedule.weights(99, 100) == {"rotation": 1.0, "itc": 1.0, "findings": 1.0}


def test_stage_lengths_follow_the_stage_pacing_function():
    # quadratic (convex): task k joins when (t/S)^2 >= k/3 over S = 60 -> t = ceil(60 sqrt(k/3)) = 35, 49
    quad = TaskSchedule(ORDER, stage_span=0.6, stage_pacing="quadratic", stage_pacing_params={"a": 1.0, "b": 0.2})
    assert quad.start_steps(100) == (0, 35, 49)
    # root (concave): sqrt(t/S) >= k/3 -> t = ceil(60 k^2 / 9) = 7, 27
    root = TaskSchedule(ORDER, stage_span=0.6, stage_pacing="root", stage_pacing_params={"a": 1.0, "b": 0.2})
    assert root.start_steps(100) == (0, 7, 27)
    # step: nothing changes until aS, then everything -> both later tasks join at 30
    step = TaskSchedule(ORDER, stage_span=0.6, stage_pacing="step", stage_pacing_params={"a": 0.5, "b": 0.2})
    assert step.start_steps(100) == (0, 30, 30)
    # no stage pacing (or no span): plain multi-task learning from step 0
    flat = TaskSchedule(ORDER, stage_span=0.6, stage_pacing="none", stage_pacing_params={})
    assert flat.start_steps(100) == (0, 0, 0)
    assert TaskSchedule(ORDER, stage_span=0.0).start_steps(100) == (0, 0, 0)


def test_sequential_one_auxiliary_task_per_stage_itc_stays_last_continues():
    seq = TaskSchedule(ORDER, stage_span=0.6, mode="sequential")
    assert seq.weights(10, 100) == {"rotation": 1.0}
    assert seq.weights(30, 100) == {"itc": 1.0}  # rotation's stage is over
    assert seq.weights(50, 100) == {"itc": 1.0, "findings": 1.0}  # ITC never leaves; the last task continues
    assert seq.weights(99, 100) == {"itc": 1.0, "findings": 1.0}
    pretrain = TaskSchedule(("rotation", "findings", "itc"), stage_span=0.6, mode="sequential")
    assert [set(pretrain.weights(t, 100)) for t in (0, 25, 45, 99)] == [{"rotation"}, {"findings"}, {"itc"}, {"itc"}]
    first = TaskSchedule(("itc", "rotation", "findings"), stage_span=0.6, mode="sequential")
    assert [set(first.weights(t, 100)) for t in (0, 25, 45)] == [{"itc"}, {"itc", "rotation"}, {"itc", "findings"}]


def test_ramped_weights_follow_the_pacing_function_within_each_stage():
    ramp = TaskSchedule(ORDER, stage_span=0.6, mode="ramped", stage_pacing_params={"a": 1.0, "b": 0.2})
    linear = pacing.get("linear")
    assert ramp.weights(0, 100) == {"rotation": 1.0}
    # itc joins at 20 and ramps over its stage (20 steps): b + (1 - b) t / 20
    assert ramp.weights(20, 100)["itc"] == pytest.approx(0.2)
    assert ramp.weights(30, 100)["itc"] == pytest.approx(linear(10, 20, a=1.0, b=0.2)) == pytest.approx(0.6)
    assert ramp.weights(40, 100)["itc"] == 1.0
    # the last task ramps until the span ends (40 -> 60)
    assert ramp.weights(50, 100)["findings"] == pytest.approx(0.6)
    assert ramp.weights(60, 100) == {"rotation": 1.0, "itc": 1.0, "findings": 1.0}
    values = [ramp.weights(t, 100).get("findings", 0.0) for t in range(100)]
    assert all(x <= y for x, y in zip(values, values[1:]))


@pytest.mark.parametrize("mode", MODES)
def test_single_task_ordering_trains_itc_throughout(mode):
    schedule = TaskSchedule(("itc",), stage_span=0.7, mode=mode)
    assert all(schedule.weights(t, 50) == {"itc": 1.0} for t in range(50))


def test_schedule_rejects_bad_settings():
    with pytest.raises(ValueError, match="unknown schedule mode"):
        TaskSchedule(ORDER, mode="zigzag")
    with pytest.raises(ValueError, match="no parameter"):
        TaskSchedule(ORDER, stage_pacing="linear", stage_pacing_params={"c0": 0.1})


# --- inspection ------------------------------------------------------------------------------


def _trial(**overrides) -> dict:
    cfg = {
        "arm": "curriculum",
        "dataset_dir": "/nowhere",
        "tasks": list(ORDER),
        "stage_span": 0.6,
        "pacing": "linear",
        "pacing_params": {"a": 0.5, "b": 0.2},
        "epochs": 5,
        "steps_per_epoch": 20,
        "batch_size": 16,
    }
    cfg.update(overrides)
    return cfg


def test_schedule_table_values():
    from curriclip.curriculum.inspect import schedule_table

    table = schedule_table(_trial(schedule="sequential"), points=100)
    assert list(table.columns) == ["step", "progress", "task", "weight", "data_fraction"]
    assert len(table) == 100 * 3 and table["step"].max() == 99
    at = table.set_index(["step", "task"])
    assert at.loc[(30, "rotation"), "weight"] == 0.0 and at.loc[(30, "itc"), "weight"] == 1.0
    assert at.loc[(0, "rotation"), "data_fraction"] == pytest.approx(0.2)
    assert at.loc[(25, "itc"), "data_fraction"] == pytest.approx(0.2 + 0.8 * 0.5)
    assert at.loc[(60, "findings"), "progress"] == pytest.approx(0.6)
    # with the pool size, the sampler's one-batch floor shows: 16 of 40 pairs at the start
    floored = schedule_table(_trial(), points=10, train_pairs=40)
    assert floored["data_fraction"].iloc[0] == pytest.approx(16 / 40)
    # Ray's params.json nests the config under "trial"; missing fields take TrialConfig's defaults
    nested = schedule_table({"trial": _trial(schedule="sequential")}, points=100)
    assert nested.equals(table)


def test_missing_fields_take_trial_config_defaults():
    from curriclip.config import TrialConfig
    from curriclip.curriculum.inspect import field_value

    fields = TrialConfig.model_fields
    assert field_value({}, "stage_pacing_params") == fields["stage_pacing_params"].get_default(
        call_default_factory=True
    )
    assert field_value({"schedule": None}, "schedule") == fields["schedule"].default
    assert field_value({"schedule": "ramped"}, "schedule") == "ramped"
    assert set(MODES) == set(fields["schedule"].annotation.__args__)


def test_schedule_figure_traces():
    from curriclip.curriculum.inspect import describe, schedule_table
    from curriclip.reports.figures.trial_schedule import draw

    config = _trial(schedule="ramped")
    fig = draw(schedule_table(config, points=50), describe(config))
    assert [trace.name for trace in fig.data] == ["rotation", "itc", "findings", "data fraction"]
    assert all(len(trace.x) == 50 for trace in fig.data)
    assert max(fig.data[1].y) == 1.0 and min(fig.data[1].y) == 0.0
    assert fig.data[-1].y[0] == pytest.approx(0.2) and fig.data[-1].y[-1] == 1.0
    assert "ramped" in fig.layout.title.text


def test_inspect_imports_no_torch():
    # every field given: the defaults come from curriclip.config, which is not torch-free yet
    full = _trial(schedule="cumulative", stage_pacing="linear", stage_pacing_params={"a": 1.0}, scorer="metadata",
                  control="none")  # fmt: skip
    code = (
        "import sys, json; import curriclip.curriculum.inspect as i; "
        "t = i.schedule_table(json.loads(sys.argv[1])); "
        "print(json.dumps({'torch': 'torch' in sys.modules, 'rows': len(t)}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(full)], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout) == {"torch": False, "rows": 300}
