"""Remote run storage: a real search into s3:// on a local S3-compatible server (moto), then a report from it."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pyarrow.fs as pafs
import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # Ray end to end: past the 300 s default


@pytest.fixture
def s3_server(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.3)
        fs = pafs.S3FileSystem(
            endpoint_override=env["AWS_ENDPOINT_URL"],
            access_key="testing",
            secret_key="testing",
            region="us-east-1",
            allow_bucket_creation=True,
        )
        fs.create_dir("curriclip-test")
        yield env, fs
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_search_and_report_on_s3(tmp_path, tiny_dataset, cache_dir, s3_server):
    s3_env, fs = s3_server
    exp = {
        "name": "remote",
        "data": {"n": 240, "image_size": 64},
        "training": {"epochs": 2, "steps_per_epoch": 3, "batch_size": 16, "eval_batch_size": 64},
        "space": {"sparsity": [1.0], "pacing": ["linear"]},
        "search": {"num_trials": 2, "seeds": [0], "n_startup_trials": 1},
        "protocol": {"confirm_seeds": 2, "arms": ["single_task", "curriculum"]},
    }
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(exp))
    env = {**os.environ, **s3_env, "CURRICLIP_CACHE": str(cache_dir)}
    cli = [sys.executable, "-m", "curriclip.cli"]
    done = subprocess.run(
        [*cli, "search", str(tmp_path / "exp.yaml"), "--storage", "s3://curriclip-test/runs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "s3://curriclip-test/runs/remote/report.html" in done.stdout

    names = {info.base_name for info in fs.get_file_info(pafs.FileSelector("curriclip-test/runs/remote"))}
    assert {"trials.parquet", "epochs.parquet", "report.html", "experiment.yaml", "run.json"} <= names
    assert {"confirm.parquet", "per_pair.parquet", "answer.json", "confirm-1"} <= names  # the confirm phase, on S3
    assert any(n.startswith("experiment_state-") for n in names)
    with fs.open_input_stream("curriclip-test/runs/remote/trials.parquet") as f:
        trials = pd.read_parquet(io.BytesIO(f.read()))
    # one level: 2 single-task + 2 curriculum configurations, then each winner confirmed on 2 seeds
    assert len(trials) == 8 and trials["trial_id"].is_unique and set(trials["status"]) <= {"completed", "pruned"}
    search = trials[trials["phase"] == "search"]
    assert sorted(search["arm"]) == ["curriculum", "curriculum", "single_task", "single_task"]
    confirm = trials[trials["phase"] == "confirm"]
    assert sorted(confirm["arm"]) == ["curriculum"] * 2 + ["single_task"] * 2
    assert (confirm["status"] == "completed").all()
    with fs.open_input_stream("curriclip-test/runs/remote/per_pair.parquet") as f:
        pairs = pd.read_parquet(io.BytesIO(f.read()))
    assert len(pairs) == 4 * confirm["final/test_pairs"].iloc[0]  # per-pair scores came back from S3 checkpoints

    again = subprocess.run(
        [*cli, "report", "s3://curriclip-test/runs/remote", "--out", str(tmp_path / "r.html")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    page = (tmp_path / "r.html").read_text()
    assert all(trial_id in page for trial_id in trials["trial_id"])
    # resume from s3:// restores the finished search there: nothing runs again, the records stay as they were
    records = {
        t: fs.open_input_stream(f"curriclip-test/runs/remote/trial_{t}/result.json").read() for t in search["trial_id"]
    }
    resumed = subprocess.run(
        [*cli, "resume", "s3://curriclip-test/runs/remote"], env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "confirm-2" not in {i.base_name for i in fs.get_file_info(pafs.FileSelector("curriclip-test/runs/remote"))}
    for trial_id, before in records.items():
        assert fs.open_input_stream(f"curriclip-test/runs/remote/trial_{trial_id}/result.json").read() == before
    clash = subprocess.run(
        [*cli, "search", str(tmp_path / "exp.yaml"), "--storage", "s3://curriclip-test/runs"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clash.returncode == 2 and "already exists" in clash.stderr
