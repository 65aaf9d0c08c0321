"""Per-process caches that let one warm trial process serve many trials at the cost of one.

With Ray Tune's actor reuse a trial process runs trial after trial, so what every trial
of a search rebuilds identically can be built once per process: the opened dataset
splits, the built model with its tokenizer, and the untrained model's metrics. Each
cache is keyed by everything its value depends on, so a hit returns exactly what a
fresh process would have built:

- splits: the dataset directory (its real path and the size and modification time of
  every file in it), the split name (or the phase, whose held-out split it is, and the
  fraction of a carved validate split), the image size and whether masks are read;
- built models: the model spec (and a local checkpoint's size and modification time),
  the training reports a ``wordpiece`` tower learns from,
  and the random state the model is drawn from (torch, numpy and Python generators);
  a hit hands out a deep copy and leaves the generators where building would have;
- untrained metrics: a fingerprint of every parameter and buffer of the untrained
  model (heads and weighting included), of the held-out split's token ids, prompts and
  sample ids, the dataset, and the evaluation settings (batch size, resamples, device,
  threads, compute settings).

A cached object is never handed to a trial: splits come out as private copies
(``private_copy``), models as deep copies, metrics as fresh dicts. Each cache keeps its
``LIMIT`` most recently used entries, so a long search over many datasets or models
holds a bounded amount. ``CURRICLIP_TRIAL_CACHE=0`` turns every cache off (the cold
baseline ``benchmarks/bench_trial_overhead.py`` measures against).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import os
import random
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import numpy as np
import torch

from curriclip.data.loader import ImageStore, SplitArrays

#: Environment switch: "0" turns the per-process caches off.
CACHE_ENV = "CURRICLIP_TRIAL_CACHE"
#: Entries kept per cache (least recently used first out).
LIMIT = 4


def enabled() -> bool:
    return os.environ.get(CACHE_ENV, "1") != "0"


class LruCache:
    """A bounded mapping that builds missing values on demand and counts hits and misses."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self.entries:
            self.hits += 1
            self.entries.move_to_end(key)
            return self.entries[key]
        self.misses += 1
        value = make()  # a failure caches nothing
        self.entries[key] = value
        while len(self.entries) > self.limit:
            self.entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self.entries.clear()
        self.hits = self.misses = 0


SPLITS = LruCache()
MODELS = LruCache(limit=2)  # a model can be large: keep few
UNTRAINED = LruCache(limit=64)  # small dicts

# ---------------------------------------------------------------------------
# Opened dataset splits
# ---------------------------------------------------------------------------


def dataset_key(dataset_dir: str) -> tuple:
    """The dataset directory's identity: its real path and (name, size, mtime) of every file in it."""
    path = os.path.realpath(dataset_dir)
    with os.scandir(path) as entries:
        files = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns) for e in entries if e.is_file())
    return (path, tuple(files))


def file_key(path: str | None) -> tuple | None:
    """A file's identity (real path, size, mtime), or None for no file."""
    if path is None or not os.path.exists(path):
        return None if path is None else (path,)
    stat = os.stat(path)
    return (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)


def private_copy(split: SplitArrays) -> SplitArrays:
    """A copy of ``split`` a trial may modify freely (label masking, shuffled pairs) without touching the cache.

    Arrays, tensors and lists are copied; an ``ImageStore`` or ``MaskStore`` is a view
    of a read-only memory map (or packed array) that trials only read, so it gets its
    own row index over the same storage.
    """
    images = split.images
    images = ImageStore(images.base, images.rows.copy()) if isinstance(images, ImageStore) else images.clone()
    masks = split.masks
    if isinstance(masks, torch.Tensor):
        masks = masks.clone()
    elif masks is not None:
        masks = masks.take(np.arange(len(masks)))
    return dataclasses.replace(
        split,
        sample_ids=split.sample_ids.copy(),
        subject_ids=split.subject_ids.copy(),
        images=images,
        texts=list(split.texts),
        labels=split.labels.clone(),
        difficulty=split.difficulty.copy(),
        label_names=list(split.label_names),
        findings=None if split.findings is None else list(split.findings),
        impressions=None if split.impressions is None else list(split.impressions),
        masks=masks,
    )


