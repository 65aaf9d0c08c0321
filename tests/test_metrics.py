"""Every metric against a hand computation and, where torchmetrics has it, against torchmetrics."""

import itertools
import math

import numpy as np
import pytest
import torch

from curriclip import metrics as M
from curriclip.metrics import uncertainty
from curriclip.metrics.alignment import (
    alignment,
    clip_score,
    clip_score_gap,
    clip_score_gap_pairs,
    clip_score_pairs,
    cosine_matrix,
    mean_cosine,
    modality_gap,
    uniformity,
)
from curriclip.metrics.retrieval import retrieval_recall
from curriclip.metrics.segmentation import dice, dice_per_sample
from curriclip.metrics.uncertainty import bootstrap_ci, bootstrap_means, paired_bootstrap_ci
from curriclip.metrics.zeroshot import finding_prompts, per_finding_auroc, zeroshot_auroc, zeroshot_scores


def _features(n=40, d=8, seed=0, noise=1.0):
    g = torch.Generator().manual_seed(seed)
    image = torch.randn(n, d, generator=g)
    return image, image + noise * torch.randn(n, d, generator=g)


def _cos(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


# ----------------------------------------------------------------------------- CLIP score


def test_clip_score_on_hand_made_vectors():
    image = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    text = torch.tensor([[1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])
    # cosines: 1, -1 (clamped to 0), 1/sqrt(2)
    expected = 2.5 * (1 + 0 + 1 / math.sqrt(2)) / 3
    assert clip_score(image, text) == pytest.approx(expected)
    assert clip_score(image, text, w=1.0) == pytest.approx(expected / 2.5)
    assert mean_cosine(image, text) == pytest.approx((1 - 1 + 1 / math.sqrt(2)) / 3)
    # torchmetrics' convention: 100 * cos averaged first, then clamped (the -1 counts)
    assert clip_score(image, text, convention="torchmetrics") == pytest.approx(100 * (1 - 1 + 1 / math.sqrt(2)) / 3)
    assert clip_score(image[1:2], text[1:2], convention="torchmetrics") == 0.0
    assert clip_score_pairs(image, text).tolist() == pytest.approx([2.5, 0.0, 2.5 / math.sqrt(2)])
    with pytest.raises(ValueError, match="convention"):
        clip_score(image, text, convention="other")


def test_clip_score_is_scale_invariant_and_checks_shapes():
    image, text = torch.randn(8, 4), torch.randn(8, 4)
    assert clip_score(image * 3, text * 0.1) == pytest.approx(clip_score(image, text))
    with pytest.raises(ValueError, match="differ in shape"):
        clip_score(torch.randn(3, 4), torch.randn(2, 4))


def test_clip_score_matches_torchmetrics_clipscore_on_a_curriclip_model():
    """torchmetrics' CLIPScore driven through a (model, processor) wrapper around a curriclip model."""
    from torchmetrics.functional.multimodal.clip_score import _clip_score_update
    from torchmetrics.multimodal.clip_score import CLIPScore

    from curriclip.models import MultiTaskModel, build_clip, get_preset
    from curriclip.trainables.evaluation import encode, torchmetrics_clip

    torch.manual_seed(0)
    clip, tokenizer, *_ = build_clip(get_preset("tiny"))
    model = MultiTaskModel(clip, {}).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a random text projection: cosines of both signs, so the clamp matters
        clip.text_projection.copy_(torch.randn(clip.text_projection.shape, generator=g))
    images = torch.randint(0, 256, (12, 64, 64), dtype=torch.uint8, generator=g)
    texts = [f"report {i}: {'no ' * (i % 3)}pleural effusion, mild cardiomegaly {i * 7}" for i in range(12)]
    image_features, text_features = encode(model, images, tokenizer(texts), 5, torch.device("cpu"))

    make = torchmetrics_clip(model, tokenizer)
    metric = CLIPScore(model_name_or_path=make)
    metric.update([im.unsqueeze(0) for im in images[:7]], texts[:7])  # two batches, accumulated
    metric.update([im.unsqueeze(0) for im in images[7:]], texts[7:])
    ours_tm = clip_score(image_features, text_features, convention="torchmetrics")
    assert float(metric.compute()) == pytest.approx(ours_tm, rel=1e-4, abs=1e-4)

    # Hessel from torchmetrics' per-pair scores (100 * cos): 2.5 * max(cos, 0), averaged.
    per_pair, n = _clip_score_update([im.unsqueeze(0) for im in images], texts, *make())
    assert n == 12
    cos = per_pair.detach().double() / 100
    assert (cos < 0).any() and (cos > 0).any()  # the clamp matters here: the two conventions differ
    hessel = float((2.5 * cos.clamp(min=0)).mean())
    assert clip_score(image_features, text_features) == pytest.approx(hessel, rel=1e-4, abs=1e-5)
    assert clip_score_pairs(image_features, text_features).tolist() == pytest.approx(
        (2.5 * cos.clamp(min=0)).tolist(), rel=1e-4, abs=1e-5
    )


# ----------------------------------------------------------------------------- matched vs mismatched


def test_clip_score_gap_by_hand():
    image, text = _features(n=7, d=3, seed=2)
    n = len(image)
    s = [[2.5 * max(_cos(image[i], text[j]), 0.0) for j in range(n)] for i in range(n)]
    matched = sum(s[i][i] for i in range(n)) / n
    mismatched = sum(s[i][j] for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    assert clip_score_gap(image, text) == pytest.approx(matched - mismatched)
    # with extra positives (e.g. identical reports), those pairs leave the mismatched means
    positives = torch.zeros(n, n, dtype=torch.bool)
    positives[0, 1] = positives[1, 0] = True
    per_pair = []
    for i in range(n):
        row = [s[i][j] for j in range(n) if j != i and not positives[i, j]]
        col = [s[j][i] for j in range(n) if j != i and not positives[j, i]]
        per_pair.append(s[i][i] - (sum(row) / len(row) + sum(col) / len(col)) / 2)
    assert clip_score_gap_pairs(image, text, positives=positives).tolist() == pytest.approx(per_pair)


def test_clip_score_gap_is_zero_for_unrelated_pairs_and_positive_for_aligned_ones():
    aligned_image, aligned_text = _features(n=300, d=16, seed=3, noise=0.5)
    unrelated_text = torch.randn(300, 16, generator=torch.Generator().manual_seed(4))
    assert clip_score_gap(aligned_image, aligned_text) > 0.5
    low, high = bootstrap_ci(clip_score_gap_pairs(aligned_image, unrelated_text))
    assert low < 0 < high


# ----------------------------------------------------------------------------- retrieval


def test_retrieval_recall_by_hand():
    # image i's nearest texts (cosine): image 0 -> text 0; image 1 -> text 2 first, then text 1; image 2 -> text 1
    image = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.1]])
    text = torch.tensor([[1.0, 0.1], [0.0, 1.0], [-0.2, 1.0]])
    text[1] = torch.tensor([0.6, 0.8])
    out = retrieval_recall(image, text, ks=(1, 2))
    # i2t ranks: image0: text0 best -> rank 0; image1: sims text0 .0995, text1 .8, text2 .98 -> rank 1;
    # image2: sims text0 -.985, text1 -.52, text2 .293 -> text2 (its own) best -> rank 0
    assert out["i2t_r1"] == pytest.approx(2 / 3) and out["i2t_r2"] == 1.0
    # t2i: text0 -> image0 best; text1 (.6,.8) -> image1 .8 vs image0 .6 -> rank 0; text2 -> image1 .98 > image2
    assert out["t2i_r1"] == pytest.approx(2 / 3) and out["t2i_r2"] == 1.0
    assert out["recall_sum"] == pytest.approx(2 / 3 + 1 + 2 / 3 + 1)


