"""The confirmed answer, read from ``answer.json`` (and ``confirm.parquet``) into plain frames.

``answer.json`` is written by the confirm phase (``curriclip.protocol``): every statistic on the page's first
section comes from it, so the page, a notebook and a script read the same numbers and the report computes no
verdict of its own. The untrained model's row is read from the answer's ``arm_summary`` (arm ``untrained``)
when it has one, else computed from the ``init_*`` columns of ``confirm.parquet``: one value per confirm seed (the
untrained model depends on the seed's initialisation only), a Student-t interval over the seeds.

Comparisons carry their reference arm (``reference``; the answer's ``reference_arm`` when absent): besides every
arm against single-task, the confirm phase may compare the curriculum with its shuffled-order control.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from curriclip.names import HEADLINE_METRIC, Arm

from .stats import mean_ci
from .style import arm_rank, is_missing

#: What each arm is in the comparison, as the tables say it.
ARM_ROLES = {
    Arm.SINGLE_TASK: "reference",
    Arm.MULTITASK: "tuned",
    Arm.CURRICULUM: "tuned",
    Arm.CURRICULUM_RANDOM: "control: selected curriculum, sample order shuffled",
    Arm.SHUFFLED_CONTROL: "control: shuffled image-report pairs",
}
UNTRAINED = "untrained model"
#: How answer.json names the untrained model in ``arm_summary``.
UNTRAINED_ARM = "untrained"
UNTRAINED_ROLE = "control: no training"
METRIC_LABELS = {
    "clip_score": "CLIP score",
    "retrieval_auc": "retrieval AUC (matched vs mismatched, per query)",
    "clip_score_gap": "CLIP-score gap (matched − mismatched)",
    "mean_r1": "mean R@1",
}
#: The four verdicts, in words, against a comparison's reference arm (``answer.json`` stores the class).
VERDICT_WORDS = {
    "better": "better than {reference} (corrected interval above zero)",
    "worse": "worse than {reference} (corrected interval below zero)",
    "equivalent": "equivalent to {reference} (TOST: inside ± the declared margin)",
    "inconclusive": "inconclusive (neither a difference nor equivalence shown)",
}
ARM_SUMMARY_COLUMNS = ["level", "arm", "metric", "n", "mean", "ci_low", "ci_high"]
COMPARISON_COLUMNS = [
    "level", "arm", "reference", "metric", "n", "diff_mean", "diff_sd", "ci_low", "ci_high", "ci_method",
    "corrected_low", "corrected_high", "corrected_confidence", "p", "p_holm", "tost_p_holm", "two_level_low",
    "two_level_high", "verdict", "detectable_effect", "seeds_needed", "sentence",
]  # fmt: skip
WINNER_COLUMNS = ["level", "arm", "trial_id", "search_score", "confirm_mean", "gap"]
CONFIGURATION_COLUMNS = ["level", "arm", "tried", "completed", "pruned", "errored"]
DISAGREEMENT_COLUMNS = ["level", "arm", "reference", "sentence"]
COLLAPSE_COLUMNS = ["level", "arm", "runs", "collapsed"]
# Paired JSON lists split into two columns: name in answer.json -> (low column, high column).
INTERVALS = {"ci": ("ci_low", "ci_high"), "corrected_ci": ("corrected_low", "corrected_high"),
             "two_level_ci": ("two_level_low", "two_level_high")}  # fmt: skip


def metric_label(metric: str) -> str:
    return METRIC_LABELS.get(metric, metric)


def metric_short(metric: str) -> str:
    """The label without its parenthesis ('CLIP-score gap'), for narrow table cells and figure rows."""
    return metric_label(metric).split(" (")[0]


def verdict_words(verdict: object, reference: object = "single_task") -> str:
    """A verdict in words, naming the arm it was compared with (single_task, multitask, curriculum_random)."""
    words = VERDICT_WORDS.get(str(verdict))
    if words is None:
        return "" if is_missing(verdict) else str(verdict)
    return words.format(reference="single_task" if is_missing(reference) else str(reference))


def _bounds(value: object) -> tuple[float, float]:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(float("nan") if is_missing(v) or v is None else float(v) for v in value)  # type: ignore[return-value]
    return float("nan"), float("nan")


def _frame(records: object, columns: list[str]) -> pd.DataFrame:
    """A list of answer.json records as a frame with exactly ``columns`` (intervals split into low / high)."""
    rows = []
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict):
            continue
        row = dict(record)
        for name, (low, high) in INTERVALS.items():
            row[low], row[high] = _bounds(row.pop(name, None))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in columns:
        if column not in frame.columns:
            frame[column] = np.nan
    frame = frame[columns]
    if not frame.empty:
        frame["level"] = pd.to_numeric(frame["level"], errors="coerce")
    return frame.reset_index(drop=True)


def _sorted(frame: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Rows by level, then arm in the report's order, then reference (single-task first), then metric (headline
    first)."""
    if frame.empty:
        return frame
    keys = {"arm": frame["arm"].map(arm_rank)}
    if "reference" in frame.columns:
        keys["reference"] = frame["reference"].map(arm_rank)
    if "metric" in frame.columns:
        keys["metric"] = frame["metric"].map(lambda m: metrics.index(m) if m in metrics else len(metrics))
    ordered = frame.assign(**{f"_{k}": v for k, v in keys.items()})
    ordered = ordered.sort_values(["level", *(f"_{k}" for k in keys)], kind="stable")
    return ordered.drop(columns=[f"_{k}" for k in keys]).reset_index(drop=True)


