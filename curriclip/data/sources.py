"""Dataset sources: turn the experiment file's ``data:`` block into a dataset directory.

``synthetic`` generates the embedded benchmark on first use and caches it under
``$CURRICLIP_CACHE`` (default ``~/.cache/curriclip``); ``dir`` points at any dataset
directory written by ``curriclip data ...``. Trials only ever see the resolved path.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyarrow as pa

from curriclip.data.schema import DEFAULT_LABEL_NAMES, SCHEMA_VERSION
from curriclip.data.store import read_manifest, write_dataset
from curriclip.errors import DataError
from curriclip.registry import Registry


def cache_dir() -> Path:
    return Path(os.environ.get("CURRICLIP_CACHE", Path.home() / ".cache" / "curriclip"))


def _progress_printer(label: str) -> Callable[[int, int], None]:
    start = time.monotonic()
    interactive = sys.stderr.isatty()
    last_logged = [start]

    def show(done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if not (interactive or finished or now - last_logged[0] >= 10):
            return  # in logs, a line every 10 s rather than one per chunk
        last_logged[0] = now
        rate = done / max(now - start, 1e-9)
        end = "\n" if finished or not interactive else "\r"
        print(f"{label}: {done}/{total} samples ({rate:,.0f}/s)", end=end, file=sys.stderr, flush=True)

    return show


def generate_synthetic(
    out: Path,
    n: int,
    image_size: int,
    seed: int,
    quiet: bool = False,
    variant: str | None = None,
    noise_fraction: float = 0.0,
    noise_band: float | None = None,
) -> Path:
    """Generate the synthetic benchmark (or a planted variant of it) into ``out`` (atomically).

    The variant's options go into the manifest (``generator`` and ``variant``); the null variant
    (``None``) writes exactly the benchmark and no ``variant`` entry.
    """
    from curriclip.data.synthetic import GENERATOR_VERSION, iter_batches
    from curriclip.data.synthetic import variants as planted

    planted.check_variant(variant, noise_fraction, noise_band)
    progress = None if quiet else _progress_printer(f"generating synthetic CXR data -> {out}")
    batches = iter_batches(n=n, image_size=image_size, seed=seed, progress=progress)
    extra: dict = {"generator": {"version": GENERATOR_VERSION, "n": n, "image_size": image_size, "seed": seed}}
    if variant == planted.NOISY_HARD_PAIRS:
        plan = planted.noise_plan(n, seed, noise_fraction, noise_band=noise_band)
        batches = planted.apply_noise(batches, plan)
        extra["generator"].update(variant=variant, noise_fraction=noise_fraction)
        if noise_band is not None:
            extra["generator"]["noise_band"] = noise_band
        extra["variant"] = planted.manifest_entry(plan, noise_fraction, noise_band)
    return write_dataset(_shards(batches), out, DEFAULT_LABEL_NAMES, source="synthetic", extra=extra)


def synthetic_dir_name(
    n: int,
    image_size: int,
    seed: int,
    variant: str | None = None,
    noise_fraction: float = 0.0,
    noise_band: float | None = None,
) -> str:
    """The cache directory name of a synthetic dataset: every generator option is in it, so variants never share one.

    The null variant, and a variant without a ``noise_band``, keep the names they always had
    (existing caches stay valid).
    """
    from curriclip.data.synthetic import GENERATOR_VERSION

    name = f"synthetic-s{SCHEMA_VERSION}g{GENERATOR_VERSION}-n{n}-px{image_size}-seed{seed}"
    if variant is None:
        return name
    band = "" if noise_band is None else f"-b{noise_band:g}"
    return f"{name}-{variant}-f{noise_fraction:g}{band}"


def _shards(batches: Iterable[pa.RecordBatch], rows: int = 4096) -> Iterator[pa.Table]:
    """Group record batches into Parquet shards of about ``rows`` rows."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def synthetic_source(
    n: int,
    image_size: int,
    seed: int,
    path: str | None = None,
    variant: str | None = None,
    noise_fraction: float = 0.0,
    noise_band: float | None = None,
    **_: object,
) -> Path:
    """The cached synthetic benchmark (or planted variant) for its options, generated on first use."""
    root = Path(path) if path else cache_dir() / "datasets"
    out = root / synthetic_dir_name(n, image_size, seed, variant, noise_fraction, noise_band)
    if (out / "manifest.json").is_file():
        return out
    try:
        return generate_synthetic(
            out,
            n=n,
            image_size=image_size,
            seed=seed,
            variant=variant,
            noise_fraction=noise_fraction,
            noise_band=noise_band,
        )
    except (DataError, OSError):
        if (out / "manifest.json").is_file():  # another process finished it first
            return out
        raise


def directory_source(path: str | None = None, **_: object) -> Path:
    """An existing dataset directory (from ``curriclip data ...``)."""
    if not path:
        raise DataError("data.path: required when data.source is 'dir'")
    root = Path(path).expanduser().resolve()
    read_manifest(root)
    return root


def resolve(source: str, **kwargs: object) -> Path:
    """The dataset directory for a ``data:`` block, validated."""
    return SOURCES.get(source)(**kwargs)


#: name -> function(**data block) -> dataset directory
SOURCES = Registry("data source", "sources")
SOURCES.lazy("synthetic", "curriclip.data.sources:synthetic_source")
SOURCES.lazy("dir", "curriclip.data.sources:directory_source")
SOURCES.lazy("synth-brats", "curriclip.data.brats.source:synth_brats_source")
