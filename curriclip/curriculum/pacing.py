"""Pacing functions: the fraction of the (difficulty-sorted) training pool a step may draw from.

Each entry is a pure function ``fraction = f(step, total_steps, **params)`` with values
in (0, 1], non-decreasing in ``step`` and reaching 1. The Wu et al. 2021 family
("When Do Curricula Work?", ICLR 2021, Table 1) is written exactly as in the paper,
divided by N: ``a`` is the fraction of training after which all data is used, ``b``
the starting fraction. Each function also declares its parameters' default values and
search ranges, so a search space can be generated from the registry alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from curriclip.registry import new_registry


@dataclass(frozen=True)
class ParamRange:
    """Default value and search range of one pacing parameter."""

    default: float
    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class PacingFunction:
    name: str
    fn: Callable[..., float]
    params: dict[str, ParamRange] = field(default_factory=dict)

    def __call__(self, step: int, total_steps: int, **params: float) -> float:
        unknown = set(params) - set(self.params)
        if unknown:
            raise TypeError(f"pacing {self.name!r} has no parameter(s) {sorted(unknown)}")
        full = {k: params.get(k, r.default) for k, r in self.params.items()}
        return self.fn(step, total_steps, **full)


PACING = new_registry("pacing function", "pacing")

_A = ParamRange(default=0.5, low=0.1, high=0.9)
_B = ParamRange(default=0.2, low=0.05, high=0.6)


def register(name: str, **params: ParamRange) -> Callable[[Callable[..., float]], Callable[..., float]]:
    def add(fn: Callable[..., float]) -> Callable[..., float]:
        PACING.add(name, PacingFunction(name, fn, params))
        return fn

    return add


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


@register("none")
def no_pacing(step: int, total_steps: int) -> float:
    """All data from the first step: the control without pacing."""
    return 1.0


@register("linear", a=_A, b=_B)
def linear(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(aT) * t."""
    return _clip(b + (1 - b) * _progress(step, total_steps, a), b)


@register("quadratic", a=_A, b=_B)
def quadratic(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(aT)^2 * t^2."""
    return _clip(b + (1 - b) * _progress(step, total_steps, a) ** 2, b)


@register("root", a=_A, b=_B)
def root(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(aT)^(1/2) * t^(1/2)."""
    return _clip(b + (1 - b) * math.sqrt(_progress(step, total_steps, a)), b)


@register("step", a=_A, b=_B)
def step_pacing(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N * floor(t / (aT)): the starting fraction until aT, then everything."""
    return _clip(b + math.floor(_progress(step, total_steps, a)), b)


@register("exponential", a=_A, b=_B)
def exponential(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b)/(e^10 - 1) * (e^(10 t/(aT)) - 1)."""
    x = min(_progress(step, total_steps, a), 1.0)  # beyond aT the value is clipped to 1 anyway
    return _clip(b + (1 - b) * math.expm1(10 * x) / math.expm1(10), b)


@register("logarithmic", a=_A, b=_B)
def logarithmic(step: int, total_steps: int, a: float, b: float) -> float:
    """Nb + N(1-b) * (1 + 0.1 * log(t/(aT) + e^-10))."""
    x = _progress(step, total_steps, a)
    return _clip(b + (1 - b) * (1 + 0.1 * math.log(x + math.exp(-10))), b)
