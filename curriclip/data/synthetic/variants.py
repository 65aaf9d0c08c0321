"""Planted-effect variants of the synthetic benchmark: data with a known answer.

Why: a protocol that only ever says "no difference" cannot be told apart from one that
cannot see a difference. A variant plants something a method should exploit, and is
chosen by generator options recorded in the dataset's ``manifest.json`` (``variant``), so a
run on planted data can say so. ``None`` (the null variant) is the benchmark itself, byte for
byte.

``noisy_hard_pairs``: a fraction ``noise_fraction`` of the TRAINING pairs carry another
training sample's report (findings and impression), chosen among the hardest pairs (by the
generator's own ``difficulty``): the noisy pairs are drawn at random from the hardest
``noise_band`` of the training split (by default ``POOL_FACTOR x noise_fraction``, so about half
of that band is noisy), and the easier rest is clean. With ``noise_band == noise_fraction``
every pair of the band is noisy. Validate and test stay clean. The noisy pairs' reports are permuted
among themselves (a single cycle, so no pair keeps its own report and the set of reports is
unchanged). What stays with the image: its labels, masks and ``difficulty`` (what a real scorer
could compute from the image and its labels). So the ``metadata`` scorer is an oracle for
difficulty, and for noise only as far as the band is noisy (all of it when the band equals the
noise fraction): which pairs are noisy is recorded only in the manifest entry
(``variant.noisy_sample_ids``), which no scorer reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from curriclip.data.synthetic.codes import CHUNK_SIZE
from curriclip.data.synthetic.difficulty import difficulty
from curriclip.data.synthetic.generator import chunk_params
from curriclip.data.synthetic.layout import check_fractions, layout
from curriclip.data.synthetic.report import write_report

NOISY_HARD_PAIRS = "noisy_hard_pairs"
#: Every variant the generator knows (None, the null variant, is the benchmark itself).
VARIANTS = (NOISY_HARD_PAIRS,)
#: Without a ``noise_band``, the noisy pairs are drawn from the hardest ``POOL_FACTOR * noise_fraction``.
POOL_FACTOR = 2.0
#: Salt of the variant's random stream (independent of every stream of the benchmark itself).
_NOISE_SALT = 0x401_5E


@dataclass(frozen=True)
class NoisePlan:
    """Which rows carry whose report: ``rows[i]`` gets the findings/impression of row ``donors[i]``."""

    rows: np.ndarray  # (m,) int64 row indices, sorted
    donors: np.ndarray  # (m,) int64 row indices, donors[i] != rows[i]
    findings: list[str]  # the donors' FINDINGS sections, aligned with rows
    impressions: list[str]  # the donors' IMPRESSION sections, aligned with rows


def noise_band_of(noise_fraction: float, noise_band: float | None) -> float:
    """The hardest fraction of the training pairs the noisy ones are drawn from (default: twice the noise)."""
    return min(1.0, POOL_FACTOR * noise_fraction) if noise_band is None else noise_band


def check_variant(variant: str | None, noise_fraction: float, noise_band: float | None = None) -> None:
    """ValueError for an unknown variant, a noise fraction outside [0, 1) or a band that cannot hold the noise."""
    if variant is not None and variant not in VARIANTS:
        raise ValueError(f"unknown synthetic variant {variant!r} (known: {', '.join(VARIANTS)})")
    if not 0.0 <= noise_fraction < 1.0:
        raise ValueError(f"noise_fraction must lie in [0, 1), got {noise_fraction}")
    if noise_band is not None and not noise_fraction <= noise_band <= 1.0:
        raise ValueError(f"noise_band must lie in [noise_fraction, 1] = [{noise_fraction:g}, 1], got {noise_band:g}")


def _reports_and_difficulty(n: int, seed: int, subject: np.ndarray) -> tuple[list[tuple[str, str]], np.ndarray]:
    """Every sample's report and difficulty, from its parameters alone (nothing is rendered)."""
    reports: list[tuple[str, str]] = []
    hardness = np.empty(n, dtype=np.float32)
    for chunk, start in enumerate(range(0, n, CHUNK_SIZE)):
        stop = min(start + CHUNK_SIZE, n)
        params = chunk_params(seed, chunk, subject[start:stop])
        reports += [write_report(params, i) for i in range(stop - start)]
        hardness[start:stop] = difficulty(params)
    return reports, hardness


def noise_plan(
    n: int,
    seed: int,
    noise_fraction: float,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    noise_band: float | None = None,
) -> NoisePlan:
    """The noisy training pairs of the ``noisy_hard_pairs`` variant (deterministic in its arguments)."""
    check_variant(NOISY_HARD_PAIRS, noise_fraction, noise_band)
    subject, split = layout(n, seed, check_fractions(split_fractions))
    reports, hardness = _reports_and_difficulty(n, seed, subject)
    train = np.flatnonzero(split == 0)
    count = int(round(noise_fraction * len(train)))
    if count < 2:  # a permutation of fewer than two reports changes nothing
        empty = np.zeros(0, dtype=np.int64)
        return NoisePlan(empty, empty, [], [])
    hardest_first = train[np.lexsort((train, -hardness[train].astype(np.float64)))]
    size = round(POOL_FACTOR * count) if noise_band is None else max(count, round(noise_band * len(train)))
    pool = hardest_first[: min(len(train), int(size))]
    rng = np.random.default_rng([seed, _NOISE_SALT])
    cycle = rng.permutation(rng.choice(pool, size=count, replace=False))
    donor_of = dict(zip(cycle.tolist(), np.roll(cycle, -1).tolist()))  # one cycle: nobody keeps their own
    rows = np.sort(cycle).astype(np.int64)
    donors = np.array([donor_of[int(row)] for row in rows], dtype=np.int64)
    return NoisePlan(
        rows=rows,
        donors=donors,
        findings=[reports[d][0] for d in donors],
        impressions=[reports[d][1] for d in donors],
    )


def apply_noise(batches: Iterator[pa.RecordBatch], plan: NoisePlan) -> Iterator[pa.RecordBatch]:
    """The benchmark's record batches with the plan's rows carrying their donors' reports."""
    start = 0
    for batch in batches:
        stop = start + batch.num_rows
        lo, hi = np.searchsorted(plan.rows, [start, stop])
        if hi > lo:
            findings = batch.column("findings").to_pylist()
            impressions = batch.column("impression").to_pylist()
            for k in range(lo, hi):
                findings[plan.rows[k] - start] = plan.findings[k]
                impressions[plan.rows[k] - start] = plan.impressions[k]
            columns = list(batch.columns)
            columns[batch.schema.get_field_index("findings")] = pa.array(findings, pa.string())
            columns[batch.schema.get_field_index("impression")] = pa.array(impressions, pa.string())
            batch = pa.RecordBatch.from_arrays(columns, schema=batch.schema)
        yield batch
        start = stop


def manifest_entry(plan: NoisePlan, noise_fraction: float, noise_band: float | None = None) -> dict:
    """The manifest's ``variant`` entry: the options and which training pairs are noisy (no scorer reads it)."""
    return {
        "name": NOISY_HARD_PAIRS,
        "noise_fraction": noise_fraction,
        "noise_band": noise_band_of(noise_fraction, noise_band),
        "noisy_pairs": len(plan.rows),
        "noisy_sample_ids": [f"syn-{row:06d}" for row in plan.rows],  # the generator's sample ids
        "donor_sample_ids": [f"syn-{donor:06d}" for donor in plan.donors],
        "difficulty": "the image's (not noise-aware): the metadata scorer is an oracle for difficulty, and for noise "
        "only as far as the band is noisy",
    }
