"""The confirm phase's planned looks by exact values, without Ray: which comparisons each look reads, the Holm level
each was judged at, what answer.json's ``looks`` records, and which runs a later look needs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from curriclip.config import ExperimentConfig
from curriclip.protocol.looks import analyse_looks, paired, reached_looks
from curriclip.stats.sequential import nominal_levels, z_boundaries

LEVEL = 1 / 3  # not a round number: the plan matches runs to comparisons on the level rounded to 9 digits
LOOKS = [3, 6, 9]
ALPHA = 0.1
ARMS = ["single_task", "multitask", "curriculum", "curriculum_random", "shuffled_control"]

#: single_task's per-seed values (binary fractions, so an arm a constant away differs by exactly that constant)
BASE = {"clip_score": [1.0, 1.25, 0.75, 1.5, 0.5, 1.0], "retrieval_auc": [0.75] * 6}
#: per arm and metric, its shift from single_task at each of six seeds
SHIFT = {
    "clip_score": {
        "single_task": [0.0] * 6,
        "multitask": [1.0, 1.1, 0.9, 1.05, 0.95, 1.0],  # better at the first look
        "curriculum": [0.3, -0.2, 0.1, 0.4, -0.3, 0.2],  # noisy
        "curriculum_random": [-0.1, 0.3, -0.15, 0.2, 0.1, -0.3],  # noisy
        "shuffled_control": [-0.5] * 6,  # a constant difference: no variance, untestable
    },
    "retrieval_auc": {
        "single_task": [0.0] * 6,
        "multitask": [0.001, -0.001, 0.0005, 0.0, 0.001, -0.0005],  # equivalent at the first look
        "curriculum": [0.0005, 0.001, -0.001, 0.0, -0.0005, 0.001],  # equivalent (to multitask too)
        "curriculum_random": [0.05, -0.04, 0.03, -0.05, 0.06, -0.02],  # noisy
        "shuffled_control": [-0.1, -0.11, -0.09, -0.1, -0.1, -0.1],  # worse at the first look
    },
}
FAILED = ("curriculum_random", 4)  # this run failed: its comparisons pair the other five seeds at the second look


def _table() -> pd.DataFrame:
    """Six confirm seeds of every arm at one level: the first two of the looks at 3, 6 and 9 seeds are reached."""
    rows = []
    for arm in ARMS:
        for i in range(6):
            rows.append(
                {
                    "level": LEVEL,
                    "arm": arm,
                    "seed": 10_000 + i,
                    "seed_index": i,
                    "status": "failed" if (arm, i) == FAILED else "completed",
                    **{metric: BASE[metric][i] + SHIFT[metric][arm][i] for metric in BASE},
                }
            )
    return pd.DataFrame(rows)


def _experiment(**protocol) -> ExperimentConfig:
    return ExperimentConfig.model_validate({"space": {"sparsity": [LEVEL]}, "protocol": {"arms": ARMS, **protocol}})


def _planned() -> ExperimentConfig:
    return _experiment(looks=LOOKS, alpha=ALPHA, alpha_spending="pocock")


def _level(m: int, look: int) -> float:
    """The nominal level of a Holm step that shares alpha among ``m`` hypotheses, at ``look`` (0-based)."""
    return nominal_levels(LOOKS, ALPHA / m, "pocock")[look]


def _row(family, arm, reference, metric, seeds, level_tested, decision, reason=None) -> dict:
    """The record of one comparison that paired the confirm seeds numbered ``seeds``; its t-test by scipy."""
    table = _table()
    done = table[(table.status == "completed") & table.seed_index.isin(seeds)]
    values = {a: done[done.arm == a].set_index("seed")[metric] for a in (arm, reference)}
    differences = (values[arm] - values[reference]).dropna().to_numpy()
    assert len(differences) == len(seeds)
    test = None if reason else stats.ttest_1samp(differences, 0.0)
    return {
        "family": family,
        "level": LEVEL,
        "arm": arm,
        "reference": reference,
        "metric": metric,
        "n": len(seeds),
        "statistic": float(test.statistic) if test is not None else None,
        "p": float(test.pvalue) if test is not None else None,
        "level_tested": level_tested,
        "decision": decision,
        "reason": reason,
    }


def _assert_same(actual, expected, where="record"):
    """``actual`` has exactly ``expected``'s structure, keys, strings and None; floats to 1e-12 (relative)."""
    if isinstance(expected, float):
        assert isinstance(actual, float) and math.isclose(actual, expected, rel_tol=1e-12), (where, actual, expected)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and list(actual) == list(expected), (where, list(actual), list(expected))
        for key in expected:
            _assert_same(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), (where, actual, expected)
        for index, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{where}[{index}]")
    else:
        assert type(actual) is type(expected) and actual == expected, (where, actual, expected)


