"""Model factory: presets and any open_clip architecture, with optional weights and text towers.

curriclip's tiny configs live as open_clip model-config JSON files in ``configs/`` and
are registered with ``open_clip.add_model_config``, so ``open_clip.create_model`` builds
them exactly like any stock architecture and ``open_clip.get_tokenizer`` returns its
bundled BPE tokenizer: no download on the default path.

A ``ModelSpec`` says what to build:

- ``arch``: a preset name (``curriclip list presets``) or any open_clip architecture name
  (``open_clip.list_models()``), e.g. ``ViT-B-32``;
- ``pretrained``: an open_clip pretrained tag (downloads; needs the network);
- ``checkpoint``: a local open_clip state dict, loaded with ``weights_only=True``;
- ``text_tower``: ``None`` (the architecture's own), ``hf:<hub id or local directory>``
  (a Hugging Face transformers encoder with its weights and tokenizer, through open_clip's
  HF text encoder), or ``wordpiece`` (offline domain vocabulary: a WordPiece tokenizer
  trained on the dataset's training reports and a small BERT built from a config, cached
  per dataset under ``$CURRICLIP_CACHE/text-towers``);
- ``image_channels``: ``replicate`` (grayscale copied to the three RGB channels, the
  default; keeps any pretrained stem as is; multi-channel images are first averaged to
  gray over all their channels) or ``stem`` (a patch/conv stem with the dataset's
  ``channels`` inputs, 1 for radiographs, 4 for BraTS's T1/T1c/T2/FLAIR; each input
  channel's weights are the sum of the RGB stem's over channels divided by ``channels``,
  so a pretrained model computes the same function on an image replicated to every channel).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch
from torch import nn

from curriclip.errors import ConfigError
from curriclip.models.presets import CONFIG_DIR, PRESETS, ModelPreset, get_preset

open_clip.add_model_config(CONFIG_DIR)

#: Size of the domain WordPiece vocabulary (capped by what the reports support).
WORDPIECE_VOCAB = 4096
#: Bumped whenever the domain tower's files change, so caches rebuild.
TOWER_VERSION = 2


@dataclass(frozen=True)
class ModelSpec:
    """Everything that decides which weights and tokenizer a trial trains (see the module docstring)."""

    arch: str = "tiny"
    pretrained: str | None = None
    checkpoint: str | None = None
    text_tower: str | None = None
    image_channels: str = "replicate"
    #: channels per image of the dataset (the stem's inputs under ``image_channels: stem``)
    channels: int = 1

    def resolve(self) -> tuple[str, int, str | None, str | None]:
        """(open_clip name, image size, pretrained tag or checkpoint path, text tower) of this spec."""
        if self.arch in PRESETS:
            preset = get_preset(self.arch)
            name, size = preset.open_clip_name, preset.image_size
            weights, tower = preset.pretrained, preset.text_tower
        else:
            cfg = open_clip.get_model_config(self.arch)
            if cfg is None:
                raise ConfigError(f"model {self.arch!r}: neither a preset nor an open_clip architecture")
            name, weights, tower = self.arch, None, None
            size = cfg["vision_cfg"].get("image_size", 224)
            size = size if isinstance(size, int) else int(size[0])
        if self.pretrained is not None:
            weights = self.pretrained
        if self.checkpoint is not None:
            if not Path(self.checkpoint).is_file():
                raise ConfigError(f"model_checkpoint: {self.checkpoint}: file not found")
            weights = self.checkpoint
        if self.text_tower is not None:
            tower = self.text_tower
        if tower is not None and weights is not None:
            raise ConfigError(
                "text_tower: a replaced text tower cannot load whole-CLIP weights (pretrained/checkpoint); choose one"
            )
        return name, size, weights, tower


class _NoRandomInitNotice(logging.Filter):
    """open_clip warns that no pretrained weights were loaded; for from-config presets that is the intent."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "No pretrained weights loaded" not in record.getMessage()


def cache_root() -> Path:
    return Path(os.environ.get("CURRICLIP_CACHE", Path.home() / ".cache" / "curriclip"))


def domain_text_tower(
    texts: list[str], context_length: int, width: int, layers: int, heads: int, root: Path | None = None
) -> Path:
    """A local HF model directory: WordPiece tokenizer trained on ``texts`` + a small BERT config.

    Cached by a hash of the texts and the tower's shape, written atomically, so every trial
    on one dataset shares one vocabulary.
    """
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertTokenizerFast

    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    digest.update(json.dumps([TOWER_VERSION, context_length, width, layers, heads, WORDPIECE_VOCAB]).encode())
    root = root or cache_root() / "text-towers"
    out = root / f"wordpiece-{digest.hexdigest()[:16]}"
    if (out / "config.json").is_file():
        return out
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        wordpiece = BertWordPieceTokenizer(lowercase=True)
        wordpiece.train_from_iterator(texts, vocab_size=WORDPIECE_VOCAB, min_frequency=1, show_progress=False)
        tokenizer = BertTokenizerFast(tokenizer_object=wordpiece._tokenizer, model_max_length=context_length)
        tokenizer.add_special_tokens(
            {
                "pad_token": "[PAD]",
                "unk_token": "[UNK]",
                "cls_token": "[CLS]",
                "sep_token": "[SEP]",
                "mask_token": "[MASK]",
            }
        )
        tokenizer.save_pretrained(tmp)
        BertConfig(
            vocab_size=len(tokenizer),
            hidden_size=width,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=4 * width,
            max_position_embeddings=context_length,
            pad_token_id=tokenizer.pad_token_id,
            hidden_dropout_prob=0.0,  # as open_clip's own text tower: no dropout
            attention_probs_dropout_prob=0.0,
        ).save_pretrained(tmp)
        try:
            tmp.rename(out)
        except OSError:  # another trial finished it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _hf_text_cfg(base: dict, source: str, context_length: int) -> dict:
    return {
        "hf_model_name": source,
        "hf_tokenizer_name": source,
        "hf_proj_type": "linear",
        "hf_pooler_type": "mean_pooler",
        "context_length": context_length,
        **{k: v for k, v in base.items() if k in ("hf_proj_type", "hf_pooler_type")},
    }


