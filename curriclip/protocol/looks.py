"""The verdicts look by look: each planned look tests the comparisons still undecided, with alpha spent so far.

Look j reads the first n_j confirm seeds (``protocol.planned_looks``). At each look every
family (one per metric: the question's comparisons, and the known-direction control apart)
runs Holm with each step's alpha spent over the planned looks (``curriclip.stats.sequential``).
A comparison decided at a look (better, worse or equivalent) keeps that verdict and gets no
more seeds; the others are tested again at the next look with the seeds it adds. A look is
reached once some confirm run has that many seeds; seeds beyond the last reached look are
not read (a look that was never planned cannot be taken).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from curriclip.names import REFERENCE_ARM, Arm
from curriclip.stats import ComparisonResult, Verdict, compare_family
from curriclip.stats.sequential import alpha_spent, nominal_levels, z_boundaries

#: Verdicts that end a comparison: it gets no more seeds.
DECIDED = (Verdict.BETTER, Verdict.WORSE, Verdict.EQUIVALENT)

Key = tuple[float, str, str]  # (level, arm, reference)


def questions(arms) -> list[tuple[Arm, Arm]]:
    """(arm, reference) pairs of the main family, for the arms this run has.

    Every arm against single_task; curriculum against curriculum_random (the ordering alone) and
    against multitask (staging and pacing, beyond the auxiliary tasks themselves).
    """
    arms = list(arms)
    pairs = [(arm, REFERENCE_ARM) for arm in (Arm.MULTITASK, Arm.CURRICULUM, Arm.CURRICULUM_RANDOM) if arm in arms]
    for other in (Arm.CURRICULUM_RANDOM, Arm.MULTITASK):
        if Arm.CURRICULUM in arms and other in arms:
            pairs.append((Arm.CURRICULUM, other))
    return pairs


def controls(arms) -> list[tuple[Arm, Arm]]:
    """The known-direction control's family: shuffled pairs against single_task (it must be worse)."""
    return [(Arm.SHUFFLED_CONTROL, REFERENCE_ARM)] if Arm.SHUFFLED_CONTROL in list(arms) else []


def paired(confirm: pd.DataFrame, level: float, arm: str, reference: str, metric: str, seeds: int) -> pd.DataFrame:
    """Per-seed values of ``arm`` and ``reference`` at ``level`` on the first ``seeds`` confirm seeds both completed."""
    done = confirm[
        (confirm["status"] == "completed") & ((confirm["level"] - level).abs() < 1e-9) & (confirm["seed_index"] < seeds)
    ]
    a = done[done["arm"] == arm].set_index("seed")[metric]
    b = done[done["arm"] == reference].set_index("seed")[metric]
    both = pd.concat({"arm": a, "reference": b}, axis=1, join="inner").dropna()
    return both.sort_index()


@dataclass
class Decision:
    """One comparison at one look."""

    look: int  # 0-based
    seeds: int  # the look's planned seed count
    result: ComparisonResult
    paired_seeds: list[int]
    level_tested: float  # the nominal level its Holm step was judged at (NaN: untestable)


