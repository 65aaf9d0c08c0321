"""The searcher's bookkeeping by exact values: config keys, flattened Tune results, the sampler's settings, the
baseline queue, the per-level centre, re-run trials adopted after a restart, and the limiter outside the window."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from curriclip.config import ExperimentConfig
from curriclip.names import Arm
from curriclip.search import searcher as searcher_module
from curriclip.search.searcher import CurriculumLimiter, CurriculumSearcher, _config_key, _trial_config
from curriclip.spaces import CurriculumSpace, baseline_configs

EXPERIMENT = ExperimentConfig.model_validate(
    {"space": {"sparsity": [0.5, 1.0]}, "search": {"seeds": [0], "num_trials": 2, "n_startup_trials": 1}}
)


def _searcher(**kwargs) -> CurriculumSearcher:
    options = {"baselines": baseline_configs(EXPERIMENT, "/d", Arm.SINGLE_TASK), "epochs": 4, "metric": "clip_score"}
    return CurriculumSearcher(space=CurriculumSpace(EXPERIMENT, "/d"), **{**options, **kwargs})


def _result(cfg: dict, score: float, epoch: int) -> dict:
    return {"clip_score": score, "epoch": epoch, "training_iteration": epoch, "config": {"trial": cfg}}


def test_config_keys_leave_out_empty_dicts_at_every_depth():
    cfg = {"b": 1, "a": {}, "c": {"d": {}, "e": [{}], "f": {"g": 2}}, "p": Path("x")}
    assert _config_key(cfg) == '{"b": 1, "c": {"e": [{}], "f": {"g": 2}}, "p": "x"}'
    assert _config_key({"z": 1, "y": 2}) == '{"y": 2, "z": 1}'


def test_the_trial_config_of_nested_and_flattened_results():
    assert _trial_config(None) is None and _trial_config({}) is None
    assert _trial_config({"config": {"trial": {"arm": "x"}}}) == {"arm": "x"}
    flat = {
        "config/trial/arm": "curriculum",
        "config/trial/pacing_params/a": 0.5,
        "config/trial/pacing_params/b": 0.2,
        "config/other": 1,
        "clip_score": 0.3,
    }
    assert _trial_config(flat) == {"arm": "curriculum", "pacing_params": {"a": 0.5, "b": 0.2}}
    assert _trial_config({"config": {"trial": "not a dict"}, "config/trial/arm": "x"}) == {"arm": "x"}
    assert _trial_config({"config": "x", "clip_score": 1.0}) is None


def test_the_samplers_settings():
    one = _searcher(seed=3, n_startup_trials=5)
    sampler = one.study.sampler
    assert isinstance(sampler, optuna.samplers.TPESampler)
    assert sampler._n_startup_trials == 5 and sampler._multivariate and sampler._group and sampler._constant_liar
    assert one._mode == "max" and one._metric == "clip_score" and one.study.study_name == "curriclip"
    first = [_searcher(seed=3).suggest(f"t{i}") for i in range(1)]
    assert first == [_searcher(seed=3).suggest("t0")]
    assert isinstance(_searcher(metric=["clip_score", "time_s"], mode=["max", "min"]).study.sampler,
                      optuna.samplers.NSGAIISampler)  # fmt: skip
    minimise = _searcher(mode="min")
    assert minimise._mode == "min"


def test_the_baseline_queue_in_order_and_each_trial_once():
    baselines = baseline_configs(EXPERIMENT, "/d", Arm.SINGLE_TASK)
    searcher = _searcher()
    assert searcher.queued_baselines() == len(baselines) == 2 and not searcher.baselines_done()
    assert searcher.ready_baseline() == 0
    assert searcher.suggest("b0") == {"trial": baselines[0]}
    with pytest.raises(RuntimeError) as error:
        searcher.suggest_baseline("b0")
    assert str(error.value) == "trial b0 asked for a second config"
    assert searcher.queued_baselines() == 1 and searcher.ready_baseline() == 0  # another group (level)
    assert searcher.suggest_baseline("b1", 0) == {"trial": baselines[1]}
    assert searcher.queued_baselines() == 0 and searcher.ready_baseline() is None and not searcher.baselines_done()
    searcher.on_trial_complete("b0", _result(baselines[0], 0.5, 4))
    assert not searcher.baselines_done()
    searcher.on_trial_complete("b1", _result(baselines[1], 0.7, 4), error=True)
    assert searcher.baselines_done()
    assert searcher.reference(0.5) == 0.5 and searcher.reference(1.0) == 0.0  # the errored one is not counted


def test_a_baseline_waits_while_an_earlier_one_of_its_group_runs():
    same = [{"arm": "single_task", "sparsity": 0.5, "lr": lr} for lr in (1e-4, 2e-4)]
    other = {"arm": "single_task", "sparsity": 1.0, "lr": 1e-4}
    searcher = _searcher(baselines=[*same, other])
    searcher.suggest_baseline("b0")
    assert searcher.ready_baseline() == 1  # the second of (single_task, 0.5) waits; the 100% one may start
    searcher.on_trial_complete("b0", _result(same[0], 0.4, 4))
    assert searcher.ready_baseline() == 0


def test_the_centre_is_the_mean_of_completed_single_task_trials_frozen_at_first_use():
    searcher = _searcher(baselines=[])
    record = searcher._record_baseline
    record(_result({"arm": "single_task", "sparsity": 0.5}, 0.2, 4))
    record(_result({"arm": "single_task", "sparsity": 0.5}, 0.4, 5))
    record(_result({"arm": "single_task", "sparsity": 0.5}, 9.0, 3))  # pruned: not a final score
    record(_result({"arm": "multitask", "sparsity": 0.5}, 9.0, 4))
    record({"epoch": 4, "config": {"trial": {"arm": "single_task", "sparsity": 0.5}}})  # no score
    record(None)
    record({"clip_score": 9.0, "config": {"trial": {"arm": "single_task", "sparsity": 0.5}}})  # no epoch: epoch 0
    assert searcher._single_task == {0.5: [0.2, 0.4]}
    assert searcher.reference(0.5) == pytest.approx(0.3)
    record(_result({"arm": "single_task", "sparsity": 0.5}, 1.0, 4))
    assert searcher.reference(0.5) == pytest.approx(0.3)  # frozen
    assert searcher.reference(1.0) == 0.0
    multi = _searcher(baselines=[], metric=["clip_score", "time_s"], mode=["max", "min"])
    multi._record_baseline(_result({"arm": "single_task", "sparsity": 0.5}, 0.2, 4))
    assert multi._single_task == {}


def test_a_result_is_centred_only_for_a_known_curriculum_trial_with_one_objective():
    searcher = _searcher(baselines=[])
    searcher._single_task = {0.5: [0.25]}
    searcher._levels = {"c": 0.5}
    assert searcher._centred("c", {"clip_score": 0.75, "epoch": 1}) == {"clip_score": 0.5, "epoch": 1}
    assert searcher._centred("unknown", {"clip_score": 0.75}) == {"clip_score": 0.75}
    assert searcher._centred("c", {"epoch": 1}) == {"epoch": 1}
    assert searcher._centred("c", None) is None and searcher._centred("c", {}) == {}
    multi = _searcher(baselines=[], metric=["clip_score", "time_s"], mode=["max", "min"])
    multi._levels = {"c": 0.5}
    assert multi._centred("c", {"clip_score": 0.75}) == {"clip_score": 0.75}


def test_proposals_are_told_centred_values_and_pruned_ones_their_last_epoch():
    searcher = _searcher(baselines=[])
    searcher._single_task = {0.5: [0.1], 1.0: [0.2]}
    cfg = searcher.suggest("c0")["trial"]
    level = 0.5 if cfg["sparsity"] == 0.5 else 1.0
    assert searcher._levels == {"c0": level}
    assert searcher._proposed == {_config_key(cfg): 0}
    searcher.on_trial_result("c0", _result(cfg, 0.6, 1))
    searcher.on_trial_complete("c0", _result(cfg, 0.7, 4))
    told = searcher.study.trials[0]
    assert told.state == TrialState.COMPLETE and told.value == pytest.approx(0.7 - searcher.reference(level))
    assert told.intermediate_values == {1: pytest.approx(0.6 - searcher.reference(level))}
    pruned_cfg = searcher.suggest("c1")["trial"]
    searcher.on_trial_result("c1", _result(pruned_cfg, 0.3, 1))
    searcher.on_trial_complete("c1", _result(pruned_cfg, 0.3, 3))  # one epoch short of the budget
    assert searcher.study.trials[1].state == TrialState.PRUNED
    searcher.on_trial_complete("c1", _result(pruned_cfg, 0.3, 3))  # told once only
    assert searcher.study.trials[1].state == TrialState.PRUNED
    searcher.suggest("c2")
    searcher.on_trial_complete("c2", None, error=True)
    assert searcher.study.trials[2].state == TrialState.FAIL


def test_a_refused_prune_is_logged_and_the_search_goes_on(caplog):
    searcher = _searcher(baselines=[])
    cfg = searcher.suggest("c0")["trial"]

    def refuse(*args, **kwargs):
        raise RuntimeError("no")

    searcher._ot_study.tell = refuse
    with caplog.at_level(logging.WARNING, logger=searcher_module.log.name):
        searcher.on_trial_complete("c0", _result(cfg, 0.3, 2))
    assert "optuna refused the pruned trial c0: no" in caplog.text
    assert "c0" in searcher._completed_trials


def test_trials_re_created_after_a_restart_are_adopted():
    searcher = _searcher(baselines=[])
    cfg = searcher.suggest("c0")["trial"]
    searcher.on_trial_complete("c0", None, error=True)  # the trial errored
    assert searcher.study.trials[0].state == TrialState.FAIL
    # --restart-errored: the same config under a new id, never proposed
    searcher.on_trial_result("n0", _result(cfg, 0.4, 1))
    assert searcher._ot_trials["n0"].number == 1 and searcher.study.trials[1].params == searcher.study.trials[0].params
    searcher.on_trial_complete("n0", _result(cfg, 0.5, 4))
    assert searcher.study.trials[1].state == TrialState.COMPLETE and searcher._levels["n0"] == searcher._levels["c0"]
    # --resume-errored: the old id again, already told FAIL: a fresh study trial with its parameters
    searcher.on_trial_result("c0", _result(cfg, 0.45, 1))
    assert searcher.study.trials[2].params == searcher.study.trials[0].params and "c0" not in searcher._completed_trials
    searcher.on_trial_complete("c0", _result(cfg, 0.6, 4))
    assert searcher.study.trials[2].state == TrialState.COMPLETE


def test_unknown_trials_baselines_and_unproposed_configs(caplog):
    searcher = _searcher(baselines=[])
    baseline = {"arm": "single_task", "sparsity": 0.5, "lr": 1e-4}
    searcher.on_trial_complete("x0", _result(baseline, 0.8, 4))  # a baseline under a new id: adopted, not studied
    assert "x0" in searcher._baseline_trials and searcher._single_task == {0.5: [0.8]}
    assert searcher.study.trials == []
    searcher.on_trial_result("x1", {"clip_score": 0.2})  # no config: nothing to adopt
    searcher.on_trial_complete("x1", None)
    assert searcher.study.trials == [] and "x1" not in searcher._baseline_trials
    with caplog.at_level(logging.WARNING, logger=searcher_module.log.name):
        searcher.on_trial_complete("x2", _result({"arm": "curriculum", "sparsity": 0.5, "lr": 9.0}, 0.1, 4))
    assert "trial x2 was not proposed by this search; its results stay out of the study" in caplog.text
    assert searcher.study.trials == []


def test_the_limiter_without_the_window():
    baselines = baseline_configs(EXPERIMENT, "/d", Arm.SINGLE_TASK)
    limiter = CurriculumLimiter(_searcher(baselines=baselines), max_concurrent=1)
    assert limiter.study_trials == 0 and limiter.study_told == 0 and limiter.untold == [] and not limiter.batch
    first = limiter.suggest("b0")
    assert first == {"trial": baselines[0]} and limiter.suggest("b1") is None  # one slot
    assert limiter.running == set()  # only the window tracks running trials
    limiter.on_trial_result("b0", _result(baselines[0], 0.5, 1))
    limiter.on_trial_complete("b0", _result(baselines[0], 0.5, 4))
    assert limiter.searcher.reference(0.5) == 0.5
    # a trial the limiter did not hand out (re-run after an error) still reaches the searcher
    limiter.on_trial_complete("r0", _result(baselines[1], 0.7, 4))
    assert limiter.searcher._single_task[1.0] == [0.7]


def test_a_synchronous_limiter_needs_the_number_of_proposals():
    with pytest.raises(ValueError) as error:
        CurriculumLimiter(_searcher(), max_concurrent=2, batch=True)
    assert str(error.value) == "a synchronous limiter needs study_trials (how many proposals the study makes)"
    limiter = CurriculumLimiter(_searcher(), max_concurrent=2, batch=True, study_trials=3)
    assert limiter.study_trials == 3 and limiter.running == set() and limiter.finished == {} and limiter.results == {}


def test_the_window_tells_proposals_in_order_after_their_successors_are_made():
    limiter = CurriculumLimiter(_searcher(baselines=[]), max_concurrent=2, batch=True, study_trials=3)
    configs = [limiter.suggest(f"c{i}")["trial"] for i in range(2)]
    assert limiter.untold == ["c0", "c1"] and limiter.study_proposed == 2 and limiter.suggest("c2") is None
    assert not limiter._study_may_propose() and limiter._may_tell(0) and not limiter._may_tell(1)
    limiter.on_trial_result("c1", _result(configs[1], 0.2, 1))
    limiter.on_trial_complete("c1", _result(configs[1], 0.3, 4))  # finished before c0: waits for it
    assert limiter.results == {"c1": [_result(configs[1], 0.2, 1)]} and "c1" in limiter.finished
    assert limiter.study_told == 0
    limiter.on_trial_complete("c0", _result(configs[0], 0.4, 4))
    assert limiter.study_told == 1 and limiter.untold == ["c1"]  # c1 waits until proposal 2 is made
    assert limiter.searcher.study.trials[0].state == TrialState.COMPLETE
    last = limiter.suggest("c2")["trial"]
    assert limiter.study_told == 2 and limiter.untold == ["c2"] and limiter.results == {}
    assert limiter.searcher.study.trials[1].intermediate_values == {1: 0.2}
    limiter.on_trial_complete("c2", _result(last, 0.1, 4))  # the last proposal has no successor to wait for
    assert limiter.study_told == 3 and limiter.untold == [] and limiter.suggest("c3") is None
    limiter.on_trial_complete("z", _result({"arm": "single_task", "sparsity": 1.0}, 0.5, 4))  # never handed out
    assert limiter.searcher._single_task == {1.0: [0.5]}


def test_a_limiter_state_saved_by_the_window_is_restored_as_is():
    limiter = CurriculumLimiter(_searcher(baselines=[]), max_concurrent=2, batch=True, study_trials=4)
    state = {"study_told": 1, "untold": ["b"], "study_trials": 4, "running": {"b"}, "finished": {}, "results": {}}
    limiter.set_state(dict(state))
    assert limiter.study_told == 1 and limiter.untold == ["b"] and limiter.study_proposed == 2
    old = {"proposal_order": {"y": 1, "x": 0}, "study_proposed": 2, "batch_of": {"y": 0, "x": 0}, "study_trials": 4}
    limiter.set_state(old)
    assert limiter.untold == ["x", "y"] and limiter.study_told == 0
    limiter.set_state({"batch_of": {"q": 0}, "study_trials": 4})  # no order or count saved: zero
    assert limiter.untold == ["q"] and limiter.study_told == -1


# --- survivors of mutation testing: the limiter and the searcher's bookkeeping ---


def test_the_tpe_sampler_is_built_with_every_setting_spelled_out(monkeypatch):
    """The sampler gets the seed, the startup trials and multivariate/group/constant liar explicitly: Optuna before
    5.0 defaulted constant_liar to False, so leaving it out would quietly switch the liar off there."""
    built = []
    real = optuna.samplers.TPESampler

    def spy(**kwargs):
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(optuna.samplers, "TPESampler", spy)
    _searcher(seed=3, n_startup_trials=5)
    assert built == [{"seed": 3, "n_startup_trials": 5, "multivariate": True, "group": True, "constant_liar": True}]


def test_only_optunas_experimental_warnings_are_silenced_while_the_sampler_is_built(monkeypatch):
    """The searcher hides Optuna's ExperimentalWarning for multivariate/group/constant liar, and no other warning."""
    real = optuna.samplers.TPESampler

    def noisy(**kwargs):
        warnings.warn("experimental", optuna.exceptions.ExperimentalWarning, stacklevel=1)
        warnings.warn("deprecated", FutureWarning, stacklevel=1)
        return real(**kwargs)

    monkeypatch.setattr(optuna.samplers, "TPESampler", noisy)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _searcher()
    ours = [(w.category, str(w.message)) for w in caught if str(w.message) in ("experimental", "deprecated")]
    assert ours == [(FutureWarning, "deprecated")]


