"""Runner of the `sample_complexity` chapter (paper A: A1-A3).

For a trained CNN (cross-entropy) and a linear least-squares classifier (squared loss), and for
every augmentation, per test image:

- the truth: E[L], Var[L], E[grad_w L] and tr Cov[grad_w L] -- closed form for the linear model's
  loss; over the pipeline's views otherwise (exact for discrete/affine families, Gauss-Legendre
  quadrature for rotation, blur and random-resized crop, whose error is measured against a rule
  with twice the nodes); a large Monte Carlo reference where the pipeline adds noise (CNN);
- the number of draws a Monte Carlo estimate needs for a relative error eps, predicted from the
  variance, N = Var[L] / (eps^2 E[L]^2) (for the gradient tr Cov / (eps^2 ||E g||^2)), and observed:
  the smallest N on a doubling grid after which the running MC estimate stays within eps;
- the same for the loss averaged over a data set of n images, which needs n times fewer draws.

And the no-sampling experiment: a linear least-squares classifier fitted on the closed-form
expected loss versus fitted on k sampled augmentations per image, k = 1 ... k_max.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import runtime
from ..augment import build
from ..config import SampleComplexityParams
from ..data import balanced_indices, train_val_split
from ..metrics.da_moments import delta_moments, linear_sq_loss_grad, linear_sq_loss_moments
from ..metrics.grads import per_sample_grads
from ..models import Normalised
from .registry import runner
from .sweep import run_sweep
from .training import train_fields, train_on_cell

EPSILONS = (0.01, 0.05)


def per_image_ce(out, y):
    """Cross-entropy of each image (no reduction): the loss whose moments chapters A1-A3 measure."""
    return F.cross_entropy(out, y, reduction="none")


def _sq(out, y):
    onehot = (torch.arange(out.shape[1], device=out.device) == y[:, None]).to(out.dtype)  # vmap-safe one_hot
    return (onehot - out).pow(2).sum(1)


def _ridge(x: torch.Tensor, y: torch.Tensor, k: int, lam: float) -> nn.Linear:
    """Least squares with one-hot targets and a ridge penalty (lam per image) on clean images."""
    n = len(x)
    X = torch.cat([x.reshape(n, -1).double(), torch.ones(n, 1, dtype=torch.float64, device=x.device)], 1)
    Y = F.one_hot(y, k).double()
    A = X.T @ X + lam * n * torch.eye(X.shape[1], dtype=torch.float64, device=x.device)
    sol = torch.linalg.solve(A, X.T @ Y)
    lin = nn.Linear(X.shape[1] - 1, k).to(x.device)
    with torch.no_grad():
        lin.weight.copy_(sol[:-1].T.float())
        lin.bias.copy_(sol[-1].float())
    return lin


class Flat(nn.Module):
    def __init__(self, lin: nn.Linear):
        super().__init__()
        self.lin = lin

    def forward(self, x):
        return self.lin(x.reshape(len(x), -1))


def _grid(n_max: int) -> np.ndarray:
    return 2 ** np.arange(0, int(math.log2(n_max)) + 1)


def _observed_n(rel_err: np.ndarray, grid: np.ndarray, eps: float) -> float:
    """Smallest grid N after which the running estimate stays within eps (inf if never)."""
    ok = rel_err[grid - 1] <= eps
    bad = np.nonzero(~ok)[0]
    if len(bad) == 0:
        return float(grid[0])
    return float(grid[bad[-1] + 1]) if bad[-1] + 1 < len(grid) else math.inf


def truth(model, loss, pipe, x, y, p, device, gen, grads: bool = True):
    """(E[L], Var[L], E[g], trCov[g], how) for one image, from the views or an MC reference
    (without ``grads``, the gradient moments are None). ``p`` names ``quad_nodes``,
    ``quad_nodes_rrc``, ``n_ref`` (and ``grad_n_max`` with ``grads``)."""
    noisy = any(s.name == "noise" for s in pipe.stages)
    nodes = p.quad_nodes_rrc if any(s.name == "rrc" for s in pipe.stages) else p.quad_nodes
    if not noisy:
        views, w = pipe.views(x[None], nodes, functions=True)
        views = views[0].float()
        w = w.to(device, torch.float64)
        with torch.no_grad():
            vals = torch.cat([loss(model(views[i:i + 2048]), y.expand(len(views[i:i + 2048])))
                              for i in range(0, len(views), 2048)]).double()
        mean = (w * vals).sum()
        var = (w * (vals - mean) ** 2).sum()
        how = "exact (views)" if pipe.discrete else f"quadrature ({len(w)} views)"
        if not grads:
            return float(mean), float(var), None, None, how
        g_mean, g_sq = 0.0, 0.0
        for i in range(0, len(views), 1024):
            g = per_sample_grads(model, loss, views[i:i + 1024], y.expand(len(views[i:i + 1024]))).double()
            g_mean = g_mean + (w[i:i + 1024, None] * g).sum(0)
            g_sq = g_sq + (w[i:i + 1024] * g.pow(2).sum(1)).sum()
        return float(mean), float(var), g_mean, float(g_sq - g_mean.pow(2).sum()), how
    xs = x[None].expand(p.n_ref, *x.shape)
    with torch.no_grad():
        vals = torch.cat([loss(model(pipe.sample(xs[i:i + 4096].contiguous(), gen)), y.expand(len(xs[i:i + 4096])))
                          for i in range(0, p.n_ref, 4096)]).double()
    how = f"Monte Carlo reference ({p.n_ref} draws)"
    if not grads:
        return float(vals.mean()), float(vals.var()), None, None, how
    n_g = min(p.n_ref, 4 * p.grad_n_max)
    g = per_sample_grads(model, loss, pipe.sample(xs[:n_g].contiguous(), gen), y.expand(n_g)).double()
    g_mean = g.mean(0)
    return float(vals.mean()), float(vals.var()), g_mean, float(g.pow(2).sum(1).mean() - g_mean.pow(2).sum()), how


def _mc_curves(model, loss, pipe, x, y, p, gen, truth_mean, truth_grad):
    xs = x[None].expand(p.n_max, *x.shape)
    with torch.no_grad():
        vals = torch.cat([loss(model(pipe.sample(xs[i:i + 4096].contiguous(), gen)), y.expand(len(xs[i:i + 4096])))
                          for i in range(0, p.n_max, 4096)]).double()
    running = torch.cumsum(vals, 0) / torch.arange(1, p.n_max + 1, dtype=torch.float64, device=vals.device)
    loss_err = (running - truth_mean).abs() / abs(truth_mean)
    g = per_sample_grads(model, loss, pipe.sample(xs[:p.grad_n_max].contiguous(), gen), y.expand(p.grad_n_max)).double()
    run_g = torch.cumsum(g, 0) / torch.arange(1, p.grad_n_max + 1, dtype=torch.float64, device=g.device)[:, None]
    grad_err = (run_g - truth_grad).norm(dim=1) / truth_grad.norm()
    return loss_err.cpu().numpy(), grad_err.cpu().numpy()


def _no_sampling(p: SampleComplexityParams, ds, pool, device, gen) -> dict:
    """Linear least squares on the closed-form expected loss versus on k sampled views per image."""
    k_cls = ds.num_classes
    idx = balanced_indices(ds.train_y, p.lin_n, p.seed + 7, pool=pool, num_classes=k_cls).to(ds.device)
    x = ds.train_x[idx].to(device).double() / 255.0
    y = ds.train_y[idx].to(device)
    n, d = len(x), x[0].numel()
    pipe = build(p.lin_augment)
    Y = F.one_hot(y, k_cls).double()
    eye = torch.eye(d + 1, dtype=torch.float64, device=device)
    # closed form: E[x~' x~'^T] with x~' = [x~, 1] summed over images
    A = torch.zeros(d + 1, d + 1, dtype=torch.float64, device=device)
    B = torch.zeros(d + 1, k_cls, dtype=torch.float64, device=device)
    for i in range(0, n, 64):
        m = pipe.moments(x[i:i + 64], p.quad_nodes)
        f = m.factor.reshape(-1, d)
        A[:d, :d] += f.T @ f + m.mean.T @ m.mean + m.noise_var * len(m.mean) * eye[:d, :d]
        A[:d, d] += m.mean.sum(0)
        A[d, :d] += m.mean.sum(0)
        A[d, d] += len(m.mean)
        B[:d] += m.mean.T @ Y[i:i + 64]
        B[d] += Y[i:i + 64].sum(0)
    lam = p.ridge * n * eye
    W_star = torch.linalg.solve(A + lam, B)

    def objective(W):  # the exact expected augmented training loss (per image), + ridge
        return float((torch.trace(W.T @ A @ W) - 2 * torch.trace(W.T @ B) + Y.pow(2).sum()) / n)

    tx = ds.test_x.to(device).double().reshape(len(ds.test_x), -1) / 255.0
    tX = torch.cat([tx, torch.ones(len(tx), 1, dtype=torch.float64, device=device)], 1)
    ty = ds.test_y.to(device)

    def test_acc(W):
        return float(((tX @ W).argmax(1) == ty).double().mean())

    rows = []
    Ak = torch.zeros_like(A)
    Bk = torch.zeros_like(B)
    done = 0
    for k in sorted(p.k_values):
        for _ in range(k - done):  # one more fresh draw of every image
            z = pipe.sample(x, gen).reshape(n, d)
            Z = torch.cat([z, torch.ones(n, 1, dtype=torch.float64, device=device)], 1)
            Ak += Z.T @ Z
            Bk += Z.T @ Y
        done = k
        W_k = torch.linalg.solve(Ak / k + lam, Bk / k)
        rows.append({"k": k, "rel_weight_error": float((W_k - W_star).norm() / W_star.norm()),
                     "expected_loss": objective(W_k), "test_acc": test_acc(W_k)})
    return {"rows": rows, "closed_form": {"expected_loss": objective(W_star), "test_acc": test_acc(W_star)},
            "n": n, "augment": p.lin_augment}


def moment_map(spec: str, x: torch.Tensor, nodes: int, n_mc: int, gen: torch.Generator) -> dict:
    """Claim A1 on one image (C, H, W) in [0, 1]: the closed-form mean and standard deviation per
    pixel of ``spec`` beside a Monte Carlo of ``n_mc`` draws, with the largest |z| of the mean (MC
    minus closed form over its standard error) and the largest error of the MC standard deviation
    relative to the largest closed-form one."""
    pipe = build(spec)
    m = pipe.moments(x[None].double(), nodes)
    draws = torch.cat([pipe.sample(x[None].expand(min(4096, n_mc - i), *x.shape).contiguous(), gen).double()
                       for i in range(0, n_mc, 4096)]).reshape(n_mc, -1)
    mc_mean, mc_std = draws.mean(0), draws.std(0)
    se = mc_std / n_mc**0.5
    ok = se > 1e-9
    z = ((mc_mean - m.mean[0]).abs()[ok] / se[ok]).max().item() if ok.any() else 0.0
    shape = tuple(x.shape)
    std = m.variance()[0].sqrt()
    return {"mean": m.mean[0].reshape(shape).cpu().numpy(), "std": std.reshape(shape).cpu().numpy(),
            "mc_std": mc_std.reshape(shape).cpu().numpy(), "max_z_mean": z,
            "max_rel_std_err": float((mc_std - std).abs().max() / std.max().clamp_min(1e-12)),
            "exact": pipe.exact, "n_mc": n_mc}


def nodes_for(p, spec: str) -> int:
    """Quadrature nodes per parameter for ``spec``: the random-resized crop's 4-D rule has its own."""
    return p.quad_nodes_rrc if "rrc" in spec else p.quad_nodes


