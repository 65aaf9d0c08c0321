"""The parts of a trial: its checkpoint state, its batches assembled from the tasks' needs, the metric registry."""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest
import torch
from conftest import tiny_trial

from curriclip import registry
from curriclip.config import TrialConfig
from curriclip.data.loader import BATCH_COLUMNS, BatchColumn, load_split
from curriclip.metrics import METRICS, companion_keys
from curriclip.metrics.alignment import clip_score, mean_cosine
from curriclip.metrics.spec import EvalInputs, Metric
from curriclip.tasks.base import Batch, Task, missing_data
from curriclip.trainables.data import build_trial_data, load_trial_data
from curriclip.trainables.evaluation import run_metrics
from curriclip.trainables.loop import train_epoch
from curriclip.trainables.parallel import DataParallel
from curriclip.trainables.trial import build_trial


def _tokenize(texts: list[str]) -> torch.Tensor:
    """A stand-in tokenizer: each text's length and first character code (row-wise, like open_clip's)."""
    return torch.tensor([[len(t), ord(t[0]) if t else 0] for t in texts], dtype=torch.long)


def test_trial_state_round_trips_through_a_weights_only_checkpoint(tiny_dataset):
    cfg = TrialConfig.model_validate(tiny_trial(tiny_dataset, epochs=2, steps_per_epoch=2))
    trial = build_trial(cfg, DataParallel())
    trial.init = {"init_clip_score": 0.25}
    train_epoch(trial, 0)
    buffer = io.BytesIO()
    torch.save(trial.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, map_location="cpu", weights_only=True)
    assert state["epoch"] == 1 and state["init_clip_score"] == 0.25

    fresh = build_trial(cfg, DataParallel())
    assert fresh.epoch == 0
    fresh.load_state_dict(state)
    again = fresh.state_dict()
    assert again.keys() == state.keys()
    assert again["epoch"] == 1 and again["init_metrics"] == {"init_clip_score": 0.25}
    assert again["numpy_rng"] == state["numpy_rng"]
    assert torch.equal(again["torch_generator"], state["torch_generator"])
    for name, tensor in state["model"].items():
        assert torch.equal(again["model"][name], tensor), name
    # both continue identically: the next epoch's losses and parameters agree exactly
    assert train_epoch(fresh, 1) == train_epoch(trial, 1)
    for (name, a), b in zip(trial.model.state_dict().items(), fresh.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_batch_holds_exactly_the_columns_the_tasks_need(tiny_dataset):
    cfg = TrialConfig.model_validate(tiny_trial(tiny_dataset, tasks=["segmentation", "findings_impression", "itc"]))
    data = load_trial_data(cfg, 64, _tokenize)
    assert set(data.rows) == {"images", "tokens", "masks", "findings_tokens", "impression_tokens", "has_sections"}
    index = torch.tensor([3, 0, 5])
    batch = data.batch(index, lambda tensor: tensor)
    assert batch.masks.dtype == torch.float32 and batch.masks.shape[:2] == (3, len(data.train.label_names))
    assert torch.equal(batch.images, data.train.images[index])
    assert torch.equal(batch.tokens, _tokenize([data.train.texts[i] for i in (3, 0, 5)]))
    both = [bool(data.train.findings[i] and data.train.impressions[i]) for i in (3, 0, 5)]
    assert batch.has_sections.tolist() == both
    with pytest.raises(AttributeError, match="no 'labels'.*declare the need"):
        _ = batch.labels  # no task of this trial needs labels

    itc_only = load_trial_data(TrialConfig.model_validate(tiny_trial(tiny_dataset, tasks=["itc"])), 64, _tokenize)
    assert set(itc_only.rows) == {"images", "tokens"} and itc_only.train.masks is None  # masks are not even read


def test_a_new_column_is_one_loader_entry_and_the_tasks_need(tiny_dataset, monkeypatch):
    """A task needing a column no task used before: declare it in BATCH_COLUMNS; batches and checks follow."""

    def no_difficulty(split, policy):
        return None if np.isfinite(split.difficulty).all() else "has missing difficulty scores"

    column = BatchColumn(lambda split, tokenize: {"difficulty": torch.from_numpy(split.difficulty)}, no_difficulty)
    monkeypatch.setitem(BATCH_COLUMNS, "difficulty", column)

    class DifficultyRegression(Task):
        name = "difficulty_regression"
        needs = frozenset({"image", "difficulty"})

    train = load_split(str(tiny_dataset), "train", 64)
    test = load_split(str(tiny_dataset), "test", 64)
    assert missing_data(DifficultyRegression(), train) is None
    data = build_trial_data(train, test, DifficultyRegression.needs | {"text"}, _tokenize)
    batch = data.batch(torch.tensor([2, 7]), lambda tensor: tensor)
    assert batch.difficulty.tolist() == [float(train.difficulty[2]), float(train.difficulty[7])]
    train.difficulty[4] = np.nan
    assert missing_data(DifficultyRegression(), train) == "has missing difficulty scores"


def test_unknown_need_is_reported_by_name(tiny_dataset):
    class Odd(Task):
        needs = frozenset({"image", "heart_rate"})

    train = load_split(str(tiny_dataset), "train", 64)
    assert missing_data(Odd(), train).startswith("has no column 'heart_rate' (a task may need: image, labels, text")


def test_batch_attributes_read_like_a_namespace():
    batch = Batch(images=torch.zeros(2, 4, 4), tokens=torch.ones(2, 3, dtype=torch.long))
    assert batch.tokens.sum() == 6 and sorted(vars(batch)) == ["images", "tokens"]


def _embeddings(n=12, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, d, generator=g)
    return images, images + 0.5 * torch.randn(n, d, generator=g)


def test_every_metric_reports_only_its_declared_keys_in_registry_order():
    images, texts = _embeddings()
    labels = torch.tensor([[1.0, 0.0]] * 6 + [[0.0, 1.0]] * 6)
    prompts = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    inputs = EvalInputs(50, images=images, texts=texts, positive_prompts=prompts[:2], negative_prompts=prompts[2:])
    inputs.labels = labels
    out = run_metrics(inputs)
    declared = [key for _, metric in METRICS.items() if metric.inputs <= inputs.available() for key in metric.keys]
    assert list(out) == declared  # dice (masks) is absent: no segmentation head
    assert "dice" not in out and out["zeroshot_findings"] == 2
    assert out["clip_score"] == clip_score(images, texts) and out["mean_cosine"] == mean_cosine(images, texts)
    assert out["recall_sum"] == sum(out[f"{d}_r{k}"] for d in ("i2t", "t2i") for k in (1, 5, 10))
    assert out["clip_score_mismatched"] == out["clip_score"] - out["clip_score_gap"]


def test_metric_without_its_inputs_reports_its_absent_values():
    images, texts = _embeddings()
    out = run_metrics(EvalInputs(20, images=images, texts=texts))
    assert math.isnan(out["zeroshot_auroc"]) and out["zeroshot_findings"] == 0 and "dice" not in out


def test_a_new_metric_is_one_registry_line(monkeypatch):
    monkeypatch.setitem(registry.ALL, "metrics", METRICS)  # the constructor below re-points ALL: restored after
    metrics = registry.Registry("metric", "metrics")
    for name in METRICS:
        metrics.lazy(name, METRICS.target(name))
    metrics.lazy("max_cosine", "tests_metric_module:MAX_COSINE")
    module = type(math)("tests_metric_module")
    module.MAX_COSINE = Metric(
        lambda inputs: {"max_cosine": float(torch.nn.functional.cosine_similarity(inputs.images, inputs.texts).max())},
        frozenset({"embeddings"}),
        ("max_cosine",),
        "largest matched cosine",
    )
    monkeypatch.setitem(sys.modules, "tests_metric_module", module)
    monkeypatch.setattr("curriclip.trainables.evaluation.METRICS", metrics)
    images, texts = _embeddings()
    out = run_metrics(EvalInputs(20, images=images, texts=texts))
    assert list(out)[-1] == "max_cosine"
    assert out["max_cosine"] == pytest.approx(float(torch.nn.functional.cosine_similarity(images, texts).max()))


def test_companion_keys_leave_out_clip_score_and_intervals():
    keys = companion_keys()
    assert "clip_score" not in keys and not any(k.endswith(("_ci_low", "_ci_high")) for k in keys)
    assert {"mean_cosine", "clip_score_gap", "i2t_r1", "recall_sum", "modality_gap", "uniformity", "dice"} <= set(keys)


def test_metric_spec_rejects_unknown_inputs():
    with pytest.raises(ValueError, match="each must be one of embeddings, prompts, masks"):
        Metric(lambda inputs: {}, frozenset({"voxels"}), ("x",), "x")


def test_dice_counts_only_present_findings_over_all_chunks():
    probabilities = torch.tensor([[[[0.9, 0.9], [0.1, 0.1]], [[0.9, 0.9], [0.9, 0.9]]]])  # (1, K=2, 2, 2)
    targets = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]])  # finding 1 absent: not counted
    empty = torch.zeros(1, 2, 2, 2)
    chunks = [(probabilities, targets), (probabilities, empty)]
    out = run_metrics(EvalInputs(10, mask_chunks=lambda: iter(chunks)))
    assert out["dice"] == pytest.approx(2 / 3)  # 2 * |{(0,0)}| / (2 predicted + 1 target)
    assert "dice" not in run_metrics(EvalInputs(10, mask_chunks=lambda: iter([(probabilities, empty)])))
