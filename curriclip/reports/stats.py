"""The search phase's tables: per-level summaries over trials and the expected best score after n
configurations, with the intervals and verdict text of ``curriclip.stats.over_trials``.

Figures and tables both call these, so the figure and the table under it are computed by the
same code. The spread they measure is over trials, i.e. over different configurations (and
seeds), not seed-to-seed variation of one configuration; the confirmed answer (``confirmed``,
read from answer.json) is what measures that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from curriclip.names import Arm, Status, TrialColumn
from curriclip.stats.over_trials import finite_values, mean_ci, verdict, welch_ci

from .style import arms_in, levels_in

BASELINE_ARM = Arm.SINGLE_TASK
SCORE = TrialColumn.FINAL_CLIP_SCORE


def answer_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials the answer is computed from: completed, with a final CLIP score."""
    if trials.empty:
        return trials
    return trials[(trials[TrialColumn.STATUS] == Status.COMPLETED) & trials[SCORE].notna()]


def curriculum_completed(trials: pd.DataFrame) -> pd.DataFrame:
    """Completed curriculum trials with a final CLIP score."""
    done = answer_trials(trials)
    return done[done[TrialColumn.ARM] == Arm.CURRICULUM] if not done.empty else done


def centred_scores(df: pd.DataFrame) -> pd.Series:
    """Final CLIP score minus its sparsity level's mean (levels differ far more than curricula do)."""
    return df[SCORE] - df.groupby(TrialColumn.SPARSITY)[SCORE].transform("mean")


def answer_summary(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per sparsity level: per-arm n / mean / CI, curriculum best, difference, verdict.

    diff = curriculum mean - single-task mean, with a Welch 95% half-width (``diff_hw``).
    ``best_minus_single`` is what a search would report, but it is optimistic: the best
    trial is selected on the same held-out score it is judged by. ``untrained_mean`` is the
    untrained model's CLIP score at that level (the floor every arm should clear).
    """
    df = answer_trials(trials)
    rows = []
    for level in levels_in(df):
        at = df[df[TrialColumn.SPARSITY] == level]
        single = at.loc[at[TrialColumn.ARM] == BASELINE_ARM, SCORE]
        curr = at[at[TrialColumn.ARM] == Arm.CURRICULUM]
        n_s, m_s, hw_s = mean_ci(single)
        n_c, m_c, hw_c = mean_ci(curr[SCORE])
        diff, diff_hw = welch_ci(single, curr[SCORE])
        if n_c:
            best = curr.loc[curr[SCORE].idxmax()]
            best_score, best_id = float(best[SCORE]), str(best[TrialColumn.TRIAL_ID])
        else:
            best_score, best_id = float("nan"), ""
        init_col = TrialColumn.INIT_CLIP_SCORE
        init = trials.loc[(trials[TrialColumn.SPARSITY] == level) & trials[init_col].notna(), init_col]
        rows.append(
            dict(
                sparsity=level,
                untrained_mean=float(init.mean()) if len(init) else float("nan"),
                single_n=n_s,
                single_mean=m_s,
                single_hw=hw_s,
                curriculum_n=n_c,
                curriculum_mean=m_c,
                curriculum_hw=hw_c,
                curriculum_best=best_score,
                curriculum_best_trial=best_id,
                diff=diff,
                diff_hw=diff_hw,
                best_minus_single=best_score - m_s if n_s and n_c else float("nan"),
                verdict=verdict(n_s, n_c, diff, diff_hw),
            )
        )
    return pd.DataFrame(rows)


def arm_summary(trials: pd.DataFrame, score: str = SCORE) -> pd.DataFrame:
    """Long form, one row per (sparsity level, arm): n, mean, 95% CI and, for every arm other
    than single-task, the difference from the single-task mean with a Welch interval and a
    verdict. Handles any arms present (curriculum, shuffled_control, ...) the same way."""
    df = answer_trials(trials)
    rows = []
    if df.empty or score not in df.columns:
        return pd.DataFrame(rows)
    for level in levels_in(df):
        at = df[df[TrialColumn.SPARSITY] == level]
        base = at.loc[at[TrialColumn.ARM] == BASELINE_ARM, score].dropna()
        for arm in arms_in(at):
            vals = at.loc[at[TrialColumn.ARM] == arm, score].dropna()
            n, mean, hw = mean_ci(vals)
            if arm == BASELINE_ARM:
                diff, diff_hw, text = float("nan"), float("nan"), "baseline"
            else:
                diff, diff_hw = welch_ci(base, vals)
                text = verdict(len(base), n, diff, diff_hw, arm=arm)
            rows.append(dict(sparsity=level, arm=arm, n=n, mean=mean, hw=hw, diff=diff, diff_hw=diff_hw, verdict=text))
    return pd.DataFrame(rows)


def level_means(df: pd.DataFrame, column: str, levels: list[float]) -> pd.DataFrame:
    """Per level with values: level, n, mean, 95% half-width (NaN for n = 1) of ``column``."""
    rows = [(level, *mean_ci(df.loc[df[TrialColumn.SPARSITY] == level, column])) for level in levels]
    return pd.DataFrame([r for r in rows if r[1] > 0], columns=["level", "n", "mean", "hw"])


def expected_max(values) -> np.ndarray:
    """Expected best of n configurations drawn (with replacement) from ``values``, for n = 1..N.

    Dodge et al. 2019 ("Show your work"): with v_(1) <= ... <= v_(N) the sorted scores,
    E[max_n] = sum_i v_(i) [(i/N)^n - ((i-1)/N)^n]: the probability that the n-th order
    statistic is v_(i), times v_(i). Empty input gives an empty array.
    """
    sample = np.sort(finite_values(values))
    size = sample.size
    if size == 0:
        return np.empty(0)
    ranks = np.arange(1, size + 1) / size
    below = np.arange(0, size) / size
    draws = np.arange(1, size + 1)[:, None]
    weights = ranks[None, :] ** draws - below[None, :] ** draws  # (n, i)
    return weights @ sample


#: Trials whose last reported score counts in the expected-best curve: finished ones and pruned ones.
EXPECTED_MAX_STATUSES = (Status.COMPLETED, Status.PRUNED)


def expected_max_curves(trials: pd.DataFrame, score: str, arms) -> pd.DataFrame:
    """Per (level, arm): the expected best ``score`` after n = 1..N configurations, from the arm's completed and
    pruned trials at that level (a pruned trial counts with its last reported value). Columns: level, arm, n,
    expected_max, pool (N)."""
    columns = ["level", "arm", "n", "expected_max", "pool"]
    if trials.empty or score not in trials.columns:
        return pd.DataFrame(columns=columns)
    usable = trials[trials[TrialColumn.STATUS].isin(EXPECTED_MAX_STATUSES) & trials[score].notna()]
    rows = []
    for level in levels_in(usable):
        at = usable[usable[TrialColumn.SPARSITY] == level]
        for arm in arms:
            curve = expected_max(at.loc[at[TrialColumn.ARM] == arm, score])
            rows += [(level, str(arm), n, float(v), len(curve)) for n, v in enumerate(curve, start=1)]
    return pd.DataFrame(rows, columns=columns)