FIRST, SECOND = [0, 1, 2], [0, 1, 2, 3, 4, 5]
SECOND_WITHOUT_FAILED = [0, 1, 2, 3, 5]


def test_the_record_of_the_reached_looks_lists_every_comparison_read_with_its_holm_level():
    """answer.json's ``looks``: the plan's spending, boundaries and nominal levels; per reached look the comparisons
    it read (each family's undecided ones, the decided ones dropped), their t-tests, the Holm level each step was
    judged at (alpha / m' spent over the looks, m' counting hypotheses held as equivalent but not those rejected),
    the verdict, and why an untestable one has none."""
    analysis = analyse_looks(_planned(), _table(), [LEVEL], ARMS)
    fractions = (3 / 9, 6 / 9, 1.0)
    spent = [ALPHA * math.log(1 + (math.e - 1) * t) for t in fractions]  # Lan-DeMets Pocock type
    bounds = list(z_boundaries(fractions, ALPHA, "pocock"))
    nominal = [float(2 * stats.norm.sf(c)) for c in bounds]
    main, control, clip, auc = "main", "control", "clip_score", "retrieval_auc"
    first = [
        # clip score: five tests; multitask (smallest p) passes alpha / 5, curriculum vs multitask fails alpha / 4
        _row(main, "multitask", "single_task", clip, FIRST, _level(5, 0), "better"),
        _row(main, "curriculum", "single_task", clip, FIRST, _level(4, 0), "inconclusive"),
        _row(main, "curriculum_random", "single_task", clip, FIRST, _level(4, 0), "inconclusive"),
        _row(main, "curriculum", "curriculum_random", clip, FIRST, _level(4, 0), "inconclusive"),
        _row(main, "curriculum", "multitask", clip, FIRST, _level(4, 0), "inconclusive"),
        _row(control, "shuffled_control", "single_task", clip, FIRST, None, "inconclusive", "no variance"),
        # retrieval AUC: no difference test passes alpha / 5; three are equivalent (TOST, its own Holm)
        _row(main, "multitask", "single_task", auc, FIRST, _level(5, 0), "equivalent"),
        _row(main, "curriculum", "single_task", auc, FIRST, _level(5, 0), "equivalent"),
        _row(main, "curriculum_random", "single_task", auc, FIRST, _level(5, 0), "inconclusive"),
        _row(main, "curriculum", "curriculum_random", auc, FIRST, _level(5, 0), "inconclusive"),
        _row(main, "curriculum", "multitask", auc, FIRST, _level(5, 0), "equivalent"),
        _row(control, "shuffled_control", "single_task", auc, FIRST, _level(1, 0), "worse"),
    ]
    second = [
        # clip score: multitask's rejection passed its alpha on, m' = 4; curriculum vs multitask now passes
        _row(main, "curriculum", "single_task", clip, SECOND, _level(3, 1), "inconclusive"),
        _row(main, "curriculum_random", "single_task", clip, SECOND_WITHOUT_FAILED, _level(3, 1), "inconclusive"),
        _row(main, "curriculum", "curriculum_random", clip, SECOND_WITHOUT_FAILED, _level(3, 1), "inconclusive"),
        _row(main, "curriculum", "multitask", clip, SECOND, _level(4, 1), "worse"),
        _row(control, "shuffled_control", "single_task", clip, SECOND, None, "inconclusive", "no variance"),
        # retrieval AUC: two tested, the three equivalent ones held: m' = 5
        _row(main, "curriculum_random", "single_task", auc, SECOND_WITHOUT_FAILED, _level(5, 1), "inconclusive"),
        _row(main, "curriculum", "curriculum_random", auc, SECOND_WITHOUT_FAILED, _level(5, 1), "inconclusive"),
    ]
    expected = {
        "planned": LOOKS,
        "alpha_spending": "pocock",
        "alpha_spent": spent,
        "z_boundaries": bounds,
        "nominal_levels": nominal,
        "boundaries_method": "Lan-DeMets spending; z boundaries by recursive numerical integration, each applied to "
        "the paired t-test as its nominal two-sided level (significance-level approach); Holm steps spend alpha / m' "
        "over the same looks",
        "reached": 2,
        "done": [
            {
                "look": look + 1,
                "seeds": LOOKS[look],
                "alpha_spent": spent[look],
                "z_boundary": bounds[look],
                "nominal_level": nominal[look],
                "comparisons": rows,
            }
            for look, rows in enumerate([first, second])
        ],
        "next_look": 9,
        "undecided": 6,
    }
    _assert_same(analysis.record(), expected)
    # the levels are the plan's, not a fixed design's: the first look spends less than the second
    assert nominal[0] < nominal[1] < nominal[2] < ALPHA and spent[-1] == pytest.approx(ALPHA)


