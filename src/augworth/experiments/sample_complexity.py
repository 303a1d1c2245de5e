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
from ..config import SampleComplexityParams, param
from ..data import balanced_indices, train_val_split
from ..metrics.da_moments import atom_moments, delta_moments, linear_sq_loss_grad, linear_sq_loss_moments, monte_carlo
from ..metrics.grads import per_sample_grads
from ..models import Normalised
from ..seeds import seed_stream
from .cells import cell_type, convergence_cells, make_cell
from .registry import runner
from .sweep import run_sweep
from .training import train_on_cell

EPSILONS = (0.01, 0.05)  # relative accuracies whose draws are counted (A3 reads the first)
VIEW_CHUNK = 2048        # views of one image evaluated per batch

_MEASURED = ("augmentations", "n_images", "n_ref", "quad_nodes", "quad_nodes_rrc")
#: The main seed's CNN and linear model, and every measurement of the chapter on them.
MainCell = cell_type("MainCell", __name__, SampleComplexityParams,
                     (*_MEASURED, "n_max", "grad_n_max", "ridge", "lin_n", "lin_augment", "k_values"))
#: One more seed's CNN, and the verdicts' numbers on it (the main seed's test images).
SeedCell = cell_type("SeedCell", __name__, SampleComplexityParams, _MEASURED,
                     extra={"image_seed": (int, param(0, "seed whose test images are measured (the chapter's main "
                                                         "seed: every seed measures the same images)",
                                                      range=(0, 2**31 - 1)))})


def cells(p: SampleComplexityParams) -> list:
    """The main seed's cell first (the longest), then one cell per verdict seed; each CNN is
    trained with the chapter's training augmentation."""
    def seed_cell_of(s):
        return make_cell(SeedCell, p, augment=p.train_augment, seed=s, image_seed=s if p.images_per_seed else p.seed,
                         evaluate_val=False)

    main = [make_cell(MainCell, p, augment=p.train_augment, seed=p.seed, evaluate_val=False)] + \
        [seed_cell_of(s) for s in p.verdict_seeds]
    # convergence runs: the verdicts' numbers (a seed cell) with more steps, the main seed's too
    return main + [c for _, _, c in convergence_cells(p, [seed_cell_of(p.seed)] + main[1:])]


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
    def f(z):
        return loss(model(z), y.expand(len(z)))

    if not noisy:
        views, w = pipe.views(x[None], nodes, functions=True)
        views = views[0].float()
        w = w.to(device, torch.float64)
        with torch.no_grad():
            mean, var = atom_moments(f, views, w, chunk=VIEW_CHUNK)
        how = "exact (views)" if pipe.discrete else f"quadrature ({len(w)} views)"
        if not grads:
            return float(mean), float(var), None, None, how
        g_mean, g_sq = 0.0, 0.0
        for i in range(0, len(views), 1024):
            g = per_sample_grads(model, loss, views[i:i + 1024], y.expand(len(views[i:i + 1024]))).double()
            g_mean = g_mean + (w[i:i + 1024, None] * g).sum(0)
            g_sq = g_sq + (w[i:i + 1024] * g.pow(2).sum(1)).sum()
        return float(mean), float(var), g_mean, float(g_sq - g_mean.pow(2).sum()), how
    vals = monte_carlo(f, pipe, x, p.n_ref, gen)
    how = f"Monte Carlo reference ({p.n_ref} draws)"
    if not grads:
        return float(vals.mean()), float(vals.var()), None, None, how
    n_g = min(p.n_ref, 4 * p.grad_n_max)
    g = per_sample_grads(model, loss, pipe.sample(x[None].expand(n_g, *x.shape).contiguous(), gen), y.expand(n_g)).double()
    g_mean = g.mean(0)
    return float(vals.mean()), float(vals.var()), g_mean, float(g.pow(2).sum(1).mean() - g_mean.pow(2).sum()), how


def _mc_curves(model, loss, pipe, x, y, p, gen, truth_mean, truth_grad):
    vals = monte_carlo(lambda z: loss(model(z), y.expand(len(z))), pipe, x, p.n_max, gen)
    running = torch.cumsum(vals, 0) / torch.arange(1, p.n_max + 1, dtype=torch.float64, device=vals.device)
    loss_err = (running - truth_mean).abs() / abs(truth_mean)
    g = per_sample_grads(model, loss, pipe.sample(x[None].expand(p.grad_n_max, *x.shape).contiguous(), gen),
                         y.expand(p.grad_n_max)).double()
    run_g = torch.cumsum(g, 0) / torch.arange(1, p.grad_n_max + 1, dtype=torch.float64, device=g.device)[:, None]
    grad_err = (run_g - truth_grad).norm(dim=1) / truth_grad.norm()
    return loss_err.cpu().numpy(), grad_err.cpu().numpy()


