"""Moments of a loss (or any scalar output) under augmentation (paper A, A2), and their Monte
Carlo estimates.

- :func:`linear_sq_loss_moments`: exact mean and variance of L = ||y - W x~ - b||^2 for a linear
  model when x~ is a mixture of views plus Gaussian noise (any linear pipeline).
- :func:`atom_moments`: exact (discrete families) or quadrature mean and variance of any
  function f(x~) over a pipeline's views, when the pipeline has no noise.
- :func:`delta_moments`: second-order (delta-method) mean f(mu) + 1/2 tr(H Sigma) and variance
  g^T Sigma g for any twice-differentiable f, with Hessian-vector products only (no dense Hessian).
- :func:`monte_carlo`: per-draw values of f on augmented samples, for estimates with standard
  errors and for error-versus-N curves.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..augment import AugMoments, Pipeline


def linear_sq_loss_moments(W: torch.Tensor, b: torch.Tensor, y: torch.Tensor, m: AugMoments
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact E[L] and Var[L] per image (B,) for L = ||y - W x~ - b||^2.

    E[L] = ||y - W mu - b||^2 + tr(W Sigma W^T). For the variance, each view k with Gaussian
    noise n ~ N(0, s^2 I) gives r_k = y - W v_k - b and L = ||r_k - W n||^2 with
    E_k = ||r_k||^2 + s^2 ||W||_F^2 and Var_k = 4 s^2 ||W^T r_k||^2 + 2 s^4 ||W W^T||_F^2; the
    mixture's variance is sum_k w_k Var_k + sum_k w_k (E_k - E)^2.

    The mean is exact for any moments. The variance (degree 4 in the augmentation's parameters)
    is exact when the views resolve them: discrete families, or moments computed with
    ``functions=True`` and at least 3 nodes for brightness/contrast; quadrature otherwise.
    """
    W, b, y = W.to(m.mean.dtype), b.to(m.mean.dtype), y.to(m.mean.dtype)
    s2 = m.noise_var
    resid = y - m.mean @ W.T - b                                   # (B, c)
    tr_wsw = (m.factor @ W.T).pow(2).sum(dim=(1, 2)) + s2 * W.pow(2).sum()
    mean = resid.pow(2).sum(1) + tr_wsw
    r_k = y[:, None] - m.views() @ W.T - b                         # (B, K, c)
    e_k = r_k.pow(2).sum(-1) + s2 * W.pow(2).sum()                 # (B, K)
    var_k = 4 * s2 * (r_k @ W).pow(2).sum(-1) + 2 * s2**2 * (W @ W.T).pow(2).sum()
    w = m.weights.to(mean.dtype)
    var = (w * var_k).sum(1) + (w * (e_k - mean[:, None]).pow(2)).sum(1)
    return mean, var


def linear_sq_loss_grad(W: torch.Tensor, b: torch.Tensor, y: torch.Tensor, m: AugMoments) -> torch.Tensor:
    """Exact E[dL/dW] per image (B, c, d): 2 (W (Sigma + mu mu^T) + b mu^T - y mu^T)."""
    W, b, y = W.to(m.mean.dtype), b.to(m.mean.dtype), y.to(m.mean.dtype)
    w_sigma = m.matvec(W.T.expand(m.mean.shape[0], -1, -1)).transpose(1, 2)  # (B, c, d) = W Sigma
    resid = y - m.mean @ W.T - b
    return 2 * (w_sigma - resid[:, :, None] * m.mean[:, None, :])


def atom_moments(f: Callable[[torch.Tensor], torch.Tensor], views: torch.Tensor, weights: torch.Tensor,
                 chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """E[f] and Var[f] over a pipeline's views. ``views`` (K, C, H, W) of ONE image; ``f`` maps a
    batch of images to (batch,) values."""
    vals = torch.cat([f(views[i : i + chunk]).detach().double() for i in range(0, len(views), chunk)])
    w = weights.to(vals.device, torch.float64)
    mean = (w * vals).sum()
    return mean, (w * (vals - mean) ** 2).sum()


def delta_moments(f: Callable[[torch.Tensor], torch.Tensor], m: AugMoments, image_shape: tuple[int, ...],
                  hutchinson: int = 16, chunk: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Second-order mean f(mu) + 1/2 tr(H Sigma) and first-order variance g^T Sigma g per image.

    ``f`` maps ONE image (image_shape) to a scalar. With Sigma = U^T U + s^2 I,
    tr(H Sigma) = sum_k u_k^T H u_k + s^2 tr(H); u^T H u by Hessian-vector products (forward over
    reverse mode), tr(H) by Hutchinson's estimator with ``hutchinson`` Rademacher probes.
    """
    import warnings

    from torch.func import grad, jvp, vmap

    # torch.func's jvp touches torch.jit internally, which warns of its own deprecation
    warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)
    gen = torch.Generator().manual_seed(seed)
    means, variances = [], []
    for i in range(m.mean.shape[0]):
        mu = m.mean[i].reshape(image_shape).float()
        g_fn = grad(f)
        g = g_fn(mu).reshape(-1).double()
        var = m.quad(g[None].to(m.mean.dtype))[0]

        def uhu(u):
            _, hv = jvp(g_fn, (mu,), (u,))
            return (hv * u).sum()

        u = m.factor[i].reshape(-1, *image_shape).float()
        curv = torch.cat([vmap(uhu)(u[j : j + chunk]) for j in range(0, len(u), chunk)]).double().sum()
        if m.noise_var > 0:
            probes = (torch.randint(0, 2, (hutchinson, *image_shape), generator=gen) * 2 - 1).float().to(mu.device)
            curv = curv + m.noise_var * vmap(uhu)(probes).double().mean()
        means.append(f(mu).double() + 0.5 * curv)
        variances.append(var)
    return torch.stack(means), torch.stack(variances)


@torch.no_grad()
def monte_carlo(f: Callable[[torch.Tensor], torch.Tensor], pipe: Pipeline, x: torch.Tensor, n: int,
                gen: torch.Generator, chunk: int = 4096) -> torch.Tensor:
    """f at n augmented draws of ONE image x (C, H, W): a (n,) float64 tensor of values, in draw
    order (a running mean of it is the MC estimate after 1, 2, ... draws)."""
    out = []
    for start in range(0, n, chunk):
        k = min(chunk, n - start)
        out.append(f(pipe.sample(x[None].expand(k, *x.shape).contiguous(), gen)).double())
    return torch.cat(out)


def mc_estimate(values: torch.Tensor) -> tuple[float, float]:
    """Mean and its standard error from per-draw values."""
    return float(values.mean()), float(values.std(unbiased=True) / values.numel() ** 0.5)