def _a1_maps(p: SampleComplexityParams, x: torch.Tensor, gen: torch.Generator) -> dict:
    """Claim A1 on one image, for every augmentation of the chapter (:func:`moment_map`)."""
    out = {"image": x.cpu().numpy()}
    for spec in p.augmentations:
        out[spec] = moment_map(spec, x, nodes_for(p, spec), 8 * p.n_max, gen)
    return out


def reference_error(how: str, e: float, v: float, p: SampleComplexityParams) -> float:
    """Relative error of the truth itself: 0 over exact views, the Monte Carlo reference's
    standard error sqrt(Var / n_ref) / E, NaN for quadrature on the CNN (not measured)."""
    if how.startswith("exact"):
        return 0.0
    if how.startswith("Monte Carlo"):
        return math.sqrt(v / p.n_ref) / abs(e) if e else math.inf
    return float("nan")


CHAPTER_CELL_VERSION = 1  # chapter_cell (main_cell and seed_cell): bump when either changes what it computes


def seed_cell(cell: dict) -> dict:
    """The verdict's numbers for one more seed: a CNN trained with that seed (its own subset,
    initialisation and draws) and, on the chapter's test images, E[L], Var[L] (truth), the
    delta-method Var[L] = g^T Sigma g and the draws a 1%-accurate loss needs, per augmentation."""
    seed = cell["verdict_seed"]
    p = SampleComplexityParams.from_mapping({k: v for k, v in cell.items() if k != "verdict_seed"})
    _, ds, _, res = train_on_cell(train_fields(p, p.train_augment, seed), val=False)
    device = ds.device
    mean, std = res.normalisation
    cnn = Normalised(res.model, mean, std).eval()
    test_idx = balanced_indices(ds.test_y, p.n_images, p.seed + 1, num_classes=ds.num_classes).to(device)
    images, labels = ds.test_x[test_idx].float() / 255.0, ds.test_y[test_idx]
    gen = torch.Generator(device=device).manual_seed(seed + 2)
    records = []
    for spec in p.augmentations:
        pipe = build(spec)
        nodes = nodes_for(p, spec)
        for i in range(len(images)):
            x, y = images[i], labels[i]
            e, v, _, _, how = truth(cnn, per_image_ce, pipe, x, y, p, device, gen, grads=False)
            m = pipe.moments(x[None].double(), nodes)  # delta method: Var[L] ~ g^T Sigma g, g at the mean
            g = torch.func.grad(lambda z, y=y: per_image_ce(cnn(z[None]), y[None])[0])(m.mean[0].reshape(x.shape).float())
            records.append({"seed": seed, "augment": spec, "image": i, "E_L": e, "Var_L": v,
                            "delta_Var_L": float(m.quad(g.detach().reshape(1, -1).to(m.mean.dtype))[0]),
                            "ref_rel_err": reference_error(how, e, v, p), "N_pred_loss_0.01": v / (0.01**2 * e**2)})
    return {"records": records, "test_acc": res.final["test"]["accuracy"]}


