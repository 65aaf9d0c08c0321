"""Planned looks: published boundaries, and the family-wise error over all looks under the null (numpy/scipy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from curriclip.stats import Verdict, compare_family
from curriclip.stats.multiplicity import holm_adjust
from curriclip.stats.sequential import alpha_spent, nominal_levels, sequential_holm, z_boundaries

#: Lan-DeMets O'Brien-Fleming-type boundaries, two-sided alpha 0.05 (0.025 per side), equally spaced looks:
#: Jennison & Turnbull (2000) and gsDesign's sfLDOF / R ldbounds give 4.877 3.357 2.680 2.290 2.031 for five
#: looks and 3.710 2.511 1.993 for three; Pocock-type (sfLDPocock), five looks: 2.438 2.427 2.410 2.397 2.386.
PUBLISHED = [
    ((0.2, 0.4, 0.6, 0.8, 1.0), "obrien_fleming", (4.877, 3.357, 2.680, 2.290, 2.031)),
    ((1 / 3, 2 / 3, 1.0), "obrien_fleming", (3.710, 2.511, 1.993)),
    ((0.2, 0.4, 0.6, 0.8, 1.0), "pocock", (2.438, 2.427, 2.410, 2.397, 2.386)),
]
LOOKS = [5, 10, 20]
ALPHA = 0.05


@pytest.mark.parametrize(("fractions", "spending", "published"), PUBLISHED)
def test_boundaries_match_published_tables(fractions, spending, published):
    assert z_boundaries(fractions, ALPHA, spending) == pytest.approx(published, abs=1.5e-3)


def test_spending_reaches_alpha_at_the_last_look_and_one_look_is_the_fixed_design():
    assert alpha_spent(LOOKS, ALPHA)[-1] == pytest.approx(ALPHA, rel=1e-12)
    assert nominal_levels([7], ALPHA) == (ALPHA,)
    first, second, last = nominal_levels(LOOKS, ALPHA)
    assert first < 1e-4 < second < last < ALPHA  # O'Brien-Fleming: almost nothing early, nearly alpha at the end


def test_one_look_is_holm():
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.uniform(0, 0.08, size=int(rng.integers(1, 7)))
        rejected, _ = sequential_holm(p, 0, [5], ALPHA)
        assert list(rejected) == list(holm_adjust(p) < ALPHA)


def _family_error(replicates: int, planned: bool, comparisons: int = 2, seed: int = 0) -> float:
    """Share of replicates with any false call over the looks, the undecided comparisons getting more seeds.

    ``planned``: Holm at each look with alpha spent over the planned looks (the protocol's rule);
    otherwise naive extension: plain Holm at alpha at every look.
    """
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 1.0, size=(replicates, comparisons, LOOKS[-1]))  # H0 true for every comparison
    # each comparison's two-sided paired t-test p at every look (what ``difference_p`` computes)
    pvalues = np.stack([stats.ttest_1samp(data[..., :n], 0.0, axis=-1).pvalue for n in LOOKS], axis=-1)
    false_calls = 0
    for replicate in pvalues:
        rejected = np.zeros(comparisons, dtype=bool)
        for look in range(len(LOOKS)):
            p = np.where(rejected, np.nan, replicate[:, look])
            if planned:
                now, _ = sequential_holm(p, look, LOOKS, ALPHA)
            else:
                now = holm_adjust(p) < ALPHA
            rejected |= now
            if rejected.any():
                break
        false_calls += bool(rejected.any())
    return false_calls / replicates


def test_planned_looks_keep_the_familywise_error_and_naive_extension_does_not():
    replicates = 4000
    mc_error = 3 * math.sqrt(ALPHA * (1 - ALPHA) / replicates)  # three Monte Carlo standard errors
    planned = _family_error(replicates, planned=True)
    naive = _family_error(replicates, planned=False)
    assert planned <= ALPHA + mc_error
    assert planned >= ALPHA - 2 * mc_error  # spending does not waste the error rate either
    assert naive > ALPHA + mc_error


def test_compare_family_decides_with_the_looks_levels():
    """At the first of three looks a t of about 6 with 5 seeds is not enough (OBF spends ~1e-5); alone it is."""
    diffs = {"a": [0.11, 0.1, 0.13, 0.09, 0.12]}
    fixed = compare_family(diffs, 0.05)["a"]
    first = compare_family(diffs, 0.05, looks=LOOKS, look=0)["a"]
    assert fixed.verdict is Verdict.BETTER and first.verdict is Verdict.INCONCLUSIVE
    assert first.corrected_confidence == pytest.approx(1 - nominal_levels(LOOKS, ALPHA)[0])
    assert first.corrected_ci[0] < 0 < first.corrected_ci[1]
