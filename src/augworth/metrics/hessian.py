"""Curvature of the training loss (paper C, claim C5): the Hessian's top eigenvalue by power
iteration and its trace by Hutchinson's estimator, with Hessian-vector products only.

Run in fp32, eval mode (BatchNorm running statistics), not compiled (double backward), on a
fixed sample of at least 4096 training images: estimates from small batches vary by an order of
magnitude.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.requires_grad]


def hvp(loss_fn: Callable[[], torch.Tensor], params: list[torch.Tensor], v: list[torch.Tensor]) -> list[torch.Tensor]:
    """Hessian-vector product H v of ``loss_fn()`` w.r.t. ``params`` (double backward)."""
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    dot = sum((g * vi).sum() for g, vi in zip(grads, v))
    return list(torch.autograd.grad(dot, params))


def _dot(a, b) -> torch.Tensor:
    return sum((x * y).sum() for x, y in zip(a, b))


def top_eigenvalue(model: nn.Module, loss_fn: Callable[[], torch.Tensor], iters: int = 100, tol: float = 1e-4,
                   seed: int = 0) -> tuple[float, list[float]]:
    """Largest-magnitude eigenvalue of the Hessian by power iteration; stops when the relative
    change falls below ``tol``. Returns (eigenvalue, its estimate per iteration)."""
    params = _params(model)
    gen = torch.Generator(device=params[0].device).manual_seed(seed)
    v = [torch.randn(p.shape, generator=gen, device=p.device, dtype=p.dtype) for p in params]
    norm = _dot(v, v).sqrt()
    v = [x / norm for x in v]
    history: list[float] = []
    for _ in range(iters):
        hv = hvp(loss_fn, params, v)
        lam = float(_dot(v, hv))
        history.append(lam)
        norm = _dot(hv, hv).sqrt()
        v = [x / norm for x in hv]
        if len(history) > 1 and abs(history[-1] - history[-2]) <= tol * abs(history[-1]):
            break
    return history[-1], history


def hutchinson_trace(model: nn.Module, loss_fn: Callable[[], torch.Tensor], probes: int = 100,
                     seed: int = 0) -> tuple[float, float]:
    """tr(H) = E[z^T H z] with Rademacher z: (estimate, its standard error)."""
    params = _params(model)
    gen = torch.Generator(device=params[0].device).manual_seed(seed)
    vals = []
    for _ in range(probes):
        z = [(torch.randint(0, 2, p.shape, generator=gen, device=p.device) * 2 - 1).to(p.dtype) for p in params]
        vals.append(float(_dot(z, hvp(loss_fn, params, z))))
    t = torch.tensor(vals, dtype=torch.float64)
    return float(t.mean()), float(t.std() / len(vals) ** 0.5) if len(vals) > 1 else float("nan")
