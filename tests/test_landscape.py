import math

import pytest
import torch
from torch import nn

from augworth.metrics import hessian, landscape


def tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    x = torch.randn(32, 3, dtype=torch.float64)
    y = torch.randint(0, 2, (32,))
    return model, x, y


def exact_hessian(model, x, y):
    """The dense Hessian of the mean cross-entropy w.r.t. all parameters, flattened."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def loss(w):
        chunks, i = {}, 0
        for n, s in zip(names, shapes):
            chunks[n] = w[i : i + math.prod(s)].reshape(s)
            i += math.prod(s)
        return nn.functional.cross_entropy(torch.func.functional_call(model, chunks, (x,)), y)

    return torch.autograd.functional.hessian(loss, flat)


def test_power_iteration_and_hutchinson_match_the_exact_hessian():
    model, x, y = tiny()
    loss_fn = lambda: nn.functional.cross_entropy(model(x), y)  # noqa: E731
    H = exact_hessian(model, x, y)
    eig = torch.linalg.eigvalsh(H)
    top = eig[eig.abs().argmax()].item()
    lam, _ = hessian.top_eigenvalue(model, loss_fn, iters=500, tol=1e-10)
    assert lam == pytest.approx(top, rel=1e-5)
    tr, se = hessian.hutchinson_trace(model, loss_fn, probes=3000)
    assert abs(tr - torch.trace(H).item()) < 4 * se


def test_filter_normalisation():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    d = landscape.filter_normalised_direction(model, seed=1)
    for p, di in zip(model.parameters(), d):
        if p.dim() <= 1:
            assert torch.count_nonzero(di) == 0  # biases and BatchNorm gamma/beta left out
        else:
            torch.testing.assert_close(di.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1))


def test_perturb_to_threshold_on_a_known_quadratic():
    """L(w) = c ||w||^2 from w0 = 0 along d: L = c alpha^2 ||d||^2, crossing 1 at alpha = 1/(sqrt(c) ||d||)."""
    w = nn.Parameter(torch.zeros(4, 3, dtype=torch.float64))
    model = nn.Module()
    model.w = w
    c = 2.0
    loss_fn = lambda: float(c * w.detach().pow(2).sum())  # noqa: E731
    d = [torch.full((4, 3), 0.5, dtype=torch.float64)]
    dn = float(d[0].norm())
    out = landscape.perturb_to_threshold(model, loss_fn, d, step=0.1, threshold=1.0)
    alpha_star = 1 / (math.sqrt(c) * dn)
    assert out["refined"] == pytest.approx(alpha_star * dn, rel=1e-5)  # distance in weight space
    assert out["steps"] == math.ceil(alpha_star / 0.1) and out["paper"] >= out["refined"]
    assert torch.count_nonzero(w) == 0  # weights restored
    # monotone: a sharper quadratic is crossed sooner
    sharper = landscape.perturb_to_threshold(model, lambda: float(4 * c * w.detach().pow(2).sum()), d)
    assert sharper["refined"] < out["refined"]


def test_walks_to_two_thresholds_share_their_steps_through_the_memo():
    """Same crossings with and without the memo; the second walk evaluates only its own steps
    (and its bisections), not the steps the first walk already took."""
    w = nn.Parameter(torch.zeros(4, 3, dtype=torch.float64))
    model = nn.Module()
    model.w = w
    calls = []

    def loss_fn():
        calls.append(1)
        return float(2.0 * w.detach().pow(2).sum())

    d = [torch.full((4, 3), 0.5, dtype=torch.float64)]
    plain = [landscape.perturb_to_threshold(model, loss_fn, d, threshold=t, bisections=5) for t in (1.0, 3.0)]
    n_plain, memo = len(calls), {}
    calls.clear()
    shared = [landscape.perturb_to_threshold(model, loss_fn, d, threshold=t, bisections=5, memo=memo) for t in (1.0, 3.0)]
    assert shared == plain
    first_walk = plain[0]["steps"] + 1  # the start and every step up to the first crossing
    assert len(calls) == n_plain - first_walk and set(memo) == set(range(plain[1]["steps"] + 1))
    assert torch.count_nonzero(w) == 0  # weights restored


def test_gradient_noise_estimator_is_unbiased():
    """Mini-batch gradients G + noise with known covariance: E[estimated tr Cov] = tr Cov."""
    gen = torch.Generator().manual_seed(0)
    G = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    scales = torch.tensor([0.3, 1.0, 2.0], dtype=torch.float64)
    estimates = []
    for _ in range(400):
        grads = [G + scales * torch.randn(3, generator=gen, dtype=torch.float64) for _ in range(8)]
        estimates.append(landscape.gradient_noise(grads)["trace_cov"])
    est = torch.tensor(estimates)
    assert abs(est.mean().item() - scales.pow(2).sum().item()) < 4 * est.std().item() / 20
    with pytest.raises(ValueError, match="at least 2"):
        landscape.gradient_noise([G])


def test_loss_slice_restores_weights_and_is_zero_at_origin_for_a_quadratic():
    w = nn.Parameter(torch.zeros(2, 2, dtype=torch.float64))
    model = nn.Module()
    model.w = w
    d1, d2 = [torch.eye(2, dtype=torch.float64)], [torch.ones(2, 2, dtype=torch.float64)]
    grid = landscape.loss_slice(model, lambda: float(w.detach().pow(2).sum()), [d1, d2], torch.tensor([-1.0, 0.0, 1.0]))
    assert grid.shape == (3, 3) and grid[1, 1] == 0 and grid[2, 1] == 2.0 and grid[1, 2] == 4.0
    assert torch.count_nonzero(w) == 0


def test_batched_loss_grid_matches_the_loop():
    model, x, y = tiny()
    model.eval()
    d1 = landscape.filter_normalised_direction(model, seed=1)
    d2 = landscape.filter_normalised_direction(model, seed=2)
    alphas = torch.linspace(-0.5, 0.5, 5, dtype=torch.float64)
    loop = landscape.loss_slice(model, lambda: float(nn.functional.cross_entropy(model(x), y).detach()), [d1, d2],
                                alphas)
    fast = landscape.loss_grid(model, x, y, [d1, d2], alphas, chunk=7, batch=10)
    torch.testing.assert_close(fast, loop)
