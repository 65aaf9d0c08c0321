"""Paired runs of fixed recipes without Ray or a search: the direct measurement of a planted effect.

Calibration needs each planted question's *true* effect, measured apart from the
protocol that is being calibrated: no search (so no winner's curse), no scheduler, each
arm one fixed recipe at ``training.lr``, trained on K paired seeds and scored on test.
``benchmarks/bench_calibration.py`` measures with it at full size, and
``tests/test_calibration_miniature.py`` runs a few seeds of it in CI.
"""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from curriclip.config import ExperimentConfig, ProtocolConfig
from curriclip.config.trial import level_fields
from curriclip.names import ITC, Control, Phase

#: The confirm seeds of a direct measurement: 20000 + k (apart from the search's and the protocol's).
FIRST_SEED = 20_000


#: The curriculum's pacing in planted-noise's recipe: the easiest 70% of the pairs for the whole budget (step
#: pacing, a = 1); planted-noise's noisy pairs are the hardest 30%.
SELECTION_PACING: dict[str, Any] = {"pacing": "step", "pacing_params": {"a": 1.0, "b": 0.7}}


def fixed_recipes(
    aux: list[str], curriculum_pacing: dict[str, Any] | None = None, curriculum_order: Control = Control.NONE
) -> dict[str, dict[str, Any]]:
    """Each arm's recipe: training.lr, every task from the first step, and the curriculum's pacing.

    The curriculum (metadata scorer, easiest first) and curriculum_random (the same pacing, pairs in
    random order) train every task from the first step, like multitask, paced by ``curriculum_pacing``
    (``{"pacing": name, "pacing_params": {...}}``; default ``SELECTION_PACING``). ``curriculum_order``
    ``anti`` turns the curriculum hardest first (a control of what its order does).
    """
    paced = dict(curriculum_pacing or SELECTION_PACING)
    curriculum = {"tasks": [ITC, *aux], "stage_span": 0.0, **paced}
    return {
        "single_task": {"tasks": [ITC], "pacing": "none"},
        "shuffled_control": {"tasks": [ITC], "pacing": "none"},
        "multitask": {"tasks": [ITC, *aux], "pacing": "none", "stage_span": 0.0},
        "curriculum": curriculum
        if curriculum_order == Control.NONE
        else {**curriculum, "control": str(curriculum_order)},
        "curriculum_random": {**curriculum, "control": "random"},
    }


def _run(fields: dict, metrics: list[str]) -> dict:
    """One run (in a worker process): the trial's final test metrics."""
    from curriclip.config import TrialConfig
    from curriclip.trainables import run_trial

    final = run_trial(TrialConfig(**fields), lambda metrics, state: None)
    return {metric: final[metric] for metric in metrics}


def direct_runs(
    experiment: ExperimentConfig,
    runs: list[tuple[float, str, int]],
    metrics: list[str],
    jobs: int = 1,
    label: str = "direct",
    curriculum_pacing: dict[str, Any] | None = None,
    curriculum_order: Control = Control.NONE,
) -> pd.DataFrame:
    """A confirm-like table (level, arm, seed, metrics) of ``runs`` (level, arm, seed), each its fixed recipe.

    ``curriculum_order``: the curriculum's order (``fixed_recipes``). ``jobs`` runs at a time, each in its own
    process on one thread (the numbers do not depend on it).
    """
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from curriclip.data.sources import resolve
    from curriclip.spaces.space import base_trial_fields

    dataset_dir = str(resolve(experiment.data.source, **experiment.data.source_options()))
    base = {**base_trial_fields(experiment, dataset_dir), "device": "cpu"}
    recipes = fixed_recipes([*experiment.space.tasks], curriculum_pacing, curriculum_order)
    fields = [
        {
            **base,
            **recipes[arm],
            "arm": arm,
            "phase": Phase.CONFIRM,
            "seed": seed,
            "threads": 1,
            **level_fields(experiment.space.sparsity_mode, level),
        }
        for level, arm, seed in runs
    ]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_run, one, metrics) for one in fields]
        rows = []
        for done, ((level, arm, seed), future) in enumerate(zip(runs, futures), start=1):
            rows.append({"level": level, "arm": arm, "seed": seed, **future.result()})
            print(f"{label}: {done}/{len(runs)} runs", file=sys.stderr, flush=True)
    return pd.DataFrame(rows)


def paired_comparisons(
    table: pd.DataFrame, arm: str, reference: str, metric: str, protocol: ProtocolConfig, column: str = "arm"
) -> dict[float, dict[str, Any]]:
    """level -> ``arm`` vs ``reference`` on their shared seeds (``compare_family``, Holm over the levels).

    ``table``: confirm-like rows (level, seed, ``column``, metrics), e.g. from :func:`direct_runs`;
    empty when either side is missing. Each comparison: the mean difference, the verdict, the
    detectable effect, K, the Holm-corrected interval and the seeds the effect would need.
    """
    from curriclip.stats import compare_family

    wide = table[table[column].isin([arm, reference])].pivot_table(
        index=["level", "seed"], columns=column, values=metric
    )
    wide = wide.dropna()
    if arm not in wide or reference not in wide:
        return {}
    diffs = {float(level): (part[arm] - part[reference]).to_numpy() for level, part in wide.groupby(level="level")}
    results = compare_family(diffs, protocol.equivalence_margin[metric], protocol.alpha)
    return {
        level: {
            "diff_mean": r.diff_mean,
            "verdict": str(r.verdict),
            "detectable_effect": r.detectable_effect,
            "n": r.n,
            "ci": r.corrected_ci,
            "k_needed": r.seeds_needed,
        }
        for level, r in results.items()
    }
