"""Model factory: presets, open_clip names, local checkpoints, HF and domain-vocabulary text towers, grayscale."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_trial
from pydantic import ValidationError

from curriclip.config import TrialConfig
from curriclip.errors import ConfigError
from curriclip.models import PRESETS, ModelSpec, MultiTaskModel, build_clip
from curriclip.models.factory import domain_text_tower, one_channel_stem

REPORTS = [
    "There is a small left pleural effusion. Impression: small left pleural effusion.",
    "The cardiac silhouette is enlarged. Impression: cardiomegaly.",
    "No pneumothorax. Lungs are clear. Impression: no acute cardiopulmonary process.",
    "Endotracheal tube in place. Impression: support devices, no effusion.",
] * 5


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_presets_and_open_clip_names_validate(tiny_dataset):
    assert {"tiny", "small", "tiny-wordpiece", "vit-b-32-openai"} <= set(PRESETS.names())
    assert TrialConfig.model_validate(tiny_trial(tiny_dataset, model="ViT-B-32")).model == "ViT-B-32"
    with pytest.raises(ValidationError, match="unknown model preset 'no-such-net'"):
        TrialConfig.model_validate(tiny_trial(tiny_dataset, model="no-such-net"))
    with pytest.raises(ValidationError, match="text_tower 'bert'"):
        TrialConfig.model_validate(tiny_trial(tiny_dataset, text_tower="bert"))


def test_local_checkpoint_loads_with_weights_only(tmp_path):
    torch.manual_seed(1)
    source, _, _ = build_clip("tiny")
    path = tmp_path / "clip.pt"
    torch.save(source.state_dict(), path)
    loaded, _, size = build_clip(ModelSpec("tiny", checkpoint=str(path)))
    assert size == 64
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"state_dict": ModelSpec("tiny")}, unsafe)  # not plain tensors: refused
    with pytest.raises(Exception, match="(?i)weights.only|unpickl"):
        build_clip(ModelSpec("tiny", checkpoint=str(unsafe)))
    with pytest.raises(ConfigError, match="file not found"):
        build_clip(ModelSpec("tiny", checkpoint=str(tmp_path / "missing.pt")))


def test_hf_text_tower_from_a_local_directory(tmp_path):
    from transformers import BertConfig, BertModel

    local = domain_text_tower(REPORTS, 64, 32, 1, 2, root=tmp_path)  # any local HF model directory will do
    torch.manual_seed(3)
    bert = BertModel(BertConfig.from_pretrained(local))
    bert.save_pretrained(local)  # now with weights, as a downloaded BiomedBERT snapshot would be
    clip, tokenizer, _ = build_clip(ModelSpec("tiny", text_tower=f"hf:{local}"))
    assert type(clip.text).__name__ == "HFTextEncoder"
    loaded = clip.text.transformer.embeddings.word_embeddings.weight
    assert torch.equal(loaded, bert.embeddings.word_embeddings.weight)  # pretrained weights, not a fresh init
    tokens = tokenizer(["small left pleural effusion", "cardiomegaly"])
    assert tokens.shape == (2, 64) and int(tokens[0, 0]) == tokenizer.tokenizer.cls_token_id
    assert MultiTaskModel(clip, {}).encode_text(tokens).shape == (2, 64)


def test_wordpiece_vocabulary_is_trained_on_reports_and_cached(tmp_path):
    first = domain_text_tower(REPORTS, 64, 32, 1, 2, root=tmp_path)
    stamp = (first / "config.json").stat().st_mtime_ns
    assert domain_text_tower(REPORTS, 64, 32, 1, 2, root=tmp_path) == first  # cached: not retrained
    assert (first / "config.json").stat().st_mtime_ns == stamp
    assert domain_text_tower(REPORTS[:4], 64, 32, 1, 2, root=tmp_path) != first  # another dataset, another vocab
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(first)
    assert tok.tokenize("pleural effusion cardiomegaly") == ["pleural", "effusion", "cardiomegaly"]  # domain words
    assert len(tok) < 200


def test_one_channel_stem_matches_channel_replication():
    torch.manual_seed(2)
    clip, _, _ = build_clip("tiny")
    replicate = MultiTaskModel(clip, {})
    images = torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
    expected = replicate.encode_image(images)
    one_channel_stem(clip.visual)
    stem = MultiTaskModel(clip, {})
    assert stem.channels == 1 and clip.visual.conv1.in_channels == 1
    assert torch.allclose(stem.encode_image(images), expected, atol=1e-5)
    built, _, _ = build_clip(ModelSpec("tiny", image_channels="stem"))
    assert built.visual.conv1.weight.shape[1] == 1


def test_wordpiece_trial_trains_offline(tiny_dataset):
    from curriclip.trainables import run_trial

    cfg = tiny_trial(
        tiny_dataset,
        model="tiny-wordpiece",
        image_channels="stem",
        tasks=["itc", "text_findings"],
        stage_span=0.0,
        epochs=2,
        steps_per_epoch=3,
    )
    reports = []
    run_trial(TrialConfig.model_validate(cfg), lambda m, s: reports.append(m))
    assert reports[-1]["loss/itc"] < reports[0]["loss/itc"] + 0.05
    assert 0 < reports[-1]["loss/text_findings"] < 1
