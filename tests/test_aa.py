"""The A/A test: the protocol's verdict on two pseudo-arms of one recipe, many times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from curriclip.stats.aa import aa_false_positive_rate, single_task_values


def _null_values(seeds: int = 12) -> dict[float, np.ndarray]:
    rng = np.random.default_rng(7)
    return {0.1: rng.normal(0.60, 0.02, seeds), 0.3: rng.normal(0.66, 0.03, seeds)}


def test_on_null_data_the_false_positive_rate_is_at_most_alpha_within_its_interval():
    result = aa_false_positive_rate(_null_values(), margin=0.05, alpha=0.05, repeats=120, pairs=4, seed=1)
    assert result.repeats == 120 and result.pairs_per_split == 4 and result.distinct_splits > 100
    assert result.rate == result.false_positives / 120 and result.rate <= 0.1
    low, high = result.ci
    assert low <= result.rate <= high and low <= 0.05 and result.within_nominal
    assert result.comparison_rate <= result.rate  # per comparison never above family-wise


def test_a_real_shift_is_called_nearly_every_time():
    """The same machinery with a planted shift of 3 sd: the verdict sees it (the test can fail)."""
    result = aa_false_positive_rate(_null_values(), margin=0.05, repeats=60, pairs=5, shift=0.1, seed=2)
    assert result.rate >= 0.9 and result.ci[0] > 0.05 and not result.within_nominal


def test_clopper_pearson_interval_matches_the_hand_computed_one():
    from scipy.stats import beta

    result = aa_false_positive_rate(_null_values(), margin=0.05, repeats=40, pairs=4, shift=0.1, seed=3)
    k, n = result.false_positives, result.repeats
    low = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    high = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    assert result.ci == pytest.approx((low, high))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="same seeds"):
        aa_false_positive_rate({0.1: [0.1, 0.2, 0.3, 0.4], 0.3: [0.1, 0.2, 0.3]}, margin=0.05)
    with pytest.raises(ValueError, match="pairs >= 2"):
        aa_false_positive_rate({0.1: [0.1, 0.2, 0.3]}, margin=0.05)


def test_single_task_values_from_a_confirm_table_keep_seeds_shared_by_every_level():
    confirm = pd.DataFrame(
        {
            "level": [0.1, 0.1, 0.1, 0.3, 0.3, 0.1],
            "arm": ["single_task"] * 5 + ["multitask"],
            "seed": [10001, 10000, 10002, 10000, 10001, 10000],
            "clip_score": [0.5, 0.4, 0.9, 0.6, 0.7, 0.1],
        }
    )
    assert single_task_values(confirm) == {0.1: [0.4, 0.5], 0.3: [0.6, 0.7]}
