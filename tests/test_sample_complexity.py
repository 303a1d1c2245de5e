import math

import numpy as np
import pytest

from augworth.experiments import sample_complexity as sc
from augworth.metrics.stats import bootstrap_ci


def test_observed_n_is_where_the_running_estimate_stays_within_eps():
    grid = np.array([1, 2, 4, 8])
    errs = np.zeros(8)
    errs[[0, 1, 3, 7]] = [0.5, 0.005, 0.02, 0.004]  # at N = 1, 2, 4, 8
    assert sc._observed_n(errs, grid, 0.01) == 8     # within at N=2 but out again at N=4
    assert sc._observed_n(errs, grid, 0.03) == 2
    errs[7] = 0.02
    assert sc._observed_n(errs, grid, 0.01) == math.inf  # never settles within the grid


def fake_result(n_pred_by_aug: dict, n_images: int = 40, seed: int = 0) -> dict:
    """Records whose predicted N for the CNN's 1% loss are log-normal around given medians."""
    rng = np.random.default_rng(seed)
    records = []
    for spec, median in n_pred_by_aug.items():
        for i in range(n_images):
            n = median * np.exp(rng.normal(0, 0.3))
            e = 0.5
            v = n * (0.01 * e) ** 2  # so that Var / (eps^2 E^2) = n
            rec = {"augment": spec, "model": "cnn", "image": i, "E_L": e, "Var_L": v, "truth": "exact",
                   "grad_norm": 1.0, "grad_trcov": 1.0}
            for eps in sc.EPSILONS:
                rec[f"N_pred_loss_{eps}"] = v / (eps**2 * e**2)
                rec[f"N_obs_loss_{eps}"] = 1.0
                rec[f"N_pred_grad_{eps}"] = 1.0 / eps**2
                rec[f"N_obs_grad_{eps}"] = 1.0
            records.append(rec)
    return {"records": records, "n_test": 10000}


@pytest.mark.parametrize("medians,label", [
    ({"crop(2)+flip": 50_000, "rrc(0.08)": 80_000}, "supported"),
    ({"crop(2)+flip": 1_000, "rrc(0.08)": 50_000}, "not supported"),  # the primary recipe decides
    ({"crop(2)+flip": 10_000, "rrc(0.08)": 2_000}, "inconclusive"),   # its interval straddles 10k
])
def test_verdict_follows_the_numbers(medians, label):
    v = sc.verdict(fake_result(medians))
    assert v["label"] == label
    for spec, m in medians.items():
        assert v["numbers"][spec]["median"] == pytest.approx(m, rel=0.25)
        # the data-set average needs n_test times fewer draws
        assert v["numbers"][spec]["dataset"] == pytest.approx(v["numbers"][spec]["median"] / 10000, rel=0.5)


def test_verdict_without_the_common_recipe_is_inconclusive():
    v = sc.verdict(fake_result({"noise(0.1)": 1e6}))
    assert v["label"] == "inconclusive" and "crop(2)+flip was not measured" in v["reason"]


def test_bootstrap_interval_covers_the_median():
    x = np.random.default_rng(0).normal(10, 1, 400)
    med, lo, hi = bootstrap_ci(x)
    assert lo < 10 < hi and lo < med < hi and hi - lo < 0.5


def test_bootstrap_mean_difference():
    from augworth.metrics.stats import bootstrap_mean_diff

    rng = np.random.default_rng(1)
    d, lo, hi = bootstrap_mean_diff(rng.normal(1.0, 1, 500), rng.normal(0.0, 1, 500))
    assert lo < d < hi and lo < 1.0 < hi and lo > 0.7
    assert all(math.isnan(v) for v in bootstrap_mean_diff([], [1.0]))
