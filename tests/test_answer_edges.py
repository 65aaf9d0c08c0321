"""answer.json by exact values from small hand-built confirm and per-pair tables: every key of the answer, each
comparison row as read at the reached look, the arm summaries, collapse counts, winners, disagreements and prose."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from curriclip.config import ExperimentConfig
from curriclip.protocol import answer as answer_module
from curriclip.protocol.answer import CLAIM, build_answer
from curriclip.stats import compare_family, two_level_bootstrap, verdict_sentence

NAN = "NaN"  # NaN as a comparable value: NaN != NaN, so rows holding one are compared after _nan_safe


def _nan_safe(value):
    """The same structure with every float NaN replaced by ``NAN`` (tuples become lists)."""
    if isinstance(value, dict):
        return {key: _nan_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_safe(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return NAN
    return value


SEEDS = [10_000, 10_001, 10_002, 10_003]  # seed_index 0..3; the plan looks at 3 and 6, so the fourth is not read
READ = SEEDS[:3]
SINGLE_CLIP = [0.60, 0.62, 0.58, 0.61]
SINGLE_AUC = [0.70, 0.71, 0.69, 0.70]
#: Per arm, per seed: the difference from single_task (None: that run errored).
CLIP_SHIFT = {
    "single_task": [0.0] * 4,
    "curriculum": [0.50, 0.52, 0.49, 0.90],
    "shuffled_control": [0.10, 0.14, None, 0.3],
}
AUC_SHIFT = {
    "single_task": [0.0] * 4,
    "curriculum": [1e-4, -1e-4, 0.0, 0.05],
    "shuffled_control": [-0.10, -0.12, None, -0.2],
}
INIT_CLIP = [0.10, 0.12, 0.11, 0.13]  # the untrained towers of each seed, shared by the arms (plus a small arm offset)
INIT_AUC = [0.50, 0.51, 0.49, 0.52]
INIT_OFFSET = {"single_task": 0.0, "curriculum": 0.01, "shuffled_control": 0.02}
WINNER = {"single_task": ("w-single", 0.65), "curriculum": ("w-curr", 0.80), "shuffled_control": ("w-single", 0.65)}
#: Pairs each run scores: (sample_id, subject_id) and the pair's offset from the run's score.
PAIRS = [("s1", "p1", -0.02), ("s2", "p1", 0.01), ("s3", "p2", 0.03)]


def _looked_experiment() -> ExperimentConfig:
    """All five arms planned, looks at 3 and 6 seeds spent Pocock-style, alpha 0.1, selected on CLIP score."""
    return ExperimentConfig.model_validate(
        {
            "space": {"sparsity": [0.3]},
            "search": {"metric": "clip_score"},
            "protocol": {"looks": [3, 6], "alpha": 0.1, "alpha_spending": "pocock"},
        }
    )


def _confirm() -> pd.DataFrame:
    """Three of the five arms at one level, four seeds each; shuffled_control's third run errored."""
    rows = []
    for arm in ("single_task", "curriculum", "shuffled_control"):
        trial, search = WINNER[arm]
        for i, seed in enumerate(SEEDS):
            errored = CLIP_SHIFT[arm][i] is None
            rows.append(
                {
                    "level": 0.3,
                    "arm": arm,
                    "seed": seed,
                    "seed_index": i,
                    "trial_id": f"{arm}-{i}",
                    "source_trial_id": trial,
                    "status": "errored" if errored else "completed",
                    "search_score": search,
                    "clip_score": math.nan if errored else SINGLE_CLIP[i] + CLIP_SHIFT[arm][i],
                    "retrieval_auc": math.nan if errored else SINGLE_AUC[i] + AUC_SHIFT[arm][i],
                    "collapsed": math.nan if errored else float(arm == "curriculum" and i in (1, 3)),
                    "init_clip_score": math.nan if errored else INIT_CLIP[i] + INIT_OFFSET[arm],
                    "init_retrieval_auc": math.nan if errored else INIT_AUC[i] + INIT_OFFSET[arm],
                }
            )
    return pd.DataFrame(rows)


