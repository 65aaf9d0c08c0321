"""``curriclip resume`` with ``--resume-errored`` / ``--restart-errored``: errored trials run again, nothing else does.

In-process with a stand-in trainable that fails until a marker file exists (a transient
fault: a full disk, a lost mount), so the test controls exactly which trials error.
Both flags hand the errored trials back to Ray Tune; without a flag they stay errored.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # Ray end to end: past the 300 s default

EPOCHS = 2


def _flaky(marker: Path):
    def trainable(config: dict) -> None:
        from ray import tune

        cfg = config["trial"]
        if cfg["arm"] == "curriculum" and not marker.exists():
            raise OSError("transient fault: the shared disk is not mounted")
        start = 0
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            with checkpoint.as_directory() as directory:
                start = int((Path(directory) / "epoch").read_text())
        for epoch in range(start + 1, EPOCHS + 1):
            import tempfile

            with tempfile.TemporaryDirectory() as directory:
                (Path(directory) / "epoch").write_text(str(epoch))
                tune.report(
                    {"clip_score": 0.1 * epoch, "epoch": epoch}, checkpoint=tune.Checkpoint.from_directory(directory)
                )

    return trainable


@pytest.mark.parametrize("flag", ["restart_errored", "resume_errored"])
def test_errored_trials_run_again_on_resume(tmp_path, tiny_dataset, monkeypatch, flag):
    import ray

    from curriclip import pipeline
    from curriclip.config import parse_experiment
    from curriclip.search import runner

    marker = tmp_path / "mounted"
    experiment = parse_experiment(
        {
            "name": "flaky",
            "data": {"n": 240, "image_size": 64},  # the session's tiny_dataset, from the cache
            "training": {"epochs": EPOCHS, "steps_per_epoch": 1},
            "space": {"sparsity": [1.0], "pacing": ["linear"]},
            "search": {
                "num_trials": 2,
                "seeds": [0],
                "scheduler": "fifo",
                "n_startup_trials": 1,
                "metric": "clip_score",
            },
            "protocol": {"confirm_seeds": 0, "arms": ["single_task", "curriculum"]},
            "storage": str(tmp_path / "runs"),
        },
        source="test",
    )
    monkeypatch.setattr(runner, "trainable_for", lambda exp: _flaky(marker))
    try:
        pipeline.run_search(experiment)
        run_dir = tmp_path / "runs" / "flaky"
        before = pd.read_parquet(run_dir / "trials.parquet")
        assert sorted(before["status"]) == ["completed", "completed", "errored", "errored"]
        assert before.loc[before["status"] == "errored", "error"].str.contains("not mounted").all()
        done = {
            t: (run_dir / f"trial_{t}" / "result.json").read_text()
            for t in before.loc[before["status"] == "completed", "trial_id"]
        }

        pipeline.resume_search(run_dir)  # no flag: errored trials stay errored
        assert sorted(pd.read_parquet(run_dir / "trials.parquet")["status"]) == sorted(before["status"])

        marker.write_text("ok")  # the fault is fixed
        pipeline.resume_search(run_dir, **{flag: True})
        after = pd.read_parquet(run_dir / "trials.parquet")
        assert len(after) == 4 and after["trial_id"].is_unique  # one row per trial, no duplicates
        assert (after["status"] == "completed").all() and (after["epochs_done"] == EPOCHS).all()
        # the study keeps each failed attempt as FAIL and learns from its re-run, with the same parameters
        import optuna

        study = optuna.load_study(study_name="flaky", storage=f"sqlite:///{run_dir / 'optuna.db'}")
        by_state: dict = {}
        for t in study.trials:
            by_state.setdefault(t.state.name, []).append(sorted(t.params.items()))
        assert sorted(by_state) == ["COMPLETE", "FAIL"] and sorted(by_state["COMPLETE"]) == sorted(by_state["FAIL"])
        for trial_id, results in done.items():  # the finished ones did not run again (Ray may touch the file)
            assert (run_dir / f"trial_{trial_id}" / "result.json").read_text() == results
    finally:
        ray.shutdown()
