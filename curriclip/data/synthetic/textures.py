"""Fixed texture and noise tiles, cropped at a random offset per sample.

Why tiles: drawing fresh random fields per sample would cost more than the rest of the
rendering; a fixed tile cropped at a per-sample offset gives enough variety for lung
markings, patchy consolidation and sensor noise.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=8)
def textures(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two fixed (2*size)^2 textures, cropped at random per sample.

    ``vessels``: the zero-crossings of smooth noise form a branching, curvy network
    that reads as pulmonary vascular markings (a pneumothorax has none).
    ``patches``: smooth blotches in [0, 1] that make consolidation patchy.
    """
    rng = np.random.default_rng(0x7E87)

    def smooth(width: int) -> np.ndarray:
        x = rng.standard_normal((2 * size, 2 * size))
        for _ in range(3):
            for axis in (0, 1):
                c = np.cumsum(np.concatenate([x, x.take(range(width), axis=axis)], axis=axis), axis=axis)
                x = c.take(range(width, c.shape[axis]), axis=axis) - c.take(range(c.shape[axis] - width), axis=axis)
        return x / x.std()

    v = smooth(max(2, size // 13))
    vessels = np.clip(1.0 - np.abs(v) / 0.25, 0.0, 1.0)
    p = smooth(max(2, size // 10))
    patches = np.clip(0.5 + 0.45 * p, 0.0, 1.0)
    return vessels.astype(np.float32), patches.astype(np.float32)


@lru_cache(maxsize=8)
def noise_tile(size: int) -> np.ndarray:
    """A fixed field of white Gaussian noise, cropped at a random offset per sample.

    Drawing fresh normals costs ~0.15 ms per 128 px image (15% of the budget); a
    (8*size)^2 tile offers ~50 * size^2 distinct crops, more than enough variety for
    sensor noise, at the cost of one copy.
    """
    rng = np.random.default_rng(0x4015E)
    return rng.standard_normal((8 * size, 8 * size), dtype=np.float32)


def crop(tile: np.ndarray, offsets: np.ndarray, size: int) -> np.ndarray:
    """(B, size, size) crops of ``tile`` at the per-sample fractional offsets (B, 2)."""
    span = tile.shape[0] - size
    oy = (offsets[:, 0] * span).astype(np.int64)
    ox = (offsets[:, 1] * span).astype(np.int64)
    out = np.empty((len(offsets), size, size), dtype=np.float32)
    for i in range(len(offsets)):
        out[i] = tile[oy[i] : oy[i] + size, ox[i] : ox[i] + size]
    return out
