"""What a run can conclude, in one sentence, from its verdict table (the comparisons of ``answer.json``).

A reader should learn before any table whether the run answered its question: each
question arm against the reference on the alignment (robust) metric, with CLIP score
beside it where its verdicts differ; whether the shuffled-pairs control was called worse
at every level (if not, the run cannot show that training on true pairs aligns, and no
other verdict means much); and the smallest difference these seeds detect, in the
metric's units and in standard deviations of the paired differences. Pure: it reads the
verdicts, it computes none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

#: The arms a run asks about, in the order the sentence names them.
QUESTION_ARMS = ("curriculum", "multitask", "curriculum_random")
CONTROL_ARM = "shuffled_control"
METRIC_WORDS = {
    "clip_score": "CLIP score",
    "retrieval_auc": "retrieval AUC",
    "clip_score_gap": "matched-mismatched gap",
    "mean_r1": "mean R@1",
}


def _level(level: float) -> str:
    return f"{level:.0%}" if level >= 0.01 else f"{level:.1%}"


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan


def _by_verdict(rows: Sequence[Mapping], levels: Sequence[float]) -> str:
    """'better at 30%, inconclusive at 10%', or 'inconclusive at every level'."""
    verdicts = {float(r["level"]): str(r["verdict"]) for r in rows}
    if len(levels) > 1 and len(set(verdicts.values())) == 1 and len(verdicts) == len(levels):
        return f"{next(iter(verdicts.values()))} at every level"
    groups: dict[str, list[float]] = {}
    for level in sorted(verdicts):
        groups.setdefault(verdicts[level], []).append(level)
    return ", ".join(f"{verdict} at {' and '.join(map(_level, at))}" for verdict, at in groups.items())


def _range(values: Sequence[float], spec: str) -> str:
    low, high = min(values), max(values)
    return format(low, spec) if format(low, spec) == format(high, spec) else f"{low:{spec}}–{high:{spec}}"


def conclusion_sentence(answer: Mapping) -> str:
    """One sentence: each question's verdict per level, the shuffled control's, and what the seeds can detect."""
    headline = str(answer.get("headline_metric") or "clip_score")
    robust = str(answer.get("robust_metric") or headline)
    reference = str(answer.get("reference_arm") or "single_task")
    comparisons = [c for c in answer.get("comparisons") or [] if isinstance(c, Mapping)]
    levels = sorted({float(c["level"]) for c in comparisons})
    if not comparisons:
        return "This run has no confirmed comparison yet: it can conclude nothing."

    def rows(arm: str, metric: str) -> list[Mapping]:
        return [c for c in comparisons if c["arm"] == arm and c.get("reference", reference) == reference
                and c["metric"] == metric]  # fmt: skip

    words = METRIC_WORDS.get(robust, robust)
    parts = []
    for arm in QUESTION_ARMS:
        on_robust = rows(arm, robust)
        if not on_robust:
            continue
        part = f"{arm} vs {reference} on {words}: {_by_verdict(on_robust, levels)}"
        on_headline = rows(arm, headline)
        if headline != robust and on_headline:
            said = _by_verdict(on_headline, levels)
            name = METRIC_WORDS.get(headline, headline)
            part += f" ({name}: {said})" if said != _by_verdict(on_robust, levels) else f" ({name} alike)"
        parts.append(part)
    control = rows(CONTROL_ARM, robust)
    if control:
        not_worse = [float(c["level"]) for c in control if c["verdict"] != "worse"]
        if not not_worse:
            parts.append("the shuffled-pairs control is worse at every level, so the run sees alignment")
        else:
            at = " and ".join(map(_level, sorted(not_worse)))
            parts.append(
                f"the shuffled-pairs control is not called worse at {at}, so there the run cannot show that "
                "training on true pairs aligns better than on shuffled ones"
            )
    power_rows = [c for arm in QUESTION_ARMS for c in rows(arm, robust)] or control
    effects = [_number(c.get("detectable_effect")) for c in power_rows]
    sigmas = [e / _number(c.get("diff_sd")) for e, c in zip(effects, power_rows) if _number(c.get("diff_sd")) > 0]
    effects = [e for e in effects if math.isfinite(e)]
    sigmas = [s for s in sigmas if math.isfinite(s)]
    k = answer.get("k")
    seeds = f"K = {k} seeds" if isinstance(k, int) else "these seeds"
    if effects and sigmas:
        parts.append(
            f"with {seeds} it detects {words} differences of {_range(effects, '.3f')} or more "
            f"({_range(sigmas, '.2f')} σ of the paired differences, 80% power, Holm-corrected)"
        )
    else:
        parts.append(f"with {seeds} it cannot estimate what it could detect")
    sentence = "; ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."
