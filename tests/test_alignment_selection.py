"""The selection metric a collapsed model cannot win (retrieval AUC), the collapse flag, and the sentence that
says what a run can conclude (answer.json, the report's first line). Nothing is trained: embeddings are made."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from test_reports_confirmed import make_answer, write_protocol_run

from curriclip.config import ExperimentConfig
from curriclip.metrics import METRICS
from curriclip.metrics.alignment import clip_score, cosine_matrix
from curriclip.metrics.ranking import query_auc, retrieval_auc, retrieval_auc_pairs
from curriclip.metrics.spec import EvalInputs
from curriclip.metrics.spread import COLLAPSE_COSINE, mean_pairwise_cosine
from curriclip.reports import build_report
from curriclip.stats.conclusion import conclusion_sentence
from curriclip.trainables.evaluation import run_metrics


def _aligned(n: int = 60, d: int = 16, noise: float = 0.6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(n, d, generator=g)
    return image, image + noise * torch.randn(n, d, generator=g)


def test_retrieval_auc_is_sklearns_roc_auc_per_query_with_positives_left_out():
    image, text = _aligned(n=30, noise=1.5)
    positives = torch.zeros(30, 30, dtype=torch.bool)
    positives[0, 1] = positives[1, 0] = positives[4, 7] = positives[7, 4] = True  # identical reports
    pairs = retrieval_auc_pairs(image, text, positives, block_elements=64)  # several blocks of queries
    similarity = cosine_matrix(image, text).numpy()
    for i in range(30):
        for direction, scores in (("i2t_auc", similarity[i]), ("t2i_auc", similarity[:, i])):
            keep = np.ones(30, dtype=bool)
            keep[positives[i].numpy()] = False  # the other positives are neither the partner nor mismatched
            keep[i] = True
            expected = roc_auc_score((np.arange(30) == i)[keep], scores[keep])
            assert float(pairs[direction][i]) == pytest.approx(expected, abs=1e-12)
    assert torch.allclose(pairs["retrieval_auc"], (pairs["i2t_auc"] + pairs["t2i_auc"]) / 2)
    assert retrieval_auc(image, text, positives) == pytest.approx(float(pairs["retrieval_auc"].mean()))


def test_constant_embeddings_get_clip_score_2_5_and_the_worst_selection_score():
    image = text = torch.ones(20, 8)
    inputs = EvalInputs(100, images=image, texts=text)
    metrics = run_metrics(inputs)
    assert clip_score(image, text) == pytest.approx(2.5)
    assert metrics["clip_score"] == pytest.approx(2.5)
    # every similarity ties with the partner's, and ties count against the query: 0, the bottom of [0, 1]
    assert metrics["retrieval_auc"] == 0.0 and metrics["retrieval_auc_ci_high"] == 0.0
    assert metrics["collapsed"] == 1.0 and metrics["spread_cosine_image"] == pytest.approx(1.0)
    # any other model scores at least as much: random, aligned, even anti-aligned embeddings
    for other in (_aligned(20, 8, noise=100.0), _aligned(20, 8), (_aligned(20, 8)[0], -_aligned(20, 8)[1])):
        assert retrieval_auc(*other) >= metrics["retrieval_auc"]


def test_an_aligned_model_beats_a_shuffled_one():
    image, text = _aligned()
    shuffled = text[torch.randperm(len(text), generator=torch.Generator().manual_seed(1))]
    aligned, control = retrieval_auc(image, text), retrieval_auc(image, shuffled)
    assert aligned > 0.9
    assert 0.35 < control < 0.65  # no correspondence: about one half
    spread = run_metrics(EvalInputs(10, images=image, texts=text))
    assert spread["collapsed"] == 0.0 and abs(spread["spread_cosine_text"]) < 0.2


def test_retrieval_auc_is_invariant_to_a_shared_offset_and_scale_of_the_similarities():
    image, text = _aligned(noise=1.2)
    similarity = cosine_matrix(image, text)
    positives = torch.eye(len(image), dtype=torch.bool)
    matched = torch.arange(len(image))
    base = query_auc(similarity, positives, matched)
    for scale, offset in ((2.5, 0.0), (1.0, -0.3), (100.0, 7.0), (0.01, 0.99)):
        assert torch.equal(query_auc(scale * similarity + offset, positives, matched), base)
    # and to the embeddings' norms (cosines)
    assert retrieval_auc(3 * image, 0.2 * text) == pytest.approx(retrieval_auc(image, text), abs=1e-12)


def test_mean_pairwise_cosine_by_hand_and_the_flag_threshold():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # cosines of the three distinct pairs: 0, 1/sqrt2, 1/sqrt2
    assert mean_pairwise_cosine(x) == pytest.approx(2 / np.sqrt(2) / 3)
    near = torch.tensor([[1.0, 0.0]]) + 0.01 * torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    assert mean_pairwise_cosine(near) > COLLAPSE_COSINE
    spread = run_metrics(EvalInputs(10, images=near, texts=_aligned(30, 2)[1]))
    assert spread["collapsed"] == 1.0  # one collapsed modality is enough


def test_per_pair_values_are_the_metrics_units():
    """The confirm phase's per-pair retrieval AUC (what the two-level bootstrap resamples) averages to the metric;
    identical reports are positives, not mismatched."""
    from types import SimpleNamespace

    from curriclip.data.loader import SplitArrays
    from curriclip.trainables.evaluation import Evaluator

    image, text = _aligned(n=12, d=6, noise=1.0)

    def split(ids: list[str]) -> SplitArrays:
        n = len(ids)
        return SplitArrays(
            sample_ids=np.asarray(ids, dtype=object), subject_ids=np.asarray([f"p{i}" for i in ids], dtype=object),
            images=torch.arange(n)[:, None].float(), texts=[""] * n, labels=torch.zeros((n, 0)),
            difficulty=np.zeros(n, dtype=np.float32), label_names=[],
        )  # fmt: skip

    tokens = torch.arange(12)[:, None].repeat(1, 3)
    tokens[5] = tokens[4]  # pairs 4 and 5 share a report
    model = SimpleNamespace(
        training=False, eval=lambda: None, train=lambda mode: None,
        encode_image=lambda rows: image[rows[:, 0].long()], encode_text=lambda rows: text[rows[:, 0].long()],
    )  # fmt: skip
    evaluator = Evaluator(split(["a", "b"]), split([f"t{i}" for i in range(12)]), tokens, None, 5, torch.device("cpu"))
    pairs = evaluator.per_pair(model)
    positives = torch.eye(12, dtype=torch.bool)
    positives[4, 5] = positives[5, 4] = True
    seen = text.clone()
    seen[5] = text[4]  # an identical report encodes identically
    expected = retrieval_auc_pairs(image, seen, positives)["retrieval_auc"]
    assert pairs["retrieval_auc"] == pytest.approx(expected.tolist())
    assert np.mean(pairs["retrieval_auc"]) == pytest.approx(evaluator(model)["retrieval_auc"])


def test_retrieval_auc_is_the_default_selection_and_robust_metric():
    experiment = ExperimentConfig()
    assert experiment.search.metric == "retrieval_auc"
    assert experiment.protocol.metrics == ("clip_score", "retrieval_auc")
    assert "retrieval_auc" in METRICS and "embedding_spread" in METRICS


def _answer_on_auc() -> dict:
    """The report test's constructed answer, its robust metric renamed retrieval AUC."""
    answer = make_answer()
    for c in answer["comparisons"]:
        if c["metric"] == "clip_score_gap":
            c["metric"] = "retrieval_auc"
    answer["robust_metric"] = "retrieval_auc"
    answer["equivalence_margin"] = {"clip_score": 0.05, "retrieval_auc": 0.02}
    return answer


