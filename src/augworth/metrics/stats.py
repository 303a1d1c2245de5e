"""Small statistics helpers: bootstrap intervals of a statistic."""

from __future__ import annotations

from typing import Callable

import numpy as np


def bootstrap_ci(values, stat: Callable[[np.ndarray], float] = np.median, n_boot: int = 2000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """(statistic, low, high): percentile bootstrap interval over the values (resampled with
    replacement). Infinite values are kept (a median can be infinite)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boots = np.array([stat(v[rng.integers(0, v.size, v.size)]) for _ in range(n_boot)])
    lo, hi = np.quantile(boots, [(1 - level) / 2, 1 - (1 - level) / 2], method="lower")
    return float(stat(v)), float(lo), float(hi)


def bootstrap_mean_diff(a, b, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """mean(a) - mean(b) with a percentile bootstrap interval, resampling a and b independently."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    boots = [rng.choice(a, a.size).mean() - rng.choice(b, b.size).mean() for _ in range(n_boot)]
    lo, hi = np.quantile(boots, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(a.mean() - b.mean()), float(lo), float(hi)
