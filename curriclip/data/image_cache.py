"""Resized images of one split as a raw uint8 file, memory-mapped by every trial on a node.

Trials of a search read the same split at the same model size, so the resized images
are written once per node (``$CURRICLIP_CACHE/images/``, atomically) and every trial
maps that file read-only: the operating system keeps one copy of the pages for all
concurrent trials instead of one private copy each, and a batch reads only its rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def cache_path(dataset_dir: str | Path, split: str, size: int) -> Path:
    """Where the (split, size) images of a dataset are cached; keyed by the shards' checksums."""
    from curriclip.data.sources import cache_dir
    from curriclip.data.store import read_manifest

    manifest = read_manifest(dataset_dir)
    key = hashlib.sha256(json.dumps(sorted(manifest["shards"].items())).encode()).hexdigest()[:20]
    return cache_dir() / "images" / f"{key}-{split}-{size}px.u8"


def resize_images(images: torch.Tensor, size: int, chunk: int = 1024) -> torch.Tensor:
    """Resize (N, H, W) or (N, C, H, W) uint8 images to side ``size``, antialiased, in chunks."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    grayscale = images.ndim == 3
    out = torch.empty((*images.shape[:-2], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        block = images[start : start + chunk]
        block = (block.unsqueeze(1) if grayscale else block).float()
        resized = F.interpolate(block, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        resized = resized.squeeze(1) if grayscale else resized
        out[start : start + chunk] = resized.round().clamp(0, 255).to(torch.uint8)
    return out


def mapped_images(
    dataset_dir: str | Path,
    split: str,
    size: int,
    count: int,
    load: Callable[[], torch.Tensor],
    channels: int = 1,
) -> np.ndarray:
    """(count, size, size) read-only memory map of the split's images (``channels`` > 1: (count, C, size, size))."""
    path = cache_path(dataset_dir, split, size)
    shape = (count, size, size) if channels == 1 else (count, channels, size, size)
    expected = int(np.prod(shape))
    if not (path.is_file() and path.stat().st_size == expected):
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = resize_images(load(), size).numpy()
        if pixels.shape[0] != count:
            raise ValueError(f"{dataset_dir} [{split}]: expected {count} images, decoded {pixels.shape[0]}")
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        pixels.tofile(tmp)
        os.replace(tmp, path)  # concurrent builders write identical bytes; the last rename wins
    if expected == 0:
        return np.zeros(shape, dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
