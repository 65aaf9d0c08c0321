"""A real two-node Ray cluster on this machine: kill the worker node mid-search, every trial still finishes.

Both nodes run ``ray start --block`` in their own process groups (token auth, as Ray 2.60
requires for multi-process clusters), so the test can kill one node outright and tear
both down without touching any other Ray on the machine.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # Ray end to end: past the 300 s default

RAY = os.path.join(os.path.dirname(sys.executable), "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(args: list[str], env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        [RAY, "start", "--block", "--num-cpus=1", "--disable-usage-stats", *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Ray's workers may leave the node's process group)."""
    children: dict[int, list[int]] = {}
    for stat in os.listdir("/proc"):
        if stat.isdigit():
            try:
                fields = open(f"/proc/{stat}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _kill(proc: subprocess.Popen) -> None:
    """SIGKILL a node: its process group and every descendant (raylet, object store, trial workers)."""
    for pid in _descendants(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def _nodes_alive(address: str, env: dict) -> int:
    out = subprocess.run(
        [RAY, "status", f"--address={address}"], env=env, capture_output=True, text=True, timeout=60
    ).stdout
    active = out.split("Active:")[-1].split("Pending:")[0] if "Active:" in out else ""
    return sum(1 for line in active.splitlines() if "node_" in line)


def _running_trials(lines: list[str]) -> set[str]:
    """Trial ids the driver's progress lines show as started and not yet ended."""
    running: set[str] = set()
    for line in list(lines):
        match = re.search(r"\] (start|done|pruned|ERROR)\s+(\S+)", line)
        if match:
            (running.add if match.group(1) == "start" else running.discard)(match.group(2))
    return running


def _has_checkpoint(runs: Path, trial_id: str) -> bool:
    """A checkpoint of the trial that the driver has registered, so a restart restores from it.

    Each trial keeps only its latest checkpoint (checkpoint_000000 lasts one epoch). A checkpoint
    directory alone is not enough: the trainable writes it before the driver processes the result
    that carries it, and a node lost in between restarts the trial from scratch. The driver writes a
    trial's result.json line when it processes a result, and every result here carries a checkpoint.
    """
    checkpoints = [path for path in runs.rglob("checkpoint_*") if trial_id in str(path)]
    processed = [path for path in runs.rglob("result.json") if trial_id in str(path) and path.stat().st_size > 0]
    return bool(checkpoints and processed)


def test_worker_node_lost_mid_search(tmp_path, tiny_dataset, cache_dir):
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = {**os.environ, "RAY_AUTH_MODE": "token", "CURRICLIP_CACHE": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    log = open(tmp_path / "nodes.log", "w")
    head = _node(["--head", f"--port={port}", "--include-dashboard=false", "--node-ip-address=127.0.0.1"], env, log)
    worker = None
    try:
        deadline = time.monotonic() + 120
        while _nodes_alive(address, env) < 1:
            assert time.monotonic() < deadline, "head node did not come up"
            time.sleep(2)
        worker = _node([f"--address={address}", "--node-ip-address=127.0.0.1"], env, log)
        while _nodes_alive(address, env) < 2:
            assert time.monotonic() < deadline, "worker node did not join"
            time.sleep(2)

        exp = {
            "name": "cluster",
            "data": {"n": 240, "image_size": 64},
            # checkpoints after every epoch: the lost trial must restart from one
            "training": {
                "epochs": 4,
                "steps_per_epoch": 12,
                "batch_size": 16,
                "eval_batch_size": 64,
                "checkpoint_every_s": 0,
            },
            "space": {"sparsity": [1.0], "pacing": ["linear"]},
            "search": {"num_trials": 3, "seeds": [0, 1], "scheduler": "fifo", "n_startup_trials": 2},
            "protocol": {"confirm_seeds": 2, "arms": ["single_task", "curriculum"]},
            "storage": str(tmp_path / "runs"),
        }
        (tmp_path / "exp.yaml").write_text(yaml.safe_dump(exp))
        driver = subprocess.Popen(
            [sys.executable, "-m", "curriclip.cli", "search", str(tmp_path / "exp.yaml"), "--address", address],
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        lines: list[str] = []
        assert driver.stderr is not None

        def read() -> None:
            for line in driver.stderr:
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # kill the worker only once both nodes train (1 CPU each, so one trial each) and each running trial has
        # written a checkpoint: a trial still being placed would just be scheduled elsewhere, with no failure to see
        deadline = time.monotonic() + 600
        while True:
            assert driver.poll() is None, "the search ended before the worker could be killed: " + "".join(lines)
            assert time.monotonic() < deadline, "both nodes never trained at once: " + "".join(lines)[-2000:]
            text = "".join(lines)
            if "at a time" in text and "2 at a time" not in text:
                pytest.fail(f"the driver did not see both nodes: {text[-2000:]}")
            running = _running_trials(lines)
            if len(running) == 2 and all(_has_checkpoint(tmp_path / "runs", t) for t in running):
                break
            time.sleep(0.2)
        _kill(worker)
        assert driver.wait(timeout=600) == 0, "".join(lines)[-5000:]
        reader.join(timeout=30)
    finally:
        if worker is not None:
            _kill(worker)
        _kill(head)
        log.close()

    run_dir = tmp_path / "runs" / "cluster"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")
    import json

    total = json.loads((run_dir / "run.json").read_text())["total_trials"]
    search = trials[trials["phase"] == "search"]
    # 3 single-task configurations (2 learning rates x seeds, matched tuning) + 3 curricula
    assert len(search) == total == 6 and trials["trial_id"].is_unique
    assert (trials["status"] == "completed").all() and (trials["epochs_done"] == 4).all()
    confirm = trials[trials["phase"] == "confirm"]  # the confirm phase ran on the cluster after the search
    assert sorted(confirm["arm"]) == ["curriculum"] * 2 + ["single_task"] * 2
    assert (confirm["split_evaluated"] == "test").all()
    # the trial on the lost node was restarted, and trials.parquet counts it (export.restarts() is unit-tested
    # apart); each restarted trial continued from a checkpoint: every report after a restore is past epoch 1
    restarted = search.loc[search["restarts"] >= 1, "trial_id"].tolist()
    assert restarted, search["restarts"].tolist()
    for trial_id in restarted:
        raw = [json.loads(line) for line in (run_dir / f"trial_{trial_id}" / "result.json").read_text().splitlines()]
        starts = [r["epoch"] for r in raw if r.get("iterations_since_restore") == 1]
        assert starts[0] == 1 and all(epoch > 1 for epoch in starts[1:]), (trial_id, starts)
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    assert epochs[epochs["trial_id"].isin(search["trial_id"])].groupby("trial_id").size().eq(4).all()