def _pairs() -> pd.DataFrame:
    """Per-pair scores of every completed run: the run's score plus the pair's offset."""
    confirm = _confirm()
    rows = []
    for run in confirm[confirm["status"] == "completed"].itertuples():
        for sample, subject, offset in PAIRS:
            rows.append(
                {
                    "level": run.level,
                    "arm": run.arm,
                    "seed": run.seed,
                    "seed_index": run.seed_index,
                    "sample_id": sample,
                    "subject_id": subject,
                    "clip_score": run.clip_score + offset * (1 + run.seed_index),
                    "retrieval_auc": run.retrieval_auc - offset,
                }
            )
    return pd.DataFrame(rows)


def _values(arm: str, metric: str) -> list[float]:
    """The arm's read (first three seeds) completed values of a metric, in seed order."""
    confirm = _confirm()
    at = confirm[(confirm["arm"] == arm) & (confirm["seed_index"] < 3) & (confirm["status"] == "completed")]
    return at[metric].tolist()


def _summary(arm: str, metric: str, values: list[float]) -> dict:
    array = np.array(values, dtype=float)
    ci = stats.ttest_1samp(array, 0.0).confidence_interval(0.9)
    return {"level": 0.3, "arm": arm, "metric": metric, "n": len(values), "mean": float(array.mean()),
            "ci": [float(ci.low), float(ci.high)]}  # fmt: skip


def _untrained(init: list[float]) -> list[float]:
    """The untrained model's value per read seed: the mean over the arms that completed that seed."""
    return [
        float(np.mean([init[i] + INIT_OFFSET[arm] for arm in INIT_OFFSET if CLIP_SHIFT[arm][i] is not None]))
        for i in range(3)
    ]


def _paired_diffs(arm: str, metric: str) -> tuple[list[int], np.ndarray]:
    """The per-seed differences arm - single_task on the read seeds both completed, computed from the shifts."""
    shifts = (CLIP_SHIFT if metric == "clip_score" else AUC_SHIFT)[arm][:3]
    base = SINGLE_CLIP if metric == "clip_score" else SINGLE_AUC
    seeds = [seed for seed, shift in zip(READ, shifts) if shift is not None]
    diffs = [(base[i] + shift) - base[i] for i, shift in enumerate(shifts) if shift is not None]
    return seeds, np.array(diffs)


def _two_level(arm: str, metric: str, seeds: list[int]) -> list[float]:
    """The seeds x patients bootstrap of the per-pair differences on the paired seeds, computed from the tables."""
    pairs = _pairs()
    seed_ids, subjects, diffs = [], [], []
    for seed in seeds:
        for sample, subject, _ in PAIRS:
            at = pairs[(pairs["seed"] == seed) & (pairs["sample_id"] == sample)].set_index("arm")[metric]
            seed_ids.append(seed)
            subjects.append(subject)
            diffs.append(at[arm] - at["single_task"])
    return list(two_level_bootstrap(seed_ids, subjects, diffs, alpha=0.1))


def _expected_comparison(family: str, arm: str, metric: str, words: str, margin: float) -> dict:
    """The comparison row: the family's test at the first look (3 seeds, Pocock over [3, 6]) on hand-made diffs."""
    seeds, diffs = _paired_diffs(arm, metric)
    result = compare_family({"key": diffs}, margin=margin, alpha=0.1, looks=[3, 6], look=0, spending="pocock")["key"]
    return {
        "level": 0.3,
        "arm": arm,
        "reference": "single_task",
        "metric": metric,
        "n": len(diffs),
        "diff_mean": result.diff_mean,
        "diff_sd": result.diff_sd,
        "ci": list(result.ci),
        "ci_method": result.ci_method,
        "corrected_ci": list(result.corrected_ci),
        "corrected_confidence": result.corrected_confidence,
        "p": result.p,
        "p_holm": result.p_holm,
        "tost_p_holm": result.tost_p_holm,
        "two_level_ci": _two_level(arm, metric, seeds),
        "verdict": str(result.verdict),
        "reason": result.reason,
        "statistic": result.statistic,
        "detectable_effect": result.detectable_effect,
        "seeds_needed": result.seeds_needed,
        "sentence": verdict_sentence(f"{arm} vs single_task at 30% ({words})", result, margin),
        "family": family,
        "look": 1,
        "look_seeds": 3,
    }


