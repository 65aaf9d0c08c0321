"""The training side of the contract: one trial without Ray."""

from __future__ import annotations

import copy
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from conftest import tiny_trial
from typer.testing import CliRunner

from curriclip.cli import app
from curriclip.config import TrialConfig
from curriclip.curriculum import TaskSchedule
from curriclip.data.loader import load_split
from curriclip.data.store import write_dataset
from curriclip.errors import DataError
from curriclip.trainables import run_trial
from curriclip.trainables.data import load_trial_data

TIMING = {"epoch_time_s", "time_s"}


def _run(cfg: dict, state=None):
    reports, states = [], []

    def report(metrics, make_state):
        reports.append({k: v for k, v in metrics.items() if k not in TIMING})
        states.append(copy.deepcopy(make_state()))  # state_dict tensors share the live storage

    run_trial(TrialConfig.model_validate(cfg), report, state)
    return reports, states


def test_same_config_gives_identical_metrics(tiny_dataset):
    cfg = tiny_trial(tiny_dataset)
    first, _ = _run(cfg)
    second, _ = _run(cfg)
    assert first == second
    assert [r["epoch"] for r in first] == [1, 2]
    third, _ = _run({**cfg, "seed": 1})
    assert third != first


def test_resumed_trial_continues_exactly(tiny_dataset):
    cfg = tiny_trial(tiny_dataset, epochs=3)
    full, states = _run(cfg)
    resumed, _ = _run(cfg, state=states[0])
    assert resumed == full[1:]


def test_training_improves_clip_score_over_untrained(tiny_dataset):
    cfg = tiny_trial(
        tiny_dataset,
        arm="single_task",
        tasks=["itc"],
        pacing="none",
        pacing_params={},
        epochs=3,
        steps_per_epoch=15,
        batch_size=32,
    )
    reports, _ = _run(cfg)
    init, final = reports[-1]["init_clip_score"], reports[-1]["clip_score"]
    assert final > init + 0.1, (init, final)
    assert reports[-1]["loss/itc"] < reports[0]["loss/itc"]


def test_sparsity_subsets_training_only(tiny_dataset):
    full = load_trial_data(TrialConfig.model_validate(tiny_trial(tiny_dataset)), 64, lambda t: t)
    sparse = load_trial_data(TrialConfig.model_validate(tiny_trial(tiny_dataset, sparsity=0.25)), 64, lambda t: t)
    assert list(sparse.held_out.sample_ids) == list(full.held_out.sample_ids)  # held-out split untouched
    assert 0.2 * len(full.train) <= len(sparse.train) <= 0.3 * len(full.train)
    assert set(sparse.train.sample_ids) <= set(full.train.sample_ids)
    assert not set(full.train.subject_ids) & set(full.held_out.subject_ids)


def test_cumulative_schedule_and_report_fields(tiny_dataset):
    schedule = TaskSchedule(("rotation", "findings", "itc"), stage_span=0.6)
    assert schedule.weights(0, 100) == {"rotation": 1.0}
    assert set(schedule.weights(20, 100)) == {"rotation", "findings"}
    assert set(schedule.weights(40, 100)) == {"rotation", "findings", "itc"}
    reports, _ = _run(tiny_trial(tiny_dataset, tasks=["rotation", "findings", "itc"], stage_span=1.0, epochs=3))
    assert reports[0]["active_tasks"] == "rotation"
    assert np.isnan(reports[0]["loss/itc"]) and not np.isnan(reports[0]["loss/rotation"])
    assert reports[-1]["active_tasks"] == "rotation,findings,itc"
    assert reports[0]["data_fraction"] < 1.0 and reports[-1]["data_fraction"] == 1.0


def test_task_without_its_data_is_reported_unavailable(tiny_dataset, tmp_path):
    import pyarrow as pa

    table = pa.concat_tables([pq.read_table(p) for p in sorted(tiny_dataset.glob("part-*.parquet"))])
    unlabeled = table.set_column(
        table.schema.get_field_index("labels"), "labels", pa.nulls(table.num_rows, pa.list_(pa.int8()))
    )
    path = write_dataset(
        [unlabeled], tmp_path / "unlabeled", load_split(str(tiny_dataset), "test").label_names, source="test"
    )
    cfg = TrialConfig.model_validate(tiny_trial(path))
    with pytest.raises(DataError, match="task 'findings' is unavailable.*no finding labels"):
        run_trial(cfg, lambda m, s: None)


def test_cli_train_twice_identical(tiny_dataset, tmp_path):
    path = tmp_path / "trial.json"
    path.write_text(json.dumps(tiny_trial(tiny_dataset, epochs=1)))
    runner = CliRunner()
    outputs = []
    for _ in range(2):
        result = runner.invoke(app, ["train", str(path), "--out", str(tmp_path / "out")], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        outputs.append([{k: v for k, v in m.items() if k not in TIMING} for m in lines])
    assert outputs[0] == outputs[1] and len(outputs[0]) == 1
    assert (tmp_path / "out" / "state.pt").is_file()
    import torch

    state = torch.load(tmp_path / "out" / "state.pt", weights_only=True)
    assert state["epoch"] == 1


def test_every_reported_key_is_one_a_search_may_name(tiny_dataset):
    """``search.metric`` is checked against ``reported_keys`` (metric registry + ``names.TRIAL_KEYS`` + losses):
    a key the loop reports but the list lacks would be refused as misspelt, so the two must agree."""
    from curriclip.config import parse_experiment
    from curriclip.search.runner import reported_keys

    reports = []
    cfg = tiny_trial(tiny_dataset, epochs=1, steps_per_epoch=2, scorer="self_paced")
    run_trial(TrialConfig.model_validate(cfg), lambda metrics, state: reports.append(metrics))
    experiment = parse_experiment({"space": {"tasks": [t for t in cfg["tasks"] if t != "itc"]}})
    reported = {key for metrics in reports for key in metrics}
    assert reported - reported_keys(experiment) == set()
    assert {"clip_score", "init_clip_score", "loss/itc", "train_pairs", "epoch"} <= reported