def test_every_decision_keeps_its_look_its_planned_seed_count_and_the_seeds_it_paired():
    """A comparison's history holds one decision per look it was read at: the look, that look's planned seed count,
    the confirm seeds both arms completed (a failed run leaves its seed out), and the level its Holm step used;
    the next look needs only the arms an undecided comparison reads, at the level as the plan rounds it."""
    analysis = analyse_looks(_planned(), _table(), [LEVEL], ARMS)
    seeds = {
        (family, metric, arm, reference): [(d.look, d.seeds, d.paired_seeds, str(d.result.verdict)) for d in history]
        for (family, metric, (_, arm, reference)), history in analysis.history.items()
    }
    first = [10_000, 10_001, 10_002]
    six, five = [*first, 10_003, 10_004, 10_005], [*first, 10_003, 10_005]
    assert seeds == {
        ("main", "clip_score", "multitask", "single_task"): [(0, 3, first, "better")],
        ("main", "clip_score", "curriculum", "single_task"): [
            (0, 3, first, "inconclusive"),
            (1, 6, six, "inconclusive"),
        ],
        ("main", "clip_score", "curriculum_random", "single_task"): [
            (0, 3, first, "inconclusive"),
            (1, 6, five, "inconclusive"),
        ],
        ("main", "clip_score", "curriculum", "curriculum_random"): [
            (0, 3, first, "inconclusive"),
            (1, 6, five, "inconclusive"),
        ],
        ("main", "clip_score", "curriculum", "multitask"): [(0, 3, first, "inconclusive"), (1, 6, six, "worse")],
        ("control", "clip_score", "shuffled_control", "single_task"): [
            (0, 3, first, "inconclusive"),
            (1, 6, six, "inconclusive"),
        ],
        ("main", "retrieval_auc", "multitask", "single_task"): [(0, 3, first, "equivalent")],
        ("main", "retrieval_auc", "curriculum", "single_task"): [(0, 3, first, "equivalent")],
        ("main", "retrieval_auc", "curriculum_random", "single_task"): [
            (0, 3, first, "inconclusive"),
            (1, 6, five, "inconclusive"),
        ],
        ("main", "retrieval_auc", "curriculum", "curriculum_random"): [
            (0, 3, first, "inconclusive"),
            (1, 6, five, "inconclusive"),
        ],
        ("main", "retrieval_auc", "curriculum", "multitask"): [(0, 3, first, "equivalent")],
        ("control", "retrieval_auc", "shuffled_control", "single_task"): [(0, 3, first, "worse")],
    }
    worse = analysis.final("main", "clip_score", (LEVEL, "curriculum", "multitask"))
    assert worse.level_tested == pytest.approx(_level(4, 1), rel=1e-12)
    assert math.isnan(analysis.final("control", "clip_score", (LEVEL, "shuffled_control", "single_task")).level_tested)
    # multitask's comparisons are all decided: the look at 9 seeds adds none of its runs
    assert analysis.needs() == {(arm, 0.333333333) for arm in ("single_task", "curriculum", "curriculum_random")} | {
        ("shuffled_control", 0.333333333)
    }
    assert analysis.next_look == 9


def test_one_look_is_the_fixed_design_and_its_boundary_is_the_two_sided_z():
    """Without planned looks the only look is at confirm_seeds: nominal level alpha, spent alpha, and the boundary
    exactly z_{1 - alpha/2}; each family is plain Holm at alpha."""
    arms = ["single_task", "multitask"]
    table = _table()
    table = table[table.arm.isin(arms) & (table.seed_index < 3)]
    record = analyse_looks(_experiment(arms=arms, confirm_seeds=3, alpha=ALPHA), table, [LEVEL], arms).record()
    assert record["planned"] == [3] and record["reached"] == 1 and record["next_look"] is None
    assert record["z_boundaries"] == [float(stats.norm.isf(ALPHA / 2))]
    assert record["nominal_levels"] == [ALPHA]
    assert record["alpha_spent"] == [pytest.approx(ALPHA, rel=1e-12)]
    look = record["done"][0]
    assert look["z_boundary"] == float(stats.norm.isf(ALPHA / 2)) and look["nominal_level"] == ALPHA
    assert [(r["metric"], r["decision"]) for r in look["comparisons"]] == [
        ("clip_score", "better"),
        ("retrieval_auc", "equivalent"),
    ]
    assert [r["level_tested"] for r in look["comparisons"]] == [pytest.approx(ALPHA, rel=1e-12)] * 2