def test_retrieval_recall_matches_torchmetrics():
    from torchmetrics.retrieval import RetrievalHitRate, RetrievalRecall

    image, text = _features(n=60, d=6, seed=5, noise=1.5)
    ours = retrieval_recall(image, text)
    sim = cosine_matrix(image, text).float()
    n = len(image)
    index = torch.arange(n).repeat_interleave(n)
    target = torch.eye(n, dtype=torch.bool)
    for k in (1, 5, 10):
        assert ours[f"i2t_r{k}"] == pytest.approx(
            float(RetrievalRecall(top_k=k)(sim.flatten(), target.flatten(), indexes=index))
        )
        assert ours[f"t2i_r{k}"] == pytest.approx(
            float(RetrievalRecall(top_k=k)(sim.T.flatten(), target.flatten(), indexes=index))
        )
    assert 0 < ours["i2t_r1"] < ours["i2t_r5"] < ours["i2t_r10"] < 1
    # several positives per query (identical reports): a hit when any positive is in the top k = HitRate
    positives = torch.eye(n, dtype=torch.bool)
    positives[torch.arange(0, n, 2), torch.arange(1, n, 2)] = True
    positives = positives | positives.T
    with_pos = retrieval_recall(image, text, positives=positives)
    for k in (1, 5):
        expected = RetrievalHitRate(top_k=k)(sim.flatten(), positives.flatten(), indexes=index)
        assert with_pos[f"i2t_r{k}"] == pytest.approx(float(expected))


