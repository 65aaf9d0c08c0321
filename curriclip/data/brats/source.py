"""The ``synth-brats`` data source: the simulated-tumour benchmark, generated on first use and cached.

The experiment file's ``data.n`` is the number of slices (4 per simulated case, at
least 3 cases), ``data.image_size`` their side, ``data.seed`` the generator seed;
4 raters are simulated.
"""

from __future__ import annotations

from pathlib import Path

from curriclip.data.schema import SCHEMA_VERSION

SLICES_PER_CASE = 4
RATERS = 4


def synth_brats_source(n: int, image_size: int, seed: int, path: str | None = None, **_: object) -> Path:
    """The cached synth-brats dataset for (n slices, image_size, seed)."""
    from curriclip.data.brats.synth import GENERATOR_VERSION, generate_synth_brats
    from curriclip.data.sources import cache_dir
    from curriclip.errors import DataError

    n_cases = max(3, n // SLICES_PER_CASE)
    root = Path(path) if path else cache_dir() / "datasets"
    out = root / f"synth-brats-s{SCHEMA_VERSION}g{GENERATOR_VERSION}-c{n_cases}-px{image_size}-seed{seed}"
    if (out / "manifest.json").is_file():
        return out
    try:
        return generate_synth_brats(out, n_cases, SLICES_PER_CASE, image_size, RATERS, seed)
    except (DataError, OSError):
        if (out / "manifest.json").is_file():  # another process finished it first
            return out
        raise
