"""Population-based training and the other ways curriculum trials are proposed.

PBT cannot take a searcher (a clear configuration error, not Ray's crash), its explore
step stays inside the experiment's space, a perturbed learning rate takes effect on
resume, and a real PBT search through Ray exploits and explores while every trial
runs its full budget. Also: sparsity as a grid axis vs a searched parameter.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest
import torch
import yaml

from curriclip.config import ExperimentConfig, parse_experiment
from curriclip.curriculum import pacing
from curriclip.errors import ConfigError
from curriclip.search.pbt import _explore, explore_pacing, hyperparam_mutations, make_pbt_scheduler
from curriclip.spaces import random_population, sparsity_grid
from curriclip.trainables.optim import build_optimizer, follow_config_lr


def _exp(**sections) -> ExperimentConfig:
    return parse_experiment(sections, source="test")


def test_pbt_with_an_optuna_searcher_is_a_config_error():
    with pytest.raises(ConfigError, match=r"scheduler 'pbt' cannot be combined with searcher 'optuna'"):
        _exp(search={"scheduler": "pbt", "searcher": "optuna"})
    assert _exp(search={"scheduler": "pbt"}).search.proposer == "random"  # the pbt default
    assert _exp().search.proposer == "optuna"
    assert _exp(search={"searcher": "random"}).search.proposer == "random"


def test_pbt_config_error_exits_2_from_the_cli(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"search": {"scheduler": "pbt", "searcher": "optuna"}}))
    done = subprocess.run(
        [sys.executable, "-m", "curriclip.cli", "search", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and "searcher 'optuna'" in lines[0] and str(path) in lines[0]


def test_explore_stays_in_the_space():
    exp = _exp(space={"pacing": {"linear": {}, "step": {}}, "stage_span": [0.2, 0.8], "lr": [1e-4, 1e-3]})
    rng = random.Random(0)
    assert set(hyperparam_mutations(exp)["trial"]) == {"lr", "stage_span"}
    linear = {
        "trial": {
            "arm": "curriculum",
            "pacing": "linear",
            "pacing_params": {"a": 0.5, "b": 0.3},
            "lr": 9.9e-4,
            "stage_span": 0.79,
        }
    }
    seen = set()
    for _ in range(200):
        # Ray multiplies by 1.2 / 0.8 without bounds before the custom step
        pushed = {"trial": {**linear["trial"], "lr": 1.2e-3, "stage_span": 0.95}}
        out = _explore(pushed, exp, rng)["trial"]
        assert 1e-4 <= out["lr"] <= 1e-3 and 0.2 <= out["stage_span"] <= 0.8
        a = out["pacing_params"]["a"]
        seen.add(round(a, 6))
        ranges = pacing.get("linear").params
        assert ranges["a"].low <= a <= ranges["a"].high
    assert len(seen) > 3  # it does explore
    baseline = {"trial": {"arm": "single_task", "pacing": "none", "lr": 1e-3}}
    assert explore_pacing(baseline, exp, rng) == baseline  # baselines are never touched


def test_a_perturbed_lr_takes_effect_on_resume_and_a_plain_resume_is_exact():
    model = torch.nn.Linear(4, 4)
    from curriclip.config import TrialConfig

    cfg = TrialConfig.model_validate(
        {
            "arm": "single_task",
            "dataset_dir": "/d",
            "tasks": ["itc"],
            "pacing": "none",
            "lr": 1e-3,
            "epochs": 2,
            "steps_per_epoch": 10,
        }
    )
    optimizer, scheduler = build_optimizer(model, cfg)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    before = [g["lr"] for g in optimizer.param_groups]
    follow_config_lr(optimizer, scheduler, 1e-3)
    assert [g["lr"] for g in optimizer.param_groups] == before  # the same lr: bit-identical
    follow_config_lr(optimizer, scheduler, 5e-4)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([v / 2 for v in before])
    scheduler.step()  # the schedule continues at the new peak
    assert scheduler.base_lrs == [5e-4, 5e-4]


def test_sparsity_grid_or_searched():
    grid = _exp(space={"sparsity": [0.1, 0.5, 1.0]}, search={"num_trials": 9, "searcher": "random"})
    configs = random_population(grid, "/d", sparsity_grid(grid))
    assert Counter(c["trial"]["sparsity"] for c in configs) == {0.1: 3, 0.5: 3, 1.0: 3}  # same budget per level
    searched = _exp(
        space={"sparsity": [0.1, 0.5, 1.0], "sparsity_axis": "searched"}, search={"num_trials": 9, "searcher": "random"}
    )
    assert sparsity_grid(searched) == []
    levels = [c["trial"]["sparsity"] for c in random_population(searched, "/d", sparsity_grid(searched))]
    assert set(levels) <= {0.1, 0.5, 1.0}
    assert levels != [0.1, 0.5, 1.0] * 3  # drawn by the sampler, not round-robin
    # the same space as the Optuna searcher: every config is a valid curriculum trial
    assert all(c["trial"]["arm"] == "curriculum" and c["trial"]["tasks"][0] for c in configs)


def test_pbt_scheduler_is_per_level_and_lets_a_finished_trial_end():
    from types import SimpleNamespace

    from ray.tune.schedulers import PopulationBasedTraining, TrialScheduler

    exp = _exp(search={"scheduler": "pbt", "perturbation_interval": 3}, training={"epochs": 5})
    scheduler = make_pbt_scheduler(exp, "clip_score")
    inner = scheduler._make(1.0)
    assert isinstance(inner, PopulationBasedTraining) and inner._perturbation_interval == 3

    seen = []

    class Recording(TrialScheduler):
        def on_trial_add(self, controller, trial):
            pass

        def on_trial_result(self, controller, trial, result):
            seen.append((trial.trial_id, result["epoch"]))
            return TrialScheduler.PAUSE

    scheduler._make = lambda level: Recording()
    curriculum = SimpleNamespace(trial_id="c", config={"trial": {"arm": "curriculum", "sparsity": 1.0}})
    baseline = SimpleNamespace(trial_id="b", config={"trial": {"arm": "single_task", "sparsity": 1.0}})
    for trial in (curriculum, baseline):
        scheduler.on_trial_add(None, trial)
    assert scheduler.on_trial_result(None, curriculum, {"epoch": 4}) == TrialScheduler.PAUSE  # PBT decides
    assert scheduler.on_trial_result(None, curriculum, {"epoch": 5}) == TrialScheduler.CONTINUE  # the last epoch
    assert scheduler.on_trial_result(None, baseline, {"epoch": 2}) == TrialScheduler.CONTINUE  # no population
    assert seen == [("c", 4)]


def test_pbt_draws_from_its_own_seeded_stream():
    """Same seed, same results seen: the same perturbed configs; the global random state is left alone."""
    import random

    import numpy as np
    from ray.tune.schedulers.pbt import _explore as ray_explore

    exp = _exp(search={"scheduler": "pbt"})
    mutations = hyperparam_mutations(exp)

    def draws(seed: int) -> list:
        inner = make_pbt_scheduler(exp, "clip_score", seed=seed)._make(1.0)
        config = {
            "trial": {
                "arm": "curriculum",
                "lr": 1e-3,
                "stage_span": 0.5,
                "pacing": "linear",
                "pacing_params": {"a": 0.5, "b": 0.2},
            }
        }
        out = []
        for _ in range(6):
            with inner.own_random():
                config, _ = ray_explore(config, mutations, 0.25, [1.2, 0.8], inner._custom_explore_fn)
            out.append(json.dumps(config, sort_keys=True))
        return out

    random.seed(123)
    np.random.seed(123)
    before = random.random(), np.random.random()
    random.seed(123)
    np.random.seed(123)
    first = draws(7)
    assert (random.random(), np.random.random()) == before  # the driver's global streams are untouched
    assert draws(7) == first and draws(8) != first
    assert len(set(first)) > 1  # it does perturb


@pytest.mark.parametrize("hook", ["on_trial_add", "on_trial_result"])
def test_every_pbt_decision_draws_from_the_schedulers_seed_not_the_global_state(monkeypatch, hook):
    """Ray's PBT draws inside ``on_trial_add`` (initial mutations) and ``on_trial_result`` (exploit and explore):
    through SeededPBT, the same seed gives the same draws whatever the driver's global random state."""
    import random

    import numpy as np
    from ray.tune.schedulers import PopulationBasedTraining

    drawn: list = []

    def draw(self, *args):
        drawn.append((random.random(), float(np.random.random())))

    monkeypatch.setattr(PopulationBasedTraining, hook, draw)
    exp = _exp(search={"scheduler": "pbt"})
    args = (None, None) if hook == "on_trial_add" else (None, None, {})
    runs = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        np.random.seed(global_seed)
        scheduler = make_pbt_scheduler(exp, "clip_score", seed=7)._make(1.0)
        drawn.clear()
        for _ in range(3):
            getattr(scheduler, hook)(*args)
        runs.append(list(drawn))
        assert random.getstate() == random.Random(global_seed).getstate()  # the global stream was not consumed
    assert runs[0] == runs[1] and len(set(runs[0])) == 3
    drawn.clear()
    getattr(make_pbt_scheduler(exp, "clip_score", seed=8)._make(1.0), hook)(*args)
    assert drawn[0] != runs[0][0]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_pbt_search_exploits_and_every_trial_runs_its_budget(tmp_path, tiny_dataset, cache_dir):
    import json
    import os

    exp = {
        "name": "pbt",
        "data": {"n": 240, "image_size": 64},
        "training": {"epochs": 5, "steps_per_epoch": 3, "batch_size": 16, "eval_batch_size": 64},
        # Async PBT exploits only when a reporting trial ranks in the bottom half of the trials that have scores, so
        # a population of two that never overlap in eligible epochs may never exploit (it did not, in CI). Here
        # all four curricula run at once (0.5 CPU each) and every one is judged from epoch 2 (its tasks joined and
        # its pacing at the full pool by then), so each of epochs 2-4 compares four scores.
        "space": {
            "sparsity": [1.0],
            "pacing": {"linear": {"a": [0.1, 0.3]}, "step": {"a": [0.1, 0.3]}},
            "stage_span": [0.05, 0.3],
            "lr": [3e-4, 3e-3],
        },
        "search": {"num_trials": 4, "seeds": [0], "scheduler": "pbt", "perturbation_interval": 1, "pbt_quantile": 0.5},
        "protocol": {"confirm_seeds": 0, "arms": ["single_task", "curriculum"]},
        "resources": {"cpus_per_trial": 0.5},
        "storage": str(tmp_path / "runs"),
    }
    path = tmp_path / "pbt.yaml"
    path.write_text(yaml.safe_dump(exp))
    env = {**os.environ, "CURRICLIP_CACHE": str(cache_dir), "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "curriclip.cli", "search", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "random proposals, pbt scheduler" in done.stderr
    run_dir = tmp_path / "runs" / "pbt"
    trials = pd.read_parquet(run_dir / "trials.parquet")
    epochs = pd.read_parquet(run_dir / "epochs.parquet")
    assert len(trials) == 8 and trials["trial_id"].is_unique  # 4 single-task (matched) + 4 curriculum
    # PBT stops nothing; an errored trial names its error (one single-task trial errored once in CI, unexplained)
    unfinished = trials[(trials["status"] != "completed") | (trials["epochs_done"] != 5)]
    assert unfinished.empty, unfinished[["trial_id", "status", "epochs_done", "error"]].to_string()
    assert not epochs.duplicated(["trial_id", "epoch"]).any()
    assert not (run_dir / "optuna.db").exists()  # no searcher
    from curriclip.search.scheduler import ready_epoch

    proposed = [json.loads(p.read_text())["trial"] for p in run_dir.glob("trial_*/params.json")]
    curricula = [c for c in proposed if c["arm"] == "curriculum"]
    assert len(curricula) == 4 and all(ready_epoch(c) <= 2 for c in curricula)  # the premise above
    # Ray's PBT log: at least one exploit, each with a perturbed config inside the space
    exploits = [json.loads(line) for line in (run_dir / "pbt_global.txt").read_text().splitlines() if line.strip()]
    assert exploits, "PBT never exploited"
    for target, source, _, _, old, new in exploits:
        # Ray logs experiment tags: "<proposal index>_<config>"; 0-3 are the single-task configurations, which are
        # in no population
        assert int(target.split("_", 1)[0]) >= 4 and int(source.split("_", 1)[0]) >= 4
        assert old["trial"]["arm"] == new["trial"]["arm"] == "curriculum"
        assert new["trial"]["tasks"] == old["trial"]["tasks"] and new["trial"]["pacing"] == old["trial"]["pacing"]
        assert 3e-4 <= new["trial"]["lr"] <= 3e-3 and 0.05 <= new["trial"]["stage_span"] <= 0.3
        assert 0.1 <= new["trial"]["pacing_params"]["a"] <= 0.3


def test_a_trial_restored_at_its_last_epoch_reports_it_once(tiny_dataset):
    """PBT may copy a donor that already finished: the copy reports the final evaluation instead of nothing."""
    from conftest import tiny_trial

    from curriclip.config import TrialConfig
    from curriclip.trainables.loop import run_trial

    cfg = TrialConfig.model_validate(tiny_trial(tiny_dataset, epochs=2, steps_per_epoch=2))
    first: list = []
    run_trial(cfg, lambda metrics, make_state: first.append((metrics, make_state())))
    final_metrics, final_state = first[-1]
    again: list = []
    run_trial(cfg, lambda metrics, make_state: again.append(metrics), state=final_state)
    assert [m["epoch"] for m in again] == [2]
    assert again[0]["clip_score"] == pytest.approx(final_metrics["clip_score"], abs=1e-6)  # the same model


def test_pbt_keeps_every_checkpoint_and_the_other_schedulers_one(tmp_path):
    """A trial chosen to exploit may restart epochs later: the checkpoint it copies must still exist."""
    from curriclip.search.runner import _run_config

    for scheduler, kept in [("pbt", None), ("asha", 1), ("fifo", 1)]:
        config = _run_config(_exp(search={"scheduler": scheduler}), "run", str(tmp_path), total=4)
        assert config.checkpoint_config.num_to_keep == kept, scheduler
