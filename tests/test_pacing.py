import itertools
import math

import pytest

from curriclip.curriculum import pacing
from curriclip.errors import UnknownNameError

PACED = ["linear", "quadratic", "root", "step", "exponential", "logarithmic"]
NEW = [
    "fixed_exponential",
    "varied_exponential",
    "single_step",
    "competence_linear",
    "competence_root",
    "baby_step",
    "geometric",
]


@pytest.mark.parametrize("name", PACED + ["none"])
@pytest.mark.parametrize("a,b", [(0.2, 0.1), (0.5, 0.3), (0.9, 0.05)])
def test_bounds_monotone_and_reaches_one(name, a, b):
    fn = pacing.get(name)
    params = {} if name == "none" else {"a": a, "b": b}
    total = 200
    values = [fn(t, total, **params) for t in range(total + 1)]
    assert all(0 < v <= 1 for v in values)
    assert all(x <= y + 1e-12 for x, y in zip(values, values[1:]))
    assert values[-1] == 1.0
    # all data is admitted once a fraction a of training has passed
    assert fn(math.ceil(a * total), total, **params) == pytest.approx(1.0)


def test_exact_values_wu_et_al_2021():
    # N b + N(1-b)/(aT) t with a=0.5, b=0.2, T=100, t=25 -> 0.2 + 0.8 * 0.5 = 0.6
    assert pacing.get("linear")(25, 100, a=0.5, b=0.2) == pytest.approx(0.6)
    assert pacing.get("quadratic")(25, 100, a=0.5, b=0.2) == pytest.approx(0.2 + 0.8 * 0.25)
    assert pacing.get("root")(25, 100, a=0.5, b=0.2) == pytest.approx(0.2 + 0.8 * math.sqrt(0.5))
    assert pacing.get("step")(25, 100, a=0.5, b=0.2) == pytest.approx(0.2)
    assert pacing.get("step")(50, 100, a=0.5, b=0.2) == pytest.approx(1.0)
    expected_exp = 0.2 + 0.8 * (math.exp(10 * 0.5) - 1) / (math.exp(10) - 1)
    assert pacing.get("exponential")(25, 100, a=0.5, b=0.2) == pytest.approx(expected_exp)
    expected_log = 0.2 + 0.8 * (1 + 0.1 * math.log(0.5 + math.exp(-10)))
    assert pacing.get("logarithmic")(25, 100, a=0.5, b=0.2) == pytest.approx(expected_log)
    # at t = 0 every paced function starts at b
    for name in PACED:
        assert pacing.get(name)(0, 100, a=0.5, b=0.2) == pytest.approx(0.2, abs=1e-4)


def test_unknown_name_and_parameter():
    with pytest.raises(UnknownNameError, match="unknown pacing function 'nope'.*linear"):
        pacing.get("nope")
    with pytest.raises(TypeError, match="no parameter"):
        pacing.get("linear")(1, 10, c=0.3)
    with pytest.raises(ValueError, match="a must lie"):
        pacing.get("linear")(1, 10, a=0.0, b=0.2)


def _corners(fn: pacing.PacingFunction) -> list[dict[str, float]]:
    """Every corner of the declared search box, plus the defaults."""
    ranges = fn.params.values()
    corners = [dict(zip(fn.params, c)) for c in itertools.product(*[(r.low, r.high) for r in ranges])]
    return corners + [{k: r.default for k, r in fn.params.items()}]


@pytest.mark.parametrize("name", pacing.PACING.names())
@pytest.mark.parametrize("total", [6, 40, 500])
def test_every_registered_function_is_a_pacing_function(name, total):
    """(0, 1], non-decreasing, and all data admitted by the end of training, anywhere in the search box."""
    fn = pacing.get(name)
    for params in _corners(fn):
        values = [fn(t, total, **params) for t in range(total + 1)]
        assert all(0 < v <= 1 for v in values), (params, min(values))
        assert all(x <= y + 1e-12 for x, y in zip(values, values[1:])), params
        assert values[-1] == pytest.approx(1.0), params
        if total >= 40:  # long enough for every staircase step to fit before the last step
            assert values[-2] == pytest.approx(1.0), params


@pytest.mark.parametrize("name", NEW)
def test_new_functions_declare_defaults_inside_their_ranges(name):
    for param, r in pacing.get(name).params.items():
        assert r.low <= r.default <= r.high, param


