"""Reading Ray Tune's records: restarts counted from the records, damaged records named (never read as pruned)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from curriclip.rundir.export import damage, restarts


def _trial(status="TERMINATED", failures=0, state=None, saved=None):
    latest = SimpleNamespace(metrics=saved) if saved is not None else None
    return SimpleNamespace(
        trial_id="t1",
        status=status,
        num_failures=failures,
        last_result=state or {},
        run_metadata=SimpleNamespace(checkpoint_manager=SimpleNamespace(latest_checkpoint_result=latest)),
    )


def _records(*iterations_since_restore: int) -> list[dict]:
    return [
        {"training_iteration": i + 1, "iterations_since_restore": since, "epoch": i + 1, "done": False}
        for i, since in enumerate(iterations_since_restore)
    ]


@pytest.mark.parametrize(
    ("since", "failures", "expected"),
    [
        ((1, 2, 3, 4), 0, 0),  # never restored
        ((1, 2, 1, 2), 0, 1),  # restored once after iteration 2, Ray counted no failure (a requeued trial)
        ((1, 1, 1, 2), 0, 2),  # restored twice
        ((1, 2, 1, 2), 3, 3),  # Ray's count wins when it is higher (failures before any report)
        ((), 0, 0),
    ],
)
def test_restarts_counts_each_restore_in_the_records(since, failures, expected):
    assert restarts(_trial(failures=failures), _records(*since)) == expected


def test_a_record_shorter_than_its_checkpoint_is_damaged():
    records = _records(1, 2)
    trial = _trial(state={"training_iteration": 2, "done": False}, saved={"training_iteration": 3})
    assert damage(trial, records, "t/result.json") == (
        "t/result.json: damaged record of trial t1: ends at iteration 2, its checkpoint at 3"
    )


def test_a_record_shorter_than_rays_state_is_damaged():
    trial = _trial(state={"training_iteration": 3, "done": True}, saved={"training_iteration": 2})
    assert "ends at iteration 2, Ray's experiment state at 3" in damage(trial, _records(1, 2), "r")


def test_a_whole_record_whose_last_line_is_not_marked_done_is_not_damaged():
    records = _records(1, 2)  # as under PBT: the state says done at iteration 2, the record's last line is not done
    trial = _trial(state={"training_iteration": 2, "done": True}, saved={"training_iteration": 1})
    assert damage(trial, records, "r") is None


def test_whole_records_pruned_or_still_running_are_not_damaged():
    records = _records(1, 2)
    records[-1]["done"] = True
    assert (
        damage(_trial(state={"training_iteration": 2, "done": True}, saved={"training_iteration": 2}), records, "r")
        is None
    )
    pruned = _records(1)
    pruned[-1]["done"] = True  # a scheduler's stop marks the last report done too
    assert damage(_trial(state={"training_iteration": 1, "done": True}), pruned, "r") is None
    behind = _trial(status="RUNNING", state={"training_iteration": 5}, saved={"training_iteration": 4})
    assert damage(behind, _records(1, 2), "r") is None  # a running trial's record may lag for a moment
    assert damage(_trial(saved=None), [], "r") is None  # never reported, no checkpoint
