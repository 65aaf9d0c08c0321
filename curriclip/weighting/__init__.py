"""Loss-weighting strategies: how the active tasks' losses become one gradient.

Each strategy is a small object with ``backward(losses, weights)`` (the LibMTL shape),
so gradient-manipulating methods (PCGrad, CAGrad, ...) fit the same slot later.
"""

from __future__ import annotations

import torch

from curriclip.registry import new_registry

WEIGHTINGS = new_registry("weighting", "weightings")


class EqualWeighting:
    """Sum of the schedule-weighted task losses."""

    name = "equal"

    def backward(self, losses: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
        total = sum(weights[name] * loss for name, loss in losses.items())
        total.backward()
        return total.detach()


WEIGHTINGS.add("equal", EqualWeighting)


def get(name: str) -> type:
    return WEIGHTINGS.get(name)