def test_exact_values_hacohen_weinshall_2019():
    # fixed exponential: min(sp * inc^floor(i / step_length), 1); step_length 0.1 of T=100 -> 10 iterations
    fixed = pacing.get("fixed_exponential")
    params = {"starting_percent": 0.04, "increase": 1.9, "step_length": 0.1}
    assert fixed(0, 100, **params) == pytest.approx(0.04)
    assert fixed(9, 100, **params) == pytest.approx(0.04)
    assert fixed(10, 100, **params) == pytest.approx(0.04 * 1.9)
    assert fixed(35, 100, **params) == pytest.approx(0.04 * 1.9**3)
    assert fixed(60, 100, **params) == 1.0  # 0.04 * 1.9^6 = 1.88 -> clipped
    # varied exponential with step_growth 1 is fixed exponential
    varied = pacing.get("varied_exponential")
    for t in range(101):
        assert varied(t, 100, **params, step_growth=1.0) == pytest.approx(fixed(t, 100, **params))
    # step_growth 2: steps of 10, 20, 40 iterations -> boundaries at 10, 30, 70
    grown = {**params, "step_growth": 2.0}
    assert [varied(t, 100, **grown) for t in (9, 10, 29, 30, 69, 70)] == pytest.approx(
        [0.04, 0.04 * 1.9, 0.04 * 1.9, 0.04 * 1.9**2, 0.04 * 1.9**2, 0.04 * 1.9**3]
    )
    # single step: starting_percent^[i < step_length]
    single = pacing.get("single_step")
    assert single(29, 100, starting_percent=0.2, step_length=0.3) == pytest.approx(0.2)
    assert single(30, 100, starting_percent=0.2, step_length=0.3) == 1.0


def test_exact_values_platanios_2019():
    lin = pacing.get("competence_linear")
    # c(t) = min(1, t (1 - c0) / T + c0), T = 0.5 of 100 steps = 50
    assert lin(0, 100, c0=0.01, T=0.5) == pytest.approx(0.01)
    assert lin(20, 100, c0=0.01, T=0.5) == pytest.approx(20 * 0.99 / 50 + 0.01)
    assert lin(50, 100, c0=0.01, T=0.5) == pytest.approx(1.0)
    root = pacing.get("competence_root")
    # c(t) = min(1, (t (1 - c0^p) / T + c0^p)^(1/p)); p = 2 is the paper's square-root competence
    assert root(20, 100, c0=0.01, p=2.0, T=0.5) == pytest.approx(math.sqrt(20 * (1 - 0.01**2) / 50 + 0.01**2))
    assert root(20, 100, c0=0.1, p=3.0, T=0.5) == pytest.approx((20 * (1 - 0.1**3) / 50 + 0.1**3) ** (1 / 3))
    assert root(0, 100, c0=0.1, p=3.0, T=0.5) == pytest.approx(0.1)
    assert root(50, 100, c0=0.1, p=3.0, T=0.5) == pytest.approx(1.0)


def test_exact_values_baby_step_and_geometric():
    baby = pacing.get("baby_step")
    # 4 buckets admitted at t = 0, aT/3, 2aT/3, aT with a = 0.6, T = 100 -> 0, 20, 40, 60
    assert [baby(t, 100, buckets=4, a=0.6) for t in (0, 19, 20, 39, 40, 59, 60, 99)] == pytest.approx(
        [0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1.0, 1.0]
    )
    assert baby(0, 100, buckets=1, a=0.6) == 1.0
    geo = pacing.get("geometric")
    # b^(1 - t/(aT)): 0.1 at 0, sqrt(0.1) halfway to aT, 1 from aT on
    assert geo(0, 100, a=0.5, b=0.1) == pytest.approx(0.1)
    assert geo(25, 100, a=0.5, b=0.1) == pytest.approx(math.sqrt(0.1))
    assert geo(50, 100, a=0.5, b=0.1) == pytest.approx(1.0)
    ratios = [geo(t + 1, 100, a=0.5, b=0.1) / geo(t, 100, a=0.5, b=0.1) for t in range(49)]
    assert max(ratios) == pytest.approx(min(ratios))  # constant growth ratio per step


def test_new_parameters_are_checked():
    with pytest.raises(ValueError, match="starting_percent"):
        pacing.get("fixed_exponential")(1, 10, starting_percent=0.0)
    with pytest.raises(ValueError, match="c0"):
        pacing.get("competence_linear")(1, 10, c0=1.5)
    with pytest.raises(ValueError, match="buckets"):
        pacing.get("baby_step")(1, 10, buckets=0)
    assert pacing.get("baby_step").params["buckets"].integer
