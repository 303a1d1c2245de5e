"""Closed-form moments of augmented images against independent computations: float64 Monte Carlo
(tolerance from its own standard errors), brute-force enumeration, and hand-derived formulas."""

import math
import re

import numpy as np
import pytest
import torch

from augworth import augment
from augworth.config import ConfigError, parse_augment

torch.set_default_dtype(torch.float32)


def image(c=1, h=6, w=6, seed=0):
    """A small image with structure (a bright square on a gradient) in float64."""
    g = torch.Generator().manual_seed(seed)
    x = torch.linspace(0, 0.5, w, dtype=torch.float64).repeat(c, h, 1)
    x[:, 1:4, 2:5] += 0.4
    return (x + 0.05 * torch.rand(c, h, w, generator=g, dtype=torch.float64))[None]


def monte_carlo(pipe, x, n, seed=0, chunk=20000):
    """float64 MC mean, covariance and their standard errors from n draws."""
    gen = torch.Generator().manual_seed(seed)
    d = x[0].numel()
    s1 = torch.zeros(d, dtype=torch.float64)
    s2 = torch.zeros(d, d, dtype=torch.float64)
    samples = []
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        y = pipe.sample(x.expand(m, -1, -1, -1).clone(), gen).reshape(m, d)
        samples.append(y)
    y = torch.cat(samples)
    mean = y.mean(0)
    yc = y - mean
    cov = yc.T @ yc / (n - 1)
    se_mean = (yc.pow(2).mean(0) / n).sqrt()
    fourth = (yc.pow(2).T @ yc.pow(2)) / n  # E[(yi-mi)^2 (yj-mj)^2]
    se_cov = ((fourth - cov.pow(2)).clamp_min(0) / n).sqrt()
    return mean, cov, se_mean, se_cov


def z_scores(est, truth, se):
    ok = se > 1e-12
    exact_part = (est - truth)[~ok].abs().max() if (~ok).any() else torch.tensor(0.0)
    return ((est - truth)[ok] / se[ok]).abs().max().item(), exact_part.item()


LINEAR_SPECS = ["crop(2)", "flip(0.3)", "crop(1)+flip", "brightness(0.3)", "contrast(0.4)", "noise(0.2)",
                "crop(1)+flip+noise(0.1)", "rotate(20)", "blur(0.3,1.5,3)", "rrc(0.3,1.0)",
                "crop(1)+contrast(0.3)+brightness(0.1)"]


@pytest.mark.parametrize("spec", LINEAR_SPECS)
def test_closed_form_matches_monte_carlo(spec):
    pipe = augment.build(spec)
    x = image()
    # Quadrature converges slowly where the integrand has kinks (a pixel crossing the border or a
    # sampling grid line): rotation needs ~64 nodes, rrc ~10 per dimension (5000 atoms) to be
    # within the MC error of 1e5 draws; test_quadrature_converges measures the rates.
    quad = 10 if "rrc" in spec else 64
    m = pipe.moments(x, quad_nodes=quad)
    mc_mean, mc_cov, se_m, se_c = monte_carlo(pipe, x, 100_000)
    zm, em = z_scores(mc_mean, m.mean[0], se_m)
    zc, ec = z_scores(mc_cov, m.cov_dense()[0], se_c)
    # 36 means and 1296 covariance entries: the largest |z| of that many is below ~4.5 by chance
    assert zm < 5.0 and zc < 5.5, (spec, zm, zc)
    assert em < 1e-9 and ec < 1e-9  # entries with zero variance (e.g. far from edges) exactly


def shift_enumeration(x, pad):
    """Independent: numpy, every integer shift with zero fill."""
    a = x[0, 0].numpy()
    h, w = a.shape
    views = []
    for dy in range(-pad, pad + 1):
        for dx in range(-pad, pad + 1):
            v = np.zeros_like(a)
            for r in range(h):
                for c in range(w):
                    if 0 <= r + dy < h and 0 <= c + dx < w:
                        v[r, c] = a[r + dy, c + dx]
            views.append(v.reshape(-1))
    v = np.array(views)
    mu = v.mean(0)
    return mu, (v - mu).T @ (v - mu) / len(v)


