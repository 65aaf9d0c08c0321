"""Planned looks: Lan-DeMets alpha spending, group-sequential boundaries and Holm across looks.

Adding confirm seeds after seeing an "inconclusive" and testing again at alpha is optional
stopping: each extra look is another chance of a false call. A group-sequential design
declares its looks (seed counts n_1 < ... < n_L) and how the error rate is spent over them
before the run. Look j has information fraction t_j = n_j / n_L and may spend alpha(t_j)
in all, so the chance of any false call over every look stays alpha.

Spending functions are two-sided and symmetric: each side spends half. The
O'Brien-Fleming type (Lan & DeMets 1983) spends almost nothing early,
``alpha(t) = 2 * 2 * (1 - Phi(z_{1 - alpha/4} / sqrt(t)))`` in all (``gsDesign``'s ``sfLDOF``
on each side), so the last look keeps nearly the whole alpha; the Pocock type spends evenly,
``alpha * log(1 + (e - 1) t)``.

Boundaries are computed on the z scale by the standard recursive numerical integration
(Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000, ch. 19): the density of the
standardised statistic among paths still inside the continuation region is carried from look
to look on a grid (Simpson's rule), and each boundary is the root (``scipy.optimize.brentq``)
that makes the chance of crossing first at that look equal to the alpha that look may spend.
The confirm phase's statistic is a paired t with few degrees of freedom, so each z boundary
c_j becomes a nominal two-sided level ``2 (1 - Phi(c_j))`` and the look's t-test rejects when
its p-value is below that level (the significance-level approach, Jennison & Turnbull ch. 3.8):
its size at each look is exact, and a simulation test checks the error over all looks.

Several comparisons form one family: Holm's step-down runs at every look with each step's
share of alpha (alpha / m', alpha / (m' - 1), ...) spent over the looks, where m' counts the
family's hypotheses not rejected at an earlier look (the graphical approach of Maurer & Bretz
2013 with Holm's graph: a rejected hypothesis passes its alpha on to the others).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

#: Grid points per unit of z in the recursive integration (odd point counts for Simpson's rule).
_GRID_PER_UNIT = 200


def obrien_fleming(t: float, alpha: float) -> float:
    """Two-sided alpha spent by information fraction ``t``: Lan-DeMets O'Brien-Fleming type (alpha/2 per side)."""
    if t <= 0:
        return 0.0
    side = alpha / 2
    return 2 * 2 * float(stats.norm.sf(stats.norm.isf(side / 2) / math.sqrt(min(t, 1.0))))


def pocock(t: float, alpha: float) -> float:
    """Two-sided alpha spent by information fraction ``t``: Lan-DeMets Pocock type."""
    if t <= 0:
        return 0.0
    return alpha * math.log(1 + (math.e - 1) * min(t, 1.0))


#: Spending functions by name (``protocol.alpha_spending``).
SPENDING: dict[str, Callable[[float, float], float]] = {"obrien_fleming": obrien_fleming, "pocock": pocock}


def _simpson_weights(n: int, step: float) -> np.ndarray:
    weights = np.ones(n)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return weights * step / 3.0


def _grid(bound: float) -> tuple[np.ndarray, np.ndarray]:
    n = int(2 * bound * _GRID_PER_UNIT) | 1  # odd
    z = np.linspace(-bound, bound, n)
    return z, _simpson_weights(n, z[1] - z[0])


@lru_cache(maxsize=512)
def z_boundaries(fractions: tuple[float, ...], alpha: float, spending: str = "obrien_fleming") -> tuple[float, ...]:
    """Two-sided z boundaries c_1..c_L at information ``fractions`` (increasing, last 1) for overall ``alpha``.

    The standardised statistic Z_j has independent increments on the score scale, so
    corr(Z_i, Z_j) = sqrt(t_i / t_j); H0 is rejected at the first look with |Z_j| >= c_j.
    """
    spend = SPENDING[spending]
    cumulative = [spend(t, alpha) for t in fractions]
    bounds: list[float] = []
    region = None  # (grid, Simpson weights, sub-density) of Z at the previous look inside its continuation region
    previous_t = 0.0
    for t, spent_by_now, spent_before in zip(fractions, cumulative, [0.0, *cumulative[:-1]]):
        target = spent_by_now - spent_before
        if region is None:
            c = float(stats.norm.isf(target / 2)) if target > 0 else math.inf
        elif target > 0:
            args = (region, previous_t, t, target)
            c = float(optimize.brentq(_excess_crossing, 0.0, 40.0, args=args, xtol=1e-10))
        else:
            c = 40.0
        bounds.append(c)
        region = _continue(region, previous_t, t, c)
        previous_t = t
    return tuple(bounds)


