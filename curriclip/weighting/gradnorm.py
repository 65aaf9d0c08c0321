"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018).

Learnable task weights w_k (initially 1). Each step, with G_k = ||grad_W w_k L_k|| on the
shared parameters W, G_bar their mean, L~_k = L_k(t) / L_k(0) and r_k = L~_k / mean(L~):

    L_grad = sum_k | G_k - G_bar * r_k^alpha |      (target term held constant)

w receives grad_w L_grad only, the network receives grad of sum_k w_k L_k, and after each
update the weights are renormalised to sum to the number of (active) tasks (done at the
start of the next step, before they are used). L_k(0) is the task's first loss (when it
joins). W is every shared parameter (LibMTL's choice; the paper suggests the last shared
layer, which does not exist when image-only and text-only tasks train together).
"""

from __future__ import annotations

import torch
from torch import nn

from curriclip.weighting.base import Weighting, set_shared_gradient, task_gradients


class GradNorm(Weighting):
    name = "gradnorm"
    description = "gradient normalisation of learnable task weights (Chen et al. 2018), alpha = 1.5"
    alpha = 1.5

    def __init__(self, tasks, steps_per_epoch: int = 1) -> None:
        super().__init__(tasks, steps_per_epoch)
        self.task_weights = nn.Parameter(torch.ones(len(self.tasks)))
        self.register_buffer("initial_loss", torch.full((len(self.tasks),), float("nan")))

    def backward(self, losses, weights, shared=(), generator=None) -> torch.Tensor:
        names, scaled = self.scheduled(losses, weights)
        idx = self.index(names).to(self.task_weights.device)
        with torch.no_grad():
            w_active = self.task_weights[idx]
            self.task_weights[idx] = w_active * len(names) / w_active.sum()
            first = torch.isnan(self.initial_loss[idx])
            self.initial_loss[idx] = torch.where(first, scaled.detach().to(self.initial_loss), self.initial_loss[idx])
        w = self.task_weights[idx]
        total = (w.detach() * scaled).sum()
        if len(names) == 1 or not shared:
            total.backward()
            return total.detach()
        grads = task_gradients(scaled, shared, scales=w.detach())  # rows: w_k grad L_k
        norms = grads.norm(dim=1)
        g = w * (norms / w.detach())  # G_k, differentiable in w_k
        ratio = scaled.detach() / self.initial_loss[idx].to(scaled)
        r = ratio / ratio.mean()
        target = (g.mean() * r**self.alpha).detach()
        l_grad = (g - target).abs().sum()
        (grad_w,) = torch.autograd.grad(l_grad, w)
        full = torch.zeros_like(self.task_weights)
        full[idx] = grad_w
        self.task_weights.grad = full
        set_shared_gradient(shared, grads.sum(dim=0))
        return total.detach()
