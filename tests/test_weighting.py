"""Loss-weighting strategies against hand-computed examples of their papers' formulas."""

from __future__ import annotations

import math

import pytest
import torch

from curriclip.weighting import WEIGHTINGS
from curriclip.weighting.cagrad import cagrad, project_simplex
from curriclip.weighting.pcgrad import pcgrad

ONES = {"a": 1.0, "b": 1.0}


def linear_losses(theta: torch.Tensor, rows: list[list[float]], offsets=(0.0, 0.0)) -> dict[str, torch.Tensor]:
    """Task losses L_k = a_k . theta + c_k, so grad L_k = a_k exactly."""
    return {name: torch.tensor(row, dtype=theta.dtype) @ theta + c for name, row, c in zip("ab", rows, offsets)}


def test_registry_lists_every_strategy():
    assert set(WEIGHTINGS.names()) >= {"equal", "uncertainty", "dwa", "gradnorm", "pcgrad", "cagrad"}


def test_equal_is_the_scheduled_sum():
    theta = torch.tensor([1.0, 1.0], requires_grad=True)
    total = WEIGHTINGS.get("equal")(["a", "b"]).backward(linear_losses(theta, [[2, 0], [1, 1]]), {"a": 1.0, "b": 0.5})
    assert float(total) == pytest.approx(2 + 0.5 * 2)
    assert theta.grad.tolist() == pytest.approx([2.5, 0.5])


def test_uncertainty_weighting_kendall():
    w = WEIGHTINGS.get("uncertainty")(["a", "b"])
    with torch.no_grad():
        w.log_var.copy_(torch.tensor([0.0, math.log(2.0)]))
    losses = {"a": torch.tensor(2.0, requires_grad=True), "b": torch.tensor(3.0, requires_grad=True)}
    total = w.backward(losses, ONES)
    # 0.5 e^{-s} L + 0.5 s:  0.5*2 + 0 + 0.5*0.5*3 + 0.5*ln 2
    assert float(total) == pytest.approx(1.0 + 0.75 + 0.5 * math.log(2))
    # d/ds = -0.5 e^{-s} L + 0.5
    assert w.log_var.grad.tolist() == pytest.approx([-0.5, -0.25])
    assert float(losses["a"].grad) == pytest.approx(0.5) and float(losses["b"].grad) == pytest.approx(0.25)
    assert [n for n, _ in w.named_parameters()] == ["log_var"]  # optimised with the model


def test_dwa_uses_the_previous_two_epochs_loss_ratio():
    w = WEIGHTINGS.get("dwa")(["a", "b"], steps_per_epoch=1)
    for a, b in [(1.0, 2.0), (0.5, 2.0)]:  # epochs 1 and 2: ratios unknown -> lambda = 1
        total = w.backward({"a": torch.tensor(a, requires_grad=True), "b": torch.tensor(b, requires_grad=True)}, ONES)
        assert float(total) == pytest.approx(a + b)
    losses = {"a": torch.tensor(1.0, requires_grad=True), "b": torch.tensor(1.0, requires_grad=True)}
    w.backward(losses, ONES)
    r = torch.tensor([0.5 / 1.0, 2.0 / 2.0])  # w_k(t-1) = L_k(t-1) / L_k(t-2)
    lam = 2 * torch.exp(r / 2) / torch.exp(r / 2).sum()  # K exp(w/T) / sum exp(w/T), T = 2
    assert [float(losses["a"].grad), float(losses["b"].grad)] == pytest.approx(lam.tolist())
    assert lam.tolist() == pytest.approx([0.87564, 1.12436], abs=1e-5)
    state = w.state_dict()  # the history is checkpointed
    assert state["history"][0].tolist() == pytest.approx([0.5, 2.0]) and int(state["step"]) == 3


def test_gradnorm_weight_gradient_and_renormalisation():
    w = WEIGHTINGS.get("gradnorm")(["a", "b"])
    with torch.no_grad():
        w.initial_loss.copy_(torch.tensor([4.0, 1.0]))
    theta = torch.tensor([1.0, 1.0], requires_grad=True)
    losses = linear_losses(theta, [[2, 0], [1, 1]])  # L = (2, 2), grads (2, 0) and (1, 1)
    total = w.backward(losses, ONES, shared=[theta])
    # G = (2, sqrt 2); L~ = (0.5, 2), r = (0.4, 1.6); target_k = mean(G) r_k^1.5 = (0.432, 3.455)
    # dL_grad/dw_k = sign(G_k - target_k) * ||grad L_k|| = (+2, -sqrt 2)
    assert w.task_weights.grad.tolist() == pytest.approx([2.0, -math.sqrt(2)])
    assert theta.grad.tolist() == pytest.approx([3.0, 1.0])  # sum_k w_k grad L_k with w = 1
    assert float(total) == pytest.approx(4.0)
    with torch.no_grad():
        w.task_weights.copy_(torch.tensor([3.0, 1.0]))  # after an optimizer step: renormalised to sum K = 2
    theta.grad = None
    w.backward(linear_losses(theta, [[2, 0], [1, 1]]), ONES, shared=[theta])
    assert w.task_weights.detach().tolist() == pytest.approx([1.5, 0.5])
    assert theta.grad.tolist() == pytest.approx([1.5 * 2 + 0.5 * 1, 0.5 * 1])