def _excess_crossing(c: float, region: tuple, previous_t: float, t: float, target: float) -> float:
    """P(the path is inside at the previous look and |Z| >= c at fraction t), minus the alpha this look spends."""
    grid, weights, density = region
    shift, scale = grid * math.sqrt(previous_t), math.sqrt(t - previous_t)
    upper = stats.norm.sf((c * math.sqrt(t) - shift) / scale)
    lower = stats.norm.cdf((-c * math.sqrt(t) - shift) / scale)
    return float(np.sum(weights * density * (upper + lower))) - target


def _continue(region: tuple | None, previous_t: float, t: float, c: float) -> tuple:
    """The sub-density of Z at fraction t on (-c, c) among paths that have not crossed: the next look's start."""
    grid, weights = _grid(min(c, 12.0))
    if region is None:
        return grid, weights, stats.norm.pdf(grid)
    old_grid, old_weights, old_density = region
    scale = math.sqrt(t - previous_t)
    kernel = stats.norm.pdf((grid[:, None] * math.sqrt(t) - old_grid[None, :] * math.sqrt(previous_t)) / scale)
    return grid, weights, (kernel * (old_weights * old_density)[None, :]).sum(axis=1) * math.sqrt(t) / scale


def information_fractions(looks: Sequence[int]) -> tuple[float, ...]:
    """t_j = n_j / n_L for planned looks of n_1 < ... < n_L seeds."""
    last = float(looks[-1])
    return tuple(float(n) / last for n in looks)


def nominal_levels(looks: Sequence[int], alpha: float, spending: str = "obrien_fleming") -> tuple[float, ...]:
    """Per look, the two-sided level its test is run at: 2 (1 - Phi(c_j)); one look: exactly ``alpha``."""
    return _nominal_levels(tuple(int(n) for n in looks), round(float(alpha), 15), spending)


@lru_cache(maxsize=512)
def _nominal_levels(looks: tuple[int, ...], alpha: float, spending: str) -> tuple[float, ...]:
    if len(looks) == 1:
        return (alpha,)
    bounds = z_boundaries(information_fractions(looks), alpha, spending)
    return tuple(float(2 * stats.norm.sf(c)) for c in bounds)


def alpha_spent(looks: Sequence[int], alpha: float, spending: str = "obrien_fleming") -> tuple[float, ...]:
    """Cumulative alpha the plan may have spent by each look."""
    return tuple(SPENDING[spending](t, alpha) for t in information_fractions(looks))


def sequential_holm(
    pvalues: Sequence[float],
    look: int,
    looks: Sequence[int],
    alpha: float,
    spending: str = "obrien_fleming",
    held: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Holm's step-down at look ``look`` (0-based) of ``looks``: (rejected, level each hypothesis is judged at).

    ``pvalues`` are this look's p-values of the hypotheses tested now; NaN (untestable) is
    never rejected and does not count. ``held``: hypotheses of the family neither rejected
    earlier nor tested now (e.g. declared equivalent at an earlier look), which keep their
    share of alpha. Sorted by p, the hypothesis at rank i (1-based) is judged at this look's
    nominal level for overall alpha / (m' - i + 1), m' = testable + held; rejections stop at
    the first rank that fails, and every later rank gets that rank's level, so a (1 - level)
    interval excludes zero exactly for the rejected ones. With one look this is Holm.
    """
    raw = np.asarray(pvalues, dtype=float)
    rejected = np.zeros(raw.shape, dtype=bool)
    levels = np.full(raw.shape, np.nan)
    testable = np.flatnonzero(~np.isnan(raw))
    if testable.size == 0:
        return rejected, levels
    order = testable[np.argsort(raw[testable], kind="stable")]
    m = order.size + held
    steps = np.array([nominal_levels(looks, alpha / (m - rank), spending)[look] for rank in range(order.size)])
    passed = raw[order] < steps
    stop = int(np.argmin(passed)) if not passed.all() else order.size
    rejected[order[:stop]] = True
    if stop < order.size:
        steps[stop:] = steps[stop]
    levels[order] = steps
    return rejected, levels