def test_the_answer_reads_only_the_reached_look_and_reports_every_part_by_value():
    """Looks at 3 and 6 seeds with 4 run: every part of answer.json reads the first 3 seeds, names only the arms
    that ran, and holds the values computed here from the hand-made tables."""
    answer = build_answer(_looked_experiment(), _confirm(), _pairs())
    assert list(answer) == [
        "schema", "headline_metric", "robust_metric", "alpha", "equivalence_margin", "reference_arm", "k",
        "confirm_seeds", "looks", "claim", "levels", "arms", "arm_summary", "comparisons", "winners",
        "configurations", "collapse", "disagreements", "summary", "conclusion",
    ]  # fmt: skip
    head = {key: answer[key] for key in ("schema", "headline_metric", "robust_metric", "alpha", "equivalence_margin",
                                         "reference_arm", "k", "confirm_seeds", "claim", "levels", "arms",
                                         "configurations")}  # fmt: skip
    assert head == {
        "schema": 2,
        "headline_metric": "clip_score",
        "robust_metric": "retrieval_auc",
        "alpha": 0.1,
        "equivalence_margin": {"clip_score": 0.05, "retrieval_auc": 0.02},
        "reference_arm": "single_task",
        "k": 3,  # seeds with a completed run among the read ones (an errored run adds no seed)
        "confirm_seeds": READ,
        "claim": CLAIM,
        "levels": [0.3],
        "arms": ["single_task", "curriculum", "shuffled_control"],  # the planned arms that ran, in report order
        "configurations": [],
    }
    looks = answer["looks"]
    assert (looks["planned"], looks["reached"], looks["next_look"]) == ([3, 6], 1, 6)
    assert [look["seeds"] for look in looks["done"]] == [3]

    untrained_clip, untrained_auc = _untrained(INIT_CLIP), _untrained(INIT_AUC)
    assert answer["arm_summary"] == [
        _summary(arm, metric, _values(arm, metric))
        for arm in ("single_task", "curriculum", "shuffled_control")
        for metric in ("clip_score", "retrieval_auc")
    ] + [_summary("untrained", "clip_score", untrained_clip), _summary("untrained", "retrieval_auc", untrained_auc)]
    shuffled = answer["arm_summary"][4]
    assert shuffled["n"] == 2 and all(math.isfinite(v) for v in shuffled["ci"])  # two values give a t interval
    assert untrained_clip[2] == pytest.approx((0.11 + 0.12) / 2)  # seed 2: single_task and curriculum only

    expected = [
        _expected_comparison("main", "curriculum", "clip_score", "CLIP score", 0.05),
        _expected_comparison("control", "shuffled_control", "clip_score", "CLIP score", 0.05),
        _expected_comparison("main", "curriculum", "retrieval_auc", "retrieval AUC", 0.02),
        _expected_comparison("control", "shuffled_control", "retrieval_auc", "retrieval AUC", 0.02),
    ]
    assert _nan_safe(answer["comparisons"]) == _nan_safe(expected)
    better, control, equivalent, _ = answer["comparisons"]
    assert [c["verdict"] for c in answer["comparisons"]] == ["better", "inconclusive", "equivalent", "inconclusive"]
    assert control["reason"] == "too few seeds" and control["n"] == 2 and control["look_seeds"] == 3
    assert all(math.isfinite(v) for v in control["two_level_ci"])  # two seeds of per-pair rows are enough for it
    # the paired t-test, independently: statistic, p and the uncorrected (1 - alpha) interval
    diffs = _paired_diffs("curriculum", "clip_score")[1]
    test = stats.ttest_1samp(diffs, 0.0)
    assert better["diff_mean"] == pytest.approx(np.mean([0.50, 0.52, 0.49]), abs=1e-12)
    assert better["diff_sd"] == pytest.approx(np.std(diffs, ddof=1), rel=1e-9)
    assert (better["statistic"], better["p"]) == pytest.approx((test.statistic, test.pvalue), rel=1e-9)
    assert better["ci"] == pytest.approx(list(test.confidence_interval(0.9)), rel=1e-9)
    assert better["sentence"].startswith("curriculum vs single_task at 30% (CLIP score): better: +0.503 (")
    assert equivalent["sentence"].startswith(
        "curriculum vs single_task at 30% (retrieval AUC): equivalent within the declared margin ±0.02 (TOST p"
    )

    assert answer["winners"] == [
        {"level": 0.3, "arm": "curriculum", "trial_id": "w-curr", "metric": "clip_score", "search_score": 0.8,
         "confirm_mean": float(np.mean(_values("curriculum", "clip_score"))),
         "gap": 0.8 - float(np.mean(_values("curriculum", "clip_score")))},
        {"level": 0.3, "arm": "single_task", "trial_id": "w-single", "metric": "clip_score", "search_score": 0.65,
         "confirm_mean": float(np.mean(SINGLE_CLIP[:3])), "gap": 0.65 - float(np.mean(SINGLE_CLIP[:3]))},
    ]  # fmt: skip
    assert answer["collapse"] == [
        {"level": 0.3, "arm": "single_task", "runs": 3, "collapsed": 0},
        {"level": 0.3, "arm": "curriculum", "runs": 3, "collapsed": 1},  # its collapsed fourth seed is not read
        {"level": 0.3, "arm": "shuffled_control", "runs": 2, "collapsed": 0},
    ]
    assert answer["disagreements"] == [
        {"level": 0.3, "arm": "curriculum", "reference": "single_task",
         "sentence": "curriculum vs single_task: CLIP score rose but the retrieval AUC did not (equivalent): geometry, "
                     "not alignment"},
        {"level": 0.3, "arm": "shuffled_control", "reference": "single_task",
         "sentence": "shuffled_control vs single_task: CLIP score rose (+0.120, inconclusive) while the retrieval AUC "
                     "did not (-0.110, inconclusive): geometry, not alignment"},
        {"level": 0.3, "arm": "shuffled_control", "reference": "single_task",
         "sentence": "at 30% the shuffled-pairs control scores 0.730 CLIP score against single_task's 0.600: CLIP "
                     "score alone does not show alignment here"},
        {"level": 0.3, "arm": "curriculum", "reference": "single_task",
         "sentence": "curriculum: 1 of 3 confirm runs collapsed (the images' or the reports' embeddings nearly "
                     "coincide): their CLIP score is geometry, not alignment"},
    ]  # fmt: skip
    assert answer["summary"] == (
        "Confirmed on the test split, Holm-corrected at the planned looks: curriculum vs single_task at 30% on CLIP "
        "score: better (+0.503, n=3); curriculum vs single_task at 30% on retrieval AUC: equivalent (+0.000, n=3)."
    )
    assert answer["conclusion"] == (
        "Curriculum vs single_task on retrieval AUC: equivalent at 30% (CLIP score: better at 30%); the shuffled-pairs "
        "control is not called worse at 30%, so there the run cannot show that training on true pairs aligns better "
        "than on shuffled ones; with K = 3 seeds it detects retrieval AUC differences of 0.000 or more (2.93 σ of the "
        "paired differences, 80% power, Holm-corrected)."
    )


