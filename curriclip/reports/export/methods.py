"""A methods paragraph written from the run's own settings, for a user to paste into a paper and edit.

Everything it states is read from the run directory: the arms, levels, model and step
budget from ``experiment.yaml`` (as run), how many trials each phase ran from
``trials.parquet``, K, the confirm seeds, alpha and the equivalence margins from
``answer.json``. A setting the files do not hold is left out rather than guessed.
"""

from __future__ import annotations

from ..confirmed import METRIC_LABELS, ConfirmedAnswer
from ..results import Results
from ..style import fmt_sparsity

ARM_WORDS = {
    "single_task": "single-task contrastive learning (image-text contrastive loss alone; the reference)",
    "multitask": "multitask learning (the auxiliary tasks trained together with the contrastive loss from the "
    "first step)",
    "curriculum": "curriculum multitask learning (searched task orderings, pacing functions and stage spans)",
    "curriculum_random": "the selected curriculum with its sample order shuffled (a control)",
    "shuffled_control": "the single-task recipe on shuffled image-report pairs (a negative control)",
}
MODE_WORDS = {
    "pairs": "of the training image-report pairs",
    "labels": "of the training labels",
    "reports": "of the training reports (every image kept for the image-only and label tasks)",
}
INTERVAL_WORDS = {"t": "Student-t intervals", "bootstrap": "bootstrap intervals"}
SCHEDULER_WORDS = {"asha": "ASHA", "median": "median stopping", "fifo": "no early stopping", "pbt": "PBT"}


def _words(items: list[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def _plural(n: object, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _named(items: list[str], word: str) -> str:
    """``the pacing function linear`` / ``the pacing functions linear and step``."""
    return f"the {word}{'' if len(items) == 1 else 's'} {_words(items)}"


def _setting(experiment: dict, section: str, key: str, default=None):
    value = (experiment.get(section) or {}).get(key, default)
    return default if value is None else value


def _design(results: Results, answer: ConfirmedAnswer | None) -> str:
    exp = results.experiment
    arms = answer.arms if answer and answer.arms else list(_setting(exp, "protocol", "arms", []))
    levels = answer.levels if answer and answer.levels else list(_setting(exp, "space", "sparsity", []))
    mode = MODE_WORDS.get(str(_setting(exp, "space", "sparsity_mode", "pairs")), "of the training data")
    tasks = list(_setting(exp, "space", "tasks", []))
    parts = []
    if arms:
        parts.append(f"We compared {len(arms)} arms: " + "; ".join(ARM_WORDS.get(a, a) for a in arms) + ".")
    if tasks:
        pacing = list((_setting(exp, "space", "pacing", {}) or {}).keys())
        weighting = list(_setting(exp, "space", "weighting", []))
        text = f"The auxiliary tasks were {_words(tasks)}"
        if pacing:
            text += f"; the curriculum searched {_named(pacing, 'pacing function')}"
        if weighting:
            text += f" and {_named(weighting, 'loss weighting')}"
        parts.append(text + ".")
    if levels:
        parts.append(f"Every arm was trained at {_words([fmt_sparsity(v) for v in levels])} {mode}.")
    training = exp.get("training") or {}
    if training:
        epochs, steps, batch = training.get("epochs"), training.get("steps_per_epoch"), training.get("batch_size")
        parts.append(
            f"Each trial trained the `{exp.get('model', '?')}` model for {epochs} epochs of {steps} steps "
            f"(batch size {batch}), the same step budget at every level."
        )
    return " ".join(parts)


def _search(results: Results) -> str:
    exp = results.experiment
    search = exp.get("search") or {}
    trials = results.trials
    counts = trials.groupby("arm").size().to_dict() if not trials.empty else {}
    text = "Search phase: "
    if counts:
        text += f"{len(trials)} configurations (" + ", ".join(f"{n} {arm}" for arm, n in sorted(counts.items()))
        text += ") "
    tuning = _setting(exp, "protocol", "tuning", "matched")
    text += f"were trained ({tuning} tuning"
    if search.get("seeds"):
        text += f", search seeds {_words(search['seeds'])}"
    text += ")"
    scheduler = search.get("scheduler")
    if scheduler:
        text += f" under {SCHEDULER_WORDS.get(scheduler, scheduler)}"
        if scheduler == "asha":
            grace, factor = search.get("grace_period"), search.get("reduction_factor")
            text += f" (grace period {_plural(grace, 'epoch')}, reduction factor {factor})"
    if search.get("searcher", "optuna") in (None, "optuna") and scheduler != "pbt":
        startup = _plural(search.get("n_startup_trials"), "random proposal")
        text += f", the curricula proposed by Optuna's TPE sampler after {startup}"
    metric = METRIC_LABELS.get(str(search.get("metric", "clip_score")), search.get("metric"))
    return text + f"; configurations were ranked on the validation split by {metric}, and the test split was not read."


def _confirm(results: Results, answer: ConfirmedAnswer | None) -> str:
    if answer is None:
        return "The confirm phase has not run yet: no confirmed answer (answer.json) exists for this run."
    runs = len(results.confirm_trials)
    seeds = f" ({_words(answer.seeds)})" if answer.seeds else ""
    margins = ", ".join(
        f"{METRIC_LABELS.get(m, m).split(' (')[0]} ±{margin:g}" for m, margin in answer.margins.items()
        if m in answer.metrics
    )  # fmt: skip
    metrics = _words([METRIC_LABELS.get(m, m).split(" (")[0] for m in answer.metrics])
    methods = set(answer.comparisons["ci_method"].dropna())
    intervals = (
        INTERVAL_WORDS.get(methods.pop(), "confidence intervals")
        if len(methods) == 1
        else ("Student-t intervals (below 10 seeds) or bootstrap intervals")
    )
    text = (
        f"Confirm phase: each tuned arm's validation winner at each level was re-run with K = {answer.k} fresh "
        f"paired seeds{seeds}, {runs} runs in all, each evaluated once on the test split. For every arm against "
        f"{answer.reference_arm} we report the mean paired difference on {metrics} with {intervals}, "
        f"Holm-corrected across levels and arms (family-wise alpha = {answer.alpha:g}); a comparison is called "
        "better or worse only when its corrected interval excludes zero, equivalent when a TOST shows the difference "
        f"inside the margins declared before the run ({margins}), and inconclusive otherwise, with the smallest "
        "difference K seeds detect at 80% power."
    )
    looks = (results.answer or {}).get("looks")
    if looks:
        text += f" The confirm phase was analysed at {len(looks)} planned looks with alpha spent across them."
    return text


def methods_markdown(results: Results, answer: ConfirmedAnswer | None) -> str:
    """The methods paragraph (Markdown) for run ``results``."""
    body = "\n\n".join(p for p in (_design(results, answer), _search(results), _confirm(results, answer)) if p)
    return (
        f"<!-- Generated by curriclip from run {results.run_name}; every setting is the run's own. "
        "Edit before use. -->\n\n## Methods\n\n" + body + "\n"
    )
