"""Difficulty scorers (metadata variants, transfer teacher, self-paced, image-text agreement) and controls."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from curriclip.curriculum import difficulty, scorers
from curriclip.errors import UnknownNameError

NAN = float("nan")


def _pool():
    return SimpleNamespace(
        difficulty=np.array([0.5, 0.1, 0.9, 0.3], dtype=np.float32),
        labels=np.array([[1, 0, NAN], [1, 1, 1], [NAN, NAN, NAN], [-1, 1, 0]], dtype=np.float32),
        texts=["no acute findings.", "a b c d e f", "x", "small left effusion and edema"],
    )


def test_registry_lists_every_scorer_with_its_kind():
    assert scorers.SCORERS.names() == [
        "metadata",
        "finding_count",
        "report_length",
        "transfer_teacher",
        "self_paced",
        "image_text_agreement",
    ]
    assert [n for n in scorers.SCORERS if scorers.get(n).dynamic] == ["self_paced", "image_text_agreement"]
    assert scorers.get("transfer_teacher").params["steps"].default == 30
    with pytest.raises(UnknownNameError, match="unknown difficulty scorer 'nope'"):
        scorers.get("nope")
    with pytest.raises(ValueError, match="no parameter"):
        scorers.create("metadata", {"steps": 3})


def test_cli_lists_scorers_and_pacing():
    from typer.testing import CliRunner

    from curriclip.cli import app

    listed = CliRunner().invoke(app, ["list", "scorers"])
    assert listed.exit_code == 0 and listed.output.split() == scorers.SCORERS.names()
    paced = CliRunner().invoke(app, ["list", "pacing"]).output.split()
    assert {
        "fixed_exponential",
        "varied_exponential",
        "single_step",
        "competence_linear",
        "competence_root",
        "baby_step",
        "geometric",
    } <= set(paced)


def test_metadata_scorers_exact_values():
    ctx = difficulty.ScoringContext(train=_pool())
    assert scorers.create("metadata").score(ctx) == pytest.approx([0.5, 0.1, 0.9, 0.3])
    assert list(scorers.create("finding_count").score(ctx)) == [1, 3, 0, 1]  # NaN and -1 are not positives
    assert list(scorers.create("report_length").score(ctx)) == [3, 6, 1, 5]


def test_controls_easiest_hardest_random():
    scores = np.array([0.5, 0.1, 0.9, 0.3])
    order = difficulty.curriculum_order(scores, "none", np.random.default_rng(0), 4)
    assert list(order) == [1, 3, 0, 2]
    anti = difficulty.curriculum_order(scores, "anti", np.random.default_rng(0), 4)
    assert list(anti) == [2, 0, 3, 1]
    rand = difficulty.curriculum_order(None, "random", np.random.default_rng(0), 4)
    assert sorted(rand) == [0, 1, 2, 3]
    assert list(rand) == list(np.random.default_rng(0).permutation(4))
    with pytest.raises(ValueError, match="unknown control"):
        difficulty.curriculum_order(scores, "sideways", np.random.default_rng(0), 4)
    # ties are broken at random, not by index, and reproducibly
    ties = np.zeros(50)
    a = difficulty.curriculum_order(ties, "none", np.random.default_rng(1), 50)
    assert list(a) != list(range(50))
    assert list(a) == list(difficulty.curriculum_order(ties, "none", np.random.default_rng(1), 50))


# --- model-based scorers on the tiny model -------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_context(tiny_dataset):
    import torch
    from conftest import tiny_trial

    from curriclip.config import TrialConfig
    from curriclip.models import MultiTaskModel, build_clip, get_preset
    from curriclip.trainables.data import load_trial_data

    cfg = TrialConfig.model_validate(tiny_trial(tiny_dataset, batch_size=16, sparsity=0.5))
    preset = get_preset(cfg.model)
    built = build_clip(preset)
    data = load_trial_data(cfg, preset.image_size, built[1])
    torch.manual_seed(0)

    def build():
        return MultiTaskModel(build_clip(preset)[0], {})

    return difficulty.ScoringContext(
        train=data.train,
        tokens=data.train_tokens,
        config=cfg,
        model=build(),
        device=torch.device("cpu"),
        build_model=build,
    )


def test_per_sample_itc_loss_matches_open_clip(tiny_context):
    import torch
    import torch.nn.functional as F
    from open_clip.loss import ClipLoss

    from curriclip.curriculum.model_scorers import _chunks, pair_statistics

    ctx = tiny_context
    loss, cosine = pair_statistics(ctx.model, ctx)
    n = len(ctx.train)
    assert loss.shape == (n,) and np.isfinite(loss).all()
    chunks = _chunks(n, ctx.config.batch_size, ctx.config.seed)
    assert sorted(np.concatenate(chunks)) == list(range(n)) and min(len(c) for c in chunks) >= 2
    # the mean per-sample loss of a chunk is open_clip's CLIP loss of that chunk as one batch
    chunk = torch.as_tensor(chunks[0])
    with torch.no_grad():
        ctx.model.eval()
        image = F.normalize(ctx.model.encode_image(ctx.train.images[chunk]), dim=-1)
        text = F.normalize(ctx.model.encode_text(ctx.tokens[chunk]), dim=-1)
        expected = ClipLoss()(image, text, ctx.model.logit_scale.exp())
        ctx.model.train()
    assert loss[chunks[0]].mean() == pytest.approx(float(expected), rel=1e-5)
    assert cosine[chunks[0]] == pytest.approx((image * text).sum(-1).numpy(), abs=1e-5)
    assert ctx.model.training  # mode restored
    agreement = scorers.create("image_text_agreement").score(ctx)
    assert agreement == pytest.approx(1 - cosine)
    assert scorers.create("self_paced").score(ctx) == pytest.approx(loss)


def test_transfer_teacher_is_deterministic_and_leaves_the_trial_rng_alone(tiny_context):
    import torch

    torch.manual_seed(123)
    before = torch.get_rng_state()
    teacher = scorers.create("transfer_teacher", {"steps": 3})
    first = teacher.score(tiny_context)
    assert torch.equal(torch.get_rng_state(), before)
    second = scorers.create("transfer_teacher", {"steps": 3}).score(tiny_context)
    assert np.array_equal(first, second) and first.shape == (len(tiny_context.train),)
    # training the teacher changes its view of the pool: different from the untrained teacher's losses
    untrained = scorers.create("transfer_teacher", {"steps": 0}).score(tiny_context)
    assert not np.allclose(first, untrained)