@dataclass
class LookAnalysis:
    """Every family's comparisons at every reached look, and what the next look would need."""

    looks: list[int]
    reached: int  # looks reached (1-based count; at least the first)
    spending: str
    alpha: float
    history: dict[tuple[str, str, Key], list[Decision]] = field(default_factory=dict)  # (family, metric, key)

    def final(self, family: str, metric: str, key: Key) -> Decision:
        """The comparison's verdict: from the look that decided it, or the last reached look."""
        return self.history[(family, metric, key)][-1]

    def undecided(self) -> list[tuple[str, str, Key]]:
        return [name for name, decisions in self.history.items() if decisions[-1].result.verdict not in DECIDED]

    @property
    def next_look(self) -> int | None:
        """The next planned look's seed count, or None when every comparison is decided or the plan is done."""
        if self.reached >= len(self.looks) or not self.undecided():
            return None
        return self.looks[self.reached]

    def needs(self) -> set[tuple[str, float]]:
        """(arm, level) pairs that an undecided comparison reads: the only runs the next look adds."""
        out: set[tuple[str, float]] = set()
        for _, _, (level, arm, reference) in self.undecided():
            out |= {(arm, round(level, 9)), (reference, round(level, 9))}
        return out

    def record(self) -> dict:
        """The looks for answer.json: the plan, and per reached look its boundary, statistics and decisions."""
        plan_levels = nominal_levels(self.looks, self.alpha, self.spending)
        bounds = (
            z_boundaries(tuple(n / self.looks[-1] for n in self.looks), self.alpha, self.spending)
            if len(self.looks) > 1
            else (float(_two_sided_z(self.alpha)),)
        )
        spent = alpha_spent(self.looks, self.alpha, self.spending)
        done = []
        for look in range(self.reached):
            rows = []
            for (family, metric, (level, arm, reference)), decisions in self.history.items():
                at = [d for d in decisions if d.look == look]
                if not at:
                    continue
                d = at[0]
                rows.append(
                    {
                        "family": family,
                        "level": level,
                        "arm": arm,
                        "reference": reference,
                        "metric": metric,
                        "n": d.result.n,
                        "statistic": _json_float(d.result.statistic),
                        "p": _json_float(d.result.p),
                        "level_tested": _json_float(d.level_tested),
                        "decision": str(d.result.verdict),
                        "reason": d.result.reason,
                    }
                )
            done.append(
                {
                    "look": look + 1,
                    "seeds": self.looks[look],
                    "alpha_spent": spent[look],
                    "z_boundary": bounds[look],
                    "nominal_level": plan_levels[look],
                    "comparisons": rows,
                }
            )
        return {
            "planned": list(self.looks),
            "alpha_spending": self.spending,
            "alpha_spent": list(spent),
            "z_boundaries": list(bounds),
            "nominal_levels": list(plan_levels),
            "boundaries_method": "Lan-DeMets spending; z boundaries by recursive numerical integration, each "
            "applied to the paired t-test as its nominal two-sided level (significance-level approach); Holm "
            "steps spend alpha / m' over the same looks",
            "reached": self.reached,
            "done": done,
            "next_look": self.next_look,
            "undecided": len(self.undecided()),
        }


def _two_sided_z(alpha: float) -> float:
    from scipy import stats

    return float(stats.norm.isf(alpha / 2))


def _json_float(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def reached_looks(looks: list[int], confirm: pd.DataFrame) -> int:
    """How many planned looks the confirm runs reach (at least the first): the highest seed count started."""
    started = int(confirm["seed_index"].max()) + 1 if len(confirm) else 0
    return max(1, sum(1 for n in looks if n <= started))


def analyse_looks(experiment, confirm: pd.DataFrame, levels: list[float], arms) -> LookAnalysis:
    """Run every family of the protocol through the reached looks (see the module docstring)."""
    protocol = experiment.protocol
    looks = protocol.planned_looks or [int(confirm["seed_index"].max()) + 1]
    analysis = LookAnalysis(looks, reached_looks(looks, confirm), protocol.alpha_spending, protocol.alpha)
    families = {"main": questions(arms), "control": controls(arms)}
    for metric in protocol.metrics:
        for family, pairs in families.items():
            keys = [(level, str(arm), str(reference)) for level in levels for arm, reference in pairs]
            if keys:
                _run_family(analysis, confirm, family, metric, keys, protocol)
    return analysis


def _run_family(analysis: LookAnalysis, confirm, family: str, metric: str, keys: list[Key], protocol) -> None:
    for look in range(analysis.reached):
        seeds = analysis.looks[look]
        open_keys, held = [], 0
        for key in keys:
            decisions = analysis.history.get((family, metric, key), [])
            verdict = decisions[-1].result.verdict if decisions else None
            if verdict in (Verdict.BETTER, Verdict.WORSE):
                continue  # rejected earlier: its alpha has passed to the others
            if verdict == Verdict.EQUIVALENT:
                held += 1  # decided, not rejected: keeps its share of alpha
                continue
            open_keys.append(key)
        if not open_keys:
            return
        data = {key: paired(confirm, *key, metric, seeds) for key in open_keys}
        diffs = {key: (both["arm"] - both["reference"]).to_numpy(dtype=float) for key, both in data.items()}
        results = compare_family(
            diffs,
            margin=protocol.equivalence_margin[metric],
            alpha=protocol.alpha,
            looks=analysis.looks,
            look=look,
            spending=analysis.spending,
            held=held,
        )
        for key, result in results.items():
            tested = 1 - result.corrected_confidence
            decision = Decision(look, seeds, result, [int(s) for s in data[key].index], tested)
            analysis.history.setdefault((family, metric, key), []).append(decision)
