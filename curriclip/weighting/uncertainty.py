"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

Each task k has a learnable log-variance s_k = log sigma_k^2; the objective is
``sum_k 0.5 * exp(-s_k) * L_k + 0.5 * s_k`` (the paper's 1/(2 sigma^2) L + log sigma, in
the numerically stable log-variance form LibMTL uses). The s_k train with the model.
"""

from __future__ import annotations

import torch
from torch import nn

from curriclip.weighting.base import Weighting


class UncertaintyWeighting(Weighting):
    name = "uncertainty"
    description = "learned homoscedastic-uncertainty weights (Kendall et al. 2018)"

    def __init__(self, tasks, steps_per_epoch: int = 1) -> None:
        super().__init__(tasks, steps_per_epoch)
        self.log_var = nn.Parameter(torch.zeros(len(self.tasks)))

    def backward(self, losses, weights, shared=(), generator=None) -> torch.Tensor:
        names, scaled = self.scheduled(losses, weights)
        s = self.log_var[self.index(names).to(self.log_var.device)]
        total = (0.5 * torch.exp(-s) * scaled + 0.5 * s).sum()
        total.backward()
        return total.detach()
