"""Decode, convert to grayscale and resize source images, locally or with Ray Data.

Every dataset stores one fixed size (``image_size`` square, raw uint8), so loading is a
single reshape. Radiographs are padded to a square (black) before resizing rather than
cropped, so no anatomy at the film edges is lost. Sources above ``RAY_THRESHOLD`` images
(a 377k-image MIMIC ingest) are decoded in parallel by Ray Data across the cluster;
small ones run in this process.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

RAY_THRESHOLD = 20_000
BATCH = 256


#: Pillow modes of one-channel images deeper than 8 bits (16-bit PNG, 32-bit integer or float TIFF)
DEEP_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def to_gray8(img: Any) -> Any:
    """An 8-bit grayscale copy of ``img``, scaling deep images by their bit depth instead of clipping them.

    Pillow's ``convert("L")`` clips a 16-bit radiograph to white. A deep image is scaled by
    the smallest bit depth that holds its maximum (8, 10, 12, 14 or 16 bits; a 12-bit
    detector stored in a 16-bit PNG keeps its contrast), a float image by its own range.
    """
    from PIL import Image

    if img.mode not in DEEP_MODES:
        return img.convert("L")
    values = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = (values - low) / (high - low or 1.0)
    else:
        peak = max(float(values.max()), 1.0)
        bits = next((b for b in (8, 10, 12, 14, 16, 32) if peak <= 2**b - 1), 32)
        scaled = np.clip(values, 0, None) / (2**bits - 1)
    return Image.fromarray(np.round(np.clip(scaled, 0.0, 1.0) * 255.0).astype(np.uint8), mode="L")


def decode(path: str | Path, size: int) -> np.ndarray:
    """One image as (size, size) uint8; raises on an unreadable file."""
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img.load()
        gray = to_gray8(img)
    return np.asarray(ImageOps.pad(gray, (size, size), method=Image.Resampling.BILINEAR, color=0), dtype=np.uint8)


def readable(path: Path) -> bool:
    """Whether Pillow can fully decode the file (checked before anything is written)."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
        return True
    except Exception:  # noqa: BLE001 - any decoder failure means corrupt
        return False


def _decode_batch(batch: dict, size: int) -> dict:
    images = np.stack([decode(p, size) for p in batch["path"]])
    return {"index": batch["index"], "image": images.reshape(len(images), -1)}


def decode_all(
    paths: list[Path], size: int, use_ray: bool | None = None, label: str = "decoding images"
) -> Iterator[np.ndarray]:
    """Yield (k, size, size) uint8 blocks in input order, with progress on stderr."""
    use_ray = len(paths) >= RAY_THRESHOLD if use_ray is None else use_ray
    start = time.monotonic()
    done = 0

    def progress(k: int) -> None:
        nonlocal done
        done += k
        rate = done / max(time.monotonic() - start, 1e-9)
        print(f"{label}: {done}/{len(paths)} ({rate:,.0f}/s)", file=sys.stderr, flush=True)

    if not use_ray:
        for i in range(0, len(paths), BATCH):
            block = np.stack([decode(p, size) for p in paths[i : i + BATCH]])
            progress(len(block))
            yield block
        return

    from curriclip.cluster import ordered_map_batches

    items = [{"index": i, "path": str(p)} for i, p in enumerate(paths)]
    for batch in ordered_map_batches(items, _decode_batch, BATCH, size=size):
        index = batch["index"]
        progress(len(index))
        yield batch["image"].reshape(len(index), size, size)
