"""CAGrad, conflict-averse gradient descent (Liu, Liu, Jin, Stone & Liu, NeurIPS 2021).

With g_0 the average task gradient and c in [0, 1), find simplex weights w minimising
``g_w . g_0 + sqrt(phi) ||g_w||`` (g_w = sum_k w_k g_k, phi = c^2 ||g_0||^2), then update
along ``d = g_0 + sqrt(phi) / ||g_w|| * g_w``, rescaled by 1 / (1 + c^2) as in the
authors' code (rescale=1). c = 0.5 (the authors' default). The small simplex problem
is solved by projected gradient descent (no SciPy needed).
"""

from __future__ import annotations

import torch

from curriclip.weighting.base import Weighting, set_shared_gradient, task_gradients


def project_simplex(v: torch.Tensor) -> torch.Tensor:
    """Euclidean projection onto the probability simplex (Duchi et al. 2008)."""
    u, _ = torch.sort(v, descending=True)
    css = u.cumsum(0) - 1
    k = torch.arange(1, v.numel() + 1, dtype=v.dtype)
    rho = int((u - css / k > 0).nonzero().max())
    return (v - css[rho] / (rho + 1)).clamp_min(0)


def cagrad_weights(gg: torch.Tensor, c: float, iterations: int = 500) -> torch.Tensor:
    """argmin over the simplex of ``w' GG b + c ||g0|| sqrt(w' GG w)`` (b uniform)."""
    k = gg.shape[0]
    gg = gg.double()
    b = torch.full((k,), 1.0 / k, dtype=torch.float64)
    scale = c * float(gg.mean().clamp_min(0).sqrt())

    def objective(w: torch.Tensor) -> torch.Tensor:
        return w @ gg @ b + scale * torch.sqrt(w @ gg @ w + 1e-8)

    w = b.clone()
    step = 1.0 / float(gg.abs().sum().clamp_min(1e-12))
    for _ in range(iterations):
        w_ = w.clone().requires_grad_(True)
        value = objective(w_)
        (grad,) = torch.autograd.grad(value, w_)
        lr = step
        while True:  # backtracking line search keeps each step a descent step
            candidate = project_simplex(w - lr * grad)
            if objective(candidate) <= value.detach() + 1e-15 or lr < 1e-12:
                break
            lr *= 0.5
        if torch.allclose(candidate, w, atol=1e-12):
            break
        w = candidate
        step = lr * 2
    return w


def cagrad(grads: torch.Tensor, c: float = 0.5) -> torch.Tensor:
    """The CAGrad update of a (K, P) matrix of task gradients."""
    gg = grads @ grads.T
    w = cagrad_weights(gg, c).to(grads)
    g0 = grads.mean(dim=0)
    gw = w @ grads
    g0_norm = g0.norm()
    lam = c * g0_norm / (gw.norm() + 1e-8)
    return (g0 + lam * gw) / (1 + c**2)


class CAGrad(Weighting):
    name = "cagrad"
    description = "conflict-averse gradient descent (Liu et al. 2021), c = 0.5"
    c = 0.5

    def backward(self, losses, weights, shared=(), generator=None) -> torch.Tensor:
        names, scaled = self.scheduled(losses, weights)
        total = scaled.sum()
        if len(names) == 1 or not shared:
            total.backward()
            return total.detach()
        grads = task_gradients(scaled, shared)
        set_shared_gradient(shared, cagrad(grads, self.c))
        return total.detach()
