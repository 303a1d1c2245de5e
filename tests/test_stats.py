"""The statistics helper against simulation: every interval kind covers a planted effect at the
nominal rate over few seeds, and the seed-count estimate delivers the power it promises."""

import math

import numpy as np
import pytest

from augworth.metrics import exchange as ex
from augworth.metrics import stats

REPS = 400


def coverage(draw, truth, reps=REPS, seed=0):
    """Share of ``reps`` synthetic experiments whose interval contains ``truth``;
    ``draw(rng)`` returns an Interval."""
    rng = np.random.default_rng(seed)
    hits = [(iv.lo <= truth <= iv.hi) for iv in (draw(rng) for _ in range(reps))]
    return float(np.mean(hits))


@pytest.mark.parametrize("n", [3, 5, 10])
def test_t_interval_of_paired_seed_differences_covers(n):
    """Two arms trained on the same seeds share a seed effect (subset, init) much larger than the
    planted effect; within each seed 64 images vary around the model's value. Averaging within
    the seed, pairing and a t interval covers the planted 0.02."""
    def draw(rng):
        seed_effect = rng.normal(0, 0.05, n)  # shared by both arms
        a = seed_effect[:, None] + 0.02 + rng.normal(0, 0.01, (n, 1)) + rng.normal(0, 0.2, (n, 64))
        b = seed_effect[:, None] + rng.normal(0, 0.01, (n, 1)) + rng.normal(0, 0.2, (n, 64))
        ma = stats.seed_means(a.ravel(), np.repeat(np.arange(n), 64))
        mb = stats.seed_means(b.ravel(), np.repeat(np.arange(n), 64))
        return stats.t_interval(stats.paired(ma, mb))

    assert coverage(draw, 0.02) >= 0.93


@pytest.mark.parametrize("n", [3, 5, 10])
def test_jackknife_of_a_ratio_covers(n):
    """B2's statistic, 1 - mean(forgiven drop) / mean(drop), is a ratio of seed means."""
    def draw(rng):
        d = rng.normal(0.05, 0.01, n)
        f = 0.5 * d + rng.normal(0, 0.005, n)
        return stats.jackknife_interval(lambda u: 1 - np.mean([x[1] for x in u]) / np.mean([x[0] for x in u]),
                                        list(zip(d, f)))

    assert coverage(draw, 0.5) >= 0.93


@pytest.mark.parametrize("n", [3, 5, 10])
def test_jackknife_of_a_worth_in_samples_covers(n):
    """C1's statistic: v(n)/n of an augmentation as good as doubling the data (truth 1), read off
    a power law refitted without each seed; 3% seed noise at every size."""
    true = ex.PowerLaw(a=2.0, c=0.35, b=0.02)
    sizes = np.array([30, 60, 125, 250, 500])

    def draw(rng):
        ref = true(sizes)[None] * (1 + 0.03 * rng.standard_normal((n, sizes.size)))
        aug = true(500) * (1 + 0.03 * rng.standard_normal(n))

        start = ex.fit_power_law(sizes, ref.mean(0))  # leave-one-out fits start from the full fit

        def rel_worth(units):
            f = ex.fit_power_law(sizes, np.mean([u[0] for u in units], 0), start=start)
            return (f.inverse(np.mean([u[1] for u in units])) - 250) / 250

        return stats.jackknife_interval(rel_worth, [(ref[i], aug[i]) for i in range(n)])

    assert coverage(draw, 1.0) >= 0.93


def test_percentile_bootstrap_would_under_cover():
    """Why the helper has no percentile bootstrap of a mean: at 3 seeds it covers ~75%."""
    def draw(rng):
        v = rng.normal(0, 1, 3)
        boots = v[rng.integers(0, 3, (1000, 3))].mean(1)
        lo, hi = np.quantile(boots, [0.025, 0.975])
        return stats.Interval(v.mean(), lo, hi, 3, v.std(ddof=1), "percentile")

    assert coverage(draw, 0.0) < 0.85


def test_jackknife_of_a_mean_is_the_t_interval():
    v = np.array([0.3, 0.1, 0.45, 0.2, 0.28])
    t, jk = stats.t_interval(v), stats.jackknife_interval(lambda u: float(np.mean(u)), list(v))
    assert (jk.estimate, jk.lo, jk.hi, jk.sd) == pytest.approx((t.estimate, t.lo, t.hi, t.sd), rel=1e-12)
    # the t interval by hand: mean +- t(0.975, 4) * sd / sqrt(5), t(0.975, 4) = 2.7764451
    half = 2.7764451052 * v.std(ddof=1) / math.sqrt(5)
    assert (t.lo, t.hi) == pytest.approx((v.mean() - half, v.mean() + half), rel=1e-9)


def test_column_wise_intervals_match_the_scalar_one():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 6))
    m, lo, hi = stats.t_intervals(x)
    for c in range(6):
        iv = stats.t_interval(x[:, c])
        assert (m[c], lo[c], hi[c]) == pytest.approx(tuple(iv))


def test_degenerate_inputs():
    assert math.isnan(stats.t_interval([1.0]).lo) and stats.t_interval([1.0]).estimate == 1.0
    assert stats.t_interval([]).n == 0
    assert math.isnan(stats.jackknife_interval(lambda u: math.inf if len(u) < 3 else 1.0, [1, 2, 3]).lo)
    with pytest.raises(ValueError, match="no seed in common"):
        stats.paired({0: 1.0}, {1: 2.0})
    np.testing.assert_allclose(stats.paired({0: 1.0, 1: 3.0, 2: 5.0}, {2: 1.0, 0: 0.5}), [0.5, 4.0])
    assert stats.seeds_needed(0.0, 1.0) is None and stats.seeds_needed(1.0, 0.0) is None


def test_seeds_needed_delivers_its_power():
    """An effect of 0.5 sd: the estimate n, simulated, decides (interval excludes 0) in ~80%."""
    n = stats.seeds_needed(0.5, 1.0)
    assert 30 <= n <= 36  # ~ (1.96 + 0.84)^2 / 0.25 = 31.4, a bit more for t
    rng = np.random.default_rng(0)
    decided = np.mean([stats.t_interval(rng.normal(0.5, 1.0, n)).lo > 0 for _ in range(2000)])
    assert 0.76 <= decided <= 0.86
    assert stats.seeds_needed(10.0, 1.0) == stats.MIN_SEEDS  # a huge effect still needs the minimum
    assert stats.seeds_needed(1.2, 1.0, threshold=1.0) > stats.seeds_needed(2.0, 1.0, threshold=1.0)


def test_log_r2_hand_worked():
    from augworth.metrics.stats import log_r2

    e = np.e
    # log truth 0, 1, 2 (mean 1, SS 2); log approx 0, 1, 1: residual SS 1 -> R^2 = 1 - 1/2
    assert log_r2([1, e, e**2], [1, e, e]) == pytest.approx(0.5)
    assert log_r2([1, e, e**2], [1, e, e**2]) == pytest.approx(1.0)
