import math

import pytest

from curriclip.curriculum import pacing
from curriclip.errors import UnknownNameError

PACED = ["linear", "quadratic", "root", "step", "exponential", "logarithmic"]


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