def test_an_arm_without_completed_runs_and_a_run_without_per_pair_rows():
    """Every planned arm named in the table counts, even with no completed run: its summary is n=0 with NaN mean
    and interval, said without a numpy warning; with no per-pair table every two-level interval is [NaN, NaN];
    the configurations given are passed through."""
    confirm = _confirm()
    confirm.loc[confirm["arm"] == "shuffled_control", "status"] = "errored"
    configurations = [{"arm": "curriculum", "level": 0.3, "tried": 4, "completed": 3, "pruned": 1}]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Mean of empty slice")
        answer = build_answer(_looked_experiment(), confirm, pd.DataFrame(), configurations)
    assert answer["arms"] == ["single_task", "curriculum", "shuffled_control"]
    assert answer["configurations"] == configurations
    assert _nan_safe(answer["arm_summary"][4:6]) == [
        {"level": 0.3, "arm": "shuffled_control", "metric": metric, "n": 0, "mean": NAN, "ci": [NAN, NAN]}
        for metric in ("clip_score", "retrieval_auc")
    ]
    assert [_nan_safe(c["two_level_ci"]) for c in answer["comparisons"]] == [[NAN, NAN]] * 4
    assert answer["collapse"][2] == {"level": 0.3, "arm": "shuffled_control", "runs": 0, "collapsed": 0}


