"""Per-sample gradients with respect to a model's parameters (torch.func, no Python loop)."""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def per_sample_grads(model: nn.Module, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                     x: torch.Tensor, y: torch.Tensor, chunk: int = 128) -> torch.Tensor:
    """(n, P) flattened gradients of loss(model(x_i), y_i) w.r.t. the trainable parameters.
    The model should be in eval mode (BatchNorm with running statistics)."""
    from torch.func import functional_call, grad, vmap

    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = dict(model.named_buffers())

    def one(p, xi, yi):
        out = functional_call(model, (p, buffers), (xi[None],))
        return loss(out, yi[None]).sum()

    g = vmap(grad(one), in_dims=(None, 0, 0))
    out = []
    for i in range(0, len(x), chunk):
        gi = g(params, x[i : i + chunk], y[i : i + chunk])
        out.append(torch.cat([gi[k].reshape(len(gi[k]), -1) for k in params], dim=1))
    return torch.cat(out)
