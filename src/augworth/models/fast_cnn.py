"""A small, fast residual CNN for 28x28 and 32x32 inputs, in the spirit of airbench (Keller
Jordan's CIFAR-10 speedruns): three conv groups, each conv -> max-pool -> BN -> GELU -> conv ->
BN -> GELU with a residual connection, widths w, 2w, 4w; global max pooling; a linear head.

Parameters (28x28 grey input, 10 classes): width 16: 75 k, 32: 0.30 M, 64: 1.18 M.
"""

from __future__ import annotations

import torch
from torch import nn


class ConvGroup(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.norm1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.norm2 = nn.BatchNorm2d(c_out)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.norm1(self.pool(self.conv1(x))))
        return x + self.act(self.norm2(self.conv2(x)))


class Whiten(nn.Module):
    """A frozen 2x2 convolution that whitens the images' 2x2 patches (airbench's first layer): its
    filters are the patch covariance's eigenvectors scaled by 1/sqrt(eigenvalue + eps), each with
    its negative (2 * 4 * C channels), fitted once to un-augmented training images
    (:meth:`fit`); until then it is the identity on the patches."""

    def __init__(self, in_channels: int, eps: float = 5e-4):
        super().__init__()
        self.eps = eps
        k = 4 * in_channels
        eye = torch.eye(k).reshape(k, in_channels, 2, 2)
        self.conv = nn.Conv2d(in_channels, 2 * k, 2, bias=False)
        self.conv.weight.data.copy_(torch.cat([eye, -eye]))
        self.conv.weight.requires_grad_(False)

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        """Whiten the 2x2 patches of ``x`` (normalised images, N x C x H x W)."""
        c = x.shape[1]
        patches = x.unfold(2, 2, 1).unfold(3, 2, 1).permute(0, 2, 3, 1, 4, 5).reshape(-1, 4 * c).double()
        cov = patches.T @ patches / len(patches)
        vals, vecs = torch.linalg.eigh(cov)
        w = (vecs.T / torch.sqrt(vals + self.eps)[:, None]).reshape(4 * c, c, 2, 2)
        self.conv.weight.copy_(torch.cat([w, -w]).to(self.conv.weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FastCNN(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28, width: int = 64,
                 stem: str = "conv", dirac_init: bool = False):
        super().__init__()
        w = width
        if stem == "whiten":
            self.stem = nn.Sequential(Whiten(in_channels), nn.GELU())
            c_in = 8 * in_channels
        elif stem == "conv":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.GELU())
            c_in = w
        else:
            raise ValueError(f"stem = {stem!r}: use conv or whiten")
        self.groups = nn.Sequential(ConvGroup(c_in, w), ConvGroup(w, 2 * w), ConvGroup(2 * w, 4 * w))
        if dirac_init:
            for m in self.groups.modules():
                if isinstance(m, nn.Conv2d):  # identity on the first input channels, random on the rest
                    k = min(m.in_channels, m.out_channels)
                    nn.init.dirac_(m.weight.data[:k])
        self.head = nn.Linear(4 * w, num_classes, bias=False)
        # Max-pooled features are large and positive; scaling the logits down (airbench uses
        # 1/9) keeps the initial loss near log(classes) and lets SGD take lr 0.1 from the start.
        self.logit_scale = 0.125

    def fit_whitening(self, x: torch.Tensor) -> None:
        """Fit the whitening stem (if it has one) to normalised training images ``x``."""
        if isinstance(self.stem[0], Whiten):
            self.stem[0].fit(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(self.stem(x))
        return self.head(torch.amax(x, dim=(2, 3))) * self.logit_scale
