"""Linear augmentation families: x -> M(theta) x + c(theta) once theta is drawn (paper A, A1).

Every family is a :class:`Stage` with

- ``draw(n, gen)``: theta for n images, independently per image (shape (n, p));
- ``apply(x, theta)``: the deterministic transform, batched (x (n, C, H, W) float, theta (n, p)),
  affine in x for a fixed theta;
- ``atoms(quad_nodes, functions)``: a finite set of (theta_k, w_k) standing for theta's
  distribution. For discrete families (crop offsets, flip) it is the exact support, so the
  expectation of ANY function of the augmented image over the atoms is exact. For the families
  affine in a scalar theta (brightness, contrast) the image's mean and covariance depend on
  E[theta] and E[theta^2] alone, which a two-node Gauss-Legendre rule matches exactly
  (``functions=False``); for the expectation of a function of the image (a network's loss) the
  rule has ``quad_nodes`` nodes and is exact for polynomials in theta up to degree
  2 * quad_nodes - 1 (a linear model's squared loss and its variance: 3 nodes suffice), quadrature
  otherwise. Rotation, random-resized crop and blur use a Gauss-Legendre product rule --
  quadrature, with an error the chapter measures -- since their image depends on theta
  non-linearly.

Additive Gaussian noise is not an atom stage: it adds sigma^2 I to the covariance exactly, and
for closed-form moments it must come after every other stage.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def _gauss_legendre(lo: float, hi: float, q: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights (summing to 1) of the q-point Gauss-Legendre rule for U(lo, hi)."""
    if hi <= lo or q == 1:
        return torch.tensor([(lo + hi) / 2], dtype=torch.float64), torch.ones(1, dtype=torch.float64)
    t, w = np.polynomial.legendre.leggauss(q)
    return torch.from_numpy(lo + (hi - lo) * (t + 1) / 2), torch.from_numpy(w / 2)


def _product_rule(rules: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    grids = torch.meshgrid(*[r[0] for r in rules], indexing="ij")
    wgrid = torch.meshgrid(*[r[1] for r in rules], indexing="ij")
    theta = torch.stack([g.reshape(-1) for g in grids], dim=1)
    w = torch.ones(theta.shape[0], dtype=torch.float64)
    for g in wgrid:
        w = w * g.reshape(-1)
    return theta, w


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen, device=gen.device, dtype=torch.float64)


