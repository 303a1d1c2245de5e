"""What an augmentation is worth in samples (paper C, C1): power-law error curves and their
inverse.

The reference (no augmentation) error curve is fitted as f(n) = a * n^(-c) + b with a > 0,
c > 0 and 0 <= b below the smallest measured error. An augmentation's worth at n real samples is

    v(n) = f_ref^{-1}(e_aug(n)) - n,     f^{-1}(e) = (a / (e - b))^(1/c)  for e > b,

the number of extra un-augmented samples the reference would need to reach the augmented error.
Three cases are kept apart rather than silently extrapolated:

- ``ok``: f^{-1}(e) lies within the measured sizes (an interpolation of the fit);
- ``extrapolated``: f^{-1}(e) is beyond the largest measured size (it rests on the fitted
  asymptote b, an extrapolation);
- ``undefined``: e <= b, an error the reference never reaches with any amount of data; v is
  +inf ("worth more than any amount of extra data").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

STATUSES = ("ok", "extrapolated", "undefined")


@dataclass(frozen=True)
class PowerLaw:
    a: float
    c: float
    b: float

    def __call__(self, n) -> np.ndarray:
        return self.a * np.asarray(n, dtype=float) ** (-self.c) + self.b

    def inverse(self, e) -> np.ndarray:
        """n with f(n) = e; +inf where e <= b (never reached)."""
        e = np.asarray(e, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = (self.a / (e - self.b)) ** (1.0 / self.c)
        return np.where(e > self.b, out, np.inf)


def fit_power_law(n, err, b_max: float | None = None, start: PowerLaw | None = None) -> PowerLaw:
    """Least-squares fit of a * n^-c + b to (n, err) in log-error space (relative errors weigh
    alike across sizes). Needs at least 3 distinct sizes; repeated sizes (seeds) are fine.
    ``b_max`` caps the asymptote (default: the smallest measured error). Without ``start``, a
    small grid of starting points is tried and the best fit kept; with it (a nearby fit, as in a
    bootstrap), only that start."""
    from scipy.optimize import least_squares

    n, err = np.asarray(n, dtype=float), np.asarray(err, dtype=float)
    if len(np.unique(n)) < 3:
        raise ValueError(f"a power law a*n^-c+b needs at least 3 distinct sizes, got {sorted(set(n.tolist()))}")
    if np.any(err <= 0) or np.any(n <= 0):
        raise ValueError("sizes and errors must be positive")
    b_hi = float(min(err.min(), b_max if b_max is not None else np.inf)) * (1 - 1e-9)
    logn, loge = np.log(n), np.log(err)

    def resid(theta):
        la, c, b = theta
        return np.log(np.exp(la) * n ** (-c) + b) - loge

    def jac(theta):
        la, c, b = theta
        t = np.exp(la) * n ** (-c)
        f = t + b
        return np.stack([t / f, -t * logn / f, 1.0 / f], axis=1)

    lower, upper = [-50.0, 1e-3, 0.0], [50.0, 5.0, max(b_hi, 1e-12)]
    if start is not None:
        starts = [[np.clip(np.log(start.a), -49, 49), np.clip(start.c, 2e-3, 4.9), min(start.b, 0.99 * upper[2])]]
    else:
        starts = []
        for c0 in (0.1, 0.3, 0.6, 1.0):
            for bf in (0.0, 0.5, 0.9):
                b0 = bf * b_hi
                # a through the mean point for this (c0, b0)
                starts.append([float(np.log(max(np.mean(err - b0 * 0.999), 1e-12)) + c0 * np.mean(logn)), c0, b0])
    best = None
    for x0 in starts:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sol = least_squares(resid, x0, jac=jac, bounds=(lower, upper), x_scale="jac", max_nfev=200)
        if best is None or sol.cost < best.cost:
            best = sol
    la, c, b = best.x
    return PowerLaw(float(np.exp(la)), float(c), float(b))


def fit_runs(runs: dict[int, np.ndarray], start: PowerLaw | None = None) -> PowerLaw:
    """:func:`fit_power_law` to {n: the errors of its seeds}."""
    ns = np.concatenate([[k] * len(v) for k, v in runs.items()])
    return fit_power_law(ns, np.concatenate(list(runs.values())), start=start)


def worth(ref: PowerLaw, n, err_aug, n_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(v, status) per element: v(n) = f_ref^{-1}(err_aug) - n and 'ok' / 'extrapolated' /
    'undefined' (see the module doc); ``n_max`` is the largest size the reference measured."""
    n, e = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(err_aug, dtype=float))
    n_eq = ref.inverse(e)
    v = n_eq - n
    status = np.where(~np.isfinite(n_eq), "undefined", np.where(n_eq > n_max * (1 + 1e-9), "extrapolated", "ok"))
    return v, status


def bootstrap_worth(ref_runs: dict[int, np.ndarray], aug_runs: dict[int, np.ndarray], n_boot: int = 1000,
                    level: float = 0.95, seed: int = 0) -> dict[int, dict]:
    """Worth of an augmentation at each size with a bootstrap over seeds.

    ``ref_runs`` / ``aug_runs`` map a size n to the errors of its seeds. Each bootstrap replicate
    resamples the seeds at every size (with replacement), refits the reference power law to the
    resampled reference errors and evaluates v at the mean resampled augmented error. Returns per
    size: v (point estimate), lo, hi (percentile interval; +inf allowed), the share of
    replicates in which v is undefined, and the point estimate's status.
    """
    rng = np.random.default_rng(seed)
    sizes = sorted(ref_runs)
    n_max = float(max(sizes))

    point_ref = fit_runs(ref_runs)
    out = {}
    boots = {n: [] for n in aug_runs}
    for _ in range(n_boot):
        sample = {k: rng.choice(v, len(v)) for k, v in ref_runs.items()}
        try:
            ref = fit_runs(sample, start=point_ref)
        except ValueError:
            continue
        for n, errs in aug_runs.items():
            e = rng.choice(errs, len(errs)).mean()
            boots[n].append(worth(ref, n, e, n_max)[0].item())
    for n, errs in aug_runs.items():
        v, status = worth(point_ref, n, np.mean(errs), n_max)
        b = np.array(boots[n])
        q = (1 - level) / 2
        lo, hi = (np.quantile(b, [q, 1 - q], method="lower") if b.size else (np.nan, np.nan))
        out[n] = {"v": float(v.item()), "lo": float(lo), "hi": float(hi), "status": str(status.item()),
                  "undefined_share": float(np.mean(~np.isfinite(b))) if b.size else float("nan")}
    return out


def asymptote_gap(ref_runs: dict[int, np.ndarray], errs: np.ndarray, n_boot: int = 1000, level: float = 0.95,
                  seed: int = 0) -> tuple[float, float, float]:
    """b (the reference's fitted asymptote: its error with unlimited data) minus the mean of
    ``errs``, with a bootstrap over seeds (refitting the reference each time). Positive: the
    errors are below anything extra reference data reaches."""
    rng = np.random.default_rng(seed)
    point = fit_runs(ref_runs)
    errs = np.asarray(errs, dtype=float)
    boots = []
    for _ in range(n_boot):
        sample = {k: rng.choice(v, len(v)) for k, v in ref_runs.items()}
        f = fit_runs(sample, start=point)
        boots.append(f.b - rng.choice(errs, errs.size).mean())
    q = (1 - level) / 2
    lo, hi = np.quantile(boots, [q, 1 - q])
    return float(point.b - errs.mean()), float(lo), float(hi)
