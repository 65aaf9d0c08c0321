"""Loss-weighting strategies: how the active tasks' losses become one gradient.

Each strategy is a small ``nn.Module`` with ``backward(losses, weights, shared, generator)``
(the LibMTL shape; see ``base``) in its own module, registered here by one line and
searchable like any other name. This catalog imports no torch.
"""

from __future__ import annotations

from typing import Any

from curriclip.registry import Registry

#: name -> Weighting subclass (instantiated per trial with the task list)
WEIGHTINGS = Registry("weighting", "weightings")
WEIGHTINGS.lazy("equal", "curriclip.weighting.equal:EqualWeighting")
WEIGHTINGS.lazy("uncertainty", "curriclip.weighting.uncertainty:UncertaintyWeighting")
WEIGHTINGS.lazy("dwa", "curriclip.weighting.dwa:DynamicWeightAverage")
WEIGHTINGS.lazy("gradnorm", "curriclip.weighting.gradnorm:GradNorm")
WEIGHTINGS.lazy("pcgrad", "curriclip.weighting.pcgrad:PCGrad")
WEIGHTINGS.lazy("cagrad", "curriclip.weighting.cagrad:CAGrad")


def get(name: str) -> Any:
    """The ``Weighting`` subclass registered as ``name``."""
    return WEIGHTINGS.get(name)


__all__ = ["WEIGHTINGS", "get"]