def test_retrieval_ties_count_against_the_query():
    collapsed = torch.ones(20, 4)
    out = retrieval_recall(collapsed, collapsed)
    assert out["i2t_r1"] == 0.0 and out["t2i_r5"] == 0.0 and out["recall_sum"] == 0.0
    identity = torch.eye(10)
    assert retrieval_recall(identity, identity)["recall_sum"] == pytest.approx(6.0)


# ----------------------------------------------------------------------------- geometry


def test_modality_gap_alignment_uniformity_by_hand():
    image, text = _features(n=9, d=4, seed=6)
    im = np.asarray(image, float)
    tx = np.asarray(text, float)
    im /= np.linalg.norm(im, axis=1, keepdims=True)
    tx /= np.linalg.norm(tx, axis=1, keepdims=True)
    assert modality_gap(image, text) == pytest.approx(np.linalg.norm(im.mean(0) - tx.mean(0)))
    assert alignment(image, text) == pytest.approx(np.mean([np.sum((a - b) ** 2) for a, b in zip(im, tx)]))
    assert alignment(image, text, alpha=1) == pytest.approx(np.mean([np.linalg.norm(a - b) for a, b in zip(im, tx)]))
    pairs = list(itertools.combinations(range(len(im)), 2))
    expected = math.log(np.mean([math.exp(-2 * np.sum((im[i] - im[j]) ** 2)) for i, j in pairs]))
    assert uniformity(image) == pytest.approx(expected)
    # a shared offset between modalities shows as a gap; identical modalities have none
    assert modality_gap(image, image) == pytest.approx(0.0, abs=1e-12)
    shifted = modality_gap(image + 5 * torch.tensor([1.0, 0, 0, 0]), image)
    assert shifted > 0.5


# ----------------------------------------------------------------------------- zero-shot AUROC


def _auroc_by_hand(scores, labels):
    pos = [s for s, y in zip(scores, labels) if y == 1]
    neg = [s for s, y in zip(scores, labels) if y == 0]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


def test_zeroshot_auroc_by_hand_and_label_policy():
    g = torch.Generator().manual_seed(7)
    n, k, d = 30, 3, 5
    image = torch.randn(n, d, generator=g)
    pos_prompts, neg_prompts = torch.randn(k, d, generator=g), torch.randn(k, d, generator=g)
    labels = torch.randint(0, 2, (n, k), generator=g).float()
    labels[::4, 0] = -1.0  # uncertain: left out
    labels[1::5, 1] = float("nan")  # not mentioned: left out
    labels[:, 2] = 1.0  # one class only: the finding is skipped
    labels[0, 2] = -1.0
    scores = zeroshot_scores(image, pos_prompts, neg_prompts)
    hand_scores = [
        [_cos(image[i], pos_prompts[j]) - _cos(image[i], neg_prompts[j]) for j in range(k)] for i in range(n)
    ]
    assert scores.flatten().tolist() == pytest.approx([v for row in hand_scores for v in row])
    per = per_finding_auroc(scores, labels)
    for j in range(2):
        keep = [i for i in range(n) if labels[i, j] in (0.0, 1.0)]
        assert per[j] == pytest.approx(
            _auroc_by_hand([hand_scores[i][j] for i in keep], [labels[i, j].item() for i in keep])
        )
    assert math.isnan(per[2])
    macro, used = zeroshot_auroc(image, pos_prompts, neg_prompts, labels)
    assert used == 2 and macro == pytest.approx((per[0] + per[1]) / 2)
    # perfectly separating scores give 1
    perfect = torch.zeros(n, 1)
    perfect[:15] = 1.0
    onehot = torch.tensor([[1.0, 0.0]] * 15 + [[0.0, 1.0]] * 15)
    macro, used = zeroshot_auroc(onehot, torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), perfect)
    assert (macro, used) == (1.0, 1)


