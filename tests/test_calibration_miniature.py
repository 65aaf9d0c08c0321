"""Calibration in CI: planted effects the verdict must call better, and a null it must not call.

All are direct measurements (``curriclip.protocol.direct``: each arm one fixed recipe, no
Ray, no search) on planted-noise's data at the default size, at its planted level 100%,
judged by the protocol's own ``compare_family`` (its margin and alpha; the two planted
questions form one Holm family). The curriculum is the preset's recipe: every task from the
first step, the easiest 70% of the pairs for the whole budget, so none of the hardest 30%,
every one of which carries another pair's report. Why K = 5 is reliable: with 10 seeds the
curriculum's gap is +0.215 [+0.167, +0.263] above single_task's and +0.137 [+0.086, +0.187]
above curriculum_random's (its order alone; Holm intervals over the two levels,
``bench_calibration.py``), and the first 5 seeds give p = 0.0008 and p = 0.0055; CPU
training is deterministic given the seed and the thread count, so CI computes these numbers
every time with the pinned torch. The null is an A/A pair: single_task against
single_task on 4 other seeds, which nothing but seed noise separates.
"""

from __future__ import annotations

import pytest

from curriclip.presets import preset_experiment
from curriclip.protocol.direct import FIRST_SEED, direct_runs
from curriclip.stats import compare_family
from curriclip.stats.result import Verdict

#: 18 training runs in two processes: with the Ray end-to-end tests, one at a time (not beside the xdist workers)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

K = 5
AA = 4
METRIC = "clip_score_gap"


@pytest.fixture(scope="module")
def planted():
    """(experiment, (arm, seed) -> gap): 5 curriculum, 5 curriculum_random and 8 single-task runs at 100%."""
    experiment = preset_experiment("planted-noise", {"space": {"sparsity": [1.0]}})
    runs = [(1.0, arm, FIRST_SEED + k) for arm in ("curriculum", "curriculum_random") for k in range(K)]
    runs += [(1.0, "single_task", FIRST_SEED + k) for k in range(2 * AA)]
    table = direct_runs(experiment, runs, [METRIC], jobs=2, label="calibration miniature")
    gaps = {(row.arm, row.seed): getattr(row, METRIC) for row in table.itertuples()}
    return experiment, gaps


def _family(experiment, diffs: dict[str, list[float]]) -> dict:
    protocol = experiment.protocol
    return compare_family(diffs, protocol.equivalence_margin[METRIC], protocol.alpha)


def test_the_planted_curriculum_is_called_better_than_single_task_and_than_its_random_order(planted):
    experiment, gaps = planted
    diffs = {
        reference: [gaps["curriculum", FIRST_SEED + k] - gaps[reference, FIRST_SEED + k] for k in range(K)]
        for reference in ("single_task", "curriculum_random")
    }
    results = _family(experiment, diffs)
    assert all(result.verdict == Verdict.BETTER for result in results.values()), results
    # not marginal calls: the planted effects are about +0.2 and +0.15
    assert results["single_task"].corrected_ci[0] > 0.1 and results["curriculum_random"].corrected_ci[0] > 0.05


def test_an_aa_pair_of_single_task_seed_sets_is_not_called_better_or_worse(planted):
    experiment, gaps = planted
    diffs = [gaps["single_task", FIRST_SEED + k] - gaps["single_task", FIRST_SEED + AA + k] for k in range(AA)]
    assert len(set(diffs)) == AA and all(d != 0 for d in diffs)  # different seeds really trained differently
    result = _family(experiment, {"aa": diffs})["aa"]
    assert result.verdict not in (Verdict.BETTER, Verdict.WORSE), result