def test_the_default_seed_is_zero_and_the_default_startup_is_eight_trials():
    """Without a seed the search proposes what seed 0 proposes (and not what seed 1 does); TPE starts after 8."""
    default = _searcher(baselines=[])
    assert default.study.sampler._n_startup_trials == 8
    first = default.suggest("c0")
    assert first == _searcher(baselines=[], seed=0).suggest("c0")
    assert first != _searcher(baselines=[], seed=1).suggest("c0")


def test_a_seeded_multi_objective_search_repeats_its_proposals():
    """NSGA-II gets the seed: two searches with seed 3 propose the same, seed 4 proposes otherwise."""

    def proposal(seed):
        searcher = _searcher(baselines=[], metric=["clip_score", "time_s"], mode=["max", "min"], seed=seed)
        return searcher.suggest("c0")

    assert proposal(3) == proposal(3)
    assert proposal(3) != proposal(4)


def test_a_proposal_without_a_trial_config_is_passed_on_untouched():
    """A space whose configs have no ``trial`` entry gets Optuna's proposal as is, with no curriculum bookkeeping."""

    def space(trial):
        trial.suggest_float("x", 0.0, 1.0)

    searcher = CurriculumSearcher(space=space, baselines=[], epochs=4, metric="clip_score")
    config = searcher.suggest("c0")
    assert list(config) == ["x"] and config["x"] == searcher.study.trials[0].params["x"]
    assert searcher._proposed == {} and searcher._levels == {}


