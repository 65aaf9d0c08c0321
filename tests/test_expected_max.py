"""Dodge et al.'s expected maximum equals the brute-force mean over every draw, and saturates where it should."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from curriclip.stats.expected_max import expected_max, saturating_budget


@pytest.mark.parametrize("n", [1, 2, 3])
def test_expected_max_is_the_mean_maximum_over_every_draw(n):
    values = [0.3, 0.9, 0.5, 0.5, 0.7]
    draws = list(itertools.product(values, repeat=n))
    assert expected_max(values, n) == pytest.approx(np.mean([max(d) for d in draws]), abs=1e-12)


def test_expected_max_rises_to_the_best_value():
    values = [0.1, 0.2, 0.8]
    assert expected_max(values, 1) == pytest.approx(np.mean(values))
    assert expected_max(values, 200) == pytest.approx(0.8, abs=1e-12)
    curve = [expected_max(values, n) for n in range(1, 10)]
    assert all(later > earlier for earlier, later in zip(curve, curve[1:]))


def test_saturating_budget_is_the_first_within_tolerance():
    values = [0.0] * 9 + [1.0]  # one good configuration in ten: E[max] = 1 - 0.9^n
    budgets = [1, 2, 4, 8, 16, 32]
    ceiling = 1 - 0.9**32
    assert saturating_budget(values, 0.2, budgets) == 16  # 1 - 0.9^16 = 0.815, 0.9^8 misses by 0.39
    assert ceiling - expected_max(values, 16) <= 0.2 < ceiling - expected_max(values, 8)
    assert saturating_budget(values, 1.0, budgets) == 1


def test_expected_max_refuses_empty_or_no_draws():
    with pytest.raises(ValueError, match="at least one"):
        expected_max([], 2)
    with pytest.raises(ValueError, match="n = 0"):
        expected_max([1.0], 0)