def test_finding_prompts():
    positive, negative = finding_prompts(["pleural_effusion", "Cardiomegaly"])
    assert positive == ["pleural effusion.", "cardiomegaly."]
    assert negative == ["no pleural effusion.", "no cardiomegaly."]


# ----------------------------------------------------------------------------- Dice


def test_dice_by_hand_and_against_torchmetrics():
    from torchmetrics.functional.segmentation import dice_score

    target = torch.zeros(3, 4, 4, dtype=torch.bool)
    pred = torch.zeros(3, 4, 4)
    target[0, :2, :2] = True  # 4 pixels
    pred[0, :2, :3] = 0.9  # 6 pixels, 4 shared -> 2*4/10
    target[1, 0, 0] = True
    pred[1, 3, 3] = 0.7  # disjoint -> 0
    # sample 2: both empty -> 1 by convention
    assert dice_per_sample(pred, target).tolist() == pytest.approx([0.8, 0.0, 1.0])
    assert dice(pred, target) == pytest.approx(0.6)
    g = torch.Generator().manual_seed(8)
    probs = torch.rand(6, 16, 16, generator=g)
    masks = torch.rand(6, 16, 16, generator=g) > 0.6
    expected = dice_score(
        (probs > 0.5).long().unsqueeze(1),
        masks.long().unsqueeze(1),
        num_classes=1,
        average="none",
        aggregation_level="samplewise",
    )
    assert dice_per_sample(probs, masks).tolist() == pytest.approx(expected.flatten().tolist())


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_ci_matches_a_loop_and_is_deterministic(monkeypatch):
    values = torch.randn(50, generator=torch.Generator().manual_seed(9)).double()
    g = torch.Generator().manual_seed(0)
    index = torch.randint(50, (200, 50), generator=g)
    loop_means = torch.tensor([float(values[row].mean()) for row in index], dtype=torch.float64)
    assert bootstrap_means(values, 200).tolist() == pytest.approx(loop_means.tolist())
    low, high = bootstrap_ci(values, 200)
    assert (low, high) == pytest.approx(tuple(np.quantile(loop_means.numpy(), [0.025, 0.975])))
    assert low < float(values.mean()) < high
    monkeypatch.setattr(uncertainty, "_CHUNK_ELEMENTS", 120)  # chunked draws give the same resamples
    assert bootstrap_ci(values, 200) == (low, high)
    assert bootstrap_ci(values, 200, seed=1) != (low, high)
    assert paired_bootstrap_ci(values + 1, values) == pytest.approx((1.0, 1.0))


def test_bootstrap_width_shrinks_with_more_pairs():
    g = torch.Generator().manual_seed(10)
    small = bootstrap_ci(torch.randn(100, generator=g))
    large = bootstrap_ci(torch.randn(1600, generator=g))
    ratio = (small[1] - small[0]) / (large[1] - large[0])
    assert 3 < ratio < 5.5  # ~ sqrt(16)


def test_metrics_are_registered():
    for name in (
        "clip_score",
        "mean_cosine",
        "clip_score_gap",
        "retrieval_recall",
        "modality_gap",
        "alignment",
        "uniformity",
        "zeroshot_auroc",
        "dice",
        "retrieval_auc",
        "embedding_spread",
    ):
        assert name in M.METRICS
