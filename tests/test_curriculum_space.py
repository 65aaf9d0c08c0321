"""Schedule mode, stage pacing, scorer, scorer parameters and controls: chosen by name and searchable."""

from __future__ import annotations

import optuna
import pytest

from curriclip.config import ExperimentConfig, TrialConfig, parse_experiment
from curriclip.errors import ConfigError
from curriclip.spaces import CurriculumSpace


def _ask(space_cfg: dict, n: int = 30) -> list[tuple[TrialConfig, dict]]:
    exp = ExperimentConfig.model_validate({"space": space_cfg})
    space = CurriculumSpace(exp, "/data/x")
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        trial = study.ask()
        cfg = TrialConfig.model_validate(space(trial)["trial"])
        out.append((cfg, dict(trial.params)))
        study.tell(trial, 0.0)
    return out


def test_fixed_choices_are_not_search_parameters():
    cfg, params = _ask({"schedule": ["sequential"], "control": ["anti"]}, n=1)[0]
    assert cfg.schedule == "sequential" and cfg.control == "anti"
    assert cfg.stage_pacing == "linear" and cfg.stage_pacing_params == {"a": 1.0}  # equal stages
    assert not {"schedule", "control", "stage_pacing"} & set(params)


def test_listed_choices_are_searched_with_conditional_parameters():
    results = _ask(
        {
            "pacing": {"baby_step": {}, "competence_root": {"p": [2.0, 3.0]}},
            "schedule": ["cumulative", "sequential", "ramped"],
            "control": ["none", "anti", "random"],
            "stage_pacing": {"linear": {"a": [0.5, 1.0]}, "exponential": {}},
            "scorer": ["metadata", "transfer_teacher"],
            "scorer_params": {"transfer_teacher": {"steps": 5}},
        }
    )
    assert {c.schedule for c, _ in results} == {"cumulative", "sequential", "ramped"}
    assert {c.control for c, _ in results} == {"none", "anti", "random"}
    assert {c.stage_pacing for c, _ in results} == {"linear", "exponential"}
    for cfg, params in results:
        if cfg.pacing == "baby_step":
            assert cfg.pacing_params["buckets"] == int(cfg.pacing_params["buckets"])  # searched as an integer
            assert isinstance(params["baby_step_buckets"], int)
        else:
            assert 2.0 <= cfg.pacing_params["p"] <= 3.0 and "baby_step_buckets" not in params
        if cfg.stage_pacing == "linear":
            assert 0.5 <= cfg.stage_pacing_params["a"] <= 1.0 and "stage_exponential_a" not in params
        assert cfg.scorer_params == ({"steps": 5.0} if cfg.scorer == "transfer_teacher" else {})


def test_experiment_file_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"space.schedule.0: .*'cumulative', 'sequential' or 'ramped'"):
        parse_experiment({"space": {"schedule": ["zigzag"]}})
    with pytest.raises(ConfigError, match=r"space.control.0"):
        parse_experiment({"space": {"control": ["sideways"]}})
    with pytest.raises(ConfigError, match=r"space.stage_pacing: .*unknown pacing function 'nope'"):
        parse_experiment({"space": {"stage_pacing": ["nope"]}})
    with pytest.raises(ConfigError, match=r"scorer 'metadata' has no parameter"):
        parse_experiment({"space": {"scorer_params": {"metadata": {"steps": 3}}}})