def main_cell(cell: dict) -> dict:
    """The chapter's measurements on the main seed's CNN and linear model (see the module doc):
    MC error versus N and predicted/observed N for 1% and 5%, per augmentation; A1's maps; the
    no-sampling fit."""
    p = SampleComplexityParams.from_mapping(cell)
    device = runtime.resolve_device(p.device)
    _, ds, idx, res = train_on_cell(train_fields(p, p.train_augment, p.seed), val=False)
    pool, _ = train_val_split(ds.train_y, p.val_size, num_classes=ds.num_classes)
    mean, std = res.normalisation
    cnn = Normalised(res.model, mean, std).eval()
    lin = Flat(_ridge(ds.train_x[idx].float() / 255.0, ds.train_y[idx], ds.num_classes, p.ridge)).eval()
    lin_acc = float((lin(ds.test_x.float() / 255.0).argmax(1) == ds.test_y).float().mean())

    test_idx = balanced_indices(ds.test_y, p.n_images, p.seed + 1, num_classes=ds.num_classes).to(ds.device)
    images = ds.test_x[test_idx].float() / 255.0
    labels = ds.test_y[test_idx]
    gen = torch.Generator(device=device).manual_seed(p.seed + 2)
    grid_l, grid_g = _grid(p.n_max), _grid(p.grad_n_max)
    records, curves = [], {}
    models = {"cnn": (cnn, per_image_ce), "linear": (lin, _sq)}
    jobs = [(spec, name) for spec in p.augmentations for name in models]
    for spec, name in runtime.progress(jobs, desc="sample complexity"):
        pipe = build(spec)
        model, loss = models[name]
        errs_l, errs_g = [], []
        for i in range(len(images)):
            x, y = images[i], labels[i]
            e, v, g_mean, g_tr, how = truth(model, loss, pipe, x, y, p, device, gen)
            quad_err = float("nan")
            if name == "linear":  # closed form for the loss; checks the views and measures quadrature
                nodes = nodes_for(p, spec)
                m = pipe.moments(x[None].double(), nodes, functions=True)
                W, b = lin.lin.weight.detach().double(), lin.lin.bias.detach().double()
                onehot = F.one_hot(y, ds.num_classes).double()[None]
                e_cf, v_cf = (t.item() for t in linear_sq_loss_moments(W, b, onehot, m))
                g_cf = linear_sq_loss_grad(W, b, onehot, m)[0].reshape(-1)
                if not pipe.exact:
                    m2 = pipe.moments(x[None].double(), 2 * nodes, functions=True)
                    quad_err = abs(linear_sq_loss_moments(W, b, onehot, m2)[0].item() - e_cf) / e_cf
                e, v = e_cf, v_cf
                g_mean = torch.cat([g_cf, 2 * (W @ m.mean[0] + b - onehot[0])])  # weight then bias
                how = "closed form" + ("" if pipe.exact else " (quadrature)")
            delta_e = delta_v = float("nan")
            if name == "cnn":  # paper A's second-order (delta-method) moments for a network
                nodes = nodes_for(p, spec)
                m = pipe.moments(x[None].double(), nodes)
                f = lambda z, y=y: loss(model(z[None]), y[None])[0]  # noqa: E731
                de, dv = delta_moments(f, m, tuple(x.shape))
                delta_e, delta_v = de.item(), dv.item()
            le, ge = _mc_curves(model, loss, pipe, x, y, p, gen, e, g_mean)
            errs_l.append(le[grid_l - 1])
            errs_g.append(ge[grid_g - 1])
            rec = {"augment": spec, "model": name, "image": i, "label": int(y), "E_L": e, "Var_L": v,
                   "ref_rel_err": reference_error(how, e, v, p),
                   "grad_norm": float(g_mean.norm()), "grad_trcov": g_tr, "truth": how, "quad_rel_err": quad_err,
                   "delta_E_L": delta_e, "delta_Var_L": delta_v, "mc_rel_err_at_n_max": float(le[-1])}
            for eps in EPSILONS:
                rec[f"N_pred_loss_{eps}"] = v / (eps**2 * e**2)
                rec[f"N_obs_loss_{eps}"] = _observed_n(le, grid_l, eps)
                rec[f"N_pred_grad_{eps}"] = g_tr / (eps**2 * float(g_mean.pow(2).sum()))
                rec[f"N_obs_grad_{eps}"] = _observed_n(ge, grid_g, eps)
            records.append(rec)
        curves[f"{name}|{spec}"] = {"loss": np.array(errs_l), "grad": np.array(errs_g)}
    return {
        "a1": _a1_maps(p, images[0], gen),
        "records": records,
        "curves": curves,
        "grid_loss": grid_l, "grid_grad": grid_g,
        "cnn_test_acc": res.final["test"]["accuracy"], "linear_test_acc": lin_acc,
        "n_test": len(ds.test_y),
        "no_sampling": _no_sampling(p, ds, pool, device, torch.Generator(device=device).manual_seed(p.seed + 3)),
        "seed": p.seed,
    }


