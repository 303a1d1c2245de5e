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
    jackknife), only that start."""
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


def worth(ref: PowerLaw, n, err_aug, n_max: float) -> tuple[np.ndarray, np.ndarray]:
    """(v, status) per element: v(n) = f_ref^{-1}(err_aug) - n and 'ok' / 'extrapolated' /
    'undefined' (see the module doc); ``n_max`` is the largest size the reference measured."""
    n, e = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(err_aug, dtype=float))
    n_eq = ref.inverse(e)
    v = n_eq - n
    status = np.where(~np.isfinite(n_eq), "undefined", np.where(n_eq > n_max * (1 + 1e-9), "extrapolated", "ok"))
    return v, status


def _seed_curve(ref_by_seed: dict, seeds) -> tuple[np.ndarray, np.ndarray]:
    """(sizes, mean error over ``seeds`` at each size) of the reference."""
    sizes = sorted(set.intersection(*(set(ref_by_seed[s]) for s in seeds)))
    return np.array(sizes, dtype=float), np.array([np.mean([ref_by_seed[s][n] for s in seeds]) for n in sizes])


def seed_fit(ref_by_seed: dict, seeds, start: PowerLaw | None = None) -> PowerLaw:
    """The reference power law fitted to the seed-mean error at each size (a size enters when
    every one of ``seeds`` measured it)."""
    return fit_power_law(*_seed_curve(ref_by_seed, seeds), start=start)


def worth_interval(ref_by_seed: dict, aug_by_seed: dict, n: int, fits: dict | None = None) -> dict:
    """Worth v(n) of an augmentation at size n with a leave-one-seed-out jackknife interval.

    ``ref_by_seed``: {seed: {size: reference error}}; ``aug_by_seed``: {seed: augmented error at
    n}. The seeds both hold are the units: each jackknife replicate drops one seed from the
    reference curve AND from the augmented mean (they share its subset and initialisation),
    refits the power law (starting from the all-seed fit) and reads v off it. Returns v, lo, hi
    (jackknife-t; NaN when a replicate is undefined), the point estimate's status, the share of
    replicates in which v is undefined, the number of seeds and the per-seed sd. ``fits``: a
    dict shared by calls on the same reference, so each seed subset's fit is made once.
    """
    from .stats import interval_from_jackknife, jackknife

    fits = {} if fits is None else fits
    seeds = sorted(set(ref_by_seed) & set(aug_by_seed))

    def fit(sub):
        key = tuple(sub)
        if key not in fits:
            fits[key] = seed_fit(ref_by_seed, sub, start=None if len(sub) == len(seeds) else fit(seeds))
        return fits[key]

    point = fit(seeds)
    n_max = float(max(_seed_curve(ref_by_seed, seeds)[0]))

    def stat(sub):
        return worth(fit(sub), n, np.mean([aug_by_seed[s] for s in sub]), n_max)[0].item()

    est, loo = jackknife(stat, seeds) if len(seeds) > 1 else (stat(seeds), np.array([]))
    iv = interval_from_jackknife(est, loo)
    status = worth(point, n, np.mean([aug_by_seed[s] for s in seeds]), n_max)[1].item()
    return {"v": iv.estimate, "lo": iv.lo, "hi": iv.hi, "sd": iv.sd, "n_seeds": len(seeds), "status": str(status),
            "undefined_share": float(np.mean(~np.isfinite(loo))) if loo.size else float("nan")}


def asymptote_gap(ref_by_seed: dict, errs_by_seed: dict):
    """b (the reference's fitted asymptote: its error with unlimited data) minus the mean of the
    seeds' ``errs``, with a leave-one-seed-out jackknife interval (an
    :class:`augworth.metrics.stats.Interval`). Positive: the errors are below anything extra
    reference data reaches."""
    from .stats import jackknife_interval

    seeds = sorted(set(ref_by_seed) & set(errs_by_seed))
    point = seed_fit(ref_by_seed, seeds)

    def stat(sub):
        f = point if len(sub) == len(seeds) else seed_fit(ref_by_seed, sub, start=point)
        return f.b - float(np.mean([errs_by_seed[s] for s in sub]))

    return jackknife_interval(stat, seeds)
