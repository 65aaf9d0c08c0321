"""Loss-weighting strategies: how the active tasks' losses become one gradient.

Each strategy is a small ``nn.Module`` with ``backward(losses, weights, shared, generator)``
(the LibMTL shape; see ``base``), registered by name and searchable like any other name.
"""

from __future__ import annotations

from curriclip.registry import new_registry
from curriclip.weighting.base import Weighting, set_shared_gradient, task_gradients
from curriclip.weighting.cagrad import CAGrad
from curriclip.weighting.dwa import DynamicWeightAverage
from curriclip.weighting.equal import EqualWeighting
from curriclip.weighting.gradnorm import GradNorm
from curriclip.weighting.pcgrad import PCGrad
from curriclip.weighting.uncertainty import UncertaintyWeighting

WEIGHTINGS = new_registry("weighting", "weightings")
for _cls in (EqualWeighting, UncertaintyWeighting, DynamicWeightAverage, GradNorm, PCGrad, CAGrad):
    WEIGHTINGS.add(_cls.name, _cls)


def get(name: str) -> type[Weighting]:
    return WEIGHTINGS.get(name)


__all__ = ["WEIGHTINGS", "Weighting", "get", "set_shared_gradient", "task_gradients"]
