"""Searcher semantics: baselines outside the study, early-stopped trials PRUNED, RDB storage, enqueued points."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from curriclip.config import ExperimentConfig
from curriclip.names import Arm
from curriclip.search.scheduler import make_scheduler
from curriclip.search.searcher import CurriculumSearcher
from curriclip.spaces import CurriculumSpace, baseline_configs


def _searcher(tmp_path, points=()):
    exp = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.5, 1.0]}, "search": {"seeds": [0], "num_trials": 2}}
    )  # one single-task configuration per level
    return CurriculumSearcher(
        space=CurriculumSpace(exp, "/d"),
        baselines=baseline_configs(exp, "/d", Arm.SINGLE_TASK),
        epochs=4,
        metric="clip_score",
        points_to_evaluate=list(points),
        storage_url=f"sqlite:///{tmp_path / 'optuna.db'}",
        study_name="s",
    )


def test_baselines_first_then_pruned_and_complete_trials_in_rdb(tmp_path):
    searcher = _searcher(tmp_path, points=[{"pacing": "step", "sparsity": 0.5}])
    first, second = searcher.suggest("b0"), searcher.suggest("b1")
    assert first["trial"]["arm"] == second["trial"]["arm"] == "single_task"
    stopped = searcher.suggest("c0")
    assert stopped["trial"]["arm"] == "curriculum"
    assert stopped["trial"]["pacing"] == "step" and stopped["trial"]["sparsity"] == 0.5  # the user's point first
    for epoch, score in ((1, 0.2), (2, 0.3)):
        searcher.on_trial_result("c0", {"clip_score": score, "training_iteration": epoch, "epoch": epoch})
    searcher.on_trial_complete("c0", {"clip_score": 0.3, "training_iteration": 2, "epoch": 2})
    searcher.suggest("c1")
    for epoch in range(1, 5):
        searcher.on_trial_result("c1", {"clip_score": 0.1 * epoch, "training_iteration": epoch, "epoch": epoch})
    searcher.on_trial_complete("c1", {"clip_score": 0.4, "training_iteration": 4, "epoch": 4})
    searcher.on_trial_complete("b0", {"clip_score": 0.9, "training_iteration": 4, "epoch": 4})

    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    finished = [t for t in study.trials if t.state in (TrialState.PRUNED, TrialState.COMPLETE)]
    assert [t.state for t in finished] == [TrialState.PRUNED, TrialState.COMPLETE]
    assert finished[0].intermediate_values == {1: 0.2, 2: 0.3}  # kept, not a truncated COMPLETE
    assert finished[1].value == 0.4
    assert all(t.params.get("sparsity") is not None for t in finished)  # baselines never enter the study
    assert searcher.study.sampler._constant_liar is True  # parallel trials: TPE's constant liar


def test_per_level_scheduler_prunes_each_tuned_arm_against_its_own_kind():
    from types import SimpleNamespace

    from ray.tune.schedulers import TrialScheduler

    scheduler = make_scheduler("asha", "clip_score", "max", max_t=4, grace_period=1, reduction_factor=2)

    def trial(tid, arm, level, score):
        return SimpleNamespace(trial_id=tid, config={"trial": {"arm": arm, "sparsity": level}}), score

    decisions = {}
    trials = [
        trial("a", "curriculum", 1.0, 0.9),
        trial("b", "curriculum", 1.0, 0.8),
        trial("c", "curriculum", 1.0, 0.1),
        trial("d", "curriculum", 0.1, 0.05),
        trial("e", "shuffled_control", 1.0, 0.0),
        trial("f", "single_task", 1.0, 0.01),
    ]
    for t, _ in trials:
        scheduler.on_trial_add(None, t)
    for t, score in trials:
        decisions[t.trial_id] = scheduler.on_trial_result(None, t, {"training_iteration": 1, "clip_score": score})
    assert decisions["c"] == TrialScheduler.STOP  # worst at its own level
    assert decisions["d"] == TrialScheduler.CONTINUE  # compared only with trials at 10%
    assert decisions["e"] == TrialScheduler.CONTINUE  # controls are never stopped
    assert decisions["f"] == TrialScheduler.CONTINUE  # single-task is compared only with single-task


def test_a_curriculum_is_not_judged_before_its_last_task_joins():
    from types import SimpleNamespace

    from ray.tune.schedulers import TrialScheduler

    from curriclip.search.scheduler import ready_epoch

    scheduler = make_scheduler("asha", "clip_score", "max", max_t=8, grace_period=1, reduction_factor=2)
    base = {"arm": "curriculum", "sparsity": 1.0, "epochs": 8, "steps_per_epoch": 10, "pacing": "none"}
    early = {**base, "tasks": ["itc", "findings"], "stage_span": 0.0}
    late = {**base, "tasks": ["findings", "itc"], "stage_span": 0.8}  # ITC joins at step 32 of 80 (epoch 4)
    assert ready_epoch(early) == 1 and ready_epoch(late) == 4
    paced = {**early, "pacing": "linear", "pacing_params": {"a": 0.5, "b": 0.1}}  # the full pool from step 40
    assert ready_epoch(paced) == 5
    strong, weak = (
        SimpleNamespace(trial_id="s", config={"trial": early}),
        SimpleNamespace(trial_id="w", config={"trial": late}),
    )
    for t in (strong, weak):
        scheduler.on_trial_add(None, t)
    for epoch in range(1, 5):
        result = {"training_iteration": epoch, "epoch": epoch, "clip_score": 0.9}
        assert scheduler.on_trial_result(None, strong, result) == TrialScheduler.CONTINUE
    for epoch in range(1, 4):  # far worse, but ITC has not joined yet: never judged
        result = {"training_iteration": epoch, "epoch": epoch, "clip_score": 0.0}
        assert scheduler.on_trial_result(None, weak, result) == TrialScheduler.CONTINUE
    result = {"training_iteration": 4, "epoch": 4, "clip_score": 0.0}
    assert scheduler.on_trial_result(None, weak, result) == TrialScheduler.STOP  # judged once it has acted


def test_multi_objective_uses_nsga2_and_keeps_the_pareto_front(tmp_path):
    exp = ExperimentConfig.model_validate({"search": {"objectives": {"clip_score": "max", "time_s": "min"}}})
    searcher = CurriculumSearcher(
        space=CurriculumSpace(exp, "/d"),
        baselines=[],
        epochs=4,
        metric=["clip_score", "time_s"],
        mode=["max", "min"],
        storage_url=f"sqlite:///{tmp_path / 'mo.db'}",
    )
    for i, (score, seconds) in enumerate([(0.5, 10.0), (0.7, 20.0), (0.4, 30.0)]):
        searcher.suggest(f"t{i}")
        searcher.on_trial_complete(f"t{i}", {"clip_score": score, "time_s": seconds, "epoch": 4})
    study = searcher.study
    assert type(study.sampler).__name__ == "NSGAIISampler"
    assert sorted(t.values for t in study.best_trials) == [[0.5, 10.0], [0.7, 20.0]]  # (0.4, 30 s) is dominated


def test_objectives_in_the_experiment_file_make_a_multi_objective_study(tmp_path):
    """search.objectives, as a user writes it, reaches the searcher: an NSGA-II study with one direction each."""
    import optuna

    from curriclip.config import parse_experiment
    from curriclip.search import runner
    from curriclip.search.storage import RunLocation

    experiment = parse_experiment({"search": {"objectives": {"clip_score": "max", "time_s": "min"}}})
    (tmp_path / "run").mkdir()
    limiter, param_space, samples = runner._proposals(experiment, str(tmp_path), [], 1, RunLocation(tmp_path / "run"))
    study = limiter.searcher._ot_study
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert isinstance(study.sampler, optuna.samplers.NSGAIISampler)
    assert param_space is None and samples == experiment.search.num_trials


def test_progress_line_gives_the_untrained_model_on_the_searched_metric(capsys):
    """The progress line's untrained figure is the same metric as the trial's score (it once printed CLIP score)."""
    from types import SimpleNamespace

    from curriclip.search.progress import ProgressPrinter

    printer = ProgressPrinter(total=1, metric="clip_score_gap", epochs=2, split="test")
    result = {"clip_score_gap": 0.05, "init_clip_score_gap": -0.001, "init_clip_score": 0.209, "epoch": 2}
    trial = SimpleNamespace(
        trial_id="t1", last_result=result, config={"trial": {"arm": "single_task", "phase": "confirm"}}, status="X"
    )
    printer.on_trial_complete(0, [trial], trial)
    line = capsys.readouterr().err
    assert "test clip_score_gap 0.050 (untrained -0.001)" in line and "0.209" not in line
