"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019).

``lambda_k(t) = K exp(w_k(t-1) / T) / sum_i exp(w_i(t-1) / T)`` with
``w_k(t-1) = L_k(t-1) / L_k(t-2)``, where ``L_k(t)`` is task k's loss averaged over
epoch t, and T = 2. While a task has fewer than two finished epochs (the first two
epochs, or after it joins the curriculum) its ratio is 1. K counts the active tasks.
The epoch averages are buffers, so they are checkpointed.
"""

from __future__ import annotations

import torch

from curriclip.weighting.base import Weighting


class DynamicWeightAverage(Weighting):
    name = "dwa"
    description = "dynamic weight average of the loss descent rates (Liu et al. 2019), T = 2"
    temperature = 2.0

    def __init__(self, tasks, steps_per_epoch: int = 1) -> None:
        super().__init__(tasks, steps_per_epoch)
        k = len(self.tasks)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("epoch_sum", torch.zeros(k, dtype=torch.float64))
        self.register_buffer("epoch_count", torch.zeros(k, dtype=torch.float64))
        self.register_buffer("history", torch.full((2, k), float("nan"), dtype=torch.float64))  # t-1, t-2

    def _close_epoch(self) -> None:
        mean = self.epoch_sum / self.epoch_count  # NaN where the task did not train
        self.history[1] = self.history[0]
        self.history[0] = mean
        self.epoch_sum.zero_()
        self.epoch_count.zero_()

    def lambdas(self, names: list[str]) -> torch.Tensor:
        idx = self.index(names)
        ratio = self.history[0, idx] / self.history[1, idx]
        ratio = torch.where(torch.isfinite(ratio), ratio, torch.ones_like(ratio))
        return len(names) * torch.softmax(ratio / self.temperature, dim=0)

    def backward(self, losses, weights, shared=(), generator=None) -> torch.Tensor:
        step = int(self.step)
        if step > 0 and step % self.steps_per_epoch == 0:
            self._close_epoch()
        names, scaled = self.scheduled(losses, weights)
        lam = self.lambdas(names).to(scaled)
        total = (lam * scaled).sum()
        total.backward()
        idx = self.index(names)
        self.epoch_sum[idx] += scaled.detach().to(self.epoch_sum)
        self.epoch_count[idx] += 1
        self.step += 1
        return total.detach()
