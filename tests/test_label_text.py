"""Labels rendered as text (``label_text`` need and task): what the text says, and what the loss compares."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_PX

from curriclip.label_phrases import NO_FINDING, label_sentences
from curriclip.tasks.base import Batch, StepContext, get

NAN = float("nan")
NAMES = ("cardiomegaly", "pleural_effusion", "lung_nodule")


def test_present_and_uncertain_findings_are_stated_negative_and_unmentioned_left_out():
    labels = torch.tensor(
        [
            [1.0, 0.0, -1.0],  # present, negated, uncertain
            [NAN, 1.0, NAN],  # the negation of a finding is the writer's choice: 0 and NaN read the same
            [0.0, 1.0, 0.0],
            [0.0, NAN, 0.0],  # mentioned, nothing present
            [NAN, NAN, NAN],  # unlabelled (e.g. label sparsity): no text
        ]
    )
    assert label_sentences(labels, NAMES) == [
        "cardiomegaly. possible lung nodule.",
        "pleural effusion.",
        "pleural effusion.",
        NO_FINDING,
        "",
    ]


def test_bad_label_matrices_are_refused():
    with pytest.raises(ValueError, match="one column per label name"):
        label_sentences(torch.zeros(2, 2), NAMES)
    with pytest.raises(ValueError, match="label value 2.0 of 'cardiomegaly'"):
        label_sentences(torch.tensor([[2.0, 0.0, 0.0]]), NAMES)


class _Towers(torch.nn.Module):
    """Fixed image features, and a text feature per distinct label text (its first token picks a row)."""

    def __init__(self, image: torch.Tensor, text: torch.Tensor) -> None:
        super().__init__()
        self.image, self.text = image, text

    def encode_image(self, images):
        return self.image

    def encode_text(self, tokens):
        return self.text[tokens[:, 0]]


def test_loss_treats_images_with_the_same_label_text_as_one_class():
    """Image -> text is a cross-entropy over the batch's distinct texts (no false negatives between the
    images of one text); text -> image spreads its target over that text's images; rows without a
    mentioned finding are left out."""
    torch.manual_seed(0)
    image, text = torch.randn(5, 4), torch.randn(3, 4)
    tokens = torch.tensor([[0, 9], [1, 9], [0, 9], [2, 9], [1, 9]])  # texts 0, 1, 0, 2, (1: unlabelled row)
    labels = torch.tensor([[1.0], [0.0], [1.0], [-1.0], [NAN]])
    task = get("label_text")
    head = task.build_head(type("Info", (), {})())
    batch = Batch(images=None, labels=labels, label_tokens=tokens)
    loss = task.loss(StepContext(_Towers(image, text), batch, torch.Generator()), head)

    scale = head.logit_scale.exp()
    logits = scale * F.normalize(image[:4], dim=-1) @ F.normalize(text, dim=-1).T
    which = torch.tensor([0, 1, 0, 2])
    image_to_text = F.cross_entropy(logits, which)
    target = torch.tensor([[0.5, 0, 0.5, 0], [0, 1.0, 0, 0], [0, 0, 0, 1.0]])
    text_to_image = -(target * logits.T.log_softmax(dim=1)).sum(dim=1).mean()
    assert math.isclose(loss.item(), ((image_to_text + text_to_image) / 2).item(), rel_tol=1e-5)

    one_text = Batch(images=None, labels=labels[:3:2], label_tokens=tokens[:3:2])  # nothing to tell apart
    assert task.loss(StepContext(_Towers(image[:2], text), one_text, torch.Generator()), head).item() == 0.0


def test_reports_mode_label_text_learns_from_every_training_image(tiny_dataset):
    """The label tokens come with the report-less images too, rendered from their labels."""
    from conftest import tiny_trial

    from curriclip.config import TrialConfig
    from curriclip.data.loader import load_split
    from curriclip.trainables.data import load_trial_data

    def tokenize(texts):
        return torch.tensor([[len(t)] for t in texts])

    fields = {
        "arm": "multitask",
        "tasks": ["itc", "label_text"],
        "pacing": "none",
        "pacing_params": {},
        "stage_span": 0.0,
    }
    cfg = TrialConfig.model_validate(tiny_trial(tiny_dataset, sparsity=0.3, sparsity_mode="reports", **fields))
    data = load_trial_data(cfg, TINY_PX, tokenize)
    train = load_split(str(tiny_dataset), "train")
    assert len(data.train) + len(data.unpaired_rows["label_tokens"]) == len(train)
    lengths = {len(t) for t in label_sentences(train.labels, train.label_names)}
    assert set(data.unpaired_rows["label_tokens"][:, 0].tolist()) <= lengths
    assert (data.unpaired_rows["label_tokens"] > 0).all()  # every synthetic image is labelled