def open_phase_splits(
    dataset_dir: str, phase: str, image_size: int | None, needs: Iterable[str], validate_fraction: float
) -> tuple[SplitArrays, SplitArrays]:
    """``heldout.load_phase_splits`` (training rows, the phase's held-out rows) through this process's cache; the
    caller owns the returned copies.

    Keyed by the phase too, so the search phase's refusal of the test split is checked
    on every miss and a hit never hands one phase's held-out rows to the other.
    """
    from curriclip.data.heldout import load_phase_splits

    needs = frozenset(needs)

    def load() -> tuple[SplitArrays, SplitArrays]:
        return load_phase_splits(dataset_dir, phase, image_size, needs, validate_fraction)

    if not enabled():
        return load()
    key = (dataset_key(dataset_dir), "phase", str(phase), image_size, "masks" in needs, validate_fraction)
    train, held_out = SPLITS.get_or_make(key, load)
    return private_copy(train), private_copy(held_out)


# ---------------------------------------------------------------------------
# Built models and tokenizers
# ---------------------------------------------------------------------------


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _random_state() -> tuple:
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _set_random_state(state: tuple) -> None:
    torch_state, numpy_state, python_state = state
    torch.set_rng_state(torch_state)
    np.random.set_state(numpy_state)
    random.setstate(python_state)


def _random_key() -> str:
    torch_state, numpy_state, python_state = _random_state()
    kind, keys, position, has_gauss, cached_gauss = numpy_state  # repr() would elide the 624 keys
    numpy_bytes = keys.tobytes() + repr((kind, position, has_gauss, cached_gauss)).encode()
    return _digest(torch_state.numpy().tobytes(), numpy_bytes, repr(python_state).encode())


def built_model(spec: Hashable, reports: list[str] | None, build: Callable[[], tuple]) -> tuple:
    """``build()`` (the ``build_clip`` result: model, tokenizer, input size) through this process's cache.

    The model is drawn from the global generators, so their state is part of the key,
    and a hit sets them to where the build left them: the trial that follows draws
    exactly what it would have drawn after building the model itself. The trial gets
    a deep copy of the model; the tokenizer (stateless apart from a memo of encoded
    words) is shared.
    """
    if not enabled():
        return build()
    reports_key = None if reports is None else _digest(*(text.encode() for text in reports))
    key = (spec, reports_key, _random_key())

    def make() -> tuple:
        model, tokenizer, image_size = build()
        return copy.deepcopy(model), tokenizer, image_size, _random_state()

    model, tokenizer, image_size, after = MODELS.get_or_make(key, make)
    _set_random_state(after)
    return copy.deepcopy(model), tokenizer, image_size


# ---------------------------------------------------------------------------
# The untrained model's metrics
# ---------------------------------------------------------------------------


def tensor_digest(tensors: Iterable[tuple[str, torch.Tensor | None]]) -> str:
    """SHA-256 of named tensors' names, dtypes, shapes and values (the identity of a model's weights)."""
    parts: list[bytes] = []
    for name, tensor in tensors:
        parts.append(name.encode())
        if tensor is None:
            continue
        value = tensor.detach().cpu().contiguous()
        parts.append(f"{value.dtype}{tuple(value.shape)}".encode())
        parts.append(value.reshape(-1).view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return _digest(*parts)


def untrained_metrics(key: Hashable, evaluate: Callable[[], dict]) -> dict:
    """``evaluate()`` through this process's cache under ``key`` (see ``trial.untrained_key``); a fresh dict."""
    if not enabled():
        return evaluate()
    return dict(UNTRAINED.get_or_make(key, evaluate))


def clear() -> None:
    """Empty every cache of this process (tests; a process that must let go of a dataset)."""
    for cache in (SPLITS, MODELS, UNTRAINED):
        cache.clear()
