"""Equal weighting: the sum of the scheduled task losses."""

from __future__ import annotations

import torch

from curriclip.weighting.base import Weighting


class EqualWeighting(Weighting):
    name = "equal"
    description = "sum of the schedule-weighted task losses"

    def backward(self, losses, weights, shared=(), generator=None) -> torch.Tensor:
        _, scaled = self.scheduled(losses, weights)
        total = scaled.sum()
        total.backward()
        return total.detach()
