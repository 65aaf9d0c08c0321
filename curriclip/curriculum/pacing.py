"""Pacing functions: the fraction of the (difficulty-sorted) training pool a step may draw from.

Each entry is a pure function ``fraction = f(step, total_steps, **params)`` with values
in (0, 1], non-decreasing in ``step`` and reaching 1. Each function also declares its
parameters' default values and search ranges, so a search space can be generated from
the registry alone. Families, each written exactly as in its paper divided by N (the
pool size), with step counts expressed as fractions of training so that one search
range fits any budget:

- Wu et al. 2021 ("When Do Curricula Work?", ICLR 2021, Table 1 / Appendix): linear,
  quadratic, root, step, exponential, logarithmic; ``a`` = fraction of training after
  which all data is used, ``b`` = starting fraction.
- Hacohen & Weinshall 2019 ("On the Power of Curriculum Learning in Training Deep
  Networks", ICML 2019, Sec. 3): fixed exponential, varied exponential, single step;
  ``starting_percent``, ``increase`` and ``step_length`` (the paper counts
  ``step_length`` in iterations; here it is that count divided by the total steps).
- Platanios et al. 2019 ("Competence-based Curriculum Learning for Neural Machine
  Translation", NAACL 2019, Sec. 3.2): competence linear and root-p; ``c0`` = initial
  competence, ``p`` = the root, ``T`` = the paper's curriculum length as a fraction
  of training.
- Baby steps (Spitkovsky et al. 2010; Cirik et al. 2016): equal-size buckets admitted
  one by one; geometric: the pool grows by a constant ratio per step.

Search ranges of the staircase functions are chosen so that every point of the range
admits all data before the end of training (``tests/test_pacing.py`` checks the corners).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from curriclip.registry import Registry


@dataclass(frozen=True)
class ParamRange:
    """Default value, search range and domain of one pacing parameter.

    The domain (values the function accepts) is checked when an experiment file or a
    trial config is validated, so an impossible range fails before anything runs rather
    than in every trial's first step.
    """

    default: float
    low: float
    high: float
    log: bool = False
    #: searched with ``suggest_int`` (e.g. a number of buckets); values are still passed as floats
    integer: bool = False
    #: domain: minimum < value <= maximum (minimum <= value when ``minimum_inclusive``)
    minimum: float = 0.0
    maximum: float = 1.0
    minimum_inclusive: bool = False

    def admits(self, value: float) -> bool:
        above = value >= self.minimum if self.minimum_inclusive else value > self.minimum
        return above and value <= self.maximum

    def domain(self) -> str:
        upper = "inf)" if math.isinf(self.maximum) else f"{self.maximum:g}]"
        return f"{'[' if self.minimum_inclusive else '('}{self.minimum:g}, {upper}"


@dataclass(frozen=True)
class PacingFunction:
    """A pacing function and its parameters' defaults and search ranges; its name is the registry's (``PACING``)."""

    fn: Callable[..., float]
    params: dict[str, ParamRange] = field(default_factory=dict)

    def __call__(self, step: int, total_steps: int, **params: float) -> float:
        unknown = set(params) - set(self.params)
        if unknown:
            raise TypeError(f"pacing function {self.fn.__name__}() has no parameter(s) {sorted(unknown)}")
        full = {k: params.get(k, r.default) for k, r in self.params.items()}
        return self.fn(step, total_steps, **full)


_A = ParamRange(default=0.5, low=0.1, high=0.9)
_B = ParamRange(default=0.2, low=0.05, high=0.6)


def declare(**params: ParamRange) -> Callable[[Callable[..., float]], PacingFunction]:
    """Decorator: the function with its parameters' defaults and search ranges (named where registered, below)."""

    def wrap(fn: Callable[..., float]) -> PacingFunction:
        return PacingFunction(fn, params)

    return wrap


def get(name: str) -> PacingFunction:
    """Look a pacing function up by name (``UnknownNameError`` lists the known ones)."""
    return PACING.get(name)


def _progress(step: int, total_steps: int, a: float) -> float:
    """t / (aT): how far through the paced part of training a step is."""
    if not 0 < a <= 1:
        raise ValueError(f"pacing parameter a must lie in (0, 1], got {a}")
    return step / (a * max(total_steps, 1))


def _clip(value: float, b: float) -> float:
    if not 0 < b <= 1:
        raise ValueError(f"pacing parameter b must lie in (0, 1], got {b}")
    return min(1.0, max(b, value))


@declare()
def no_pacing(step: int, total_steps: int) -> float:
    """All data from the first step: the control without pacing."""
    return 1.0


