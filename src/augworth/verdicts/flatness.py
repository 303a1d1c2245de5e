"""Verdict of the `flatness` chapter (paper C, C5), from the runner's cells.

Per trained model (seed), the refined perturb-to-threshold distance (relative threshold L0 + 1)
is averaged over the random directions first; the effect is the paired difference over seeds,
crop+flip minus no augmentation, with a Student t interval. Gate: every direction of the
compared models crossed the threshold and was refined (a direction that never crosses has no
distance, and one without bisection overshoots by up to a step).
"""

from __future__ import annotations

import math

import numpy as np

from ..metrics.stats import paired, t_interval
from .rules import Check, Decision, conclude, decide


def compared_augmentation(augmentations) -> str | None:
    return "crop(2)+flip" if "crop(2)+flip" in augmentations else next((a for a in augmentations if "crop" in a), None)


def per_seed_distance(r: dict, threshold: str = "relative") -> dict[str, dict[int, float]]:
    out: dict[str, dict[int, float]] = {}
    for c in r["cells"]:
        vals = [f["refined"] for f in c["flatness"] if f["threshold"] == threshold]
        out.setdefault(c["augment"], {})[int(c["seed"])] = float(np.mean(vals))
    return out


def noise_order(r: dict, augment: str) -> tuple[str, bool]:
    """Gradient-noise modes by mean tr Cov for ``augment``'s models, and whether the paper's
    order fresh > same-batch > fixed holds."""
    by_mode: dict[str, list[float]] = {}
    for c in r["cells"]:
        if c["augment"] == augment:
            for mode, v in c["noise"].items():
                by_mode.setdefault(mode, []).append(v["trace_cov"])
    means = {m: float(np.mean(v)) for m, v in by_mode.items()}
    order = " > ".join(sorted(means, key=means.get, reverse=True))
    paper = all(means.get(x, math.nan) > means.get(y, math.nan) for x, y in (("fresh", "same-batch"), ("same-batch", "fixed")))
    return order, paper


def c5(r: dict, p) -> Decision:
    aug = compared_augmentation(p.augmentations)
    dist = per_seed_distance(r)
    rule = "flatness(crop+flip) - flatness(none) > 0 (CI)"
    if aug is None or "none" not in dist:
        return conclude("C5", "inconclusive", float("nan"), None, rule, "nothing to compare",
                        checks=[Check("arms", False, "needs models without augmentation and with a crop")], seeds=p.seeds)
    compared = [f for c in r["cells"] if c["augment"] in ("none", aug) for f in c["flatness"]
                if f["threshold"] == "relative"]
    never = sum(not math.isfinite(f["refined"]) for f in compared)
    checks = [Check("refined crossing", never == 0 and p.bisections > 0,
                    f"{never} of {len(compared)} directions never crossed the threshold" if never else
                    ("no bisection: the distance overshoots by up to one step" if p.bisections == 0 else
                     f"all {len(compared)} directions crossed and were refined ({p.bisections} bisections)"))]
    d = t_interval(paired(dist[aug], dist["none"]))
    order, paper = noise_order(r, aug)
    eig: dict[str, list[float]] = {}
    for c in r["cells"]:
        eig.setdefault(c["augment"], []).append(c["top_eig"])
    return conclude("C5", decide(d.estimate, (d.lo, d.hi), 0.0, ">="), d.estimate, (d.lo, d.hi), rule,
                    f"refined distance to L0+1: {np.mean(list(dist[aug].values())):.3f} ({aug}) vs "
                    f"{np.mean(list(dist['none'].values())):.3f} (none); Hessian top eigenvalue "
                    + ", ".join(f"{k} {np.mean(v):.3g}" for k, v in eig.items())
                    + f"; gradient noise by mode: {order} (paper: fresh > same-batch > fixed: "
                    f"{'same' if paper else 'different'} order)",
                    checks=checks, seeds=p.seeds, n_seeds=d.n, sd=d.sd, threshold=0.0)


def decide_all(r: dict, p) -> dict[str, Decision]:
    return {"C5": c5(r, p)}
