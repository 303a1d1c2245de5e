"""Runner of the `flatness` chapter (paper C, C5).

One cell per (training augmentation, seed): train the fast CNN, then in eval mode (BatchNorm
running statistics as trained), fp32:

- 1-D and 2-D filter-normalised loss slices (Li et al. 2018) along the first directions, for the
  figures (batched over grid points);
- perturb-to-threshold flatness along ``directions`` random filter-normalised directions: the
  distance at which the mean cross-entropy over the whole un-augmented training subset reaches
  ``threshold`` (absolute, paper C) and ``L0 + threshold`` (relative to the starting loss, since
  augmented models start higher); paper C's convention (step * k * ||d||) and a refined distance;
- the Hessian's top eigenvalue (power iteration) and trace (Hutchinson) on a fixed sample;
- gradient noise of mini-batch (128) gradients over ``noise_passes`` passes of the training
  subset, for the same model, with the augmentation drawn (a) fresh per image, (b) once per batch,
  (c) once per image before training (fixed copies), (d) not at all.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..augment import build
from ..config import FlatnessParams, param
from ..metrics import hessian, landscape
from ..models import Normalised
from ..seeds import seed_stream
from .cells import cell_type, convergence_cells, make_cell
from .registry import runner
from .sweep import run_sweep
from .training import train_on_cell

MODES = ("fresh", "same-batch", "fixed", "none")
SLICE_POINTS = 21  # points of the 1-D loss slice over [-1, 1] (the figures' curve)

#: One model of the chapter: a fast CNN (its training fields) and what is measured on it.
FlatnessCell = cell_type(
    "FlatnessCell", __name__, FlatnessParams,
    ("directions", "step", "threshold", "bisections", "hessian_images", "power_iters", "power_tol", "probes",
     "noise_augment", "noise_passes", "grid"),
    extra={"slice_2d": (bool, param(True, "compute the 2-D loss slice (the chapter draws it for its first seed)"))})


def cells(p: FlatnessParams) -> list:
    """One cell per (training augmentation, seed); the 2-D slice (49 loss evaluations over the
    training subset at grid 7, the largest part of a cell after training on the CPU) only where the
    chapter draws it: the first seed."""
    main = [make_cell(FlatnessCell, p, augment=aug, seed=s, evaluate_val=False, slice_2d=s == p.seeds[0])
            for aug in p.augmentations for s in p.seeds]
    return main + [c for _, _, c in convergence_cells(p, main, slice_2d=False)]


def _batch_gradients(model, x, y, pipe, mode: str, gen, passes: int, batch: int = 128) -> list[torch.Tensor]:
    params = [p for p in model.parameters() if p.requires_grad]
    fixed = pipe.sample(x, gen) if mode == "fixed" else None
    shuffle = torch.Generator().manual_seed(0)
    grads = []
    for _ in range(passes):
        perm = torch.randperm(len(x), generator=shuffle).to(x.device)
        for b in range(len(x) // batch):
            idx = perm[b * batch : (b + 1) * batch]
            xb = x[idx]
            if mode == "fresh":
                xb = pipe.sample(xb, gen)
            elif mode == "same-batch":
                xb = pipe.sample_shared(xb, gen)
            elif mode == "fixed":
                xb = fixed[idx]
            loss = F.cross_entropy(model(xb), y[idx])
            g = torch.autograd.grad(loss, params)
            grads.append(torch.cat([t.reshape(-1) for t in g]).detach())
    return grads


def flatness_cell(cell) -> dict:
    """Train one model (a :data:`FlatnessCell`) and measure its landscape."""
    p = cell
    ds, idx, res = train_on_cell(cell)
    device = ds.device
    mean, std = res.normalisation
    model = Normalised(res.model, mean, std).eval().float()
    x, y = ds.train_x[idx].float() / 255.0, ds.train_y[idx]

    def train_loss() -> float:
        with torch.no_grad():
            return float(torch.cat([F.cross_entropy(model(x[i : i + 1024]), y[i : i + 1024], reduction="none")
                                    for i in range(0, len(x), 1024)]).mean())

    start = train_loss()
    alphas = torch.linspace(-1.0, 1.0, SLICE_POINTS)
    direction_seed = seed_stream(cell.seed, "directions")  # direction k: this + k
    d1 = landscape.filter_normalised_direction(model, seed=direction_seed)
    slice_1d = landscape.loss_grid(model, x, y, [d1], alphas)
    alphas_2d = torch.linspace(-1.0, 1.0, p.grid)
    slice_2d = None
    if cell.slice_2d:
        d2 = landscape.filter_normalised_direction(model, seed=direction_seed + 1)
        slice_2d = landscape.loss_grid(model, x, y, [d1, d2], alphas_2d).numpy()
    flat = []
    for k in range(p.directions):
        d = landscape.filter_normalised_direction(model, seed=direction_seed + k)
        walked = {0: start}  # both thresholds walk the same steps (from the start): each loss computed once
        for name, thr in (("absolute", p.threshold), ("relative", start + p.threshold)):
            out = landscape.perturb_to_threshold(model, train_loss, d, step=p.step, threshold=thr,
                                                 bisections=p.bisections, memo=walked)
            flat.append({"direction": k, "threshold": name, "paper": out["paper"], "refined": out["refined"],
                         "steps": out["steps"]})
    hx, hy = x[: p.hessian_images], y[: p.hessian_images]
    h_loss = lambda: F.cross_entropy(model(hx), hy)  # noqa: E731
    top, history = hessian.top_eigenvalue(model, h_loss, iters=p.power_iters, tol=p.power_tol, seed=cell.seed)
    trace, trace_se = hessian.hutchinson_trace(model, h_loss, probes=p.probes, seed=cell.seed)
    pipe = build(p.noise_augment)
    gen = torch.Generator(device=device).manual_seed(seed_stream(cell.seed, "gradient noise"))
    noise = {mode: landscape.gradient_noise(_batch_gradients(model, x, y, pipe, mode, gen, p.noise_passes))
             for mode in MODES}
    return {"flatness": flat, "start_loss": start, "slice_alphas": alphas.numpy(), "slice_1d": slice_1d.numpy(),
            "slice_2d_alphas": alphas_2d.numpy(), "slice_2d": slice_2d, "top_eig": top, "power_history": np.array(history),
            "trace": trace, "trace_se": trace_se, "noise": noise, "test_acc": res.final["test"]["accuracy"],
            "train_acc": res.history[-1]["train_acc"]}


@runner("flatness", version=1, params=FlatnessParams)
def flatness(p: FlatnessParams, device) -> dict:
    """Sweep (augmentation x seed) of flatness_cell."""
    todo = cells(p)
    res = run_sweep(flatness_cell, todo, name="flatness_cell")
    rows = [{"augment": c.augment, "seed": c.seed, "epochs": c.epochs, **r} for c, r in zip(todo, res.results)]
    n = len(p.augmentations) * len(p.seeds)  # the main cells first, then the convergence runs
    return {"compute_s": res.compute_s, "cells": rows[:n], "convergence": rows[n:]}


flatness_cell.cell_type = FlatnessCell
