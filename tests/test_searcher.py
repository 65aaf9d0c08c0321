"""Searcher semantics: baselines outside the study, early-stopped trials PRUNED, RDB storage, enqueued points."""

from __future__ import annotations

import heapq
import json
import random

import optuna
import pytest
from optuna.trial import TrialState

from curriclip.config import ExperimentConfig
from curriclip.names import Arm
from curriclip.search.scheduler import make_scheduler, scheduler_group
from curriclip.search.searcher import CurriculumLimiter, CurriculumSearcher
from curriclip.spaces import CurriculumSpace, baseline_configs, search_baselines, sparsity_grid


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


def test_no_arm_is_judged_before_the_latest_curriculum_can_be():
    """Every tuned arm gets the same pruning opportunity: a baseline waits for the space's latest ready epoch."""
    from types import SimpleNamespace

    from ray.tune.schedulers import TrialScheduler

    from curriclip.search.runner import judge_from
    from curriclip.search.scheduler import latest_ready_epoch

    narrow = ExperimentConfig.model_validate(
        {
            "training": {"epochs": 8, "steps_per_epoch": 10},
            "space": {"stage_span": [0.0, 0.2], "pacing": {"linear": {"a": [0.1, 0.3]}}},
        }
    )
    # the last of 3 tasks joins by step 16 (span 0.2 of 80), linear pacing admits everything by step 24 (a = 0.3)
    assert latest_ready_epoch(narrow.space, 8, 10) == 3 == judge_from(narrow)
    wide = ExperimentConfig.model_validate({"training": {"epochs": 6, "steps_per_epoch": 25}})
    assert judge_from(wide) == 6  # the default space: a curriculum may become judgeable only at the end
    baselines_only = ExperimentConfig.model_validate({"protocol": {"arms": ["single_task", "multitask"]}})
    assert judge_from(baselines_only) == 1

    scheduler = make_scheduler("asha", "clip_score", "max", 8, 1, 2, judge_from=3)
    trials = [
        SimpleNamespace(trial_id=f"t{i}", config={"trial": {"arm": "single_task", "sparsity": 1.0}}) for i in range(3)
    ]
    for t in trials:
        scheduler.on_trial_add(None, t)
    for epoch in (1, 2):
        for t, score in zip(trials, (0.9, 0.5, 0.1)):
            result = {"training_iteration": epoch, "epoch": epoch, "clip_score": score}
            assert scheduler.on_trial_result(None, t, result) == TrialScheduler.CONTINUE
    decisions = [
        scheduler.on_trial_result(None, t, {"training_iteration": 3, "epoch": 3, "clip_score": score})
        for t, score in zip(trials, (0.9, 0.5, 0.1))
    ]
    assert decisions[-1] == TrialScheduler.STOP  # judged from epoch 3 on, like every curriculum of the space


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
    from curriclip.rundir.storage import RunLocation
    from curriclip.search import runner

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

    from curriclip.rundir.progress import ProgressPrinter

    printer = ProgressPrinter(total=1, metric="clip_score_gap", epochs=2, split="test")
    result = {"clip_score_gap": 0.05, "init_clip_score_gap": -0.001, "init_clip_score": 0.209, "epoch": 2}
    trial = SimpleNamespace(
        trial_id="t1", last_result=result, config={"trial": {"arm": "single_task", "phase": "confirm"}}, status="X"
    )
    printer.on_trial_complete(0, [trial], trial)
    line = capsys.readouterr().err
    assert "test clip_score_gap 0.050 (untrained -0.001)" in line and "0.209" not in line


_EXPERIMENT = ExperimentConfig.model_validate(
    {"space": {"sparsity": [0.5, 1.0]}, "search": {"seeds": [0], "num_trials": 6, "n_startup_trials": 2}}
)


