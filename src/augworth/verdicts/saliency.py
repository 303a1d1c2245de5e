"""Verdict of the `saliency` chapter (paper A, A4), from the runner's cells.

Per trained model (seed), the measures are averaged over the test images first; the effect is
the paired difference over seeds of the mean relative variance rho, no augmentation minus the
strongest translation, with a Student t interval; not supported when the interval lies below
the claim's equivalence margin. Where the profile trains convergence runs, the effect and each
arm's test accuracy must move by less than the margin (half a point) with twice the epochs.
"""

from __future__ import annotations

import numpy as np

from ..claims import MARGINS
from ..config import parse_augment
from ..metrics.stats import paired, t_interval
from .rules import (Check, Decision, accuracy_convergence, conclude, contrast_convergence, decide,
                    first_factor_runs, nearest_decision)


def strongest_translation(augmentations) -> str | None:
    """The translation-only augmentation (crop stages alone) with the largest shift."""
    crops = []
    for spec in augmentations:
        stages = parse_augment(spec)
        if stages and all(name == "crop" for name, _ in stages):
            crops.append((sum(args["pad"] for _, args in stages), spec))
    return max(crops)[1] if crops else None


def per_seed(r: dict, measure: str) -> dict[str, dict[int, float]]:
    """{augmentation: {seed: mean over test images of ``measure`` at the last checkpoint}}."""
    out: dict[str, dict[int, float]] = {}
    for c in r["cells"]:
        last = max(c["over_time"], key=lambda t: t["epoch"])
        out.setdefault(c["augment"], {})[int(c["seed"])] = float(np.mean(last[measure]))
    return out


def a4(r: dict, p) -> Decision:
    strongest = strongest_translation(p.augmentations)
    rho, edge = per_seed(r, "rho"), per_seed(r, "edge")
    present = "none" in rho and strongest in rho
    checks = [Check("arms", present, f"no augmentation vs {strongest}" if present else
                    "needs models trained without augmentation and with a translation (crop)")]
    if not present:
        return conclude("A4", "inconclusive", float("nan"), None, "rho(none) - rho(translation) > 0 (CI)",
                        "nothing to compare", checks=checks, seeds=p.seeds, n_seeds=0)
    longer = first_factor_runs(r, p)
    if longer:  # convergence runs: the effect and each arm's test accuracy with more epochs
        k = p.convergence_factors[0]
        checks += [contrast_convergence(rho, per_seed({"cells": longer}, "rho"), "none", strongest, MARGINS["A4"],
                                        "rho, none minus translation", k),
                   *accuracy_convergence(r["cells"], longer, ("none", strongest), k)]
    d = t_interval(paired(rho["none"], rho[strongest]))
    e = t_interval(paired(edge["none"], edge[strongest]))
    edge_label = decide(e.estimate, (e.lo, e.hi), 0.0, ">=")
    return conclude("A4", decide(d.estimate, (d.lo, d.hi), 0.0, ">=", MARGINS["A4"]), d.estimate, (d.lo, d.hi),
                    f"rho(none) - rho(translation) > 0 (CI); not supported below +{MARGINS['A4']:g}",
                    f"rho is {np.mean(list(rho['none'].values())):.3f} without augmentation and "
                    f"{np.mean(list(rho[strongest].values())):.3f} ({strongest}); edge share changes by "
                    f"{-e.estimate:+.3f} (95% CI {-e.hi:+.3f} to {-e.lo:+.3f}): {edge_label} for 'away from edges'",
                    checks=checks, seeds=p.seeds, n_seeds=d.n, sd=d.sd,
                    threshold=nearest_decision(d.estimate, 0.0, MARGINS["A4"]), claimed=(">=", 0.0))


def decide_all(r: dict, p) -> dict[str, Decision]:
    return {"A4": a4(r, p)}