@declare(a=_A, b=_B)
def linear(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(aT) * t."""
    return _clip(b + (1 - b) * _progress(step, total_steps, a), b)


@declare(a=_A, b=_B)
def quadratic(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(aT)^2 * t^2."""
    return _clip(b + (1 - b) * _progress(step, total_steps, a) ** 2, b)


@declare(a=_A, b=_B)
def root(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(aT)^(1/2) * t^(1/2)."""
    return _clip(b + (1 - b) * math.sqrt(_progress(step, total_steps, a)), b)


@declare(a=_A, b=_B)
def step_pacing(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N * floor(t / (aT)): the starting fraction until aT, then everything."""
    return _clip(b + math.floor(_progress(step, total_steps, a)), b)


@declare(a=_A, b=_B)
def exponential(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(e^10 - 1) * (e^(10 t/(aT)) - 1)."""
    x = min(_progress(step, total_steps, a), 1.0)  # beyond aT the value is clipped to 1 anyway
    return _clip(b + (1 - b) * math.expm1(10 * x) / math.expm1(10), b)


@declare(a=_A, b=_B)
def logarithmic(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b) * (1 + 0.1 * log(t/(aT) + e^-10))."""
    x = _progress(step, total_steps, a)
    return _clip(b + (1 - b) * (1 + 0.1 * math.log(x + math.exp(-10))), b)


# --- Hacohen & Weinshall 2019 -------------------------------------------------------------

_START = ParamRange(default=0.04, low=0.04, high=0.5)
_INCREASE = ParamRange(default=1.9, low=1.5, high=3.0, minimum=1.0, maximum=math.inf, minimum_inclusive=True)


def _hacohen_check(starting_percent: float, increase: float, step_length: float) -> None:
    if not 0 < starting_percent <= 1:
        raise ValueError(f"pacing parameter starting_percent must lie in (0, 1], got {starting_percent}")
    if increase < 1:
        raise ValueError(f"pacing parameter increase must be >= 1, got {increase}")
    if not 0 < step_length <= 1:
        raise ValueError(f"pacing parameter step_length must lie in (0, 1], got {step_length}")


@declare(
    starting_percent=_START,
    increase=_INCREASE,
    step_length=ParamRange(default=0.05, low=0.02, high=0.1),
)
def fixed_exponential(
    step: int, total_steps: int, starting_percent: float, increase: float, step_length: float
) -> float:
    """g(i) = min(starting_percent * increase^floor(i / step_length), 1)  (Hacohen & Weinshall 2019, Sec. 3).

    ``step_length`` is a fraction of training: the paper's step_length (iterations) is
    ``step_length * total_steps``.
    """
    _hacohen_check(starting_percent, increase, step_length)
    k = math.floor(step / (step_length * max(total_steps, 1)) + 1e-9)  # 1e-9: 0.3 / 0.1 is 2.999...
    return min(1.0, starting_percent * increase**k)


@declare(
    starting_percent=_START,
    increase=_INCREASE,
    step_length=ParamRange(default=0.03, low=0.01, high=0.05),
    step_growth=ParamRange(default=1.1, low=0.7, high=1.2, maximum=math.inf),
)
def varied_exponential(
    step: int, total_steps: int, starting_percent: float, increase: float, step_length: float, step_growth: float
) -> float:
    """Fixed exponential pacing whose k-th step lasts ``step_length * step_growth^k`` of training.

    Hacohen & Weinshall 2019 (Sec. 3) let the step length vary from step to step,
    each step's length being its own hyper-parameter; one free length per step cannot
    be searched, so the lengths here form a geometric series with ratio ``step_growth``
    (1 gives fixed exponential pacing; > 1 lengthens the steps as the pool grows, < 1
    shortens them). Within step k the fraction is min(starting_percent * increase^k, 1).
    """
    _hacohen_check(starting_percent, increase, step_length)
    if step_growth <= 0:
        raise ValueError(f"pacing parameter step_growth must be > 0, got {step_growth}")
    x = step / max(total_steps, 1)
    if abs(step_growth - 1.0) < 1e-12:
        k = math.floor(step / (step_length * max(total_steps, 1)) + 1e-9)
    else:
        # first k with step_length * (g^(k+1) - 1) / (g - 1) > x, i.e. the step containing x
        ratio = 1 + x * (step_growth - 1) / step_length
        if ratio <= 0:  # shrinking steps that have all ended: the staircase is over
            return 1.0
        k = math.floor(math.log(ratio) / math.log(step_growth) + 1e-9)
    return min(1.0, starting_percent * increase**k)


@declare(
    starting_percent=ParamRange(default=0.2, low=0.04, high=0.5),
    step_length=ParamRange(default=0.3, low=0.05, high=0.9),
)
def single_step(step: int, total_steps: int, starting_percent: float, step_length: float) -> float:
    """g(i) = starting_percent^[i < step_length]  (Hacohen & Weinshall 2019, Sec. 3): the easiest
    ``starting_percent`` for the first ``step_length`` of training, then everything."""
    _hacohen_check(starting_percent, 1.0, step_length)
    return starting_percent if step < step_length * max(total_steps, 1) - 1e-9 else 1.0


# --- Platanios et al. 2019: competence-based ----------------------------------------------

_C0 = ParamRange(default=0.01, low=0.01, high=0.5, log=True)
_T = ParamRange(default=0.5, low=0.1, high=0.9)


def _competence_time(step: int, total_steps: int, c0: float, T: float) -> float:  # noqa: N803 - the paper's T
    if not 0 < c0 <= 1:
        raise ValueError(f"pacing parameter c0 must lie in (0, 1], got {c0}")
    if not 0 < T <= 1:
        raise ValueError(f"pacing parameter T must lie in (0, 1], got {T}")
    return step / (T * max(total_steps, 1))


@declare(c0=_C0, T=_T)
def competence_linear(step: int, total_steps: int, c0: float, T: float) -> float:  # noqa: N803
    """c(t) = min(1, t (1 - c0) / T + c0)  (Platanios et al. 2019, Sec. 3.2, linear competence)."""
    return min(1.0, _competence_time(step, total_steps, c0, T) * (1 - c0) + c0)


@declare(
    c0=_C0,
    p=ParamRange(default=2.0, low=1.5, high=5.0, minimum=1.0, maximum=math.inf, minimum_inclusive=True),
    T=_T,
)
def competence_root(step: int, total_steps: int, c0: float, p: float, T: float) -> float:  # noqa: N803
    """c(t) = min(1, (t (1 - c0^p) / T + c0^p)^(1/p))  (Platanios et al. 2019, Sec. 3.2, root-p
    competence; p = 2 is their square-root competence)."""
    if p < 1:
        raise ValueError(f"pacing parameter p must be >= 1, got {p}")
    x = _competence_time(step, total_steps, c0, T)
    return min(1.0, (x * (1 - c0**p) + c0**p) ** (1 / p))


# --- baby steps and geometric --------------------------------------------------------------


@declare(
    buckets=ParamRange(default=5, low=2, high=10, integer=True, minimum=1.0, maximum=math.inf, minimum_inclusive=True),
    a=_A,
)
def baby_step(step: int, total_steps: int, buckets: float, a: float) -> float:
    """min(1, (1 + floor(t (k - 1) / (aT))) / k): the sorted pool cut into k equal buckets,
    admitted one at a time at equal intervals, the last at aT (Spitkovsky et al. 2010
    "Baby Steps"; Cirik et al. 2016). k = 1 admits everything at once."""
    k = int(round(buckets))
    if k < 1:
        raise ValueError(f"pacing parameter buckets must be >= 1, got {buckets}")
    x = _progress(step, total_steps, a)
    return min(1.0, (1 + math.floor(x * (k - 1) + 1e-12)) / k)


@declare(a=_A, b=_B)
def geometric(step: int, total_steps: int, a: float, b: float) -> float:
    """N b^(1 - t/(aT)): a geometric progression from b at t = 0 to 1 at aT (the pool grows by
    the same ratio every step; log-linear where Wu's exponential is convex in t)."""
    x = min(_progress(step, total_steps, a), 1.0)
    return _clip(b ** (1 - x), b)


#: name -> PacingFunction, in listing order
PACING = Registry("pacing function", "pacing")
PACING.lazy("none", "curriclip.curriculum.pacing:no_pacing")
PACING.lazy("linear", "curriclip.curriculum.pacing:linear")
PACING.lazy("quadratic", "curriclip.curriculum.pacing:quadratic")
PACING.lazy("root", "curriclip.curriculum.pacing:root")
PACING.lazy("step", "curriclip.curriculum.pacing:step_pacing")
PACING.lazy("exponential", "curriclip.curriculum.pacing:exponential")
PACING.lazy("logarithmic", "curriclip.curriculum.pacing:logarithmic")
PACING.lazy("fixed_exponential", "curriclip.curriculum.pacing:fixed_exponential")
PACING.lazy("varied_exponential", "curriclip.curriculum.pacing:varied_exponential")
PACING.lazy("single_step", "curriclip.curriculum.pacing:single_step")
PACING.lazy("competence_linear", "curriclip.curriculum.pacing:competence_linear")
PACING.lazy("competence_root", "curriclip.curriculum.pacing:competence_root")
PACING.lazy("baby_step", "curriclip.curriculum.pacing:baby_step")
PACING.lazy("geometric", "curriclip.curriculum.pacing:geometric")