class Stage:
    name = ""
    exact = True       # atoms give the exact mean and covariance of the image
    discrete = False   # atoms are theta's exact support: expectations of any function are exact

    def draw(self, n: int, gen: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def apply(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def atoms(self, quad_nodes: int, functions: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def sample(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return self.apply(x, self.draw(x.shape[0], gen).to(x.device))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in vars(self).items())
        return f"{self.name}({args})"


class Identity(Stage):
    name = "none"
    discrete = True

    def draw(self, n, gen):
        return torch.zeros(n, 1, device=gen.device)

    def apply(self, x, theta):
        return x

    def atoms(self, quad_nodes, functions=False):
        return torch.zeros(1, 1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)


class Crop(Stage):
    """Translation by an integer offset (dy, dx) uniform in [-pad, pad]^2 with zero fill: the
    same distribution as zero-padding by ``pad`` and cropping back at a uniform position."""

    name = "crop"
    discrete = True

    def __init__(self, pad: int = 2):
        self.pad = int(pad)

    def draw(self, n, gen):
        return torch.randint(-self.pad, self.pad + 1, (n, 2), generator=gen, device=gen.device)

    def apply(self, x, theta):
        p = self.pad
        if p == 0:
            return x
        n, c, h, w = x.shape
        if p >= min(h, w):
            raise ValueError(f"crop pad={p} must be smaller than the image ({h}x{w})")
        theta = theta.to(x.device).long()
        xp = F.pad(x, (p, p, p, p))
        rows = (theta[:, 0] + p)[:, None] + torch.arange(h, device=x.device)
        cols = (theta[:, 1] + p)[:, None] + torch.arange(w, device=x.device)
        out = xp[torch.arange(n, device=x.device)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
        return out.permute(0, 3, 1, 2).contiguous()

    def atoms(self, quad_nodes, functions=False):
        r = torch.arange(-self.pad, self.pad + 1, dtype=torch.float64)
        theta = torch.cartesian_prod(r, r).reshape(-1, 2)
        return theta, torch.full((len(theta),), 1.0 / len(theta), dtype=torch.float64)


class Flip(Stage):
    name = "flip"
    discrete = True

    def __init__(self, p: float = 0.5):
        self.p = float(p)

    def draw(self, n, gen):
        return (torch.rand(n, 1, generator=gen, device=gen.device) < self.p).float()

    def apply(self, x, theta):
        flip = theta.to(x.device).reshape(-1).bool()[:, None, None, None]
        return torch.where(flip, x.flip(-1), x)

    def atoms(self, quad_nodes, functions=False):
        theta = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
        w = torch.tensor([1 - self.p, self.p], dtype=torch.float64)
        keep = w > 0
        return theta[keep], w[keep]


def _warp(x: torch.Tensor, affine: torch.Tensor) -> torch.Tensor:
    """Bilinear resampling with zero fill; ``affine`` (n, 2, 3) maps output to input coordinates
    in [-1, 1] (align_corners=False)."""
    grid = F.affine_grid(affine.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class Rotate(Stage):
    """Rotation about the centre by an angle uniform in [-deg, deg] degrees (bilinear, zero fill)."""

    name = "rotate"
    exact = False

    def __init__(self, deg: float = 15.0):
        self.deg = float(deg)
        self.exact = self.deg == 0

    def draw(self, n, gen):
        return _uniform(n, -self.deg, self.deg, gen)[:, None]

    def apply(self, x, theta):
        n, _, h, w = x.shape
        a = torch.deg2rad(theta.to(x.device, torch.float64).reshape(-1))
        cos, sin = torch.cos(a), torch.sin(a)
        affine = torch.zeros(n, 2, 3, dtype=torch.float64, device=x.device)
        affine[:, 0, 0], affine[:, 0, 1] = cos, -sin * h / w
        affine[:, 1, 0], affine[:, 1, 1] = sin * w / h, cos
        return _warp(x, affine)

    def atoms(self, quad_nodes, functions=False):
        t, w = _gauss_legendre(-self.deg, self.deg, quad_nodes)
        return t[:, None], w


class RandomResizedCrop(Stage):
    """A crop of area fraction s ~ U(smin, smax) and aspect ratio r (width/height) with
    log r ~ U(log rmin, log rmax), at a position uniform over where it fits, resized back to the
    full image with bilinear interpolation. Sides longer than the image are clipped to it
    (torchvision instead retries up to ten times); positions are continuous, not integers."""

    name = "rrc"
    exact = False

    def __init__(self, smin=0.08, smax=1.0, rmin=0.75, rmax=4 / 3):
        self.smin, self.smax, self.rmin, self.rmax = float(smin), float(smax), float(rmin), float(rmax)
        self.exact = self.smin == self.smax == 1.0 and self.rmin == self.rmax == 1.0

    def draw(self, n, gen):
        return torch.stack([_uniform(n, self.smin, self.smax, gen),
                            _uniform(n, math.log(self.rmin), math.log(self.rmax), gen),
                            _uniform(n, 0.0, 1.0, gen), _uniform(n, 0.0, 1.0, gen)], dim=1)

    def apply(self, x, theta):
        n, _, h, w = x.shape
        t = theta.to(x.device, torch.float64)
        s, r, uy, ux = t[:, 0], torch.exp(t[:, 1]), t[:, 2], t[:, 3]
        fw = torch.clamp(torch.sqrt(s * r * h / w), max=1.0)  # crop width as a fraction of W
        fh = torch.clamp(torch.sqrt(s / r * w / h), max=1.0)
        cx = fw / 2 + ux * (1 - fw)  # crop centre in [0, 1]
        cy = fh / 2 + uy * (1 - fh)
        affine = torch.zeros(n, 2, 3, dtype=torch.float64, device=x.device)
        affine[:, 0, 0], affine[:, 0, 2] = fw, 2 * cx - 1
        affine[:, 1, 1], affine[:, 1, 2] = fh, 2 * cy - 1
        return _warp(x, affine)

    def atoms(self, quad_nodes, functions=False):
        q = quad_nodes
        rules = [_gauss_legendre(self.smin, self.smax, q),
                 _gauss_legendre(math.log(self.rmin), math.log(self.rmax), max(1, q // 2)),
                 _gauss_legendre(0.0, 1.0, q), _gauss_legendre(0.0, 1.0, q)]
        return _product_rule(rules)


class Brightness(Stage):
    """x + b with b ~ U(-b, b) added to every pixel (no clipping)."""

    name = "brightness"

    def __init__(self, b: float = 0.2):
        self.b = float(b)

    def draw(self, n, gen):
        return _uniform(n, -self.b, self.b, gen)[:, None]

    def apply(self, x, theta):
        return x + theta.to(x.device, x.dtype).reshape(-1, 1, 1, 1)

    def atoms(self, quad_nodes, functions=False):  # moments: exact with 2 nodes (module docstring)
        t, w = _gauss_legendre(-self.b, self.b, quad_nodes if functions else 2)
        return t[:, None], w


class Contrast(Stage):
    """a x + (1 - a) mean(x), a ~ U(1 - c, 1 + c); the mean over all pixels and channels."""

    name = "contrast"

    def __init__(self, c: float = 0.3):
        self.c = float(c)

    def draw(self, n, gen):
        return _uniform(n, 1 - self.c, 1 + self.c, gen)[:, None]

    def apply(self, x, theta):
        a = theta.to(x.device, x.dtype).reshape(-1, 1, 1, 1)
        return a * x + (1 - a) * x.mean(dim=(1, 2, 3), keepdim=True)

    def atoms(self, quad_nodes, functions=False):  # moments: exact with 2 nodes (module docstring)
        t, w = _gauss_legendre(1 - self.c, 1 + self.c, quad_nodes if functions else 2)
        return t[:, None], w


class Blur(Stage):
    """Gaussian blur with sigma ~ U(smin, smax) px, a k x k separable kernel normalised to sum 1,
    reflect padding (as torchvision's gaussian_blur)."""

    name = "blur"
    exact = False

    def __init__(self, smin=0.1, smax=1.5, k=5):
        self.smin, self.smax, self.k = float(smin), float(smax), int(k)
        self.exact = self.smin == self.smax

    def draw(self, n, gen):
        return _uniform(n, self.smin, self.smax, gen)[:, None]

    def apply(self, x, theta):
        n, c, h, w = x.shape
        half = self.k // 2
        if half >= min(h, w):
            raise ValueError(f"blur kernel k={self.k} is too large for a {h}x{w} image (reflect padding)")
        sig = theta.to(x.device, x.dtype).reshape(-1, 1)
        r = torch.arange(-half, half + 1, device=x.device, dtype=x.dtype)
        kern = torch.exp(-0.5 * (r[None, :] / sig) ** 2)
        kern = kern / kern.sum(dim=1, keepdim=True)  # (n, k)
        kern = kern.repeat_interleave(c, dim=0)  # (n*c, k)
        y = F.pad(x.reshape(1, n * c, h, w), (half, half, half, half), mode="reflect")
        y = F.conv2d(y, kern[:, None, None, :], groups=n * c)
        y = F.conv2d(y, kern[:, None, :, None], groups=n * c)
        return y.reshape(n, c, h, w)

    def atoms(self, quad_nodes, functions=False):
        t, w = _gauss_legendre(self.smin, self.smax, quad_nodes)
        return t[:, None], w


class Noise(Stage):
    """x + sigma * eps, eps ~ N(0, I). Adds sigma^2 I to the covariance (exactly)."""

    name = "noise"

    def __init__(self, sigma: float = 0.1):
        self.sigma = float(sigma)

    def draw(self, n, gen):
        raise NotImplementedError("noise draws per pixel: use sample()")

    def sample(self, x, gen):
        eps = torch.randn(x.shape, generator=gen, device=gen.device, dtype=x.dtype).to(x.device)
        return x + self.sigma * eps


STAGES = {"none": Identity, "crop": Crop, "flip": Flip, "rotate": Rotate, "rrc": RandomResizedCrop,
          "brightness": Brightness, "contrast": Contrast, "blur": Blur, "noise": Noise}