def chapter_cell(cell: dict) -> dict:
    """One cell of the chapter's sweep: the main seed's measurements, or one more seed's."""
    role = cell["role"]
    rest = {k: v for k, v in cell.items() if k != "role"}
    return main_cell(rest) if role == "main" else seed_cell(rest)


@runner("sample_complexity", version=3, params=SampleComplexityParams)
def sample_complexity(p: SampleComplexityParams, device) -> dict:
    """The main seed's measurements and the verdicts' extra seeds, as ONE sweep: the cells run in
    parallel (the main cell first, being the longest), each on one thread like every cell."""
    base = {**p.to_dict(), "verdict_seeds": []}  # a cell's result never depends on the other seeds
    cells = [{**base, "role": "main"}] + [{**base, "role": "seed", "verdict_seed": s} for s in p.verdict_seeds]
    res = run_sweep(chapter_cell, cells, name="sample_complexity_cell", version=CHAPTER_CELL_VERSION)
    main, seeds = res.results[0], res.results[1:]
    return {**main, "seed_records": [r for run in seeds for r in run["records"]], "compute_s": res.compute_s}


# --- summaries and verdict (pure functions of the runner's result) -----------------------------

COMMON = ("crop(2)+flip", "rrc(0.08)")  # the usual training recipes: the paper's "common DAs"
PAPER_N = 10_000                         # "tens of thousands of samples"