def test_without_planned_looks_the_one_look_is_every_seed_that_ran():
    """A stored run that declared no confirm seeds (no plan) is read as one look at the seeds its confirm runs
    started: every one of them paired, in the control family too."""
    table = _table()
    table = table[table.seed_index < 4]
    analysis = analyse_looks(_experiment(confirm_seeds=0), table, [LEVEL], ARMS)
    assert analysis.looks == [4] and analysis.reached == 1
    every = [10_000, 10_001, 10_002, 10_003]
    assert {name: [(d.look, d.seeds, d.paired_seeds) for d in h] for name, h in analysis.history.items()} == {
        (family, metric, (LEVEL, arm, reference)): [(0, 4, every)]
        for metric in ("clip_score", "retrieval_auc")
        for family, pairs in (
            (
                "main",
                [
                    ("multitask", "single_task"),
                    ("curriculum", "single_task"),
                    ("curriculum_random", "single_task"),
                    ("curriculum", "curriculum_random"),
                    ("curriculum", "multitask"),
                ],
            ),
            ("control", [("shuffled_control", "single_task")]),
        )
        for arm, reference in pairs
    }
    assert analysis.record()["planned"] == [4]


def test_a_look_is_reached_once_some_run_has_its_seed_count():
    """The highest confirm seed started decides how many planned looks are reached; none started is the first."""
    table = _table()
    assert reached_looks(LOOKS, table.iloc[0:0]) == 1
    assert reached_looks(LOOKS, table[table.seed_index < 3]) == 1
    assert reached_looks(LOOKS, table[table.seed_index < 5]) == 1  # 5 seeds: the look at 6 is not reached yet
    assert reached_looks(LOOKS, table[table.seed_index == 5]) == 2  # seed 6 of one arm started it
    assert reached_looks([3, 6], table) == 2
    assert reached_looks([2, 3, 4, 6], table[table.seed_index < 3]) == 2


def test_paired_reads_one_level_the_seeds_both_arms_completed_and_no_later_seeds():
    """Per-seed values of the two arms at the level (float noise below 1e-9 is the same level; another level, even
    exactly 1e-9 away, is not), only completed runs with a value on both sides, below the look's seed count, by seed."""
    rows = []
    for level, offset in ((0.1 + 1e-12, 0.0), (0.3, 10.0)):
        for arm, shift in (("single_task", 0.0), ("curriculum", 1.0)):
            for i in reversed(range(5)):
                value = math.nan if (arm, i) == ("curriculum", 3) else offset + shift + i / 8
                status = "failed" if (arm, i) == ("single_task", 2) else "completed"
                rows.append(
                    {"level": level, "arm": arm, "seed": 100 + i, "seed_index": i, "status": status, "m": value}
                )
    table = pd.DataFrame(rows)
    expected = pd.DataFrame({"arm": [1.0, 1.125], "reference": [0.0, 0.125]}, index=pd.Index([100, 101], name="seed"))
    pd.testing.assert_frame_equal(paired(table, 0.1, "curriculum", "single_task", "m", 4), expected)
    assert paired(table, 0.1 + 0.2, "curriculum", "single_task", "m", 2).to_numpy().tolist() == [
        [11.0, 10.0],
        [11.125, 10.125],
    ]
    assert paired(table, 0.1, "curriculum", "single_task", "m", 5).index.tolist() == [100, 101, 104]
    # levels exactly 1e-9 apart are two levels: each reads its own runs
    one = table[table.level == 0.3]
    close = pd.concat([one.assign(level=0.0), one.assign(level=1e-9, m=one["m"] + 5)], ignore_index=True)
    assert paired(close, 0.0, "curriculum", "single_task", "m", 2).to_numpy().tolist() == [
        [11.0, 10.0],
        [11.125, 10.125],
    ]
    assert np.array_equal(paired(close, 1e-9, "curriculum", "single_task", "m", 1).to_numpy(), [[16.0, 15.0]])