def channel_stem(visual: nn.Module, channels: int = 1) -> None:
    """Replace the first 3-channel convolution of an image tower by a ``channels``-input one.

    Each input's weights are the RGB weights summed over channels, divided by ``channels``
    (for one channel: the plain sum), so the stem computes the same function on an image
    replicated to every input as the RGB stem on a replicated gray image.
    """
    for parent in visual.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.Conv2d) and child.in_channels == 3:
                stem = nn.Conv2d(
                    channels,
                    child.out_channels,
                    child.kernel_size,
                    child.stride,
                    child.padding,
                    child.dilation,
                    child.groups,
                    bias=child.bias is not None,
                )
                with torch.no_grad():
                    gray = child.weight.sum(dim=1, keepdim=True)
                    stem.weight.copy_((gray / channels).expand(-1, channels, -1, -1))
                    if child.bias is not None:
                        stem.bias.copy_(child.bias)
                setattr(parent, child_name, stem)
                visual.curriclip_stem = True
                return
    raise ConfigError("image_channels: 'stem': this image tower has no 3-channel convolution stem to replace")


def one_channel_stem(visual: nn.Module) -> None:
    """A one-channel stem (radiographs): ``channel_stem(visual, 1)``."""
    channel_stem(visual, 1)


def build_clip(
    spec: ModelSpec | ModelPreset | str, texts: list[str] | None = None
) -> tuple[torch.nn.Module, object, int]:
    """The open_clip model, its tokenizer and its input size (random init unless weights are named).

    ``texts`` (the dataset's training reports) are needed only by the ``wordpiece`` text tower.
    """
    if isinstance(spec, ModelPreset):
        spec = ModelSpec(spec.name)
    elif isinstance(spec, str):
        spec = ModelSpec(spec)
    name, image_size, weights, tower = spec.resolve()
    model_cfg = copy.deepcopy(open_clip.get_model_config(name))
    text_base = model_cfg["text_cfg"]
    context_length = int(text_base.get("context_length", 77))
    kwargs: dict = {}
    tokenizer = None
    if tower is not None:
        if tower == "wordpiece":
            if not texts:
                raise ConfigError("text_tower 'wordpiece' needs the dataset's training reports (none given)")
            width = int(text_base.get("width", 512))
            heads = int(text_base.get("heads", 8))
            layers = int(text_base.get("layers", 12))
            source = str(domain_text_tower(texts, context_length, width, layers, heads))
            pretrained_text = False
        elif tower.startswith("hf:"):
            source = tower[3:]
            pretrained_text = True
        else:
            raise ConfigError(f"text_tower {tower!r}: expected 'wordpiece' or 'hf:<hub id or local directory>'")
        text_cfg = _hf_text_cfg(text_base, source, context_length)
        text_cfg["hf_model_pretrained"] = pretrained_text
        kwargs = {"text_cfg": text_cfg, "force_custom_text": True, "pretrained_text": pretrained_text}
        try:
            tokenizer = open_clip.tokenizer.HFTokenizer(source, context_length=context_length)
        except OSError as exc:
            raise ConfigError(f"text_tower {tower!r}: cannot load its tokenizer ({exc})") from None
    quiet = _NoRandomInitNotice()
    root = logging.getLogger()
    root.addFilter(quiet)
    try:
        model = open_clip.create_model(name, pretrained=weights, weights_only=True, **kwargs)
    except OSError as exc:
        raise ConfigError(f"model {spec.arch!r}: cannot load its weights ({exc})") from None
    finally:
        root.removeFilter(quiet)
    if tokenizer is None:
        tokenizer = open_clip.get_tokenizer(name)
    if spec.image_channels == "stem":
        channel_stem(model.visual, spec.channels)
    elif spec.image_channels != "replicate":
        raise ConfigError(f"image_channels {spec.image_channels!r}: expected 'replicate' or 'stem'")
    return model, tokenizer, image_size


def embed_dim(model: torch.nn.Module) -> int:
    """Width of the joint embedding space of an open_clip model."""
    return int(model.text_projection.shape[1]) if hasattr(model, "text_projection") else int(model.visual.output_dim)