def test_a_result_without_an_epoch_counts_as_epoch_zero_even_with_a_one_epoch_budget():
    """No ``epoch`` in a result means no epoch done: a single-task score is not final, a proposal is PRUNED."""
    searcher = _searcher(baselines=[], epochs=1)
    searcher._record_baseline({"clip_score": 0.9, "config": {"trial": {"arm": "single_task", "sparsity": 0.5}}})
    assert searcher._single_task == {}
    cfg = searcher.suggest("c0")["trial"]
    searcher.on_trial_complete("c0", {"clip_score": 0.5, "training_iteration": 1, "config": {"trial": cfg}})
    assert searcher.study.trials[0].state == TrialState.PRUNED


def test_the_first_result_of_a_re_created_trial_reaches_the_study():
    """A trial Ray re-created under a new id is adopted on its first result, and that result is reported."""
    searcher = _searcher(baselines=[])
    cfg = searcher.suggest("c0")["trial"]
    searcher.on_trial_complete("c0", None, error=True)
    searcher.on_trial_result("n0", _result(cfg, 0.4, 1))
    assert searcher.study.trials[1].intermediate_values == {1: 0.4}


def test_a_failed_trial_reported_failed_again_is_not_re_run():
    """Only a result after a failed trial's end re-runs it: a second end report without one changes nothing."""
    searcher = _searcher(baselines=[])
    searcher.suggest("c0")
    searcher.on_trial_complete("c0", None, error=True)
    searcher.on_trial_complete("c0", None, error=True)
    assert [t.state for t in searcher.study.trials] == [TrialState.FAIL]
    assert searcher._ot_trials["c0"].number == 0


