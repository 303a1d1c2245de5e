"""Batched per-sample augmentation on uint8 or float tensors (N, C, H, W), on any device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


def random_flip(x: torch.Tensor, gen: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Flip each image left-right independently with probability ``p``."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"flip probability p={p} is outside [0, 1]")
    flip = torch.rand(x.shape[0], generator=gen, device=gen.device) < p
    return torch.where(flip.to(x.device)[:, None, None, None], x.flip(-1), x)


def random_crop(x: torch.Tensor, gen: torch.Generator, padding: int) -> torch.Tensor:
    """Zero-pad by ``padding`` pixels and crop back to the original size at a random offset,
    drawn uniformly from the (2*padding+1)^2 positions independently for every image."""
    if padding < 0:
        raise ValueError(f"crop padding={padding} must be >= 0")
    if padding == 0:
        return x
    n, c, h, w = x.shape
    if padding >= min(h, w):
        raise ValueError(f"crop padding={padding} must be smaller than the image ({h}x{w})")
    xp = F.pad(x, (padding, padding, padding, padding))
    off = torch.randint(0, 2 * padding + 1, (2, n), generator=gen, device=gen.device).to(x.device)
    rows = off[0][:, None] + torch.arange(h, device=x.device)  # (n, h)
    cols = off[1][:, None] + torch.arange(w, device=x.device)  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = xp[batch, :, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
    return out.permute(0, 3, 1, 2).contiguous()


@dataclass(frozen=True)
class Policy:
    """A named training-time augmentation: ``policy(x, gen) -> x`` batched per sample."""

    name: str
    fn: Callable[[torch.Tensor, torch.Generator], torch.Tensor]

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return self.fn(x, gen)


POLICIES = ("none", "flip", "crop", "crop+flip")


def make_policy(name: str, crop_padding: int = 2) -> Policy:
    """``none``, ``flip``, ``crop`` (pad-and-crop by ``crop_padding`` px) or ``crop+flip``."""
    if name == "none":
        return Policy(name, lambda x, g: x)
    if name == "flip":
        return Policy(name, random_flip)
    if name == "crop":
        return Policy(name, lambda x, g: random_crop(x, g, crop_padding))
    if name == "crop+flip":
        return Policy(name, lambda x, g: random_flip(random_crop(x, g, crop_padding), g))
    raise ValueError(f"unknown augmentation '{name}': known are {', '.join(POLICIES)}")
