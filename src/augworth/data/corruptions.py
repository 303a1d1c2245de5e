"""Corrupted test sets in the style of CIFAR-10-C (Hendrycks & Dietterich, 2019), written here in
torch so they run offline, in batch, on any image size and on grey images.

Each corruption maps float images in [0, 1] (N, C, H, W) and a severity 1..5 to corrupted images
in [0, 1]; randomness comes only from the generator passed in, so a (seed, severity) pair always
gives the same images. The severity constants follow CIFAR-10-C's where the operation is the
same (noise scales, contrast and brightness factors, pixelation and JPEG quality); blur uses a
Gaussian kernel whose sigma grows with severity. 28x28 grey images are not CIFAR: a severity
here is the same operation, not the same difficulty.

:func:`corrupted_test_set` builds one (corruption, severity) set once and caches it on disk as
uint8 (like the clean data), keyed by everything that determines it.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..io import atomic_write

from .. import paths
from ..seeds import seed_stream

SEVERITIES = (1, 2, 3, 4, 5)


def _gaussian_noise(x, s, gen):
    c = (0.08, 0.12, 0.18, 0.26, 0.38)[s - 1]
    return x + c * torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)


def _shot_noise(x, s, gen):
    c = (60.0, 25.0, 12.0, 5.0, 3.0)[s - 1]
    return torch.poisson(x * c, generator=gen) / c


def _impulse_noise(x, s, gen):
    amount = (0.03, 0.06, 0.09, 0.17, 0.27)[s - 1]
    u = torch.rand(x.shape, generator=gen, device=x.device, dtype=x.dtype)
    salt = torch.rand(x.shape, generator=gen, device=x.device, dtype=x.dtype) < 0.5
    out = x.clone()
    hit = u < amount
    out[hit & salt] = 1.0
    out[hit & ~salt] = 0.0
    return out


def _blur(x, s, gen):
    sigma = (0.4, 0.6, 0.8, 1.0, 1.3)[s - 1]
    radius = max(1, int(round(3 * sigma)))
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    xp = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    xp = F.conv2d(xp, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(xp, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def _contrast(x, s, gen):
    c = (0.4, 0.3, 0.2, 0.1, 0.05)[s - 1]
    m = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - m) * c + m


def _brightness(x, s, gen):
    c = (0.1, 0.2, 0.3, 0.4, 0.5)[s - 1]
    return x + c  # CIFAR-10-C shifts V in HSV; on grey images that is the intensity


def _pixelate(x, s, gen):
    c = (0.6, 0.5, 0.4, 0.3, 0.25)[s - 1]
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(max(1, int(h * c)), max(1, int(w * c))), mode="area")
    return F.interpolate(small, size=(h, w), mode="nearest")


def _jpeg(x, s, gen):
    from PIL import Image

    quality = (80, 65, 58, 50, 40)[s - 1]
    u8 = (x.clamp(0, 1) * 255).round().to(torch.uint8).cpu()
    out = []
    for img in u8:
        arr = img.permute(1, 2, 0).numpy()
        pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=quality)
        back = torch.from_numpy(np.array(Image.open(io.BytesIO(buf.getvalue()))))
        out.append(back.view(img.shape[1], img.shape[2], -1).permute(2, 0, 1))
    return torch.stack(out).to(x.device, x.dtype) / 255.0


CORRUPTIONS: dict[str, Callable] = {
    "gaussian_noise": _gaussian_noise, "shot_noise": _shot_noise, "impulse_noise": _impulse_noise,
    "blur": _blur, "contrast": _contrast, "brightness": _brightness, "pixelate": _pixelate, "jpeg": _jpeg,
}


def corrupt(x: torch.Tensor, name: str, severity: int, seed: int = 0) -> torch.Tensor:
    """Corrupt float images in [0, 1]; deterministic for (name, severity, seed) and the input."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption '{name}': known are {', '.join(CORRUPTIONS)}")
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity}")
    gen = torch.Generator(device=x.device).manual_seed(seed_stream(seed, "corruptions") + 10 * list(CORRUPTIONS).index(name) + severity)
    return CORRUPTIONS[name](x.float(), severity, gen).clamp(0, 1)


def corrupted_test_set(x_u8: torch.Tensor, name: str, severity: int, *, key: dict, seed: int = 0,
                       cache_dir: Path | None = None) -> torch.Tensor:
    """uint8 corrupted copy of ``x_u8``, computed once and cached on disk. ``key`` must identify
    the clean images (data set, which indices); the corruption, severity and seed are added."""
    full = {**key, "corruption": name, "severity": severity, "seed": seed, "n": len(x_u8), "version": 1}
    digest = hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir or paths.cache_root() / "corruptions") / f"{name}-s{severity}-{digest}.pt"
    if path.exists():
        return torch.load(path).to(x_u8.device)
    out = (corrupt(x_u8.float() / 255.0, name, severity, seed) * 255).round().to(torch.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: torch.save(out.cpu(), fh))
    return out