def test_the_searchers_warnings_word_for_word(caplog):
    """The two warnings name the trial in exactly these words (an unproposed config, a refused prune)."""
    searcher = _searcher(baselines=[])
    cfg = searcher.suggest("c0")["trial"]

    def refuse(*args, **kwargs):
        raise RuntimeError("no")

    searcher._ot_study.tell = refuse
    with caplog.at_level(logging.WARNING, logger=searcher_module.log.name):
        searcher.on_trial_complete("x2", _result({"arm": "curriculum", "sparsity": 0.5, "lr": 9.0}, 0.1, 4))
        searcher.on_trial_complete("c0", _result(cfg, 0.3, 2))
    assert caplog.messages == [
        "trial x2 was not proposed by this search; its results stay out of the study",
        "optuna refused the pruned trial c0: no",
    ]


def test_an_errored_proposal_is_told_fail_through_the_window():
    """A proposal that errored waits for its tell in the window and then reaches the study as FAIL, not PRUNED."""
    limiter = CurriculumLimiter(_searcher(baselines=[]), max_concurrent=1, batch=True, study_trials=1)
    limiter.suggest("c0")
    limiter.on_trial_complete("c0", None, error=True)
    assert limiter.study_told == 1 and limiter.searcher.study.trials[0].state == TrialState.FAIL


