"""Non-linear policies (TrivialAugment, RandAugment, AutoAugment) for training only.

They have NO closed-form moments: their operations (posterize, solarize, equalize, ...) are not
linear in the pixels. torchvision's v2 transforms draw one operation per call, so each image is
transformed on its own here (one draw per image); torchvision's randomness comes from the global
torch generator, which is re-seeded from ``gen`` for every batch so that runs stay reproducible.
"""

from __future__ import annotations

import torch

from .stages import Stage


class TorchvisionPolicy(Stage):
    exact = False

    def __init__(self, name: str, **kwargs):
        from torchvision.transforms import v2

        self.name = name
        self.kwargs = kwargs
        if name == "trivialaugment":
            self.transform = v2.TrivialAugmentWide()
        elif name == "randaugment":
            self.transform = v2.RandAugment(num_ops=int(kwargs["n"]), magnitude=int(kwargs["m"]))
        elif name == "autoaugment":
            self.transform = v2.AutoAugment(v2.AutoAugmentPolicy.CIFAR10)
        else:
            raise ValueError(f"unknown non-linear policy '{name}'")

    def sample(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """x: float in [0, 1] (n, C, H, W); returns the same, each image with its own draw."""
        seed = int(torch.randint(0, 2**62, (1,), generator=gen, device=gen.device))
        u8 = (x.clamp(0, 1) * 255).round().to(torch.uint8)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = torch.stack([self.transform(img) for img in u8])
        return out.to(x.dtype) / 255.0

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(f'{k}={v}' for k, v in self.kwargs.items())})"
