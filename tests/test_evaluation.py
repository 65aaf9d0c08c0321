"""The per-epoch evaluation: isolation, the split fingerprint, the reported metrics and the controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import tiny_trial

from curriclip.config import ExperimentConfig, TrialConfig
from curriclip.data.loader import SplitArrays
from curriclip.errors import CurriclipError, DataError
from curriclip.names import Arm
from curriclip.protocol.select import Winner, confirm_plan
from curriclip.rundir.export import check_test_split
from curriclip.spaces import baseline_configs
from curriclip.trainables import run_trial
from curriclip.trainables.controls import derangement, shuffle_pairs
from curriclip.trainables.evaluation import Evaluator, check_isolation, identical_rows, init_metrics, split_hash

EPOCH_METRICS = {
    "clip_score",
    "clip_score_ci_low",
    "clip_score_ci_high",
    "mean_cosine",
    "clip_score_gap",
    "clip_score_mismatched",
    "clip_score_gap_ci_low",
    "clip_score_gap_ci_high",
    "i2t_r1",
    "i2t_r5",
    "i2t_r10",
    "t2i_r1",
    "t2i_r5",
    "t2i_r10",
    "recall_sum",
    "i2t_r1_ci_low",
    "i2t_r1_ci_high",
    "t2i_r1_ci_low",
    "t2i_r1_ci_high",
    "modality_gap",
    "alignment",
    "uniformity",
    "uniformity_image",
    "uniformity_text",
    "zeroshot_auroc",
    "zeroshot_findings",
    "retrieval_auc",
    "i2t_auc",
    "t2i_auc",
    "retrieval_auc_ci_low",
    "retrieval_auc_ci_high",
    "spread_cosine_image",
    "spread_cosine_text",
    "collapsed",
}


def _split(ids, subjects, n_labels=2) -> SplitArrays:
    n = len(ids)
    return SplitArrays(
        sample_ids=np.asarray(ids, dtype=object),
        subject_ids=np.asarray(subjects, dtype=object),
        images=torch.zeros((n, 8, 8), dtype=torch.uint8),
        texts=[f"report {i}" for i in ids],
        labels=torch.zeros((n, n_labels)),
        difficulty=np.zeros(n, dtype=np.float32),
        label_names=[f"finding_{k}" for k in range(n_labels)],
    )


def test_isolation_is_checked():
    train = _split(["a", "b", "c"], ["p1", "p1", "p2"])
    check_isolation(train, _split(["d", "e"], ["p3", "p4"]))
    with pytest.raises(DataError, match="1 sample id.*both the training subset and the held-out split.*e.g. c"):
        check_isolation(train, _split(["c", "e"], ["p3", "p4"]))
    with pytest.raises(DataError, match="1 subject id.*e.g. p2"):
        check_isolation(train, _split(["d", "e"], ["p2", "p4"]))
    with pytest.raises(DataError, match="evaluation would see training data"):
        Evaluator(
            train,
            _split(["b", "x"], ["p9", "p8"]),
            torch.zeros(2, 4, dtype=torch.long),
            lambda t: None,
            8,
            torch.device("cpu"),
        )


def test_split_hash_is_stable_and_order_sensitive():
    assert split_hash(["a", "b"]) == split_hash(np.asarray(["a", "b"], dtype=object))
    assert split_hash(["a", "b"]) != split_hash(["b", "a"])
    assert split_hash(["ab", "c"]) != split_hash(["a", "bc"])
    assert len(split_hash(["a"])) == 16


def test_identical_reports_are_positives():
    tokens = torch.tensor([[1, 2, 0], [3, 4, 0], [1, 2, 0]])
    assert identical_rows(tokens).tolist() == [[True, False, True], [False, True, False], [True, False, True]]


def test_init_metrics_prefix_numbers_only():
    assert init_metrics({"clip_score": 0.5, "zeroshot_findings": 3, "test_split_hash": "ab"}) == {
        "init_clip_score": 0.5,
        "init_zeroshot_findings": 3.0,
    }


def test_every_epoch_reports_the_metrics_and_the_untrained_model(tiny_dataset):
    reports = []
    run_trial(TrialConfig.model_validate(tiny_trial(tiny_dataset)), lambda m, s: reports.append(m))
    first, last = reports
    assert EPOCH_METRICS <= set(last)
    assert {f"init_{k}" for k in EPOCH_METRICS} <= set(last)
    assert first["init_clip_score"] == last["init_clip_score"] and first["init_i2t_r1"] == last["init_i2t_r1"]
    assert isinstance(last["test_split_hash"], str) and first["test_split_hash"] == last["test_split_hash"]
    for key in ("clip_score", "retrieval_auc", "clip_score_gap", "i2t_r1", "t2i_r1"):
        assert last[f"{key}_ci_low"] <= last[key] <= last[f"{key}_ci_high"]
    assert last["clip_score_mismatched"] == pytest.approx(last["clip_score"] - last["clip_score_gap"])
    assert last["recall_sum"] == pytest.approx(sum(last[f"{d}_r{k}"] for d in ("i2t", "t2i") for k in (1, 5, 10)))
    assert 0 <= last["zeroshot_auroc"] <= 1 and last["zeroshot_findings"] >= 1
    # a different training subset and seed: the held-out split (and its fingerprint) stays the same
    other = []
    cfg = tiny_trial(tiny_dataset, sparsity=0.5, seed=3, epochs=1)
    run_trial(TrialConfig.model_validate(cfg), lambda m, s: other.append(m))
    assert other[0]["test_split_hash"] == last["test_split_hash"]


# ----------------------------------------------------------------------------- the shuffled-pairs control


def test_derangement_moves_every_pair_and_is_seeded():
    perm = derangement(50, seed=1)
    assert sorted(perm.tolist()) == list(range(50)) and (perm != np.arange(50)).all()
    assert (derangement(50, seed=1) == perm).all() and not (derangement(50, seed=2) == perm).all()
    with pytest.raises(ValueError):
        derangement(1, 0)


def test_shuffle_pairs_reassigns_reports_within_the_training_subset():
    train = _split(list("abcdef"), list("abcdef"))
    train.findings = [f"findings {i}" for i in "abcdef"]
    train.impressions = [f"impression {i}" for i in "abcdef"]
    shuffle_pairs(train, seed=0)
    perm = derangement(6, seed=0)
    assert train.texts == [f"report {'abcdef'[i]}" for i in perm]
    assert all(train.texts[i] != f"report {'abcdef'[i]}" for i in range(6))  # no report stays with its image
    assert train.findings == [f"findings {'abcdef'[i]}" for i in perm]  # the sections move with their report
    assert train.impressions == [f"impression {'abcdef'[i]}" for i in perm]
    assert list(train.sample_ids) == list("abcdef")  # images (and their ids, labels) stay


def test_shuffled_control_arm_is_validated_and_in_every_search(tiny_dataset):
    TrialConfig.model_validate(
        tiny_trial(tiny_dataset, arm="shuffled_control", tasks=["itc"], pacing="none", pacing_params={})
    )
    with pytest.raises(ValueError, match="shuffled_control arm trains ITC alone"):
        TrialConfig.model_validate(tiny_trial(tiny_dataset, arm="shuffled_control"))
    experiment = ExperimentConfig.model_validate(
        {"space": {"sparsity": [0.1, 1.0]}, "protocol": {"arms": ["single_task", "shuffled_control"]}}
    )
    baselines = baseline_configs(experiment, str(tiny_dataset), Arm.SINGLE_TASK)
    winners = {
        ("single_task", c["sparsity"]): Winner(Arm.SINGLE_TASK, c["sparsity"], f"t{i}", 0.5, c)
        for i, c in enumerate(baselines)
    }
    runs, notes = confirm_plan(experiment, winners, seeds=2)
    controls = [r for r in runs if r.arm == "shuffled_control"]
    assert notes == [] and [(r.level, r.trial["seed"]) for r in controls] == [
        (0.1, 10000),
        (0.1, 10001),
        (1.0, 10000),
        (1.0, 10001),
    ]
    single = {(r.level, r.trial["seed"]): r.trial for r in runs if r.arm == "single_task"}
    for run in controls:  # the single-task winner's recipe on the same seed, pairs shuffled
        same = {k: v for k, v in run.trial.items() if k != "arm"}
        assert same == {k: v for k, v in single[(run.level, run.trial["seed"])].items() if k != "arm"}


def test_scheduler_never_stops_the_control():
    from types import SimpleNamespace

    from curriclip.search.scheduler import make_scheduler

    asha = make_scheduler("asha", "clip_score", "max", 8, 1, 2)
    control = SimpleNamespace(trial_id="c", config={"trial": {"arm": "shuffled_control", "sparsity": 0.1}})
    asha.on_trial_add(None, control)
    assert asha._group(control) is None
    assert asha.on_trial_result(None, control, {"clip_score": -1.0, "training_iteration": 5}) == "CONTINUE"


def test_export_checks_the_test_split_is_shared():
    epochs = pd.DataFrame({"trial_id": ["a", "a", "b"], "test_split_hash": ["h1", "h1", "h1"]})
    assert check_test_split(epochs) == "h1"
    assert check_test_split(pd.DataFrame({"trial_id": ["a"]})) is None
    epochs.loc[2, "test_split_hash"] = "h2"
    with pytest.raises(CurriclipError, match="different held-out splits.*trial\\(s\\) b"):
        check_test_split(epochs)


def test_task_evaluation_hook_adds_dice():
    """A task with ``evaluate`` (e.g. a segmentation head) reports its metric beside the embedding metrics."""
    from curriclip.metrics.segmentation import dice
    from curriclip.models import MultiTaskModel, build_clip, get_preset

    clip, tokenizer, *_ = build_clip(get_preset("tiny"))
    model = MultiTaskModel(clip, {})
    train = _split(["a", "b"], ["p1", "p2"])
    test = _split([f"t{i}" for i in range(6)], [f"q{i}" for i in range(6)])
    test.images = torch.randint(0, 256, (6, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    test.labels[:3, 0] = 1.0

    class Segmenter:
        def evaluate(self, model, head, split, device):
            masks = torch.zeros(len(split), 4, 4, dtype=torch.bool)
            masks[:, :2] = True
            return {"dice": dice(masks.float() * 0.9, masks)}

    evaluator = Evaluator(train, test, tokenizer(test.texts), tokenizer, 4, torch.device("cpu"))
    out = evaluator(model, {"itc": object(), "segmentation": Segmenter()})
    assert out["dice"] == 1.0 and out["test_split_hash"] == split_hash(test.sample_ids)
    assert out["zeroshot_findings"] == 1  # only finding_0 has both classes
    assert "clip_score" in out and 0 <= out["i2t_r1"] <= 1
