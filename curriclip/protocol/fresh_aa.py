"""The A/A test from fresh seeds: the protocol's whole main family on arms that are one recipe, on new seeds each time.

Each repeat gives every arm of the main family (single_task, multitask, curriculum and
curriculum_random) K runs of the same recipe on seeds no other run of the test uses, pairs
the arms' runs off by position, and reads the family exactly as the protocol does
(``analyse_looks``: every comparison and level in one Holm family per metric, alpha spent
over the planned looks). Any "better" or "worse" is a false call. Repeats share no run, so
the count of repeats with a false call is binomial and its Clopper-Pearson interval is that
of independent trials (``curriclip.stats.aa`` re-splits one set of seeds, whose repeats are
not independent). Pass rule: the interval's upper bound is at most alpha + 0.02.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy.stats import binomtest

from curriclip.names import Arm
from curriclip.protocol.looks import analyse_looks, questions
from curriclip.stats import Verdict

#: The arms of the main family, each trained as the same recipe in an A/A test.
AA_ARMS = (Arm.SINGLE_TASK, Arm.MULTITASK, Arm.CURRICULUM, Arm.CURRICULUM_RANDOM)
#: Seeds of the fresh-seed A/A: 30000 + ..., apart from the search's, the protocol's and the direct truths' (20000).
FIRST_AA_SEED = 30_000
#: The pass rule's slack over alpha for the upper Clopper-Pearson bound.
PASS_SLACK = 0.02


def aa_seed(repeat: int, arm_index: int, pair: int, pairs: int) -> int:
    """The seed of one A/A run: distinct for every (repeat, arm, pair), shared by the levels of a run's arm."""
    return FIRST_AA_SEED + (repeat * len(AA_ARMS) + arm_index) * pairs + pair


def aa_runs(repeats: int, levels: list[float], pairs: int) -> list[dict]:
    """Every run an A/A test trains: {repeat, level, arm, pair, seed}."""
    return [
        {"repeat": r, "level": level, "arm": str(arm), "pair": i, "seed": aa_seed(r, a, i, pairs)}
        for r in range(repeats)
        for level in levels
        for a, arm in enumerate(AA_ARMS)
        for i in range(pairs)
    ]


def normal_aa_runs(experiment, repeats: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    """``aa_runs`` rows for the experiment's levels and planned seeds, every metric one normal draw (SD 0.02).

    The machinery alone, where the paired t-test is exact: with ``shift`` 0 an A/A whose family-wise
    rate should be alpha; ``shift`` added to the curriculum's runs is an effect the family must call.
    """
    import numpy as np

    protocol = experiment.protocol
    runs = pd.DataFrame(aa_runs(repeats, list(experiment.space.sparsity), protocol.max_confirm_seeds))
    rng = np.random.default_rng(seed)
    for metric in protocol.metrics:
        runs[metric] = rng.normal(0.7, 0.02, len(runs)) + shift * (runs["arm"] == str(Arm.CURRICULUM))
    return runs


@dataclass(frozen=True)
class FreshAA:
    """One metric's A/A outcome over independent repeats."""

    metric: str
    repeats: int
    false_calls: int  # repeats whose family made at least one better/worse call
    ci: tuple[float, float]  # Clopper-Pearson, 95%
    comparison_calls: int  # better/worse verdicts over all comparisons
    comparisons: int
    alpha: float

    @property
    def rate(self) -> float:
        return self.false_calls / self.repeats

    @property
    def passes(self) -> bool:
        """The upper Clopper-Pearson bound of the family-wise rate is at most alpha + 0.02."""
        return self.ci[1] <= self.alpha + PASS_SLACK


def fresh_seed_aa(experiment, runs: pd.DataFrame) -> dict[str, FreshAA]:
    """The A/A outcome per metric of ``experiment.protocol`` from ``runs`` (``aa_runs`` rows plus one column per
    metric: each run's test value)."""
    protocol = experiment.protocol
    levels = sorted(runs["level"].unique())
    keys = [(level, str(arm), str(reference)) for level in levels for arm, reference in questions(AA_ARMS)]
    hits = {metric: [0, 0] for metric in protocol.metrics}  # family-wise, comparison-wise
    repeats = runs["repeat"].nunique()
    for _, one in runs.groupby("repeat"):
        # the confirm table the protocol reads: pair index i is "seed" i of every arm
        confirm = one.assign(status="completed", seed_index=one["pair"], seed=one["pair"])
        analysis = analyse_looks(experiment, confirm, levels, AA_ARMS)
        for metric in protocol.metrics:
            verdicts = [analysis.final("main", metric, key).result.verdict for key in keys]
            called = sum(v in (Verdict.BETTER, Verdict.WORSE) for v in verdicts)
            hits[metric][0] += called > 0
            hits[metric][1] += called
    out = {}
    for metric, (family, comparison) in hits.items():
        interval = binomtest(family, repeats).proportion_ci(confidence_level=0.95, method="exact")
        out[metric] = FreshAA(
            metric, repeats, family, (interval.low, interval.high), comparison, repeats * len(keys), protocol.alpha
        )
    return out