def _synchronous_search(timing_seed: int, slots: int = 2, slow: dict | None = None) -> dict:
    """A synchronous search driven like Ray Tune does, with trial lengths jittered by ``timing_seed``.

    Each trial's score is a function of its config alone, so only the order of events
    differs between seeds; ``slow`` takes 50 times as long as its kind. Every trial reports
    epoch 1 halfway; curricula without step pacing stop at epoch 2 (pruned), the others run
    all 4. Returns the study's proposals in order, the start and end of every trial, and the
    wall time.
    """
    exp = _EXPERIMENT
    baselines = search_baselines(exp, "/d")  # 3 single-task + 3 multitask per level, interleaved
    searcher = CurriculumSearcher(
        space=CurriculumSpace(exp, "/d"),
        baselines=baselines,
        epochs=4,
        metric="clip_score",
        points_to_evaluate=sparsity_grid(exp),
        n_startup_trials=2,
    )
    limiter = CurriculumLimiter(searcher, max_concurrent=slots, batch=True, study_trials=6)
    jitter = random.Random(timing_seed)
    seen = []  # per proposal: how many study trials were told and how many pending when it was made
    propose = searcher.suggest_study

    def suggest_study(trial_id: str):
        states = [t.state for t in searcher.study.trials]
        seen.append((sum(s.is_finished() for s in states), states.count(TrialState.RUNNING)))
        return propose(trial_id)

    searcher.suggest_study = suggest_study

    def score(cfg: dict) -> float:
        return cfg["lr"] * 100 + len(cfg["tasks"]) * 0.1 + (0.3 if cfg.get("pacing") == "step" else 0.0)

    def result(cfg: dict, epoch: int) -> dict:
        value = score(cfg) - 0.1 * (4 - epoch)
        return {"clip_score": value, "epoch": epoch, "training_iteration": epoch, "config": {"trial": cfg}}

    now, events, running, trials, proposals, number = 0.0, [], 0, [], [], 0
    while number < len(baselines) + 6 or events:
        while running < slots and number < len(baselines) + 6:  # Tune asks whenever a slot is free
            suggestion = limiter.suggest(f"t{number}")
            if suggestion is None:
                break
            cfg = suggestion["trial"]
            if cfg["arm"] == Arm.CURRICULUM:
                proposals.append(cfg)
            length = {Arm.SINGLE_TASK: 2.0, Arm.MULTITASK: 3.0}.get(cfg["arm"], 1.0) * jitter.uniform(0.2, 3.0)
            length *= 50 if cfg == slow else 1
            pruned = cfg["arm"] == Arm.CURRICULUM and cfg.get("pacing") != "step"
            heapq.heappush(events, (now + length / 2, f"t{number}", cfg, 1))
            heapq.heappush(events, (now + length, f"t{number}", cfg, 2 if pruned else 4))
            trials.append({"id": f"t{number}", "cfg": cfg, "start": now, "end": now + length})
            running += 1
            number += 1
        now, trial_id, cfg, epoch = heapq.heappop(events)
        limiter.on_trial_result(trial_id, result(cfg, epoch))  # Tune passes every result on, the last one too
        if epoch > 1:
            running -= 1
            limiter.on_trial_complete(trial_id, result(cfg, epoch))
    return {"proposals": proposals, "trials": trials, "wall": now, "searcher": searcher, "score": score, "seen": seen}


@pytest.mark.parametrize("slots", [2, 3])
def test_synchronous_proposals_do_not_depend_on_timing_and_baselines_wait_for_no_batch(slots):
    runs = [_synchronous_search(seed, slots) for seed in range(4)]
    ends = [
        [json.dumps(t["cfg"], sort_keys=True) for t in sorted(run["trials"], key=lambda t: t["end"])] for run in runs
    ]
    assert len({tuple(order) for order in ends}) == len(runs)  # the timings changed the order trials finished in
    first = runs[0]["proposals"]
    assert len(first) == 6 and len({json.dumps(p, sort_keys=True) for p in first}) == 6
    studies = [[(t.state, t.value, dict(t.intermediate_values)) for t in run["searcher"].study.trials] for run in runs]
    assert any(state == TrialState.PRUNED for state, _, _ in studies[0])  # pruned trials: scored by epoch 2
    for run, study in zip(runs[1:], studies[1:]):
        assert run["proposals"] == first  # the same configurations, in the same order
        assert study == studies[0]  # told the same values, intermediate ones included (centred the same)

    queue = [json.dumps(cfg, sort_keys=True) for cfg in search_baselines(_EXPERIMENT, "/d")]
    overtaken = 0
    for run in runs:
        trials, searcher = run["trials"], run["searcher"]  # in the order they started
        baselines = [t for t in trials if t["cfg"]["arm"] != Arm.CURRICULUM]
        for number, trial in enumerate(baselines):  # it starts once every earlier trial of its group has finished
            group = scheduler_group(trial["cfg"])
            assert all(t["end"] <= trial["start"] for t in baselines[:number] if scheduler_group(t["cfg"]) == group)
        started = [json.dumps(t["cfg"], sort_keys=True) for t in baselines]
        overtaken += started != queue  # a baseline whose group still ran was overtaken by the next one
        for level in (0.5, 1.0):  # each centre is the mean of every single-task trial at its level
            singles = [run["score"](t["cfg"]) for t in baselines if scheduler_group(t["cfg"]) == ("single_task", level)]
            assert searcher.reference(level) == pytest.approx(sum(singles) / len(singles))

        # Against a barrier after every batch of ``slots`` (the old synchronous mode), the same trials
        # take longer: the barrier left slots idle while the batch's longest trial ran.
        barrier = sum(max(t["end"] - t["start"] for t in trials[i : i + slots]) for i in range(0, len(trials), slots))
        assert run["wall"] < barrier
    assert overtaken > 0 if slots > 2 else overtaken == 0  # 4 groups: with 3 slots a group is sometimes busy


