"""Models made exactly invariant to the horizontal flip (paper C, C3).

Two constructions, both exact for every input (tested on random inputs):

- ``flip-average``: the logits of x and of its mirror image, averaged (the orbit average).
- ``flip-canonical``: orbit mapping: the network sees a canonical member of {x, flip(x)}, the
  one whose intensity has its centre of mass on the right half (the horizontal first moment
  about the image centre, which the flip negates). When the moment is zero (a symmetric image,
  or a tie in floating point), both members are averaged, so the map stays exactly invariant.

The flip is about the last (width) axis; the input may be normalised or not (a per-channel
normalisation commutes with the flip).
"""

from __future__ import annotations

import torch
from torch import nn

INVARIANCES = ("none", "flip-average", "flip-canonical")


def horizontal_moment(x: torch.Tensor) -> torch.Tensor:
    """sum_j (j - (W-1)/2) * x[..., j] per image: the flip maps it to exactly its negative."""
    w = x.shape[-1]
    pos = torch.arange(w, device=x.device, dtype=x.dtype) - (w - 1) / 2
    # pair column j with column W-1-j so the sum is exactly antisymmetric in floating point
    half = w // 2
    left, right = x[..., :half], x[..., w - half :].flip(-1)
    return ((right - left) * pos[w - half :].flip(-1)).sum(dim=tuple(range(1, x.dim())))


class FlipInvariant(nn.Module):
    def __init__(self, model: nn.Module, mode: str = "flip-average"):
        super().__init__()
        if mode not in INVARIANCES[1:]:
            raise ValueError(f"unknown invariance '{mode}': known are {', '.join(INVARIANCES[1:])}")
        self.model, self.mode = model, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.flip(-1)
        if self.mode == "flip-average":
            return 0.5 * (self.model(x) + self.model(xf))
        m = horizontal_moment(x)
        canon = torch.where((m < 0).view(-1, *([1] * (x.dim() - 1))), xf, x)
        out = self.model(canon)
        tie = m == 0
        if tie.any():
            out = out.clone()
            out[tie] = 0.5 * (self.model(x[tie]) + self.model(xf[tie]))
        return out


def make_invariant(model: nn.Module, invariance: str) -> nn.Module:
    if invariance == "none":
        return model
    return FlipInvariant(model, invariance)
