"""Device choice, seeding, progress bars and provenance: what every run needs to know about
the machine it runs on."""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import random
import subprocess
import sys
from typing import Any, Iterable, TypeVar

from . import paths

T = TypeVar("T")


def resolve_device(spec: str = "auto"):
    """``auto`` -> CUDA when present, else CPU. ``AUGWORTH_DEVICE`` overrides ``auto``. A device
    that is not here is a :class:`augworth.config.ConfigError` naming where it was asked for."""
    import torch

    from .config.base import ConfigError

    source = "parameter 'device'"
    if spec == "auto" and os.environ.get("AUGWORTH_DEVICE", "auto") != "auto":
        spec, source = os.environ["AUGWORTH_DEVICE"], "environment variable AUGWORTH_DEVICE"
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"{source} = {spec!r} is not a device: use auto, cpu, cuda, cuda:N or mps") from None
    for kind, here in (("cuda", torch.cuda.is_available()), ("mps", torch.backends.mps.is_available())):
        if device.type == kind and not here:
            raise ConfigError(f"{source} = {spec!r} asks for {kind.upper()}, which is not available on this machine: "
                              f"use auto or cpu")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices). Pass explicit generators where it matters."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def progress_enabled() -> bool:
    """Bars go to a terminal. ``AUGWORTH_PROGRESS=0/1`` forces them off/on (notebooks executed
    for the book run with 0, so bars do not end up as text in the pages)."""
    forced = os.environ.get("AUGWORTH_PROGRESS")
    if forced is not None:
        return forced not in ("0", "", "false", "no")
    return sys.stderr.isatty()


def progress(iterable: Iterable[T], desc: str = "", total: int | None = None, **kw: Any) -> Iterable[T]:
    """A tqdm bar (with rate and ETA) over ``iterable``, or the bare iterable when bars are off."""
    if not progress_enabled():
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, desc=desc, total=total, dynamic_ncols=True, **kw)


def report(line: str) -> None:
    """One progress line for a person watching: appended to ``AUGWORTH_PROGRESS_FILE`` when set
    (the book pipeline tails it to the terminal while a notebook executes), else nothing."""
    target = os.environ.get("AUGWORTH_PROGRESS_FILE")
    if target:
        with open(target, "a") as fh:
            fh.write(line.rstrip("\n") + "\n")


def eta(done: int, total: int, seconds: float) -> str:
    """'m:ss' left at the rate so far (or '?' before the first item)."""
    if done == 0:
        return "?"
    left = seconds / done * (total - done)
    return f"{int(left // 60)}:{int(left % 60):02d}"


@functools.lru_cache(maxsize=1)
def git_commit() -> str:
    """The repository's HEAD commit, with ``+dirty`` when tracked files are modified."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=paths.ROOT, capture_output=True, text=True, check=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


@functools.lru_cache(maxsize=None)
def keep_freed_memory() -> bool:
    """Let glibc's malloc keep the memory torch frees for the next allocation, in this process.

    By default glibc serves every block above 32 MiB (an evaluation batch of 1,024 images, a
    Monte Carlo batch of 4,096 draws) with a fresh mmap and returns it on free, so the next
    batch faults in and zeroes every page again: measured on 2 cores, a width-16 fast CNN's
    forward pass on 4,096 images spent half its time in the kernel (3.7 M page faults for six
    passes; 0.4 M with this). No block from mmap and no trimming below 2 GiB fixes that; the
    process keeps its peak heap. The numbers do not change (torch aligns every tensor to 64 bytes
    either way; tested). ``AUGWORTH_MALLOC=default`` leaves malloc alone. Returns whether it was
    applied (not on other C libraries)."""
    if os.environ.get("AUGWORTH_MALLOC", "keep") == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no mallopt (not glibc)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0) and mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "\
           f"{torch.get_num_threads()} torch threads)"


def provenance(device) -> dict[str, Any]:
    """Where and with what a result was computed."""
    import torch

    from . import __version__

    return {
        "augworth": __version__,
        "git_commit": git_commit(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": str(device),
        "device_name": device_name(device),
    }


#: ms per optimiser step of :func:`reference_step_ms` on the 2-core AMD EPYC Zen 3 (torch 2.14.1)
#: the quick profile's time target (15 min of notebooks) was set on. Machines of the same
#: nominal kind have measured 10.5 to 27 ms here, so a time is comparable only once scaled.
REFERENCE_STEP_MS = 13.4
REFERENCE_WIDTH, REFERENCE_BATCH = 8, 64  # the fast CNN and the batch of that step (28x28 grey images)
REFERENCE_INPUT = (1, 28, 10)  # channels, side and classes of that step's images (Fashion-MNIST's)


def reference_step_ms(steps: int = 10, blocks: int = 7, warmup: int = 2) -> float:
    """This machine's speed at the book's typical work: the median over ``blocks`` blocks of
    ``steps`` steps (after ``warmup`` blocks) of one training step of the width-8 fast CNN,
    batch 64 of 28x28 images, one torch thread, channels_last, SGD with Nesterov momentum -- an
    exchange_rate cell's step. Scale a time measured here to the machine the quick profile was
    sized on with ``seconds * REFERENCE_STEP_MS / reference_step_ms()`` (an estimate: evaluation
    and augmentation scale like training to within the spread seen between machines)."""
    import statistics
    import time

    import torch
    import torch.nn.functional as F

    from .models import build_model

    keep_freed_memory()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(0)
        channels, side, classes = REFERENCE_INPUT
        model = build_model("fast_cnn", in_channels=channels, num_classes=classes, image_size=side, width=REFERENCE_WIDTH,
                            seed=0)
        model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
        x = torch.randn(REFERENCE_BATCH, channels, side, side, generator=gen).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, classes, (REFERENCE_BATCH,), generator=gen)
        times = []
        for block in range(warmup + blocks):
            start = time.perf_counter()
            for _ in range(steps):
                loss = F.cross_entropy(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if block >= warmup:
                times.append((time.perf_counter() - start) / steps * 1e3)
        return statistics.median(times)
    finally:
        torch.set_num_threads(before)


def machine_note(seconds: float, step_ms: float | None = None) -> str:
    """'N min here (reference step X ms: about M min on the machine the quick profile was sized
    on)' for a time measured on this machine."""
    step_ms = reference_step_ms() if step_ms is None else step_ms
    scaled = seconds * REFERENCE_STEP_MS / step_ms
    return (f"{seconds / 60:.1f} min here (reference step {step_ms:.1f} ms; {REFERENCE_STEP_MS} ms on the 2-core "
            f"Zen 3 the quick profile is sized on: about {scaled / 60:.1f} min there)")
