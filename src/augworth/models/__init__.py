"""Models: a small fast residual CNN, ResNet-18 (CIFAR variant), linear and random features.

Every model takes ``in_channels``, ``num_classes``, ``image_size`` and a ``width`` and maps a
float batch (N, C, H, W), normalised, to logits (N, num_classes).
"""

from __future__ import annotations

import torch
from torch import nn

from .fast_cnn import FastCNN
from .linear import LinearModel, RandomFeatures
from .resnet import ResNet18


class Normalised(nn.Module):
    """A model that takes images in [0, 1] (the augmentations' pixel space) and applies the
    per-channel normalisation it was trained with."""

    def __init__(self, model: nn.Module, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("mean", mean.reshape(1, -1, 1, 1))
        self.register_buffer("std", std.reshape(1, -1, 1, 1))

    def forward(self, x):
        return self.model((x - self.mean) / self.std)


MODELS: dict[str, type[nn.Module]] = {
    "fast_cnn": FastCNN,
    "resnet18": ResNet18,
    "linear": LinearModel,
    "random_features": RandomFeatures,
}


def build_model(name: str, *, in_channels: int, num_classes: int, image_size: int, width: int,
                seed: int | None = None, **options) -> nn.Module:
    """Instantiate a model by name; with ``seed``, its initial weights depend on nothing else.
    ``options`` go to the model's constructor (the fast CNN's ``stem`` and ``dirac_init``)."""
    if name not in MODELS:
        raise ValueError(f"unknown model '{name}': known models are {', '.join(MODELS)}")
    kw = dict(in_channels=in_channels, num_classes=num_classes, image_size=image_size, width=width, **options)
    if seed is None:
        return MODELS[name](**kw)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS[name](**kw)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["MODELS", "Normalised", "build_model", "count_parameters", "FastCNN", "ResNet18", "LinearModel", "RandomFeatures"]