def test_summaries_are_taken_in_double_precision_whatever_the_tables_dtype():
    """A confirm table with nullable Float32 columns (as a parquet read with pandas' nullable dtypes gives) is
    summarised in float64: the means and intervals are those of the values widened to double precision."""
    values, init = [0.1, 0.2, 0.7], [0.3, 0.4, 0.9]
    confirm = pd.DataFrame(
        {
            "level": [0.1] * 3,
            "arm": ["curriculum"] * 3,
            "seed": [1, 2, 3],
            "status": ["completed"] * 3,
            "clip_score": pd.array(values, dtype="Float32"),
            "init_clip_score": pd.array(init, dtype="Float32"),
        }
    )
    rows = answer_module._arm_summary(confirm, [0.1], ["curriculum"], ["clip_score"], 0.05)
    widened = [np.asarray(v, dtype=np.float32).astype(np.float64) for v in (values, init)]
    expected = []
    for arm, array in zip(("curriculum", "untrained"), widened):
        ci = stats.ttest_1samp(array, 0.0).confidence_interval(0.95)
        expected.append({"level": 0.1, "arm": arm, "metric": "clip_score", "n": 3, "mean": float(np.mean(array)),
                         "ci": [float(ci.low), float(ci.high)]})  # fmt: skip
    assert rows == expected
    assert rows[0]["mean"] != float(np.mean(np.asarray(values, dtype=np.float32)))  # float32 would round otherwise


def test_levels_exactly_1e9_apart_are_different_levels():
    """The level match is strictly closer than 1e-9: two levels 1e-9 apart are kept apart in the arm summary, the
    collapse counts and the per-pair differences."""
    low, high = 1e-9, 2e-9
    assert high - low == 1e-9
    confirm = pd.DataFrame(
        {
            "level": [low, high, low, high],
            "arm": ["curriculum", "curriculum", "curriculum", "curriculum"],
            "seed": [1, 1, 2, 2],
            "status": ["completed"] * 4,
            "clip_score": [0.2, 0.8, 0.4, 0.9],
            "init_clip_score": [0.1, 0.5, 0.2, 0.6],
            "collapsed": [1.0, 0.0, 1.0, 0.0],
        }
    )
    rows = answer_module._arm_summary(confirm, [high], ["curriculum"], ["clip_score"], 0.05)
    assert [(r["arm"], r["n"], r["mean"]) for r in rows] == [
        ("curriculum", 2, pytest.approx(0.85)),
        ("untrained", 2, pytest.approx(0.55)),
    ]
    assert answer_module._collapse(confirm, [high], ["curriculum"]) == [
        {"level": high, "arm": "curriculum", "runs": 2, "collapsed": 0}
    ]
    pairs = pd.DataFrame(
        {
            "level": [low, low, high, high],
            "arm": ["curriculum", "single_task"] * 2,
            "seed": [1] * 4,
            "sample_id": ["a"] * 4,
            "subject_id": ["p"] * 4,
            "clip_score": [0.9, 0.1, 0.5, 0.25],
        }
    )
    diffs = answer_module._pair_diffs(pairs, high, "curriculum", "single_task", "clip_score", seeds=[1])
    assert diffs.values.tolist() == [[1, "a", "p", 0.25]]


def test_a_level_without_a_single_task_score_raises_no_control_disagreement():
    """The shuffled control is compared with single_task's CLIP score only where single_task has one: a level
    with the control alone adds no sentence (and no error)."""
    summary = [{"level": 0.1, "arm": "shuffled_control", "metric": "clip_score", "mean": 0.9}]
    assert answer_module._disagreements([], summary, "retrieval_auc", [], 0.05) == []
