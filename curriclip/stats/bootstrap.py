"""Two-level (seeds and patients) bootstrap of a mean paired difference over test pairs.

Confirm runs score the same test pairs under every seed, so the uncertainty of a mean
difference has two sources: which seeds were drawn, and which patients happen to be in
the test set. Resampling seeds alone treats the test set as fixed and is too narrow when
patients vary. Patients are resampled as clusters (all of a patient's pairs together),
since pairs of one patient are not independent.

Because every seed scores the same patients (a crossed design), a patient who is hard for
one arm is hard on every seed: by default one patient resample is shared by all drawn
seeds (Owen's pigeonhole bootstrap; slightly conservative). Resampling patients afresh
within each drawn seed (``shared_patients=False``, the nested design) averages that patient
effect over the seeds and understates it about K-fold when seeds share their test set.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from curriclip.stats.intervals import as_finite_array

# resamples x seeds x patients per chunk: bounds memory (a few arrays of this many float64)
_CHUNK_ELEMENTS = 2_000_000


def _codes(ids: Sequence) -> np.ndarray:
    return np.unique(np.asarray(ids), return_inverse=True)[1].ravel()


def _crossed_table(seed_ids: Sequence, patient_ids: Sequence, values: np.ndarray):
    """Sum and count of the pairs' values for every (seed, patient) cell; absent cells count 0."""
    seed_codes, patient_codes = _codes(seed_ids), _codes(patient_ids)
    shape = (int(seed_codes.max()) + 1, int(patient_codes.max()) + 1)
    cells = np.ravel_multi_index((seed_codes, patient_codes), shape)
    sums = np.bincount(cells, weights=values, minlength=shape[0] * shape[1]).reshape(shape)
    counts = np.bincount(cells, minlength=shape[0] * shape[1]).reshape(shape).astype(float)
    return sums, counts


def _nested_table(seed_ids: Sequence, patient_ids: Sequence, values: np.ndarray):
    """Per seed, per patient: the sum and count of its pairs' values, padded to the largest seed."""
    seed_codes, patient_codes = _codes(seed_ids), _codes(patient_ids)
    n_seeds = int(seed_codes.max()) + 1
    cells, cell_codes = np.unique(np.stack([seed_codes, patient_codes], axis=1), axis=0, return_inverse=True)
    cell_codes = cell_codes.ravel()
    cell_sums = np.bincount(cell_codes, weights=values)
    cell_counts = np.bincount(cell_codes).astype(float)
    cell_seed = cells[:, 0]
    patients_per_seed = np.bincount(cell_seed, minlength=n_seeds)
    slot = np.arange(cells.shape[0]) - np.concatenate([[0], np.cumsum(patients_per_seed)[:-1]])[cell_seed]
    sums = np.zeros((n_seeds, patients_per_seed.max()))
    counts = np.zeros_like(sums)
    sums[cell_seed, slot] = cell_sums
    counts[cell_seed, slot] = cell_counts
    return sums, counts, patients_per_seed


def _check_inputs(seed_ids: Sequence, patient_ids: Sequence | None, values: Sequence[float]) -> np.ndarray:
    array = as_finite_array(values, "per-pair differences")
    lengths = {len(seed_ids), array.size} | ({len(patient_ids)} if patient_ids is not None else set())
    if len(lengths) != 1:
        raise ValueError(f"seed_ids, patient_ids and values must have one entry per pair, got lengths {lengths}")
    return array


def two_level_bootstrap(
    seed_ids: Sequence,
    patient_ids: Sequence,
    values: Sequence[float],
    alpha: float = 0.05,
    n_resamples: int = 2000,
    seed: int = 0,
    *,
    shared_patients: bool = True,
) -> tuple[float, float]:
    """Percentile (1 - alpha) interval of the mean per-pair difference, resampling seeds and patients.

    Each resample draws as many seeds as there are, with replacement, and patients with
    replacement (all of a patient's pairs together): once for all drawn seeds by default,
    afresh within every drawn seed with ``shared_patients=False`` (see the module docstring).
    The statistic is the mean over the resampled pairs. NaN interval below two seeds.
    """
    array = _check_inputs(seed_ids, patient_ids, values)
    if array.size == 0 or len(set(seed_ids)) < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    if shared_patients:
        sums, counts = _crossed_table(seed_ids, patient_ids, array)
        if not counts.all():
            raise ValueError(
                f"{int((counts == 0).sum())} (seed, patient) cells have no pairs: shared_patients=True needs every "
                "seed to score the same patients (use shared_patients=False otherwise)"
            )
        means = _crossed_means(sums, counts, n_resamples, rng)
    else:
        means = _nested_means(*_nested_table(seed_ids, patient_ids, array), n_resamples, rng)
    return _percentile_interval(means, alpha)


def _multiplicities(rng: np.random.Generator, size: int, n_items: int) -> np.ndarray:
    """How often each of ``n_items`` is drawn in ``size`` resamples of ``n_items`` draws with replacement."""
    return rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=size).astype(float)


def _crossed_means(sums: np.ndarray, counts: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Resample means when one patient resample is shared by the drawn seeds: w_seed' sums w_patient."""
    seed_weights = _multiplicities(rng, n_resamples, sums.shape[0])
    patient_weights = _multiplicities(rng, n_resamples, sums.shape[1])
    total = ((seed_weights @ sums) * patient_weights).sum(axis=1)
    count = ((seed_weights @ counts) * patient_weights).sum(axis=1)
    return total / count


def _nested_means(
    sums: np.ndarray, counts: np.ndarray, patients_per_seed: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Resample means when every drawn seed resamples its own patients (vectorised in chunks of resamples)."""
    n_seeds, max_patients = sums.shape
    chunk = max(1, _CHUNK_ELEMENTS // (n_seeds * max_patients))
    means = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        drawn_seeds = rng.integers(0, n_seeds, size=(size, n_seeds))
        available = patients_per_seed[drawn_seeds][..., None]  # (size, n_seeds, 1)
        picks = np.floor(rng.random((size, n_seeds, max_patients)) * available).astype(np.intp)
        used = np.arange(max_patients) < available  # a seed with fewer patients draws fewer
        rows = drawn_seeds[..., None]
        total = np.where(used, sums[rows, picks], 0.0).sum(axis=(1, 2))
        count = np.where(used, counts[rows, picks], 0.0).sum(axis=(1, 2))
        means.append(total / count)
    return np.concatenate(means)


def seed_bootstrap(
    seed_ids: Sequence, values: Sequence[float], alpha: float = 0.05, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval resampling seeds only (each drawn seed brings all its pairs): the one-level baseline."""
    array = _check_inputs(seed_ids, None, values)
    if array.size == 0 or len(set(seed_ids)) < 2:
        return (math.nan, math.nan)
    seed_codes = _codes(seed_ids)
    sums = np.bincount(seed_codes, weights=array)
    counts = np.bincount(seed_codes).astype(float)
    drawn = np.random.default_rng(seed).integers(0, sums.size, size=(n_resamples, sums.size))
    return _percentile_interval(sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1), alpha)


def _percentile_interval(means: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return (float(low), float(high))
