import pytest
import torch

from augworth import augment
from augworth.metrics import da_moments as dm

from test_augment import image


def linear_problem(seed=0, c=3, d=36):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(c, d, generator=g, dtype=torch.float64) * 0.3,
            torch.randn(c, generator=g, dtype=torch.float64) * 0.1,
            torch.tensor([[1.0, 0.0, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize("spec", ["crop(1)+flip", "crop(1)+flip+noise(0.1)", "brightness(0.2)+noise(0.3)"])
def test_linear_expected_loss_and_variance_match_monte_carlo(spec):
    W, b, y = linear_problem()
    x = image()
    pipe = augment.build(spec)
    m = pipe.moments(x)
    mean, var = dm.linear_sq_loss_moments(W, b, y, m)
    loss = lambda z: (y - z.reshape(len(z), -1) @ W.T - b).pow(2).sum(1)  # noqa: E731
    vals = dm.monte_carlo(loss, pipe, x[0], 200_000, torch.Generator().manual_seed(0))
    est, se = dm.mc_estimate(vals)
    assert abs(est - mean.item()) < 5 * se
    # variance of the sample variance ~ (m4 - var^2) / n
    m4 = ((vals - vals.mean()) ** 4).mean().item()
    se_var = ((m4 - vals.var().item() ** 2) / len(vals)) ** 0.5
    assert abs(vals.var().item() - var.item()) < 5 * se_var


def test_linear_expected_gradient_matches_monte_carlo():
    W, b, y = linear_problem(1)
    x = image()
    pipe = augment.build("crop(1)+noise(0.1)")
    g = dm.linear_sq_loss_grad(W, b, y, pipe.moments(x))[0]
    gen = torch.Generator().manual_seed(1)
    z = pipe.sample(x.expand(200_000, -1, -1, -1).clone(), gen).reshape(200_000, -1)
    r = y - z @ W.T - b                                   # (n, c)
    per = -2 * r[:, :, None] * z[:, None, :]              # (n, c, d)
    est, se = per.mean(0), per.std(0) / 200_000**0.5
    assert ((est - g).abs() / se).max() < 5.0


def test_delta_method_is_exact_for_a_quadratic_and_close_for_a_smooth_function():
    x = image()
    pipe = augment.build("crop(1)+noise(0.05)")
    m = pipe.moments(x)
    A = torch.randn(36, 36, generator=torch.Generator().manual_seed(0)) / 6
    quadratic = lambda z: (z.reshape(-1) @ A @ z.reshape(-1))  # noqa: E731  E = mu^T A mu + tr(A Sigma)
    mean, _ = dm.delta_moments(quadratic, m, (1, 6, 6), hutchinson=4000)
    exact = m.mean[0] @ A.double() @ m.mean[0] + torch.trace(A.double() @ m.cov_dense()[0])
    assert mean.item() == pytest.approx(exact.item(), rel=2e-3)  # only Hutchinson's noise term is random
    pipe2 = augment.build("crop(1)")
    m2 = pipe2.moments(x)
    smooth = lambda z: torch.tanh(z.reshape(-1)[:18].sum() * 0.05 - 0.3)  # noqa: E731
    dmean, dvar = dm.delta_moments(smooth, m2, (1, 6, 6))
    amean, avar = dm.atom_moments(lambda v: torch.tanh(v.reshape(len(v), -1)[:, :18].sum(1) * 0.05 - 0.3),
                                  m2.views()[0].reshape(-1, 1, 6, 6).float(), m2.weights)
    assert dmean.item() == pytest.approx(amean.item(), rel=0.02)
    assert dvar.item() == pytest.approx(avar.item(), rel=0.15)  # first order: a 10% effect is expected


def test_linear_loss_variance_is_exact_for_brightness_with_function_atoms():
    """L(b) = ||r - W 1 b||^2 with b ~ U(-B, B): E = ||r||^2 + c B^2/3, Var = 4 a^2 B^2/3 + c^2 (B^4/5 - B^4/9)
    where a = r^T W 1 and c = ||W 1||^2 (hand-derived; odd moments of b vanish)."""
    W, b, y = linear_problem(2)
    x = image()
    B = 0.3
    r = y[0] - W @ x.reshape(-1) - b
    w1 = W.sum(1)
    a, c = float(r @ w1), float(w1 @ w1)
    exact_mean = float(r @ r) + c * B**2 / 3
    exact_var = 4 * a**2 * B**2 / 3 + c**2 * (B**4 / 5 - B**4 / 9)
    pipe = augment.build(f"brightness({B})")
    mean, var = dm.linear_sq_loss_moments(W, b, y, pipe.moments(x, quad_nodes=3, functions=True))
    assert mean.item() == pytest.approx(exact_mean, rel=1e-12) and var.item() == pytest.approx(exact_var, rel=1e-12)
    _, var2 = dm.linear_sq_loss_moments(W, b, y, pipe.moments(x))  # two nodes: moments only
    assert abs(var2.item() - exact_var) > 1e-6 * exact_var