def n_table(result: dict, model: str = "cnn") -> "pd.DataFrame":
    """Per augmentation: draws needed for 1% and 5% relative error of the per-image loss and its
    weight gradient, predicted (median, quartiles, p90 and worst over the images of the main
    seed's model: a description of the images, not an interval over seeds) and observed
    (median), and for the loss averaged over the whole test set."""
    import pandas as pd

    df = pd.DataFrame(result["records"])
    df = df[df.model == model]
    rows = []
    for spec, g in df.groupby("augment", sort=False):
        row = {"augment": spec, "truth": g.truth.iloc[0]}
        for what in ("loss", "grad"):
            for eps in EPSILONS:
                pred = g[f"N_pred_{what}_{eps}"].to_numpy()
                row[f"{what} {eps:.0%} pred median"] = float(np.median(pred))
                row[f"{what} {eps:.0%} pred quartiles"] = tuple(np.quantile(pred, [0.25, 0.75]).tolist())
                row[f"{what} {eps:.0%} pred p90"] = float(np.quantile(pred, 0.9))
                row[f"{what} {eps:.0%} pred max"] = float(pred.max())
                row[f"{what} {eps:.0%} obs median"] = float(np.median(g[f"N_obs_{what}_{eps}"]))
        # the data-set average: Var of the mean of n per-image estimates is mean(Var) / n per draw
        for eps in EPSILONS:
            row[f"dataset loss {eps:.0%} pred"] = float(g.Var_L.mean() / (result["n_test"] * eps**2 * g.E_L.mean() ** 2))
        rows.append(row)
    return pd.DataFrame(rows)
