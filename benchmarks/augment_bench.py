"""Augmentation-engine benchmark (`make bench`): sampler throughput per family, batched on the
device with a fresh draw per image, beside torchvision's per-image transforms in a DataLoader
measured in the same run; and the time to a 1%-accurate expected loss by closed form versus by
Monte Carlo (linear model, squared loss, one Fashion-MNIST image). Prints tables.

The torchvision counterparts are the nearest standard transforms, not identical distributions
(e.g. ColorJitter's brightness is multiplicative, ours additive); they measure the cost of the
per-image path. DataLoader: batch 256, no worker processes on a 2-core CPU (workers would share
the same cores), 8 workers on CUDA machines.

Usage: python benchmarks/augment_bench.py [--batches 20]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from augworth import runtime
from augworth.augment import build
from augworth.data import load_dataset
from augworth.metrics.da_moments import linear_sq_loss_moments

FAMILIES = {  # our spec -> torchvision v2 counterpart
    "crop(2)": lambda T: T.RandomCrop(28, padding=2),
    "flip(0.5)": lambda T: T.RandomHorizontalFlip(),
    "crop(2)+flip": lambda T: T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip()]),
    "rotate(30)": lambda T: T.RandomRotation(30, interpolation=T.InterpolationMode.BILINEAR),
    "rrc(0.08)": lambda T: T.RandomResizedCrop(28, scale=(0.08, 1.0), antialias=False),
    "brightness(0.4)": lambda T: T.ColorJitter(brightness=0.4),
    "contrast(0.6)": lambda T: T.ColorJitter(contrast=0.6),
    "blur(0.5,2.0,5)": lambda T: T.GaussianBlur(5, sigma=(0.5, 2.0)),
    "noise(0.2)": lambda T: T.GaussianNoise(sigma=0.2),
}


def ours(spec, x, gen, batches, bs, device):
    pipe = build(spec)
    pipe.sample(x[:bs], gen)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for i in range(batches):
        pipe.sample(x[(i * bs) % (len(x) - bs):][:bs], gen)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batches * bs / (time.perf_counter() - t)


def theirs(spec, x_cpu, batches, bs, device):
    from torch.utils.data import DataLoader, Dataset
    from torchvision.transforms import v2 as T

    tf = FAMILIES[spec](T)

    class PerImage(Dataset):
        def __len__(self):
            return len(x_cpu)

        def __getitem__(self, i):
            return tf(x_cpu[i])

    cuda = device.type == "cuda"
    loader = DataLoader(PerImage(), batch_size=bs, shuffle=True, num_workers=8 if cuda else 0, drop_last=True)
    it = iter(loader)
    next(it)
    t = time.perf_counter()
    for _ in range(batches):
        xb = next(it).to(device, non_blocking=True)
    if cuda:
        torch.cuda.synchronize()
    del xb
    return batches * bs / (time.perf_counter() - t)


def time_to_one_percent(spec, x, W, b, y, device):
    """Seconds for E[L] to 1% by closed form, and by Monte Carlo with the N it needs."""
    pipe = build(spec)
    t = time.perf_counter()
    m = pipe.moments(x[None].double(), 32)
    e, v = (z.item() for z in linear_sq_loss_moments(W, b, y, m))
    t_cf = time.perf_counter() - t
    n = int(v / (0.01**2 * e**2)) + 1
    gen = torch.Generator(device=device).manual_seed(0)
    t = time.perf_counter()
    total, done = 0.0, 0
    while done < n:
        k = min(8192, n - done)
        z = pipe.sample(x[None].expand(k, *x.shape).contiguous(), gen).reshape(k, -1).double()
        total += float((y - z @ W.T - b).pow(2).sum(1).sum())
        done += k
    return t_cf, time.perf_counter() - t, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=20, help="batches of 256 timed per sampler")
    args = ap.parse_args()
    device = runtime.resolve_device("auto")
    ds = load_dataset("fashion_mnist")
    x = (ds.train_x[:20000].float() / 255).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    print(f"# Augmentation benchmark: Fashion-MNIST 28x28, {runtime.device_name(device)}, torch {torch.__version__}, "
          f"commit {runtime.git_commit()[:12]}")
    print("| augmentation | ours: batched, per-image draws (img/s) | torchvision per-image in a DataLoader (img/s) | ratio |")
    print("|---|---|---|---|")
    for spec in FAMILIES:
        a = ours(spec, x, gen, args.batches, 256, device)
        b = theirs(spec, ds.train_x[:20000], args.batches, 256, device)
        print(f"| {spec} | {a:,.0f} | {b:,.0f} | {a / b:.1f} |", flush=True)
    # a ridge classifier for the loss: small, fixed, so the numbers do not depend on training
    n = 5000
    X = torch.cat([ds.train_x[:n].reshape(n, -1).double() / 255, torch.ones(n, 1, dtype=torch.float64)], 1)
    Y = F.one_hot(ds.train_y[:n], 10).double()
    sol = torch.linalg.solve(X.T @ X + 5.0 * torch.eye(785, dtype=torch.float64), X.T @ Y)
    W, bias = sol[:-1].T.to(device), sol[-1].to(device)
    img = (ds.test_x[0].float() / 255).to(device)
    y = F.one_hot(ds.test_y[:1], 10).double().to(device)
    print()
    print("| augmentation | closed form E[L] (s) | Monte Carlo to 1% (s) | draws needed | speed-up |")
    print("|---|---|---|---|---|")
    for spec in ("crop(2)+flip", "rotate(30)", "noise(0.2)"):
        t_cf, t_mc, n_draws = time_to_one_percent(spec, img, W, bias, y, device)
        print(f"| {spec} | {t_cf:.4f} | {t_mc:.3f} | {n_draws:,} | {t_mc / t_cf:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
