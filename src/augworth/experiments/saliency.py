"""Runner of the `saliency` chapter (paper A, A4).

One cell per (training augmentation, seed): train the fast CNN, and at every checkpoint measure on
fixed test images, against the covariance Sigma(x) of the probe augmentation (a translation):

- the fraction of the saliency's energy ||g||^2 in the top-k and bottom-k eigenspaces of Sigma(x)
  (a random direction: k/d);
- the relative variance rho = g^T Sigma g / (||g||^2 tr(Sigma)/d): 1 for a random direction,
  below 1 when g avoids the high-variance directions;
- the share of ||g||^2 on edge pixels (Sobel magnitude above a quantile) against the share of
  pixels that are edges;
and, for the final model, Var[L] under the probe augmentation measured by Monte Carlo beside
g^T Sigma g (the theory step of A4), and saliency maps of a few images for the figures.
Cells are cached one by one (resumable sweep).
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..augment import build
from ..config import SaliencyParams
from ..data import balanced_indices, load_dataset
from ..metrics import saliency as sal
from ..models import Normalised
from ..seeds import seed_stream
from .cells import cell_type, convergence_cells, make_cell
from .registry import runner
from .sweep import run_sweep
from .training import cached_dataset, train_on_cell

N_SHOWN = 3  # images whose maps are kept for the figures
TEST_IMAGES_SEED = 12345  # the class-balanced test images every model is measured on


#: One model of the chapter: a fast CNN saved at its checkpoints, and what is measured at each.
SaliencyCell = cell_type("SaliencyCell", __name__, SaliencyParams,
                         ("probe", "n_images", "top_k", "edge_quantile", "n_mc"))


def cells(p: SaliencyParams) -> list:
    """One cell per (training augmentation, seed)."""
    main = [make_cell(SaliencyCell, p, augment=aug, seed=s, evaluate_val=False)
            for aug in p.augmentations for s in p.seeds]
    # a convergence run is measured once, at its end
    return main + [replace(c, checkpoints=(c.epochs,)) for _, _, c in convergence_cells(p, main)]


@functools.lru_cache(maxsize=2)
def _probe_geometry(probe: str, dataset: str, data_path, image_size: int, n_images: int, device: str):
    """The fixed test images (the same for every model), their labels, and the probe's
    moments and dense eigen-decomposition there. The same for every cell of a chapter: computed
    once per process (the dense eigh of n_images d x d covariances is a large part of a cell)."""
    images, labels = measured_images(cached_dataset(dataset, data_path, image_size, device), n_images)
    return (images, labels, *_geometry(probe, images))


def measured_images(ds, n_images: int):
    """The class-balanced test images (float in [0, 1]) and labels every model is measured on."""
    idx = balanced_indices(ds.test_y, n_images, TEST_IMAGES_SEED, num_classes=ds.num_classes).to(ds.device)
    return ds.test_x[idx].float() / 255.0, ds.test_y[idx]


def _geometry(probe: str, images: torch.Tensor):
    """The probe's moments at ``images`` and their dense eigen-decomposition (ascending)."""
    m = build(probe).moments(images.double())
    vals, vecs = sal.covariance_eigh(m)
    return m, vals, vecs


def saliency_cell(cell) -> dict:
    """Train one model (a :data:`SaliencyCell`) and measure its saliency over training."""
    with tempfile.TemporaryDirectory() as tmp:
        ds, _, res = train_on_cell(cell, checkpoint_dir=Path(tmp))
        return _measure(cell, ds, res, Path(tmp))


def _measure(p, ds, res, ckpt_dir: Path) -> dict:
    device = ds.device
    images, labels, m, vals, vecs = _probe_geometry(p.probe, p.dataset, p.data_path, p.image_size, p.n_images,
                                                    str(device))
    d = images[0].numel()
    mean_eig = m.trace() / d
    mean, std = res.normalisation
    over_time = []
    for epoch in p.checkpoints:
        state = torch.load(ckpt_dir / f"epoch{epoch:04d}.pt", map_location=device)
        res.model.load_state_dict(state["model"])
        model = Normalised(res.model, mean, std).eval()
        g = sal.input_gradients(model, images, labels).double()
        top, bottom = sal.eigenspace_energy(g, vecs, p.top_k)
        rho = m.quad(g.flatten(1)) / (g.flatten(1).pow(2).sum(1) * mean_eig).clamp_min(1e-300)
        edge, edge_frac = sal.edge_share(g, images.double(), p.edge_quantile)
        over_time.append({"epoch": epoch, "top": top.cpu().numpy(), "bottom": bottom.cpu().numpy(),
                          "rho": rho.cpu().numpy(), "edge": edge.cpu().numpy(), "edge_frac": edge_frac.cpu().numpy(),
                          "grad_norm": g.flatten(1).norm(dim=1).cpu().numpy()})
    # final model: the theory step, Var[L] under the probe by Monte Carlo against g^T Sigma g at mu
    gen = torch.Generator(device=device).manual_seed(seed_stream(p.seed, "probe draws"))
    pipe = build(p.probe)
    mc_var, gsg = [], []
    for i in range(len(images)):
        with torch.no_grad():
            z = pipe.sample(images[i : i + 1].expand(p.n_mc, -1, -1, -1).contiguous(), gen)
            losses = F.cross_entropy(model(z), labels[i].expand(p.n_mc), reduction="none").double()
        mc_var.append(float(losses.var()))
        g_mu = sal.input_gradients(model, m.mean[i].reshape(1, *images.shape[1:]).float(), labels[i : i + 1]).double()
        gsg.append(float((m.factor[i] @ g_mu.flatten()).pow(2).sum() + m.noise_var * g_mu.pow(2).sum()))
    return {"over_time": over_time, "mc_var": np.array(mc_var), "gsg": np.array(gsg),
            "saliency_maps": g[:N_SHOWN].float().cpu().numpy(), "test_acc": res.final["test"]["accuracy"],
            "random_baseline": p.top_k / d}


@runner("saliency", version=1, params=SaliencyParams)
def saliency(p: SaliencyParams, device) -> dict:
    """Sweep (augmentation x seed) of saliency_cell; plus the probe's eigenvectors for the figures."""
    todo = cells(p)
    res = run_sweep(saliency_cell, todo, name="saliency_cell")
    ds = load_dataset(p.dataset, data_path=p.data_path, image_size=p.image_size)
    images = measured_images(ds, p.n_images)[0][:N_SHOWN]
    _, vals, vecs = _geometry(p.probe, images)
    rank = int((vals[0] > 1e-10 * vals[0].max()).sum())
    rows = [{"augment": c.augment, "seed": c.seed, "epochs": c.epochs, **r} for c, r in zip(todo, res.results)]
    n = len(p.augmentations) * len(p.seeds)  # the main cells first, then the convergence runs
    return {"compute_s": res.compute_s, "cells": rows[:n], "convergence": rows[n:],
            "images": images.numpy(), "top_vecs": vecs[:, :, -2:].numpy(),
            "low_vec": vecs[:, :, -rank].numpy(), "eigvals": vals.numpy(), "rank": rank}


saliency_cell.cell_type = SaliencyCell
