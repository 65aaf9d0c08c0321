"""Data-parallel trials: two gloo workers train what one process trains, through Ray Train and Ray Tune.

The ITC-only trial is compared with the single-process trial of the same global batch
and seed: with ITC's features gathered across ranks (negatives span the global batch)
and gradients averaged, every step is the single-process step up to float summation
order. Measured on 2 CPU cores (3 epochs x 4 steps, batch 16; and 3 x 15, batch 32):
training losses agree to 2e-8 relative, CLIP score to 1.3e-5, mean cosine to 5e-5 (Adam
amplifies the last-bit gradient differences a little); asserted at 1e-6 for losses and
1e-4 for the held-out metrics.
"""

from __future__ import annotations

import copy
import math
import os
import pickle

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import tiny_trial

from curriclip.config import TrialConfig, parse_experiment
from curriclip.errors import ConfigError, DataError
from curriclip.trainables import run_trial
from curriclip.trainables.parallel import DataParallel
from curriclip.trainables.train_driver import worker_device

TIMING = {"epoch_time_s", "time_s"}
#: Relative tolerances of two-worker vs single-process metrics (see the module docstring for what was measured).
RTOL_LOSS, RTOL_EVAL = 1e-6, 1e-4


def _itc_trial(dataset, **overrides) -> dict:
    fields = {
        "arm": "single_task",
        "tasks": ["itc"],
        "pacing": "none",
        "pacing_params": {},
        "epochs": 2,
        "steps_per_epoch": 4,
        "batch_size": 16,
    }
    return tiny_trial(dataset, **{**fields, **overrides})


def _single(cfg: dict, state=None) -> tuple[list[dict], list[dict]]:
    reports, states = [], []

    def report(metrics, make_state):
        reports.append({k: v for k, v in metrics.items() if k not in TIMING})
        states.append(copy.deepcopy(make_state()))

    run_trial(TrialConfig.model_validate(cfg), report, state)
    return reports, states


def _assert_close(got: list[dict], want: list[dict]) -> None:
    assert [r["epoch"] for r in got] == [r["epoch"] for r in want]
    assert set(got[0]) == set(want[0])  # the same metric keys as a single-process trial
    tolerances = {
        "loss": RTOL_LOSS,
        "loss/itc": RTOL_LOSS,
        "logit_scale": RTOL_LOSS,
        "clip_score": RTOL_EVAL,
        "mean_cosine": RTOL_EVAL,
        "i2t_r1": RTOL_EVAL,
        "t2i_r1": RTOL_EVAL,
        "recall_sum": RTOL_EVAL,
    }
    for g, w in zip(got, want):
        for key, rtol in tolerances.items():
            assert math.isclose(g[key], w[key], rel_tol=rtol), (key, g[key], w[key])
        assert g["test_split_hash"] == w["test_split_hash"] and g["train_pairs"] == w["train_pairs"]


# ---------------------------------------------------------------------------
# Without Ray: the rank logic, and two gloo processes running run_trial.
# ---------------------------------------------------------------------------


def test_single_process_parallel_is_identity():
    p = DataParallel()
    index = np.array([5, 3, 9, 1])
    assert p.is_main and not p.distributed and p.task_options() == {}
    assert p.shard(index) is index and p.generator_seed(7) == 7 and p.local_batch_size(16) == 16
    losses = {"itc": torch.tensor(1.5)}
    assert p.average(losses) is losses
    assert DataParallel(1, 2).generator_seed(7) != 7  # other ranks draw their own task noise
    with pytest.raises(ConfigError, match="does not split evenly over 3"):
        DataParallel(0, 3).local_batch_size(16)


def test_worker_device():
    assert worker_device("auto", torch.device("cpu")) == torch.device("cpu")
    assert worker_device("cpu", torch.device("cuda", 1)) == torch.device("cpu")
    assert worker_device("auto", torch.device("cuda", 1)) == torch.device("cuda", 1)
    with pytest.raises(DataError, match="no GPU"):
        worker_device("cuda", torch.device("cpu"))