def _no_sampling(p, ds, pool, device, gen) -> dict:
    """Linear least squares on the closed-form expected loss versus on k sampled views per image."""
    k_cls = ds.num_classes
    idx = balanced_indices(ds.train_y, p.lin_n, seed_stream(p.seed, "no-sampling subset"), pool=pool,
                           num_classes=k_cls).to(ds.device)
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
    draws = monte_carlo(lambda z: z.reshape(len(z), -1), pipe, x, n_mc, gen)
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


def _a1_maps(p, x: torch.Tensor, gen: torch.Generator) -> dict:
    """Claim A1 on one image, for every augmentation of the chapter (:func:`moment_map`)."""
    out = {"image": x.cpu().numpy()}
    for spec in p.augmentations:
        out[spec] = moment_map(spec, x, nodes_for(p, spec), 8 * p.n_max, gen)
    return out


def reference_error(how: str, e: float, v: float, p) -> float:
    """Relative error of the truth itself: 0 over exact views, the Monte Carlo reference's
    standard error sqrt(Var / n_ref) / E, NaN for quadrature on the CNN (not measured)."""
    if how.startswith("exact"):
        return 0.0
    if how.startswith("Monte Carlo"):
        return math.sqrt(v / p.n_ref) / abs(e) if e else math.inf
    return float("nan")


def _test_images(ds, p, image_seed: int, device):
    """The chapter's measured test images (class balanced, the same for every seed) and labels."""
    idx = balanced_indices(ds.test_y, p.n_images, seed_stream(image_seed, "test images"),
                           num_classes=ds.num_classes).to(device)
    return ds.test_x[idx].float() / 255.0, ds.test_y[idx]


def seed_cell(cell) -> dict:
    """The verdict's numbers for one more seed: a CNN trained with that seed (its own subset,
    initialisation and draws) and, on the chapter's test images, E[L], Var[L] (truth), the
    delta-method Var[L] = g^T Sigma g and the draws a 1%-accurate loss needs, per augmentation."""
    p, seed = cell, cell.seed
    ds, _, res = train_on_cell(cell)
    device = ds.device
    mean, std = res.normalisation
    cnn = Normalised(res.model, mean, std).eval()
    images, labels = _test_images(ds, p, p.image_seed, device)
    gen = torch.Generator(device=device).manual_seed(seed_stream(seed, "draws"))
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
                            "ref_rel_err": reference_error(how, e, v, p), f"N_pred_loss_{EPSILONS[0]}": v / (EPSILONS[0]**2 * e**2)})
    return {"records": records, "test_acc": res.final["test"]["accuracy"]}


def main_cell(cell) -> dict:
    """The chapter's measurements on the main seed's CNN and linear model (see the module doc):
    MC error versus N and predicted/observed N for 1% and 5%, per augmentation; A1's maps; the
    no-sampling fit."""
    p = cell
    device = runtime.resolve_device(p.device)
    ds, idx, res = train_on_cell(cell)
    pool, _ = train_val_split(ds.train_y, p.val_size, num_classes=ds.num_classes)
    mean, std = res.normalisation
    cnn = Normalised(res.model, mean, std).eval()
    lin = Flat(_ridge(ds.train_x[idx].float() / 255.0, ds.train_y[idx], ds.num_classes, p.ridge)).eval()
    lin_acc = float((lin(ds.test_x.float() / 255.0).argmax(1) == ds.test_y).float().mean())

    images, labels = _test_images(ds, p, p.seed, ds.device)
    gen = torch.Generator(device=device).manual_seed(seed_stream(p.seed, "draws"))
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
        "no_sampling": _no_sampling(p, ds, pool, device,
                                    torch.Generator(device=device).manual_seed(seed_stream(p.seed, "no-sampling draws"))),
        "seed": p.seed,
    }


def chapter_cell(cell) -> dict:
    """One cell of the chapter's sweep: the main seed's measurements, or one more seed's."""
    return main_cell(cell) if isinstance(cell, MainCell) else seed_cell(cell)


chapter_cell.cell_type = (MainCell, SeedCell)


@runner("sample_complexity", version=3, params=SampleComplexityParams)
def sample_complexity(p: SampleComplexityParams, device) -> dict:
    """The main seed's measurements and the verdicts' extra seeds, as ONE sweep: the cells run in
    parallel (the main cell first, being the longest), each on one thread like every cell."""
    todo = cells(p)
    res = run_sweep(chapter_cell, todo, name="sample_complexity_cell")
    n = 1 + len(p.verdict_seeds)  # the main seed's cell, the verdict seeds', then the convergence runs
    main, seeds = res.results[0], res.results[1:n]
    convergence = [{"seed": c.seed, "epochs": c.epochs, "test_acc": r["test_acc"], "records": r["records"]}
                   for c, r in zip(todo[n:], res.results[n:])]
    return {**main, "seed_records": [r for run in seeds for r in run["records"]], "compute_s": res.compute_s,
            "convergence": convergence, "epochs": p.epochs}