def test_an_errored_trial_handed_out_without_the_window_is_told_fail():
    """Without the window, the stock limiter's path passes the error on: the study trial is FAIL."""
    limiter = CurriculumLimiter(_searcher(baselines=[]), max_concurrent=1)
    limiter.suggest("c0")
    limiter.on_trial_complete("c0", None, error=True)
    assert limiter.searcher.study.trials[0].state == TrialState.FAIL


@pytest.mark.parametrize("batch", [False, True])
def test_an_errored_trial_the_limiter_did_not_hand_out_is_told_fail(batch):
    """A proposal the limiter never handed out (made before a restart) still reaches the searcher, under its own id
    and with its error: its study trial is FAIL."""
    searcher = _searcher(baselines=[])
    limiter = CurriculumLimiter(searcher, max_concurrent=1, batch=batch, study_trials=1 if batch else None)
    searcher.suggest("c0")
    limiter.on_trial_complete("c0", None, error=True)
    assert [t.state for t in searcher.study.trials] == [TrialState.FAIL]


def test_an_errored_baseline_in_the_window_is_left_out_of_the_centre():
    """A baseline handed out by the window that errored, even with a full last result, sets no centre."""
    baselines = baseline_configs(EXPERIMENT, "/d", Arm.SINGLE_TASK)
    limiter = CurriculumLimiter(_searcher(baselines=baselines), max_concurrent=2, batch=True, study_trials=1)
    assert limiter.suggest("b0") == {"trial": baselines[0]}
    limiter.on_trial_complete("b0", _result(baselines[0], 0.5, 4), error=True)
    assert limiter.running == set() and limiter.searcher._single_task == {}