def test_pcgrad_projects_conflicting_gradients():
    # g1 . g2 = -1 < 0: g1' = g1 - (-1/2) g2 = (0.5, 0.5); g2' = g2 - (-1/1) g1 = (0, 1)
    assert pcgrad(torch.tensor([[1.0, 0.0], [-1.0, 1.0]])).tolist() == pytest.approx([0.5, 1.5])
    # no conflict: plain sum
    assert pcgrad(torch.tensor([[1.0, 0.0], [1.0, 1.0]])).tolist() == pytest.approx([2.0, 1.0])
    theta = torch.tensor([1.0, 1.0], requires_grad=True)
    head = torch.tensor(1.0, requires_grad=True)  # task-specific: keeps its own gradient
    losses = linear_losses(theta, [[1, 0], [-1, 1]])
    losses["a"] = losses["a"] + 3 * head
    WEIGHTINGS.get("pcgrad")(["a", "b"]).backward(losses, ONES, shared=[theta], generator=torch.Generator())
    assert theta.grad.tolist() == pytest.approx([0.5, 1.5])
    assert float(head.grad) == pytest.approx(3.0)


def test_cagrad_hand_example():
    # g1 = (1, 0), g2 = (0, 2), c = 0.5: GG = diag(1, 4), ||g0|| = sqrt(mean GG) = sqrt(1.25).
    # min over w on the simplex of w.GG.b + c ||g0|| ||g_w||: f'(x) < 0 on [0, 1] -> w = (1, 0), g_w = (1, 0).
    # d = g0 + c ||g0|| / ||g_w|| g_w = (0.5 + 0.5 sqrt 1.25, 1); rescaled by 1 / (1 + c^2).
    grads = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    expected = [(0.5 + 0.5 * math.sqrt(1.25)) / 1.25, 1.0 / 1.25]
    assert cagrad(grads, 0.5).tolist() == pytest.approx(expected, abs=1e-5)
    # symmetric orthogonal gradients: w = (1/2, 1/2), d = (1 + c) g0 / (1 + c^2)
    assert cagrad(torch.eye(2), 0.5).tolist() == pytest.approx([0.6, 0.6], abs=1e-5)
    assert project_simplex(torch.tensor([2.0, 0.0, -1.0])).tolist() == pytest.approx([1.0, 0.0, 0.0])
    theta = torch.tensor([1.0, 1.0], requires_grad=True)
    WEIGHTINGS.get("cagrad")(["a", "b"]).backward(linear_losses(theta, [[1, 0], [0, 2]]), ONES, shared=[theta])
    assert theta.grad.tolist() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("name", ["equal", "uncertainty", "dwa", "gradnorm", "pcgrad", "cagrad"])
def test_single_active_task_is_plain_backward(name):
    theta = torch.tensor([1.0, 2.0], requires_grad=True)
    w = WEIGHTINGS.get(name)(["a", "b"])
    w.backward({"b": torch.tensor([3.0, 1.0]) @ theta}, {"b": 1.0}, shared=[theta])
    scale = 0.5 if name == "uncertainty" else 1.0  # 0.5 e^0
    assert theta.grad.tolist() == pytest.approx([3.0 * scale, 1.0 * scale])


def test_every_task_weighting_and_model_option_is_searchable(tmp_path):
    import optuna

    from curriclip.config import TrialConfig, parse_experiment
    from curriclip.spaces import CurriculumSpace
    from curriclip.tasks import TASKS

    aux = [n for n in TASKS.names() if n != "itc"]
    exp = parse_experiment(
        {
            "model": "tiny-wordpiece",
            "model_options": {"image_channels": "stem"},
            "space": {"tasks": aux, "weighting": list(WEIGHTINGS.names()), "label_policy": ["ignore", "zeros", "ones"]},
        }
    )
    space = CurriculumSpace(exp, str(tmp_path))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        cfg = TrialConfig.model_validate(space(trial)["trial"])
        assert sorted(cfg.tasks) == sorted(["itc", *aux]) and cfg.model_options.image_channels == "stem"
        assert cfg.model == "tiny-wordpiece"
        seen.add((cfg.weighting, cfg.label_policy))
        study.tell(trial, 0.0)
    assert {w for w, _ in seen} == set(WEIGHTINGS.names()) and {p for _, p in seen} == {"ignore", "zeros", "ones"}
