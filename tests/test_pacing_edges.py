"""Pacing at its edges: parameter domains (open, closed, unbounded), defaults filled in, refusals word for word,
and a zero-step budget (counted as one step, never a division by zero)."""

from __future__ import annotations

import math

import pytest

from curriclip.curriculum import pacing
from curriclip.curriculum.pacing import ParamRange


def test_a_domain_is_open_below_unless_inclusive_and_closed_above():
    unit = ParamRange(default=0.5, low=0.1, high=0.9)
    assert not unit.admits(0.0) and unit.admits(1e-12) and unit.admits(1.0) and not unit.admits(1.0 + 1e-12)
    assert unit.domain() == "(0, 1]"
    at_least_one = ParamRange(default=2, low=1.5, high=3, minimum=1.0, maximum=math.inf, minimum_inclusive=True)
    assert at_least_one.admits(1.0) and not at_least_one.admits(0.999) and at_least_one.admits(1e12)
    assert at_least_one.domain() == "[1, inf)"
    assert ParamRange(default=1, low=1, high=2, minimum=0.5, maximum=2.5).domain() == "(0.5, 2.5]"
    assert not ParamRange(default=1, low=1, high=2, minimum=0.5, maximum=2.5).admits(2.6)


def test_declared_parameters_and_their_defaults():
    assert pacing.get("linear") is pacing.linear and pacing.PACING.get("step") is pacing.step_pacing
    assert pacing.linear.params == {"a": pacing._A, "b": pacing._B}
    assert pacing.linear(25, 100) == pytest.approx(0.2 + 0.8 * 0.5)  # a = 0.5, b = 0.2
    assert pacing.linear(25, 100, b=0.4) == pytest.approx(0.4 + 0.6 * 0.5)
    assert pacing.linear(10, 100, a=0.2) == pytest.approx(0.2 + 0.8 * 0.5)
    assert pacing.no_pacing(0, 10) == 1.0 and pacing.no_pacing.params == {}

    def double(step: int, total_steps: int, x: float) -> float:
        return 2 * x

    declared = pacing.declare(x=ParamRange(default=0.25, low=0.1, high=0.4))(double)
    assert isinstance(declared, pacing.PacingFunction) and declared.fn is double
    assert declared(0, 1) == 0.5 and declared(0, 1, x=0.1) == 0.2
    with pytest.raises(TypeError) as error:
        declared(0, 1, y=1.0, a=2.0)
    assert str(error.value) == "pacing function double() has no parameter(s) ['a', 'y']"


def test_a_budget_of_zero_steps_counts_as_one():
    assert pacing._progress(3, 0, 0.5) == 6.0 and pacing._progress(3, 1, 0.5) == 6.0
    assert pacing._progress(5, 20, 1.0) == 0.25
    assert pacing._competence_time(3, 0, 0.1, 0.5) == 6.0 and pacing._competence_time(5, 20, 1.0, 1.0) == 0.25
    assert pacing.fixed_exponential(1, 0, starting_percent=0.1, increase=2.0, step_length=0.5) == 0.4
    assert pacing.varied_exponential(1, 0, starting_percent=0.1, increase=2.0, step_length=0.5, step_growth=1.0) == 0.4
    assert pacing.single_step(0, 0, starting_percent=0.3, step_length=0.5) == 0.3


def test_clip_keeps_values_between_the_start_and_one():
    assert pacing._clip(0.1, 0.2) == 0.2 and pacing._clip(0.5, 0.2) == 0.5 and pacing._clip(1.5, 0.2) == 1.0
    assert pacing._clip(0.5, 1.0) == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: pacing._progress(1, 10, 0.0), "pacing parameter a must lie in (0, 1], got 0.0"),
        (lambda: pacing._progress(1, 10, 1.5), "pacing parameter a must lie in (0, 1], got 1.5"),
        (lambda: pacing._clip(0.5, 0.0), "pacing parameter b must lie in (0, 1], got 0.0"),
        (lambda: pacing._clip(0.5, 1.01), "pacing parameter b must lie in (0, 1], got 1.01"),
        (lambda: pacing._hacohen_check(0.0, 2.0, 0.1), "pacing parameter starting_percent must lie in (0, 1], got 0.0"),
        (lambda: pacing._hacohen_check(1.1, 2.0, 0.1), "pacing parameter starting_percent must lie in (0, 1], got 1.1"),
        (lambda: pacing._hacohen_check(0.5, 0.99, 0.1), "pacing parameter increase must be >= 1, got 0.99"),
        (lambda: pacing._hacohen_check(0.5, 2.0, 0.0), "pacing parameter step_length must lie in (0, 1], got 0.0"),
        (lambda: pacing._hacohen_check(0.5, 2.0, 1.2), "pacing parameter step_length must lie in (0, 1], got 1.2"),
        (lambda: pacing._competence_time(1, 10, 0.0, 0.5), "pacing parameter c0 must lie in (0, 1], got 0.0"),
        (lambda: pacing._competence_time(1, 10, 1.5, 0.5), "pacing parameter c0 must lie in (0, 1], got 1.5"),
        (lambda: pacing._competence_time(1, 10, 0.5, 0.0), "pacing parameter T must lie in (0, 1], got 0.0"),
        (lambda: pacing._competence_time(1, 10, 0.5, 1.5), "pacing parameter T must lie in (0, 1], got 1.5"),
    ],
)
def test_refusals_word_for_word(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message


def test_the_closed_ends_of_each_domain_are_accepted():
    assert pacing._progress(10, 10, 1.0) == 1.0 and pacing._clip(0.5, 1.0) == 1.0
    pacing._hacohen_check(1.0, 1.0, 1.0)
    assert pacing._competence_time(10, 10, 1.0, 1.0) == 1.0