def test_the_window_hands_out_nothing_while_every_slot_runs():
    """With every slot running, a ready baseline waits; it is handed out once a slot is free."""
    baselines = baseline_configs(EXPERIMENT, "/d", Arm.SINGLE_TASK)
    limiter = CurriculumLimiter(_searcher(baselines=baselines), max_concurrent=1, batch=True, study_trials=1)
    assert limiter.suggest("b0") == {"trial": baselines[0]}
    assert limiter.searcher.ready_baseline() == 0 and limiter.suggest("b1") is None
    limiter.on_trial_complete("b0", _result(baselines[0], 0.5, 4))
    assert limiter.suggest("b1") == {"trial": baselines[1]} and limiter.running == {"b1"}


def test_results_of_trials_outside_the_window_go_straight_to_the_searcher():
    """In the window only untold proposals' results wait: a baseline re-run under a new id is adopted at once."""
    limiter = CurriculumLimiter(_searcher(baselines=[]), max_concurrent=1, batch=True, study_trials=1)
    baseline = {"arm": "single_task", "sparsity": 0.5, "lr": 1e-4}
    limiter.on_trial_result("x0", _result(baseline, 0.3, 1))
    assert limiter.results == {} and limiter.searcher._baseline_trials == {"x0"}


def test_a_proposals_results_reach_the_study_without_the_window():
    """Without the window a proposal's result is reported to its own study trial at once."""
    limiter = CurriculumLimiter(_searcher(baselines=[]), max_concurrent=1)
    cfg = limiter.suggest("c0")["trial"]
    limiter.on_trial_result("c0", _result(cfg, 0.2, 1))
    assert [t.intermediate_values for t in limiter.searcher.study.trials] == [{1: 0.2}]


def test_an_old_batch_state_orders_untold_trials_by_proposal_number_and_a_missing_number_as_zero():
    """Restoring a ``batch_of`` state sorts the untold trials by their saved proposal number, not by id, and a trial
    without one sorts as proposal 0."""
    limiter = CurriculumLimiter(_searcher(baselines=[]), max_concurrent=2, batch=True, study_trials=4)
    limiter.set_state({"proposal_order": {"a": 1, "b": 0}, "study_proposed": 2, "batch_of": {"a": 0, "b": 0}})
    assert limiter.untold == ["b", "a"] and limiter.study_told == 0
    limiter.set_state({"proposal_order": {"a": 1}, "study_proposed": 2, "batch_of": {"a": 0, "b": 0}})
    assert limiter.untold == ["b", "a"]
