"""The A/A test: how often the protocol's verdict calls a difference between an arm and itself.

Why: a verdict rule is only trustworthy if, on two arms that are the same recipe, it says
"better"/"worse" at most at its nominal rate (alpha, family-wise under Holm). Given the
single-task arm's confirm values per seed (per level), each repeat splits the seeds at
random into two disjoint pseudo-arms, pairs them off, runs the protocol's own comparison
(:func:`curriclip.stats.compare_family`, all levels as one Holm family, the protocol's
margin and alpha) and counts a false positive when any verdict of the family is better or
worse. The rate comes with its Clopper-Pearson interval (``scipy.stats.binomtest``).

Repeats reuse the same few seeds, so they are not independent draws: the interval states the
Monte-Carlo error of the rate over splits of THESE seeds, and the number of distinct splits is
reported beside it. A real A/A run (two single-task arms on disjoint fresh seeds) is the
independent check.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from curriclip.stats.compare import compare_family
from curriclip.stats.result import Verdict

#: Verdicts that claim a difference: in an A/A comparison each one is a false positive.
DIFFERENCE_VERDICTS = (Verdict.BETTER, Verdict.WORSE)


@dataclass(frozen=True)
class AAResult:
    """The A/A false-positive rate (family-wise, the rate alpha bounds) and what it rests on."""

    repeats: int
    false_positives: int  # repeats whose family had at least one better/worse verdict
    rate: float
    ci: tuple[float, float]  # Clopper-Pearson interval of ``rate`` at ``confidence``
    confidence: float
    comparison_rate: float  # better/worse verdicts over all comparisons made (levels x repeats)
    alpha: float
    margin: float
    pairs_per_split: int
    distinct_splits: int

    @property
    def within_nominal(self) -> bool:
        """The rate is at most alpha within sampling error: its interval reaches down to alpha or below."""
        return self.ci[0] <= self.alpha


def _split_differences(
    values: Mapping[Hashable, np.ndarray], seeds: int, pairs: int, rng: np.random.Generator, shift: float
) -> tuple[dict[Hashable, np.ndarray], tuple[int, ...]]:
    """One random split: per level, pseudo-arm (+ shift) minus pseudo-reference over ``pairs`` seed pairs; its key."""
    order = rng.permutation(seeds)
    arm, reference = order[:pairs], order[pairs : 2 * pairs]
    diffs = {level: level_values[arm] + shift - level_values[reference] for level, level_values in values.items()}
    return diffs, tuple(int(i) for i in np.concatenate([arm, reference]))


def aa_false_positive_rate(
    values: Mapping[Hashable, Sequence[float]],
    margin: float,
    alpha: float = 0.05,
    repeats: int = 1000,
    pairs: int | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    n_resamples: int = 199,
    shift: float = 0.0,
) -> AAResult:
    """The A/A false-positive rate of the protocol's verdict over ``repeats`` random seed splits.

    ``values``: level -> the single-task arm's confirm values, one per seed, in the same seed
    order at every level (seed k at every level is the same seed, as in confirm.parquet).
    ``pairs``: seed pairs per split (default: half the seeds). ``n_resamples`` only sizes the
    bootstrap interval, which the verdict does not read. ``shift`` is added to the pseudo-arm:
    0 for the A/A test; a planted shift turns the rate into the verdict's power to see that
    shift with this many seeds (the check that the machinery can see a difference at all).
    """
    arrays = {level: np.asarray(list(v), dtype=np.float64) for level, v in values.items()}
    sizes = {array.size for array in arrays.values()}
    if len(sizes) != 1:
        raise ValueError(f"every level needs the same seeds; got {sorted(sizes)} values per level")
    seeds = sizes.pop()
    pairs = seeds // 2 if pairs is None else pairs
    if pairs < 2 or 2 * pairs > seeds:
        raise ValueError(f"an A/A split needs 2 x pairs <= seeds with pairs >= 2 (seeds {seeds}, pairs {pairs})")
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    rng = np.random.default_rng(seed)
    family_hits = comparison_hits = comparisons = 0
    splits: set[tuple[int, ...]] = set()
    for _ in range(repeats):
        diffs, key = _split_differences(arrays, seeds, pairs, rng, shift)
        splits.add(key)
        verdicts = [r.verdict for r in compare_family(diffs, margin, alpha, n_resamples=n_resamples).values()]
        hits = sum(verdict in DIFFERENCE_VERDICTS for verdict in verdicts)
        family_hits += hits > 0
        comparison_hits += hits
        comparisons += len(verdicts)
    interval = binomtest(family_hits, repeats).proportion_ci(confidence_level=confidence, method="exact")
    return AAResult(
        repeats=repeats,
        false_positives=family_hits,
        rate=family_hits / repeats,
        ci=(float(interval.low), float(interval.high)),
        confidence=confidence,
        comparison_rate=comparison_hits / comparisons,
        alpha=alpha,
        margin=margin,
        pairs_per_split=pairs,
        distinct_splits=len(splits),
    )


def single_task_values(confirm: object, metric: str = "clip_score", arm: str = "single_task") -> dict[float, list]:
    """level -> the arm's per-seed values from a confirm table (``confirm.parquet`` as a DataFrame), by seed.

    Only seeds present at every level are kept, so seed k means the same seed at every level.
    """
    rows = confirm[(confirm["arm"] == arm) & confirm[metric].notna()]  # type: ignore[index]
    by_level = {float(level): dict(zip(part["seed"], part[metric])) for level, part in rows.groupby("level")}
    if not by_level:
        return {}
    shared = sorted(set.intersection(*(set(seeds) for seeds in by_level.values())))
    return {level: [float(values[seed]) for seed in shared] for level, values in sorted(by_level.items())}
