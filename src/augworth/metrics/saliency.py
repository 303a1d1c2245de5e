"""Saliency against the augmentation covariance (paper A, claim A4).

For the loss to be stable under augmentation sampling, Var[L] ~ g^T Sigma g must be small, so the
saliency g = dL/dx should lie in the eigenspace of Sigma(x) with the SMALLEST eigenvalues. For
translations the large-eigenvalue directions sit on edges (where a shift changes pixels most).

- :func:`input_gradients`: g for a batch (loss w.r.t. the input), batched on the device.
- :func:`covariance_eigh`: eigenvalues/vectors of Sigma(x) per image -- dense ``eigh`` for small
  images, a randomized subspace iteration on the low-rank-plus-isotropic operator otherwise.
- :func:`eigenspace_energy`: the fraction of ||g||^2 in the top-k and bottom-k eigenspaces; a
  random direction puts k/d there in expectation.
- :func:`edge_share`: the fraction of ||g||^2 on edge pixels (Sobel magnitude above a quantile),
  against the fraction of pixels that are edges.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..augment import AugMoments


def input_gradients(model: Callable, x: torch.Tensor, y: torch.Tensor,
                    loss: Callable = F.cross_entropy) -> torch.Tensor:
    """dL/dx for every image of the batch (same shape as x); the model should be in eval mode."""
    x = x.detach().clone().requires_grad_(True)
    out = model(x)
    total = loss(out, y, reduction="sum") if loss is F.cross_entropy else loss(out, y).sum()
    (g,) = torch.autograd.grad(total, x)
    return g


def covariance_eigh(m: AugMoments, k: int | None = None, iters: int = 6, seed: int = 0
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigen-decomposition of Sigma per image, eigenvalues ascending: (B, r) and (B, d, r).

    Dense (all d eigenpairs) when ``k`` is None. Otherwise the top ``k`` of the low-rank part by
    randomized subspace iteration on U^T U (never forming d x d); the isotropic part adds
    sigma^2 to every eigenvalue and leaves the eigenvectors unchanged.
    """
    if k is None:
        return torch.linalg.eigh(m.cov_dense())
    B, K, d = m.factor.shape
    k = min(k, K, d)
    gen = torch.Generator(device=m.factor.device).manual_seed(seed)
    q = torch.randn(B, d, k + 8, generator=gen, device=m.factor.device, dtype=m.factor.dtype)
    for _ in range(iters):
        q, _ = torch.linalg.qr(m.factor.transpose(1, 2) @ (m.factor @ q))
    small = q.transpose(1, 2) @ (m.factor.transpose(1, 2) @ (m.factor @ q))
    vals, vecs = torch.linalg.eigh(small)
    vals, vecs = vals[:, -k:], (q @ vecs)[:, :, -k:]
    return vals + m.noise_var, vecs


def eigenspace_energy(g: torch.Tensor, vecs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fractions of ||g||^2 in the span of the top-k and the bottom-k eigenvectors (vecs sorted
    ascending, (B, d, d)). Returns (top, bottom), each (B,)."""
    proj = (vecs.transpose(1, 2) @ g.reshape(g.shape[0], -1, 1).to(vecs.dtype)).squeeze(-1).pow(2)  # (B, d)
    total = proj.sum(1).clamp_min(1e-300)
    return proj[:, -k:].sum(1) / total, proj[:, :k].sum(1) / total


def sobel_magnitude(x: torch.Tensor) -> torch.Tensor:
    """Gradient magnitude of each image (channels averaged), (B, H, W)."""
    gray = x.mean(1, keepdim=True)
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=x.dtype, device=x.device)
    k = torch.stack([kx, kx.T])[:, None]
    e = F.conv2d(F.pad(gray, (1, 1, 1, 1), mode="replicate"), k)
    return e.pow(2).sum(1).sqrt()


def edge_share(g: torch.Tensor, x: torch.Tensor, quantile: float = 0.8) -> tuple[torch.Tensor, torch.Tensor]:
    """(share of ||g||^2 on edge pixels, share of pixels that are edges) per image. Edge pixels:
    Sobel magnitude above the image's ``quantile`` (and above zero)."""
    mag = sobel_magnitude(x).flatten(1)
    thr = torch.quantile(mag, quantile, dim=1, keepdim=True)
    edge = (mag > thr) & (mag > 0)
    energy = g.pow(2).sum(1).flatten(1)
    return (energy * edge).sum(1) / energy.sum(1).clamp_min(1e-300), edge.to(energy.dtype).mean(1)
