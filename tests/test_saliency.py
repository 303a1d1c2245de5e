import torch

from augworth import augment
from augworth.metrics import saliency


def test_random_directions_put_k_over_d_of_their_energy_in_any_k_eigenspace():
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    m = augment.build("crop(2)").moments(x)
    _, vecs = saliency.covariance_eigh(m)
    g = torch.randn(4000, 1, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    top, bottom = saliency.eigenspace_energy(g, vecs.expand(4000, -1, -1), k=16)
    assert abs(top.mean().item() - 16 / 64) < 0.01 and abs(bottom.mean().item() - 16 / 64) < 0.01


def test_translation_variance_concentrates_on_edges():
    """A flat bright square on black: shifting it changes pixels only along its border."""
    x = torch.zeros(1, 1, 12, 12, dtype=torch.float64)
    x[..., 3:9, 3:9] = 1.0
    m = augment.build("crop(1)").moments(x)
    vals, vecs = saliency.covariance_eigh(m)
    top = vecs[0, :, -4:].pow(2).sum(1).reshape(12, 12)  # energy of the top-4 eigenvectors per pixel
    mag = saliency.sobel_magnitude(x)[0]
    edge = mag > 0
    assert top[edge].sum() / top.sum() > 0.95
    assert top[4:8, 4:8].sum() < 1e-12  # the square's interior never changes under a 1-px shift
    assert vals[0, :-40].abs().max() < 1e-12  # rank <= 9 views - 1: almost all eigenvalues vanish


def test_randomized_eigh_matches_dense_top_eigenpairs():
    x = torch.rand(2, 1, 10, 10, dtype=torch.float64)
    m = augment.build("crop(2)+flip+noise(0.05)").moments(x)
    vals, vecs = saliency.covariance_eigh(m)
    rvals, rvecs = saliency.covariance_eigh(m, k=5, iters=20)
    torch.testing.assert_close(rvals, vals[:, -5:], rtol=1e-4, atol=1e-9)  # an iterative method
    overlap = (rvecs.transpose(1, 2) @ vecs[:, :, -5:]).abs()
    torch.testing.assert_close(torch.diagonal(overlap, dim1=1, dim2=2), torch.ones(2, 5, dtype=torch.float64), atol=1e-3, rtol=0)


def test_gsg_is_the_variance_of_a_linear_loss_under_monte_carlo():
    """For f(x) = w^T x, Var[f(x~)] = w^T Sigma w exactly."""
    x = torch.rand(1, 1, 6, 6, dtype=torch.float64)
    w = torch.randn(36, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    pipe = augment.build("crop(1)+flip+brightness(0.2)")
    m = pipe.moments(x)
    z = pipe.sample(x.expand(200_000, -1, -1, -1).clone(), torch.Generator().manual_seed(2)).reshape(200_000, -1)
    vals = z @ w
    n = len(vals)
    m4 = ((vals - vals.mean()) ** 4).mean()
    se = ((m4 - vals.var() ** 2) / n).sqrt()
    assert abs(vals.var() - m.quad(w[None])[0]) < 5 * se


def test_input_gradients_and_edge_share():
    lin = torch.nn.Linear(16, 3).double()
    model = lambda z: lin(z.reshape(len(z), -1))  # noqa: E731
    x = torch.rand(5, 1, 4, 4, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1])
    g = saliency.input_gradients(model, x, y)
    p = torch.softmax(model(x), 1)
    expected = ((p - torch.nn.functional.one_hot(y, 3)) @ lin.weight).reshape(5, 1, 4, 4)
    torch.testing.assert_close(g, expected)
    share, frac = saliency.edge_share(torch.ones_like(x), x, quantile=0.75)
    torch.testing.assert_close(share, frac)  # uniform saliency: edge share = edge fraction
