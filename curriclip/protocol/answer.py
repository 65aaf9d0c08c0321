"""The confirmed answer: paired differences, corrected intervals and one of four verdicts per level and arm.

Each comparison pairs an arm's confirm runs with the reference arm's on the same seeds
(only seeds both finished count). One Holm family per metric holds every level x arm
comparison of the question (multitask, curriculum and curriculum_random against
single_task; curriculum against curriculum_random, which isolates the ordering, and
against multitask, which isolates staging and pacing from the auxiliary tasks); the
shuffled-pairs control against single_task is a separate family, so a control does not
cost the question power. Verdicts are read at the planned looks (``protocol.looks``,
``curriclip.protocol.looks``), every look recorded. The verdict is given on CLIP score (the
headline) and on the robust metric, and a disagreement between them is said in words.

What a verdict covers: the interval is over confirm seeds with the test set held fixed, so
"better" means better on this test set, beyond seed-to-seed variation (initialisation, batch
order, subset draw); ``claim`` in answer.json says so. The two-level interval beside it also
resamples test patients, uncorrected, to show how much a population claim would widen it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from curriclip.names import ANSWER_SCHEMA, REFERENCE_ARM, Arm
from curriclip.protocol.looks import LookAnalysis, analyse_looks
from curriclip.stats import ComparisonResult, Verdict, two_level_bootstrap, verdict_sentence
from curriclip.stats.conclusion import conclusion_sentence

#: The per-pair column of each metric in ``per_pair.parquet``.
PAIR_COLUMN = {
    "clip_score": "clip_score",
    "clip_score_gap": "clip_score_gap",
    "mean_r1": "r1",
    "retrieval_auc": "retrieval_auc",
}
METRIC_WORDS = {
    "clip_score": "CLIP score",
    "clip_score_gap": "matched-mismatched gap",
    "mean_r1": "mean R@1",
    "retrieval_auc": "retrieval AUC",
}
#: What a verdict licenses (answer.json's ``claim``).
CLAIM = (
    "conditional on this test set: each interval and verdict is over confirm seeds (initialisation, batch order, "
    "sparsity-subset draw) with the test patients held fixed, so 'better' means better on these test patients beyond "
    "seed-to-seed variation; it is not a claim about the patient population. The two-level interval (seeds x test "
    "patients, uncorrected) shows how much resampling patients would widen it."
)


def _pair_diffs(pairs: pd.DataFrame, level: float, arm: str, reference: str, metric: str, seeds) -> pd.DataFrame:
    """Per test pair and seed: arm minus reference (the same pair, the same seed)."""
    column = PAIR_COLUMN[metric]
    at = pairs[((pairs["level"] - level).abs() < 1e-9) & pairs["seed"].isin(list(seeds))]
    keys = ["seed", "sample_id", "subject_id"]
    a = at[at["arm"] == arm].set_index(keys)[column]
    b = at[at["arm"] == reference].set_index(keys)[column]
    return (a - b).dropna().reset_index(name="diff")


def _interval(values: np.ndarray, alpha: float) -> list[float]:
    if len(values) < 2:
        return [math.nan, math.nan]
    result = scipy_stats.ttest_1samp(values, 0.0)
    low, high = result.confidence_interval(1 - alpha)
    return [float(low), float(high)]


def _summary_row(level: float, arm: str, metric: str, values: np.ndarray, alpha: float) -> dict:
    return {
        "level": level,
        "arm": arm,
        "metric": metric,
        "n": int(len(values)),
        "mean": float(values.mean()) if len(values) else math.nan,
        "ci": _interval(values, alpha),
    }


def _arm_summary(confirm: pd.DataFrame, levels, arms, metrics, alpha: float) -> list[dict]:
    """Each arm's mean and t-interval per level and metric, and the untrained model's as a control.

    Seed k gives every arm the same initial towers, so the untrained model is one value per
    seed (averaged over the arms' runs of that seed): counting it once per arm would
    pseudo-replicate it and narrow its interval.
    """
    rows = []
    done = confirm[confirm["status"] == "completed"]
    for level in levels:
        at = done[(done["level"] - level).abs() < 1e-9]
        for arm in arms:
            for metric in metrics:
                values = at.loc[at["arm"] == arm, metric].dropna().to_numpy(dtype=float)
                rows.append(_summary_row(level, str(arm), metric, values, alpha))
        for metric in metrics:
            values = at.groupby("seed")[f"init_{metric}"].mean().dropna().to_numpy(dtype=float)
            rows.append(_summary_row(level, "untrained", metric, values, alpha))
    return rows


def _result_row(level, arm, reference, metric, result: ComparisonResult, pairs, seeds, protocol) -> dict:
    diffs = _pair_diffs(pairs, level, arm, reference, metric, seeds) if not pairs.empty else pd.DataFrame()
    two_level = [math.nan, math.nan]
    if len(diffs) and diffs["seed"].nunique() >= 2:
        two_level = list(two_level_bootstrap(diffs["seed"], diffs["subject_id"], diffs["diff"], alpha=protocol.alpha))
    label = f"{arm} vs {reference} at {level:.0%} ({METRIC_WORDS[metric]})"
    return {
        "level": level,
        "arm": str(arm),
        "reference": str(reference),
        "metric": metric,
        "n": result.n,
        "diff_mean": result.diff_mean,
        "diff_sd": result.diff_sd,
        "ci": list(result.ci),
        "ci_method": result.ci_method,
        "corrected_ci": list(result.corrected_ci),
        "corrected_confidence": result.corrected_confidence,
        "p": result.p,
        "p_holm": result.p_holm,
        "tost_p_holm": result.tost_p_holm,
        "two_level_ci": two_level,
        "verdict": str(result.verdict),
        "reason": result.reason,
        "statistic": result.statistic,
        "detectable_effect": result.detectable_effect,
        "seeds_needed": result.seeds_needed,
        "sentence": verdict_sentence(label, result, protocol.equivalence_margin[metric]),
    }


def _comparisons(analysis: LookAnalysis, pairs: pd.DataFrame, protocol) -> list[dict]:
    """Every comparison's final verdict (from the look that decided it, or the last one reached), families in order."""
    rows = []
    for family, metric, key in analysis.history:
        decision = analysis.final(family, metric, key)
        level, arm, reference = key
        row = _result_row(level, arm, reference, metric, decision.result, pairs, decision.paired_seeds, protocol)
        rows.append({**row, "family": family, "look": decision.look + 1, "look_seeds": decision.seeds})
    return rows


def _disagreements(
    comparisons: list[dict], summary: list[dict], robust: str, collapse: list[dict], margin: float
) -> list[dict]:
    """Where CLIP score rose but alignment (the robust metric) did not, and where the shuffled control or a
    collapsed model scores like an aligned one: said in words beside the verdicts.

    CLIP score against alignment is read twice: on the verdicts (CLIP score called better, the robust metric not;
    or the reverse), and, where the verdicts agree, on the observed differences (CLIP score up by more than its
    equivalence ``margin``, the robust metric not up), since a rise in CLIP score without one in alignment is
    geometry whether or not the seeds can call it.
    """
    out = []
    by_key = {(c["level"], c["arm"], c["reference"], c["metric"]): c for c in comparisons}
    words = METRIC_WORDS[robust]
    for (level, arm, reference, metric), headline in by_key.items():
        other = by_key.get((level, arm, reference, robust))
        if metric != "clip_score" or other is None or robust == metric:
            continue
        verdict, robust_verdict = headline["verdict"], other["verdict"]
        rose, aligned = headline["diff_mean"], other["diff_mean"]
        if verdict == Verdict.BETTER and robust_verdict != Verdict.BETTER:
            sentence = f"CLIP score rose but the {words} did not ({robust_verdict}): geometry, not alignment"
        elif verdict != Verdict.BETTER and robust_verdict == Verdict.BETTER:
            sentence = f"the {words} rose but CLIP score did not ({verdict})"
        elif rose > margin and not aligned > 0 and robust_verdict != Verdict.BETTER:
            sentence = (
                f"CLIP score rose ({rose:+.3f}, {verdict}) while the {words} did not ({aligned:+.3f}, "
                f"{robust_verdict}): geometry, not alignment"
            )
        else:
            continue
        out.append(
            {"level": level, "arm": arm, "reference": reference, "sentence": f"{arm} vs {reference}: {sentence}"}
        )
    means = {(s["level"], s["arm"], s["metric"]): s["mean"] for s in summary}
    for level in sorted({s["level"] for s in summary}):
        control = means.get((level, str(Arm.SHUFFLED_CONTROL), "clip_score"), math.nan)
        single = means.get((level, str(REFERENCE_ARM), "clip_score"), math.nan)
        if control >= single:
            out.append(
                {
                    "level": level,
                    "arm": str(Arm.SHUFFLED_CONTROL),
                    "reference": str(REFERENCE_ARM),
                    "sentence": f"at {level:.0%} the shuffled-pairs control scores {control:.3f} CLIP score against "
                    f"single_task's {single:.3f}: CLIP score alone does not show alignment here",
                }
            )
    for row in collapse:
        if row["collapsed"]:
            out.append(
                {
                    "level": row["level"],
                    "arm": row["arm"],
                    "reference": str(REFERENCE_ARM),
                    "sentence": f"{row['arm']}: {row['collapsed']} of {row['runs']} confirm runs collapsed (the "
                    "images' or the reports' embeddings nearly coincide): their CLIP score is geometry, not alignment",
                }
            )
    return out


def _collapse(confirm: pd.DataFrame, levels, arms) -> list[dict]:
    """Per level and arm: how many completed confirm runs the embedding-spread flag marks collapsed."""
    done = confirm[confirm["status"] == "completed"]
    rows = []
    for level in levels:
        at = done[(done["level"] - level).abs() < 1e-9]
        for arm in arms:
            flags = at.loc[at["arm"] == arm, "collapsed"] if "collapsed" in at else pd.Series(dtype=float)
            rows.append(
                {"level": level, "arm": str(arm), "runs": int(flags.notna().sum()), "collapsed": int((flags > 0).sum())}
            )
    return rows


def _winners(confirm: pd.DataFrame, metric: str) -> list[dict]:
    """Each tuned arm's winner: its validation score in the search and its confirmed test mean (winner's curse).

    Both on ``metric`` (the search's): a search that selects on the gap is compared with the gap on test,
    never with another metric. A metric the confirm table lacks leaves the confirmed mean and gap null.
    """
    rows = []
    done = confirm[confirm["status"] == "completed"]
    for (level, arm), part in done.groupby(["level", "arm"]):
        if arm not in (Arm.SINGLE_TASK, Arm.MULTITASK, Arm.CURRICULUM):
            continue
        search = float(part["search_score"].iloc[0])
        confirmed = float(part[metric].mean()) if metric in part else math.nan
        rows.append(
            {
                "level": float(level),
                "arm": str(arm),
                "trial_id": str(part["source_trial_id"].iloc[0]),
                "metric": metric,
                "search_score": search,
                "confirm_mean": confirmed,
                "gap": search - confirmed,
            }
        )
    return rows


def _summary(comparisons: list[dict]) -> str:
    """One paragraph: the curriculum (and multitask) against single-task at each level, on both metrics."""
    parts = []
    headline = {(Arm.CURRICULUM, REFERENCE_ARM), (Arm.MULTITASK, REFERENCE_ARM), (Arm.CURRICULUM, Arm.MULTITASK)}
    for c in comparisons:
        if (c["arm"], c["reference"]) in headline:
            parts.append(
                f"{c['arm']} vs {c['reference']} at {c['level']:.0%} on {METRIC_WORDS[c['metric']]}: {c['verdict']} "
                f"({c['diff_mean']:+.3f}, n={c['n']})"
            )
    if not parts:
        return "No confirmed comparison yet."
    return "Confirmed on the test split, Holm-corrected at the planned looks: " + "; ".join(parts) + "."


def build_answer(
    experiment, confirm: pd.DataFrame, pairs: pd.DataFrame, configurations: list[dict] | None = None
) -> dict:
    """The verdict table of a run (what ``answer.json`` holds).

    ``configurations``: per tuned arm and level, the search configurations tried, completed and pruned
    (``curriclip.protocol.select.configuration_counts``).
    """
    protocol = experiment.protocol
    levels = sorted(float(v) for v in confirm["level"].unique())
    arms = [arm for arm in protocol.arms if (confirm["arm"] == arm).any()]
    metrics = list(protocol.metrics)
    analysis = analyse_looks(experiment, confirm, levels, arms)
    read = confirm[confirm["seed_index"] < analysis.looks[analysis.reached - 1]]
    comparisons = _comparisons(analysis, pairs, protocol)
    summary = _arm_summary(read, levels, arms, metrics, protocol.alpha)
    collapse = _collapse(read, levels, arms)
    answer = {
        "schema": ANSWER_SCHEMA,
        "headline_metric": metrics[0],
        "robust_metric": metrics[1],
        "alpha": protocol.alpha,
        "equivalence_margin": {m: protocol.equivalence_margin[m] for m in metrics},
        "reference_arm": str(REFERENCE_ARM),
        "k": int(read.loc[read["status"] == "completed", "seed"].nunique()),
        "confirm_seeds": sorted(int(s) for s in read["seed"].unique()),
        "looks": analysis.record(),
        "claim": CLAIM,
        "levels": levels,
        "arms": [str(arm) for arm in arms],
        "arm_summary": summary,
        "comparisons": comparisons,
        "winners": _winners(read, experiment.search.metric),
        "configurations": configurations if configurations is not None else [],
        "collapse": collapse,
        "disagreements": _disagreements(
            comparisons, summary, metrics[1], collapse, protocol.equivalence_margin["clip_score"]
        ),
        "summary": _summary(comparisons),
    }
    answer["conclusion"] = conclusion_sentence(answer)
    return answer
