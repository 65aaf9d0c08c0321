"""Comparing BraTS participants over cases: rank-then-aggregate, intervals over cases, paired tests.

BraTS ranks participants by *rank then aggregate*: for every case and every score
(Dice and HD95 of each region) the participants are ranked (ties share the mean rank;
higher Dice, lower HD95 is better), each participant's ranks are averaged over cases and
scores, and the final ranking orders these mean ranks. Intervals and tests resample
cases, the unit BraTS treats as independent: a percentile bootstrap for a mean, and a
paired permutation test (``scipy.stats.permutation_test``, signs of the per-case
differences flipped) with a bootstrap interval for the difference of two participants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from curriclip.metrics.brats import HIGHER_IS_BETTER

RANKED_SCORES = ("dice", "hd95")


def rank_then_aggregate(table: pd.DataFrame, scores: Sequence[str] = RANKED_SCORES) -> pd.DataFrame:
    """``table``: columns participant, case, region and ``scores`` -> participant, mean_rank, rank (1 = best)."""
    ranks = []
    for score in scores:
        wide = table.pivot_table(index=["case", "region"], columns="participant", values=score, aggfunc="first")
        ranks.append(wide.rank(axis=1, ascending=not HIGHER_IS_BETTER[score], method="average"))
    mean_rank = pd.concat(ranks).mean(axis=0)
    out = mean_rank.rename("mean_rank").reset_index().rename(columns={"index": "participant"})
    out["rank"] = out["mean_rank"].rank(method="min").astype(int)
    return out.sort_values(["rank", "participant"]).reset_index(drop=True)


def mean_interval(values: Sequence[float], confidence: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """The mean over cases and its percentile-bootstrap interval (NaN cases left out)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) < 2 or np.ptp(x) == 0:
        mean = float(x.mean()) if len(x) else float("nan")
        return mean, mean, mean
    result = stats.bootstrap(
        (x,), np.mean, confidence_level=confidence, method="percentile", n_resamples=2000, random_state=seed
    )
    return float(x.mean()), float(result.confidence_interval.low), float(result.confidence_interval.high)


def paired_difference(
    a: Sequence[float], b: Sequence[float], confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Mean of a - b over paired cases, its bootstrap interval, and the two-sided paired permutation p-value."""
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    diff = diff[np.isfinite(diff)]
    mean, low, high = mean_interval(diff, confidence, seed)
    if len(diff) < 2 or not diff.any():
        return {"diff": mean, "low": low, "high": high, "p": 1.0, "cases": len(diff)}
    test = stats.permutation_test(
        (diff,),
        np.mean,
        permutation_type="samples",
        alternative="two-sided",
        n_resamples=9999,
        random_state=seed,
    )
    return {"diff": mean, "low": low, "high": high, "p": float(test.pvalue), "cases": len(diff)}


def verdict(difference: dict[str, float], higher_is_better: bool = True) -> str:
    """ "better" / "worse" when the interval excludes zero, else "inconclusive"."""
    low, high = difference["low"], difference["high"]
    if low > 0 or high < 0:
        return "better" if (low > 0) == higher_is_better else "worse"
    return "inconclusive"
