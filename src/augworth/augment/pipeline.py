"""An augmentation pipeline: stages applied left to right, with batched per-image sampling and,
when every stage is linear, the exact (or quadrature) mean and covariance of the augmented image.

Moments (paper A, A1). The atom stages multiply out into K "views" v_k of the image with
weights w_k (products of the stages' atom weights), so that

    mu = sum_k w_k v_k,    Sigma = sum_k w_k (v_k - mu)(v_k - mu)^T + sigma^2 I = U^T U + sigma^2 I,

with U the K x d matrix of rows sqrt(w_k) (v_k - mu) and sigma^2 the variance of trailing noise.
Sigma is kept in this low-rank-plus-isotropic form and never materialised for large images; the
dense d x d matrix is available for small ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import LINEAR_FAMILIES, parse_augment
from .nonlinear import TorchvisionPolicy
from .stages import STAGES, Noise, Stage

DENSE_LIMIT = 4096  # largest d for which cov_dense() builds a d x d matrix


@dataclass
class AugMoments:
    """Mean and covariance of augmented images, for a batch of B images of d pixels."""

    mean: torch.Tensor      # (B, d)
    factor: torch.Tensor    # (B, K, d): Sigma = factor^T factor + noise_var I
    weights: torch.Tensor   # (K,) the views' weights
    noise_var: float
    exact: bool             # False when a stage used quadrature

    @property
    def d(self) -> int:
        return self.mean.shape[1]

    def cov_dense(self) -> torch.Tensor:
        """(B, d, d); refuses large d (use quad / matvec / trace instead)."""
        if self.d > DENSE_LIMIT:
            raise ValueError(f"a dense covariance of d={self.d} pixels per image is too large; "
                             f"use quad(), matvec() or trace()")
        eye = torch.eye(self.d, dtype=self.mean.dtype, device=self.mean.device)
        return self.factor.transpose(1, 2) @ self.factor + self.noise_var * eye

    def matvec(self, v: torch.Tensor) -> torch.Tensor:
        """Sigma v for v (B, d) or (B, d, m)."""
        vv = v if v.ndim == 3 else v[..., None]
        out = self.factor.transpose(1, 2) @ (self.factor @ vv) + self.noise_var * vv
        return out if v.ndim == 3 else out[..., 0]

    def quad(self, g: torch.Tensor) -> torch.Tensor:
        """g^T Sigma g for g (B, d) -> (B,)."""
        return (self.factor @ g[..., None]).squeeze(-1).pow(2).sum(-1) + self.noise_var * g.pow(2).sum(-1)

    def variance(self) -> torch.Tensor:
        """Diagonal of Sigma, (B, d)."""
        return self.factor.pow(2).sum(1) + self.noise_var

    def trace(self) -> torch.Tensor:
        return self.factor.pow(2).sum(dim=(1, 2)) + self.noise_var * self.d

    def views(self) -> torch.Tensor:
        """The K views (B, K, d) the moments were computed from (noise not included)."""
        w = self.weights.to(self.factor.dtype).clamp_min(1e-300).sqrt()
        return self.mean[:, None] + self.factor / w[None, :, None]


class Pipeline:
    """Stages applied left to right. Build one with :func:`build`."""

    def __init__(self, spec: str, stages: list[Stage]):
        self.spec = spec
        self.stages = stages

    @property
    def linear(self) -> bool:
        return all(not isinstance(s, TorchvisionPolicy) for s in self.stages)

    @property
    def exact(self) -> bool:
        """The mean and covariance of the image are exact (no quadrature)."""
        return self.linear and all(s.exact for s in self.stages)

    @property
    def discrete(self) -> bool:
        """The views are the exact support: expectations of any function over them are exact."""
        return self.linear and all(s.discrete for s in self.stages)

    def sample(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One augmented draw per image, different parameters for every image. x float [0, 1]."""
        for s in self.stages:
            x = s.sample(x, gen)
        return x

    __call__ = sample

    def sample_shared(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """One draw of every stage's parameters applied to the whole batch (the "same-batch"
        augmentation of paper C's gradient-noise comparison). Linear pipelines only."""
        if not self.linear:
            raise ValueError(f"augmentation '{self.spec}': shared draws need a linear pipeline")
        for s in self.stages:
            if isinstance(s, Noise):
                x = x + s.sigma * torch.randn(x.shape[1:], generator=gen, device=gen.device, dtype=x.dtype).to(x.device)
            else:
                x = s.apply(x, s.draw(1, gen).to(x.device).expand(len(x), -1))
        return x

    def _split(self) -> tuple[list[Stage], float]:
        if not self.linear:
            raise ValueError(f"augmentation '{self.spec}' is not linear in the pixels: it has no "
                             f"closed-form moments (use Monte Carlo)")
        atomic, noise_var, seen_noise = [], 0.0, False
        for s in self.stages:
            if isinstance(s, Noise):
                noise_var += s.sigma**2
                seen_noise = True
            elif seen_noise:
                raise ValueError(f"in '{self.spec}', noise must come after every other stage for "
                                 f"closed-form moments (e.g. 'crop(2)+noise(0.1)', not 'noise(0.1)+crop(2)')")
            else:
                atomic.append(s)
        return atomic, noise_var

    def views(self, x: torch.Tensor, quad_nodes: int = 8, functions: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """All K views of each image (B, K, C, H, W) and their weights (K,), noise excluded.

        ``functions=True``: views for expectations of functions of the image (e.g. a loss), not
        only its mean and covariance (see ``stages``: affine families then use quad_nodes)."""
        atomic, _ = self._split()
        b = x.shape[0]
        v = x[:, None]
        w = torch.ones(1, dtype=torch.float64, device=x.device)
        for s in atomic:
            theta, ws = s.atoms(quad_nodes, functions)
            k0, k1 = v.shape[1], theta.shape[0]
            flat = v[:, :, None].expand(b, k0, k1, *x.shape[1:]).reshape(b * k0 * k1, *x.shape[1:])
            th = theta.to(x.device).repeat(b * k0, 1)
            v = s.apply(flat, th).reshape(b, k0 * k1, *x.shape[1:])
            w = (w[:, None] * ws.to(x.device)[None, :]).reshape(-1)
        return v, w

    def moments(self, x: torch.Tensor, quad_nodes: int = 8, functions: bool = False) -> AugMoments:
        """Mean and covariance of the augmented images of x (B, C, H, W), exact or by quadrature
        with ``quad_nodes`` Gauss-Legendre nodes per continuous parameter. ``functions=True``
        keeps views fit for expectations of functions too (see :meth:`views`), e.g. for the
        variance of a loss."""
        _, noise_var = self._split()
        v, w = self.views(x, quad_nodes, functions)
        flat = v.flatten(2)
        wd = w.to(flat.dtype)
        mean = torch.einsum("k,bkd->bd", wd, flat)
        factor = wd.sqrt()[None, :, None] * (flat - mean[:, None])
        return AugMoments(mean, factor, w, noise_var, self.exact)

    def __repr__(self) -> str:
        return f"Pipeline({self.spec!r}: {' + '.join(map(repr, self.stages))})"


def build(spec: str) -> Pipeline:
    """Build a pipeline from a spec such as ``crop(2)+flip`` (see ``augworth.config.augment_specs``)."""
    stages: list[Stage] = []
    for name, args in parse_augment(spec):
        if name in LINEAR_FAMILIES:
            stages.append(STAGES[name](**args))
        else:
            stages.append(TorchvisionPolicy(name, **args))
    return Pipeline(spec, stages)