def test_discrete_and_affine_families_are_exact():
    x = image()
    xf = x.reshape(-1)
    d = xf.numel()
    mu, cov = shift_enumeration(x, 2)
    m = augment.build("crop(2)").moments(x)
    np.testing.assert_allclose(m.mean[0].numpy(), mu, atol=1e-12)
    np.testing.assert_allclose(m.cov_dense()[0].numpy(), cov, atol=1e-12)
    assert m.exact

    p = 0.3
    fx = x.flip(-1).reshape(-1)
    m = augment.build(f"flip({p})").moments(x)
    torch.testing.assert_close(m.mean[0], (1 - p) * xf + p * fx, atol=1e-12, rtol=0)
    torch.testing.assert_close(m.cov_dense()[0], p * (1 - p) * torch.outer(xf - fx, xf - fx), atol=1e-12, rtol=0)

    b = 0.3  # Var U(-b, b) = b^2 / 3, on the all-ones direction
    m = augment.build(f"brightness({b})").moments(x)
    torch.testing.assert_close(m.mean[0], xf, atol=1e-12, rtol=0)
    torch.testing.assert_close(m.cov_dense()[0], b**2 / 3 * torch.ones(d, d, dtype=torch.float64), atol=1e-12, rtol=0)

    c = 0.4  # a x + (1-a) m: mean x, covariance Var(a) (x - m)(x - m)^T
    m = augment.build(f"contrast({c})").moments(x)
    centred = xf - xf.mean()
    torch.testing.assert_close(m.mean[0], xf, atol=1e-12, rtol=0)
    torch.testing.assert_close(m.cov_dense()[0], c**2 / 3 * torch.outer(centred, centred), atol=1e-12, rtol=0)

    s = 0.2
    m = augment.build(f"noise({s})").moments(x)
    torch.testing.assert_close(m.cov_dense()[0], s**2 * torch.eye(d, dtype=torch.float64), atol=1e-12, rtol=0)
    assert m.trace()[0].item() == pytest.approx(s**2 * d)


def test_structured_covariance_operations_agree_with_dense():
    x = torch.cat([image(seed=0), image(seed=1)])
    m = augment.build("crop(1)+flip+noise(0.05)").moments(x)
    dense = m.cov_dense()
    g = torch.randn(2, 36, dtype=torch.float64)
    torch.testing.assert_close(m.quad(g), torch.einsum("bi,bij,bj->b", g, dense, g))
    torch.testing.assert_close(m.matvec(g), torch.einsum("bij,bj->bi", dense, g))
    torch.testing.assert_close(m.variance(), torch.diagonal(dense, dim1=1, dim2=2))
    torch.testing.assert_close(m.trace(), torch.diagonal(dense, dim1=1, dim2=2).sum(1))