def _gloo_rank(rank: int, world_size: int, init_file: str, cfg: dict, out: str) -> None:
    """One rank: a fresh trial, then the same trial resumed from its epoch-1 checkpoint (rank 0's, broadcast)."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size)
    try:
        parallel = DataParallel(rank, world_size, torch.device("cpu"))
        shards = []
        shard = parallel.shard
        parallel.shard = lambda index: shards.append((list(index), list(shard(index)))) or shards[-1][1]
        fresh, states, resumed = [], [], []

        def report(metrics, make_state):
            fresh.append(metrics)
            states.append(copy.deepcopy(make_state()))

        run_trial(TrialConfig.model_validate(cfg), report, parallel=parallel)
        state = [states[0] if rank == 0 else None]
        dist.broadcast_object_list(state, src=0)
        run_trial(TrialConfig.model_validate(cfg), lambda m, s: resumed.append(m), state[0], parallel=parallel)
        with open(f"{out}.{rank}", "wb") as f:
            pickle.dump({"fresh": fresh, "resumed": resumed, "shards": shards, "state": states[:1]}, f)
    finally:
        dist.destroy_process_group()


def test_two_gloo_ranks_train_the_single_process_trial_and_resume(tiny_dataset, tmp_path):
    cfg = _itc_trial(tiny_dataset, epochs=3)
    want, _ = _single(cfg)
    out = str(tmp_path / "ranks")
    mp.spawn(_gloo_rank, args=(2, str(tmp_path / "init"), cfg, out), nprocs=2, join=True)
    ranks = [pickle.load(open(f"{out}.{r}", "rb")) for r in range(2)]
    assert ranks[1]["fresh"] == ranks[1]["resumed"] == []  # only rank 0 evaluates and reports
    got = [{k: v for k, v in m.items() if k not in TIMING} for m in ranks[0]["fresh"]]
    _assert_close(got, want)
    # every step: the two shards partition the same global batch of 16
    assert len(ranks[0]["shards"]) == 3 * 4 + 2 * 4
    for (glob0, mine0), (glob1, mine1) in zip(ranks[0]["shards"], ranks[1]["shards"]):
        assert glob0 == glob1 and len(mine0) == len(mine1) == 8
        assert mine0 + mine1 == glob0
    # the checkpoint keeps both ranks' generators; resumed from epoch 1, the ranks continue exactly
    state = ranks[0]["state"][0]
    assert state["epoch"] == 1 and len(state["torch_generators"]) == 2
    resumed = [{k: v for k, v in m.items() if k not in TIMING} for m in ranks[0]["resumed"]]
    assert [m["epoch"] for m in resumed] == [2, 3]
    for r, g in zip(resumed, got[1:]):
        assert r["loss"] == g["loss"] and r["clip_score"] == g["clip_score"], (r, g)


# ---------------------------------------------------------------------------
# Through Ray: Ray Train workers driven from a Tune trial, resume, and cluster checks.
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")
    # a fresh local cluster (never one another process left running), sized like this machine, without GPUs
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_worker_tune_trial_matches_single_process(local_ray, tiny_dataset, tmp_path):
    from ray import tune

    from curriclip.rundir.launch import concurrency as _concurrency
    from curriclip.rundir.launch import trainable_for as _trainable
    from curriclip.trainables.tune_trainable import load_state

    experiment = parse_experiment(
        {"training": {"batch_size": 16}, "resources": {"cpus_per_trial": 1, "workers_per_trial": 2}}
    )
    assert _concurrency(experiment) == 1  # 2 workers x 1 CPU on a 2-CPU cluster
    cfg = _itc_trial(tiny_dataset)
    want, single_states = _single(cfg)

    tuner = tune.Tuner(
        _trainable(experiment),
        param_space={"trial": cfg},
        run_config=tune.RunConfig(name="dp", storage_path=str(tmp_path / "runs"), verbose=0),
    )
    result = tuner.fit()[0]
    assert result.error is None, result.error
    got = [{k: row[k] for k in want[0]} for row in result.metrics_dataframe.to_dict("records")]
    _assert_close(got, want)  # reported to Tune once per epoch, with the single-process keys
    with result.checkpoint.as_directory() as directory:
        state = load_state(directory)  # weights_only
    assert state["epoch"] == 2 and len(state["torch_generators"]) == 2
    assert set(state["model"]) == set(single_states[-1]["model"])  # interchangeable with single-process ones
    assert local_ray.available_resources().get("CPU") == 2.0  # the workers' placement group is gone


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cluster_checks_on_a_real_cpu_only_cluster(local_ray):
    from curriclip.rundir.launch import concurrency as _concurrency

    with pytest.raises(ConfigError, match="resources.gpus_per_trial: trials ask for GPUs but the Ray cluster has none"):
        _concurrency(parse_experiment({"resources": {"gpus_per_trial": 1}}))
    with pytest.raises(ConfigError, match="workers_per_trial: 4 workers"):
        _concurrency(parse_experiment({"resources": {"workers_per_trial": 4}}))
    assert _concurrency(parse_experiment({"resources": {"cpus_per_trial": 0.5}})) == 4


def test_state_leaves_the_worker_on_cpu():
    from curriclip.trainables.train_driver import to_cpu

    state = {"a": torch.ones(2), "b": [torch.zeros(1), {"c": (torch.ones(1), 3)}], "d": "x"}
    out = to_cpu(state)
    assert out["d"] == "x" and out["b"][1]["c"][1] == 3 and isinstance(out["b"][1]["c"], tuple)
    assert torch.equal(out["a"], state["a"]) and torch.equal(out["b"][1]["c"][0], torch.ones(1))
    assert all(t.device.type == "cpu" for t in (out["a"], out["b"][0], out["b"][1]["c"][0]))
