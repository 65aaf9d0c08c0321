"""Statistics of the select-then-confirm protocol: paired comparisons over confirm seeds, torch-free.

A comparison is an arm minus the reference arm on the same seeds. ``compare_family`` tests a
family of them (Holm-corrected t-tests and TOST, intervals that agree with Holm, power);
``two_level_bootstrap`` adds the test set's patients as a second source of uncertainty;
``verdict_sentence`` states a result in words with its evidence; ``sequential`` spends alpha over
planned looks (more confirm seeds only where a comparison is still undecided).
"""

from curriclip.stats.bootstrap import seed_bootstrap, two_level_bootstrap
from curriclip.stats.compare import compare_family
from curriclip.stats.equivalence import tost_p
from curriclip.stats.intervals import bootstrap_interval, mean_interval, t_interval
from curriclip.stats.multiplicity import holm_adjust, holm_alphas
from curriclip.stats.paired import MIN_SEEDS, difference_p, untestable_reason
from curriclip.stats.power import detectable_effect, seeds_needed, t_test_power
from curriclip.stats.result import ComparisonResult, Verdict
from curriclip.stats.sequential import SPENDING, alpha_spent, nominal_levels, sequential_holm, z_boundaries
from curriclip.stats.verdicts import decide_verdict, verdict_sentence

__all__ = [
    "MIN_SEEDS",
    "SPENDING",
    "ComparisonResult",
    "Verdict",
    "bootstrap_interval",
    "compare_family",
    "decide_verdict",
    "detectable_effect",
    "difference_p",
    "holm_adjust",
    "holm_alphas",
    "alpha_spent",
    "nominal_levels",
    "sequential_holm",
    "untestable_reason",
    "z_boundaries",
    "mean_interval",
    "seed_bootstrap",
    "seeds_needed",
    "t_interval",
    "t_test_power",
    "tost_p",
    "two_level_bootstrap",
    "verdict_sentence",
]