@dataclass
class ConfirmedAnswer:
    """answer.json as frames, plus the untrained model's row from confirm.parquet."""

    headline_metric: str
    robust_metric: str
    alpha: float
    margins: dict[str, float]
    reference_arm: str
    k: int | None
    seeds: list[int]
    levels: list[float]
    arms: list[str]
    arm_summary: pd.DataFrame  # ARM_SUMMARY_COLUMNS
    comparisons: pd.DataFrame  # COMPARISON_COLUMNS
    winners: pd.DataFrame  # WINNER_COLUMNS
    disagreements: pd.DataFrame  # DISAGREEMENT_COLUMNS
    summary: str
    conclusion: str = ""  # what the run can conclude, one sentence (answers written before it have none)
    collapse: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COLLAPSE_COLUMNS))
    untrained: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ARM_SUMMARY_COLUMNS))
    configurations: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CONFIGURATION_COLUMNS))
    looks: dict = field(default_factory=dict)  # answer.json's ``looks`` (planned looks, each look taken)
    claim: str = ""  # what a verdict covers (answer.json's ``claim``)

    @property
    def metrics(self) -> list[str]:
        return [self.headline_metric, self.robust_metric]


def untrained_summary(confirm: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Per level and metric, the untrained model's test value (``init_<metric>``): one value per confirm seed (the
    mean over that seed's rows, which share the initialisation), mean and 95% t-interval over the seeds."""
    rows = []
    if confirm.empty:
        return pd.DataFrame(rows, columns=ARM_SUMMARY_COLUMNS)
    for metric in metrics:
        column = f"init_{metric}"
        if column not in confirm.columns:
            continue
        values = confirm[confirm[column].notna()]
        for level, at in values.groupby("level", sort=True):
            per_seed = at.groupby("seed")[column].mean()
            n, mean, half = mean_ci(per_seed)
            rows.append((float(level), UNTRAINED, metric, n, mean, mean - half, mean + half))
    return pd.DataFrame(rows, columns=ARM_SUMMARY_COLUMNS)


def _with_reference(frame: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Comparisons and disagreements without a reference are against the answer's reference arm."""
    return frame.assign(reference=frame["reference"].astype(object).where(frame["reference"].notna(), reference))


def _take_untrained(answer: ConfirmedAnswer, confirm: pd.DataFrame | None) -> None:
    """The untrained model's rows: from arm_summary when the answer has them (moved out of the arms), else from
    confirm.parquet's ``init_*`` columns."""
    is_untrained = answer.arm_summary["arm"] == UNTRAINED_ARM
    if is_untrained.any():
        answer.untrained = answer.arm_summary[is_untrained].assign(arm=UNTRAINED).reset_index(drop=True)
        answer.arm_summary = answer.arm_summary[~is_untrained].reset_index(drop=True)
    elif confirm is not None:
        answer.untrained = untrained_summary(confirm, answer.metrics)


def confirmed_answer(answer: dict | None, confirm: pd.DataFrame | None = None) -> ConfirmedAnswer | None:
    """The confirmed answer of a run, or None when its confirm phase has not run (no answer.json)."""
    if answer is None:
        return None
    headline = str(answer.get("headline_metric") or HEADLINE_METRIC)
    robust = str(answer.get("robust_metric") or "clip_score_gap")
    metrics = [headline, robust]
    margins = answer.get("equivalence_margin")
    seeds = answer.get("confirm_seeds")
    reference = str(answer.get("reference_arm") or Arm.SINGLE_TASK)
    result = ConfirmedAnswer(
        headline_metric=headline,
        robust_metric=robust,
        alpha=float(answer.get("alpha", 0.05)),
        margins={str(k): float(v) for k, v in margins.items()} if isinstance(margins, dict) else {},
        reference_arm=reference,
        k=None if is_missing(answer.get("k")) else int(answer["k"]),
        seeds=[int(s) for s in seeds] if isinstance(seeds, list) else [],
        levels=sorted(float(lv) for lv in answer.get("levels") or []),
        arms=[str(a) for a in answer.get("arms") or []],
        arm_summary=_sorted(_frame(answer.get("arm_summary"), ARM_SUMMARY_COLUMNS), metrics),
        comparisons=_sorted(_with_reference(_frame(answer.get("comparisons"), COMPARISON_COLUMNS), reference), metrics),
        winners=_sorted(_frame(answer.get("winners"), WINNER_COLUMNS), metrics),
        disagreements=_sorted(
            _with_reference(_frame(answer.get("disagreements"), DISAGREEMENT_COLUMNS), reference), metrics
        ),
        summary=str(answer.get("summary") or ""),
        conclusion=str(answer.get("conclusion") or ""),
        collapse=_frame(answer.get("collapse"), COLLAPSE_COLUMNS),
        configurations=_sorted(_frame(answer.get("configurations"), CONFIGURATION_COLUMNS), metrics),
        looks=answer.get("looks") if isinstance(answer.get("looks"), dict) else {},
        claim=str(answer.get("claim") or ""),
    )
    _take_untrained(result, confirm)
    if not result.levels:
        result.levels = sorted(set(result.arm_summary["level"].dropna()) | set(result.comparisons["level"].dropna()))
    return result
