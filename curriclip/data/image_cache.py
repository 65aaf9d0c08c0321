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
    """Resize (N, H, W) uint8 images to (N, size, size) uint8, antialiased, in chunks."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = torch.empty((images.shape[0], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        block = images[start : start + chunk].unsqueeze(1).float()
        resized = F.interpolate(block, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start : start + chunk] = resized.squeeze(1).round().clamp(0, 255).to(torch.uint8)
    return out


def mapped_images(
    dataset_dir: str | Path, split: str, size: int, count: int, load: Callable[[], torch.Tensor]
) -> np.ndarray:
    """(count, size, size) read-only memory map of the split's images, building the cache file if needed."""
    path = cache_path(dataset_dir, split, size)
    expected = count * size * size
    if not (path.is_file() and path.stat().st_size == expected):
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = resize_images(load(), size).numpy()
        if pixels.shape[0] != count:
            raise ValueError(f"{dataset_dir} [{split}]: expected {count} images, decoded {pixels.shape[0]}")
        tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        pixels.tofile(tmp)
        os.replace(tmp, path)  # concurrent builders write identical bytes; the last rename wins
    if expected == 0:
        return np.zeros((0, size, size), dtype=np.uint8)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=(count, size, size))