def test_quadrature_converges():
    """Rotation converges like q^-2 (bilinear kinks), blur spectrally (smooth in sigma)."""
    x = image()
    for spec, q_last, rel in (("rotate(30)", 64, 5e-3), ("blur(0.2,2.0,5)", 16, 1e-4)):
        pipe = augment.build(spec)
        ref = pipe.moments(x, quad_nodes=128).cov_dense()
        errs = [(pipe.moments(x, quad_nodes=q).cov_dense() - ref).abs().max().item() for q in (4, q_last // 2, q_last)]
        assert errs[0] > errs[1] > errs[2] and errs[2] < rel * ref.abs().max().item(), (spec, errs)


def test_operator_form_reproduces_the_batched_transform():
    x = image(c=2, h=5, w=5)
    pipe = augment.build("crop(1)+flip+rotate(25)+brightness(0.2)+contrast(0.3)+blur(0.5,1.0,3)")
    gen = torch.Generator().manual_seed(3)
    thetas = [s.draw(1, gen).to(torch.float64) for s in pipe.stages]
    M, c = augment.operator(pipe, thetas, (2, 5, 5))
    direct = x
    for s, th in zip(pipe.stages, thetas):
        direct = s.apply(direct, th)
    torch.testing.assert_close(M @ x.reshape(-1) + c, direct.reshape(-1), atol=1e-10, rtol=0)
    # linear in x: M(theta)(x1 + x2) = M x1 + M x2 (c cancels in the difference)
    assert M.shape == (50, 50)


def test_sampler_draws_different_parameters_per_image():
    x = image().expand(2000, -1, -1, -1).clone()
    out = augment.build("crop(2)").sample(x, torch.Generator().manual_seed(0))
    distinct = torch.unique(out.reshape(2000, -1), dim=0).shape[0]
    assert distinct == 25  # all (2*2+1)^2 offsets occur in one batch
    # the offsets' marginal: a dot at the centre of a 7x7 image lands uniformly on 5x5 positions
    dot = torch.zeros(25000, 1, 7, 7, dtype=torch.float64)
    dot[:, 0, 3, 3] = 1
    pos = augment.build("crop(2)").sample(dot, torch.Generator().manual_seed(1)).reshape(25000, -1).argmax(1)
    counts = torch.bincount(pos, minlength=49).reshape(7, 7)[1:6, 1:6].reshape(-1).double()
    assert counts.sum() == 25000 and ((counts - 1000).abs() / math.sqrt(1000 * 24 / 25)).max() < 4.5
    b = augment.build("brightness(0.5)").sample(torch.zeros(20000, 1, 2, 2, dtype=torch.float64),
                                                torch.Generator().manual_seed(2))[:, 0, 0, 0]
    assert b.min() >= -0.5 and b.max() <= 0.5 and abs(b.mean()) < 0.01 and abs(b.var() - 0.25 / 3) < 0.003
    f = augment.build("flip(0.25)").sample(torch.arange(4.0).reshape(1, 1, 1, 4).repeat(20000, 1, 1, 1),
                                           torch.Generator().manual_seed(3))
    assert abs((f[:, 0, 0, 0] == 3).double().mean().item() - 0.25) < 0.015


def test_nonlinear_policies_train_but_have_no_moments():
    pipe = augment.build("trivialaugment")
    x = torch.rand(8, 1, 12, 12)
    a = pipe.sample(x, torch.Generator().manual_seed(0))
    b = pipe.sample(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b) and not pipe.linear
    with pytest.raises(ValueError, match="not linear in the pixels: it has no closed-form moments"):
        pipe.moments(x)


def test_bad_parameters_fail_with_clear_errors():
    with pytest.raises(ConfigError, match=r"'noise' argument 'sigma' = -0.1 is out of range: allowed is \[0.0, 1.0\]"):
        parse_augment("noise(-0.1)")
    with pytest.raises(ConfigError, match=r"'flip' argument 'p' = 1.5 is out of range"):
        augment.build("flip(p=1.5)")
    with pytest.raises(ConfigError, match="'crop' argument 'pad' = 1.5 must be an integer"):
        parse_augment("crop(1.5)")
    with pytest.raises(ConfigError, match="'rrc': smin=0.9 is larger than smax=0.5"):
        parse_augment("rrc(0.9, 0.5)")
    with pytest.raises(ConfigError, match="'blur' has no argument 'sigma'"):
        parse_augment("blur(sigma=1)")
    with pytest.raises(ValueError, match="crop pad=8 must be smaller than the image"):
        augment.build("crop(8)").sample(torch.zeros(2, 1, 6, 6), torch.Generator())
    with pytest.raises(ValueError, match="noise must come after every other stage"):
        augment.build("noise(0.1)+crop(1)").moments(image())
    from augworth.config import TrainConfig

    with pytest.raises(ConfigError, match=re.escape("parameter 'augment' = 'crop(2)+blurr' is not a valid augmentation: unknown")):
        TrainConfig(augment="crop(2)+blurr")


def test_parse_fills_defaults_and_keywords():
    assert parse_augment("crop+flip") == [("crop", {"pad": 2}), ("flip", {"p": 0.5})]
    assert parse_augment("rrc(0.5, rmax=2)")[0][1] == {"smin": 0.5, "smax": 1.0, "rmin": 0.75, "rmax": 2.0}


def test_shared_draws_apply_one_parameter_set_to_the_whole_batch():
    x = image().expand(500, -1, -1, -1).clone()
    pipe = augment.build("crop(2)+flip+noise(0.1)")
    out = pipe.sample_shared(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, out[:1].expand_as(out))  # identical images stay identical
    fresh = pipe.sample(x, torch.Generator().manual_seed(0))
    assert torch.unique(fresh.reshape(500, -1), dim=0).shape[0] > 400
