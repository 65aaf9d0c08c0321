"""Chunks of samples as Arrow record batches: sample, render, write reports, assemble.

Why chunks: every chunk draws from its own random stream seeded by ``(seed, chunk
index)``, so a chunk can be generated (and streamed to Parquet) on its own and a larger
``n`` extends a smaller one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from curriclip.data.schema import DEFAULT_LABEL_NAMES, SPLITS, schema_with_labels
from curriclip.data.synthetic.codes import CHUNK_SIZE, N_FINDINGS
from curriclip.data.synthetic.difficulty import difficulty
from curriclip.data.synthetic.layout import check_fractions, layout
from curriclip.data.synthetic.params import Params
from curriclip.data.synthetic.render import render
from curriclip.data.synthetic.report import write_report
from curriclip.data.synthetic.sampling import sample_params

#: Pixels per rendering sub-batch: big enough to amortise numpy's per-call overhead,
#: small enough to bound memory (a dozen float32 work arrays of this size, ~100 MB).
RENDER_ELEMENTS = 1 << 21


def generate_table(
    n: int,
    image_size: int = 128,
    seed: int = 0,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    progress: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """A deterministic synthetic CXR dataset of ``n`` samples as one Arrow table.

    The table has exactly ``schema_with_labels(DEFAULT_LABEL_NAMES)``. Equal
    ``(n, image_size, seed, split_fractions)`` give an equal table, byte for byte
    (numpy's seeded generators, integer hashing and IEEE-exact elementwise float32
    arithmetic; only a few per-sample sin/cos/pow calls could differ by an ulp across
    numpy builds). Sample
    ``i``'s image and report depend only on ``(seed, i, image_size)`` and the subject
    layout, so a larger ``n`` extends a smaller one; only the split assignment (which
    balances the fractions over the whole set) depends on ``n``.

    ``split_fractions`` are the (train, validate, test) fractions of SAMPLES; whole
    subjects (1-3 studies each) are assigned to one split, so there is no patient
    leakage between splits. ``progress(done, n)`` is called after every chunk.
    """
    schema = schema_with_labels(DEFAULT_LABEL_NAMES)
    batches = list(iter_batches(n, image_size, seed, split_fractions, progress))
    return pa.Table.from_batches(batches, schema=schema)


def iter_batches(
    n: int,
    image_size: int = 128,
    seed: int = 0,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """The rows of :func:`generate_table` as record batches of ``CHUNK_SIZE`` rows.

    For writers that stream to Parquet: only one chunk is in memory at a time.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 16 <= image_size <= 4096:
        raise ValueError(f"image_size must be in [16, 4096], got {image_size}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    fractions = check_fractions(split_fractions)
    schema = schema_with_labels(DEFAULT_LABEL_NAMES)
    subject, split = layout(n, seed, fractions)
    for chunk, start in enumerate(range(0, n, CHUNK_SIZE)):
        stop = min(start + CHUNK_SIZE, n)
        yield _make_batch(schema, seed, chunk, start, stop, subject[start:stop], split[start:stop], image_size)
        if progress is not None:
            progress(stop, n)


def labels(p: Params) -> pa.Array:
    """CheXpert-encoded labels: 1 stated, -1 hedged, 0 negated, null not mentioned."""
    b = len(p.ap)
    values = np.where(p.present, np.where(p.uncertain, -1, 1), 0).astype(np.int8).ravel()
    null = (~p.present & ~p.negated).ravel()
    offsets = pa.array(np.arange(0, b * N_FINDINGS + 1, N_FINDINGS, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(values, type=pa.int8(), mask=null))


def _fixed_binary(rows: np.ndarray) -> pa.Array:
    """A binary column of the equal-length byte rows of ``rows`` (B, n), without a copy per row."""
    b, n = rows.shape
    offsets = pa.py_buffer(np.arange(0, b * n + 1, n, dtype=np.int32))
    return pa.Array.from_buffers(pa.binary(), b, [None, offsets, pa.py_buffer(np.ascontiguousarray(rows).reshape(-1))])


def _render_chunk(p: Params, b: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The chunk's images (B, size, size) and bit-packed finding masks (B, bytes), in sub-batches."""
    pixels = np.empty((b, size, size), dtype=np.uint8)
    mask_bytes = (N_FINDINGS * size * size + 7) // 8
    packed = np.empty((b, mask_bytes), dtype=np.uint8)  # per sample: the finding masks, bit-packed
    step = max(1, RENDER_ELEMENTS // (size * size))
    for s in range(0, b, step):
        sl = slice(s, min(s + step, b))
        pixels[sl], masks = render(p.rows(sl), size)
        packed[sl] = np.packbits(masks.reshape(len(masks), -1), axis=1)
    return pixels, packed


def chunk_params(seed: int, chunk: int, subject: np.ndarray) -> Params:
    """The parameters of one chunk's samples (``subject``: their subject indices), without rendering.

    Always draws a full chunk's parameters, so a short last chunk draws the same numbers for its
    samples as the same chunk of a longer dataset.
    """
    b = len(subject)
    padded = np.concatenate([subject, np.zeros(CHUNK_SIZE - b, dtype=np.int64)])
    return sample_params(seed, chunk, padded).rows(slice(0, b))


def _make_batch(
    schema: pa.Schema, seed: int, chunk: int, start: int, stop: int, subject: np.ndarray, split: np.ndarray, size: int
) -> pa.RecordBatch:
    b = stop - start
    p = chunk_params(seed, chunk, subject)
    pixels, packed = _render_chunk(p, b, size)
    reports = [write_report(p, i) for i in range(b)]

    ids = range(start, stop)
    image = _fixed_binary(pixels.reshape(b, -1))
    hw = pa.array(np.full(b, size, dtype=np.int32))
    columns = [
        pa.array([f"syn-{i:06d}" for i in ids], pa.string()),
        pa.array([f"p1{int(s):07d}" for s in subject], pa.string()),
        pa.array([f"s5{i:07d}" for i in ids], pa.string()),
        pa.array(np.asarray(SPLITS, dtype=object)[split], pa.string()),
        pa.array(np.where(p.ap, "AP", "PA").astype(object), pa.string()),
        image,
        hw,
        hw,
        pa.array([r[0] for r in reports], pa.string()),
        pa.array([r[1] for r in reports], pa.string()),
        labels(p),
        _fixed_binary(packed),
        pa.array(difficulty(p), pa.float32()),
        pa.array(["synthetic"] * b, pa.string()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema)
