"""Models for the closed-form chapters (paper A): a linear classifier on pixels, and random
features (a fixed random projection with a ReLU, then a trained linear layer).

Both are linear in what is trained, so the expected squared loss under a linear augmentation has
a closed form (E||y - W x~ - b||^2 = ||y - W mu - b||^2 + tr(W Sigma W^T)); for random features
the augmented *features* are not linear in x, which is why the chapters use the linear model for
exact results and random features for a non-linear check.
"""

from __future__ import annotations

import torch
from torch import nn


class LinearModel(nn.Module):
    """logits = W x + b on the flattened image; ``width`` is ignored."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, width: int = 0):
        super().__init__()
        self.fc = nn.Linear(in_channels * image_size * image_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(x, 1))


class RandomFeatures(nn.Module):
    """logits = W relu(R x / sqrt(d)) + b with R ~ N(0, 1) fixed (a buffer), ``width`` features."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, width: int = 1024):
        super().__init__()
        d = in_channels * image_size * image_size
        self.register_buffer("projection", torch.randn(width, d) / d**0.5)
        self.fc = nn.Linear(width, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.flatten(x, 1) @ self.projection.T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))
