"""PCGrad, gradient surgery (Yu, Kumar, Gupta, Levine, Hausman & Finn, NeurIPS 2020).

For each task i, its shared gradient g_i is projected, against every other task j in a
random order, onto the normal plane of g_j whenever they conflict (g_i . g_j < 0):
``g_i <- g_i - (g_i . g_j) / ||g_j||^2 g_j``. The projected gradients are summed.
Task-specific parameters keep their own task's gradient.
"""

from __future__ import annotations

import torch

from curriclip.weighting.base import Weighting, set_shared_gradient, task_gradients


def pcgrad(grads: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The summed PCGrad update of a (K, P) matrix of task gradients."""
    k = grads.shape[0]
    out = torch.zeros_like(grads[0])
    for i in range(k):
        g = grads[i].clone()
        for j in torch.randperm(k, generator=generator).tolist():
            if j == i:
                continue
            dot = g @ grads[j]
            if dot < 0:
                g = g - dot / grads[j].pow(2).sum().clamp_min(1e-20) * grads[j]
        out += g
    return out


class PCGrad(Weighting):
    name = "pcgrad"
    description = "project conflicting task gradients (Yu et al. 2020)"

    def backward(self, losses, weights, shared=(), generator=None) -> torch.Tensor:
        names, scaled = self.scheduled(losses, weights)
        total = scaled.sum()
        if len(names) == 1 or not shared:
            total.backward()
            return total.detach()
        grads = task_gradients(scaled, shared)
        set_shared_gradient(shared, pcgrad(grads, generator))
        return total.detach()