def test_the_conclusion_sentence_of_a_constructed_answer():
    answer = _answer_on_auc()
    # detectable effects on retrieval AUC of the question arms: 0.03, 0.09, 0.0444, 0.0555; diff SD 0.02 each
    assert conclusion_sentence(answer) == (
        "Curriculum vs single_task on retrieval AUC: inconclusive at every level (CLIP score: better at 10%, "
        "inconclusive at 30%); multitask vs single_task on retrieval AUC: equivalent at every level (CLIP score "
        "alike); curriculum_random vs single_task on retrieval AUC: inconclusive at every level (CLIP score alike); "
        "the shuffled-pairs control is worse at every level, so the run sees alignment; with K = 3 seeds it detects "
        "retrieval AUC differences of 0.030–0.090 or more (1.50–4.50 σ of the paired differences, 80% power, "
        "Holm-corrected)."
    )
    for c in answer["comparisons"]:
        if c["arm"] == "shuffled_control" and c["level"] == 0.1:
            c["verdict"] = "inconclusive"
    assert "the shuffled-pairs control is not called worse at 10%, so there the run cannot show" in (
        conclusion_sentence(answer)
    )
    assert conclusion_sentence({"comparisons": []}).startswith("This run has no confirmed comparison")


def test_the_reports_first_line_is_the_conclusion(tmp_path):
    answer = _answer_on_auc()
    answer["conclusion"] = conclusion_sentence(answer)
    run = write_protocol_run(tmp_path / "run", answer)
    page = build_report(run).read_text(encoding="utf-8")
    body = page[page.index("<body>") :]
    first = re.search(r"<p[^>]*>(.*?)</p>", body, flags=re.S)
    assert first is not None and "Curriculum vs single_task on retrieval AUC: inconclusive at every level" in first[1]
    assert body.index(first[0]) < body.index("<table")
    # every table sits in a scrolling box, so a wide one never pushes the page wider than the window
    boxed = re.findall(r'<div class="(?:wide|scroll)">\s*<table', page)
    assert page.count("<table") == len(boxed) > 5
