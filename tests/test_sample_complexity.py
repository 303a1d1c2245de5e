import math

import numpy as np
import pytest

from augworth.experiments import sample_complexity as sc


def test_observed_n_is_where_the_running_estimate_stays_within_eps():
    grid = np.array([1, 2, 4, 8])
    errs = np.zeros(8)
    errs[[0, 1, 3, 7]] = [0.5, 0.005, 0.02, 0.004]  # at N = 1, 2, 4, 8
    assert sc._observed_n(errs, grid, 0.01) == 8     # within at N=2 but out again at N=4
    assert sc._observed_n(errs, grid, 0.03) == 2
    errs[7] = 0.02
    assert sc._observed_n(errs, grid, 0.01) == math.inf  # never settles within the grid
