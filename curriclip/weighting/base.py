"""The weighting interface: how the active tasks' losses become one gradient (LibMTL's shape).

A strategy is an ``nn.Module`` constructed once per trial with the trial's task names::

    weighting = WEIGHTINGS.get(name)(tasks, steps_per_epoch=...)
    total = weighting.backward(losses, weights, shared=shared_params, generator=g)

``losses`` maps each *active* task to its scalar loss and ``weights`` to its schedule
weight (the curriculum's); strategies act on the scheduled losses ``weights[k] * losses[k]``.
``backward`` fills ``.grad`` of every parameter and returns the objective it optimised
(detached, for logging). ``shared`` are the parameters every task shares (the CLIP towers):
gradient-manipulating strategies (GradNorm, PCGrad, CAGrad) take per-task gradients on
them. Learnable parameters (uncertainty log-variances, GradNorm weights) and running
statistics (DWA's loss history) live in the module, which ``MultiTaskModel`` owns: they
join the optimizer and the checkpoint with the rest of the model, so a resumed trial
continues exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Weighting(nn.Module):
    name: str = ""
    description: str = ""

    def __init__(self, tasks: Sequence[str], steps_per_epoch: int = 1) -> None:
        super().__init__()
        self.tasks = tuple(tasks)
        self.steps_per_epoch = int(steps_per_epoch)

    def index(self, names: Sequence[str]) -> torch.Tensor:
        """Positions of ``names`` among the trial's tasks (for per-task parameters and buffers)."""
        return torch.tensor([self.tasks.index(n) for n in names], dtype=torch.long)

    @staticmethod
    def scheduled(losses: dict[str, torch.Tensor], weights: dict[str, float]) -> tuple[list[str], torch.Tensor]:
        """(names, stacked scheduled losses) in the order of ``losses``."""
        names = list(losses)
        return names, torch.stack([weights[n] * losses[n] for n in names])

    def backward(
        self,
        losses: dict[str, torch.Tensor],
        weights: dict[str, float],
        shared: Sequence[torch.Tensor] = (),
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        raise NotImplementedError


def task_gradients(
    losses: torch.Tensor, shared: Sequence[torch.Tensor], scales: torch.Tensor | None = None
) -> torch.Tensor:
    """(K, P) matrix of each task's gradient on the shared parameters, flattened.

    One backward pass per task (LibMTL's ``_compute_grad``): the shared parameters' grads
    are read and cleared after each, while task-specific parameters (heads) keep
    accumulating their own task's gradient (times ``scales`` when given).
    """
    rows = []
    k = losses.shape[0]
    for i in range(k):
        loss = losses[i] if scales is None else scales[i] * losses[i]
        loss.backward(retain_graph=i < k - 1)
        parts = []
        for p in shared:
            if p.grad is None:
                parts.append(torch.zeros(p.numel(), dtype=p.dtype, device=p.device))
            else:
                parts.append(p.grad.reshape(-1).clone())
                p.grad = None
        rows.append(torch.cat(parts))
    return torch.stack(rows)


def set_shared_gradient(shared: Sequence[torch.Tensor], flat: torch.Tensor) -> None:
    """Write one flat gradient vector into the shared parameters' ``.grad``."""
    offset = 0
    for p in shared:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n
