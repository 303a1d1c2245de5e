"""Augmentations as distributions over parameters: batched per-image sampling on the device,
the operator form x -> M(theta) x + c(theta), and exact (or quadrature) moments for the linear
families (paper A). Specs are strings such as ``crop(2)+flip`` (``augworth.config.augment_specs``).
"""

from .pipeline import AugMoments, Pipeline, build
from .stages import STAGES

__all__ = ["AugMoments", "Pipeline", "build", "STAGES", "operator"]


def operator(pipeline: Pipeline, theta: list, shape: tuple[int, int, int]):
    """The explicit operator (M, c) of a linear pipeline at fixed parameters ``theta`` (one
    tensor per stage, shape (1, p)): x_aug = M @ x.flatten() + c, for images of ``shape``.
    Dense (d x d): for small images and for checking the batched implementation."""
    import torch

    d = shape[0] * shape[1] * shape[2]
    basis = torch.cat([torch.zeros(1, d, dtype=torch.float64), torch.eye(d, dtype=torch.float64)]).reshape(d + 1, *shape)
    out = basis
    for stage, th in zip(pipeline.stages, theta):
        out = stage.apply(out, th.expand(d + 1, -1))
    out = out.reshape(d + 1, d)
    c = out[0]
    return (out[1:] - c).T, c