@pytest.mark.parametrize("slots", [2, 3])
def test_each_proposal_sees_exactly_the_ones_a_window_earlier_and_waits_for_no_batch(slots):
    """Proposal s is made with proposals 0 .. s - slots told and the rest pending, whatever the timing."""
    waited_for_no_batch = 0
    for seed in range(4):
        run = _synchronous_search(seed, slots)
        assert run["seen"] == [(max(0, s - slots + 1), min(s, slots - 1)) for s in range(6)]
        curricula = [t for t in run["trials"] if t["cfg"]["arm"] == Arm.CURRICULUM]  # in proposal order
        for s in range(slots, 6):
            assert curricula[s]["start"] >= curricula[s - slots]["end"]  # it waited for its window
        # a batch barrier would hold proposal s (s a multiple of slots) until s - 1 had ended; the window need not
        waited_for_no_batch += sum(curricula[s]["start"] < curricula[s - 1]["end"] for s in range(slots, 6, slots))
    assert waited_for_no_batch > 0


def test_the_study_is_told_only_after_every_baseline_has_finished():
    """A slow last single-task baseline: the curricula finish a window's worth before it, yet wait for it."""
    slow = search_baselines(_EXPERIMENT, "/d")[-2]  # the last single-task configuration (level 1.0)
    run = _synchronous_search(0, slots=3, slow=slow)
    trials = run["trials"]
    slow_end = next(t["end"] for t in trials if t["cfg"] == slow)
    assert sum(t["end"] < slow_end for t in trials if t["cfg"]["arm"] == Arm.CURRICULUM) >= 3  # a window's worth
    singles = [run["score"](t["cfg"]) for t in trials if scheduler_group(t["cfg"]) == ("single_task", 1.0)]
    assert run["searcher"].reference(1.0) == pytest.approx(sum(singles) / len(singles))  # the slow one counted
    assert run["proposals"] == _synchronous_search(0, slots=3)["proposals"]


def test_a_limiter_saved_by_the_batch_rule_resumes_in_the_window():
    """A search saved before the window (``batch_of``) resumes with its untold proposals in proposal order."""
    searcher = CurriculumSearcher(
        space=CurriculumSpace(_EXPERIMENT, "/d"), baselines=[], epochs=4, metric="clip_score", n_startup_trials=2
    )
    limiter = CurriculumLimiter(searcher, max_concurrent=2, batch=True, study_trials=6)
    old = {
        "proposal_order": {"a": 0, "b": 1, "c": 2, "d": 3},
        "baselines": 0,
        "study_trials": 6,
        "study_proposed": 4,
        "running": {"c", "d"},
        "batch_of": {"d": 1, "c": 1},  # a and b told
        "finished": {},
    }
    limiter.set_state(old)
    assert limiter.study_told == 2 and limiter.untold == ["c", "d"] and limiter.study_proposed == 4
    assert not any(hasattr(limiter, old) for old in ("batch_of", "baselines", "proposal_order"))


def test_a_window_wider_than_the_study_proposes_no_more_than_the_study_trials():
    """With a baseline's group busy and slots to spare, the limiter stops at study_trials (then the baseline runs)."""
    exp = ExperimentConfig.model_validate(
        {"space": {"sparsity": [1.0]}, "search": {"seeds": [0], "num_trials": 2, "n_startup_trials": 1}}
    )
    baselines = baseline_configs(exp, "/d", Arm.SINGLE_TASK)
    assert len(baselines) == 2 and len({scheduler_group(b) for b in baselines}) == 1  # one group: one at a time
    searcher = CurriculumSearcher(
        space=CurriculumSpace(exp, "/d"), baselines=baselines, epochs=4, metric="clip_score", n_startup_trials=1
    )
    limiter = CurriculumLimiter(searcher, max_concurrent=3, batch=True, study_trials=1)
    assert limiter.suggest("b0")["trial"]["arm"] == Arm.SINGLE_TASK
    assert limiter.suggest("c0")["trial"]["arm"] == Arm.CURRICULUM
    assert limiter.suggest("c1") is None  # the study's one proposal is made; the second baseline waits its turn
    limiter.on_trial_complete("b0", {"clip_score": 0.5, "epoch": 4, "config": {"trial": baselines[0]}})
    assert limiter.suggest("b1")["trial"] == baselines[1]
