"""Verdict of the `flatness` chapter (paper C, C5), from the runner's cells.

Per trained model (seed), the filter-normalised step alpha to the threshold (the bisected
crossing along each random filter-normalised direction, in units of the direction) is averaged
over the directions first; the effect is the paired difference over seeds, crop+flip minus no
augmentation, with a Student t interval, at paper C's absolute threshold (training loss 1 nat).
The relative threshold (the model's own loss + 1), the weight-space distance (alpha times the
direction's norm, which grows with the model's weights) and the Hessian's top eigenvalue are
shown beside. Gates: every direction crossed the threshold and was refined; where the profile
trains convergence runs, the effect moved by less than its margin with twice the epochs, and
each arm's test accuracy by less than half a point -- or, under a registration that gives C5
the gate toward the claim's boundary (registration 3), the effect is shown not to move toward the
boundary the verdict could cross by the margin, and the test-accuracy changes are shown beside.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..claims import MARGINS
from ..metrics.stats import paired, t_interval
from ..prereg import GATES
from .rules import (Check, Decision, accuracy_convergence, conclude, contrast_convergence, decide,
                    first_factor_runs, gate_side, nearest_decision)


def compared_augmentation(augmentations) -> str | None:
    return "crop(2)+flip" if "crop(2)+flip" in augmentations else next((a for a in augmentations if "crop" in a), None)


def alpha(f: dict, step: float) -> float:
    """A direction's filter-normalised step to the threshold (its bisected crossing): the stored
    distances are in weight space (alpha x ||d||, and step x k x ||d|| for the coarse one)."""
    if not math.isfinite(f["refined"]) or f["paper"] == 0:
        return math.nan if not math.isfinite(f["refined"]) else 0.0
    return f["refined"] * step * f["steps"] / f["paper"]


def per_seed_measure(cells, threshold: str = "absolute", measure: str = "alpha",
                     step: float = 0.1) -> dict[str, dict[int, float]]:
    """{augmentation: {seed: mean over directions}} of ``measure``: "alpha" (filter-normalised
    step) or "distance" (weight space, the refined crossing)."""
    out: dict[str, dict[int, float]] = {}
    for c in cells:
        vals = [alpha(f, step) if measure == "alpha" else f["refined"] for f in c["flatness"]
                if f["threshold"] == threshold]
        out.setdefault(c["augment"], {})[int(c["seed"])] = float(np.mean(vals))
    return out


def per_seed_distance(r: dict, threshold: str = "relative") -> dict[str, dict[int, float]]:
    """The weight-space distance per augmentation and seed (what the chapter showed first)."""
    return per_seed_measure(r["cells"], threshold, "distance")


def effect(cells, aug: str, threshold: str, measure: str, step: float):
    d = per_seed_measure(cells, threshold, measure, step)
    return t_interval(paired(d[aug], d["none"])), d


def convergence_checks(r: dict, p, aug: str, side: str = "two-sided") -> list[Check]:
    """Where the profile trained convergence runs: the effect's and each arm's test accuracy's
    paired change with the first factor's epochs (see :func:`rules.convergence_check`); ``side``
    reads the effect's change on one side only."""
    longer = first_factor_runs(r, p)
    if not longer:
        return []
    k = p.convergence_factors[0]
    base, more = per_seed_measure(r["cells"], step=p.step), per_seed_measure(longer, step=p.step)
    return [contrast_convergence(base, more, aug, "none", MARGINS["C5"], "alpha, crop+flip minus none", k, side),
            *accuracy_convergence(r["cells"], longer, ("none", aug), k)]


#: The one convergence gate a registration may give C5 besides the two-sided default.
TOWARD_BOUNDARY = GATES[0]


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


def c5(r: dict, p, gate: str = "two-sided") -> Decision:
    """C5's verdict. ``gate``: "two-sided" (registrations 1 and 2: the effect and each arm's test
    accuracy inside their tolerances with twice the epochs) or :data:`TOWARD_BOUNDARY`
    (registration 3: the effect's change read on the side that could overturn the label the rule
    gives -- a rise for "not supported", a fall for "supported" -- and the test-accuracy changes
    shown in the summary, not gating)."""
    gate_side(gate, "inconclusive", "C5")  # refuses an unknown gate before any work
    aug = compared_augmentation(p.augmentations)
    augs = {c["augment"] for c in r["cells"]}
    rule = f"alpha(crop+flip) - alpha(none) at 1 nat > 0 (CI); not supported below +{MARGINS['C5']:g}"
    if aug is None or "none" not in augs:
        return conclude("C5", "inconclusive", float("nan"), None, rule, "nothing to compare",
                        checks=[Check("arms", False, "needs models without augmentation and with a crop")], seeds=p.seeds)
    compared = [f for c in r["cells"] if c["augment"] in ("none", aug) for f in c["flatness"]]
    never = sum(not math.isfinite(f["refined"]) for f in compared)
    checks = [Check("refined crossing", never == 0 and p.bisections > 0,
                    f"{never} of {len(compared)} directions never crossed a threshold" if never else
                    ("no bisection: the distance overshoots by up to one step" if p.bisections == 0 else
                     f"all {len(compared)} directions crossed and were refined ({p.bisections} bisections)"))]
    d, a_abs = effect(r["cells"], aug, "absolute", "alpha", p.step)
    label = decide(d.estimate, (d.lo, d.hi), 0.0, ">=", MARGINS["C5"])
    beside = ""
    if gate == TOWARD_BOUNDARY:
        moved = convergence_checks(r, p, aug, gate_side(gate, label, "C5"))  # the effect's, then each arm's accuracy
        checks += moved[:1]
        beside = "".join(f"; beside, not gating: {c.detail}" for c in moved[1:])
    else:
        checks += convergence_checks(r, p, aug)
    rel, _ = effect(r["cells"], aug, "relative", "alpha", p.step)
    dist, _ = effect(r["cells"], aug, "relative", "distance", p.step)
    order, paper = noise_order(r, aug)
    eig: dict[str, dict[int, float]] = {}
    for c in r["cells"]:
        eig.setdefault(c["augment"], {})[int(c["seed"])] = c["top_eig"]
    e = t_interval(paired(eig[aug], eig["none"]))
    loss = {a: np.mean([c["start_loss"] for c in r["cells"] if c["augment"] == a]) for a in ("none", aug)}
    return conclude("C5", label, d.estimate, (d.lo, d.hi), rule,
                    f"alpha to 1 nat: {np.mean(list(a_abs[aug].values())):.3f} ({aug}) vs "
                    f"{np.mean(list(a_abs['none'].values())):.3f} (none); beside it: alpha to L0 + 1 "
                    f"{rel.estimate:+.3f} (CI {rel.lo:+.3f} to {rel.hi:+.3f}), weight-space distance to L0 + 1 "
                    f"{dist.estimate:+.3f} (CI {dist.lo:+.3f} to {dist.hi:+.3f}), Hessian top eigenvalue "
                    f"{e.estimate:+.3g} (CI {e.lo:+.3g} to {e.hi:+.3g}); training loss {loss[aug]:.3f} ({aug}) vs "
                    f"{loss['none']:.3f} (none); gradient noise by mode: {order} (paper: fresh > same-batch > fixed: "
                    f"{'same' if paper else 'different'} order){beside}",
                    checks=checks, seeds=p.seeds, n_seeds=d.n, sd=d.sd,
                    threshold=nearest_decision(d.estimate, 0.0, MARGINS["C5"]), claimed=(">=", 0.0))


def decide_all(r: dict, p, gates: dict[str, str] | None = None) -> dict[str, Decision]:
    """C5's verdict; ``gates``: a registration's convergence gate per claim (default two-sided)."""
    return {"C5": c5(r, p, (gates or {}).get("C5", "two-sided"))}


def budget_readings(page: dict, p, *more) -> list[tuple[str, int, list]]:
    """The models C5 can be read on, budget by budget: the page's main runs and its convergence
    runs (the confirmatory seeds with twice the epochs), and, for each ``(value, params)`` in
    ``more`` that is stored (the longer-budget pilot, a later registration; None values are
    skipped), its main and convergence runs. Each is (seeds in words, epochs, cells)."""
    def seeds(cells):
        s = sorted({int(c["seed"]) for c in cells})
        return f"seeds {s[0]}-{s[-1]}" if s == list(range(s[0], s[-1] + 1)) else "seeds " + ", ".join(map(str, s))

    out = []
    for value, params in ((page, p), *more):
        if value is None:
            continue
        out.append((seeds(value["cells"]), params.epochs, value["cells"]))
        longer = first_factor_runs(value, params)
        if longer:
            out.append((seeds(longer), params.epochs * params.convergence_factors[0], longer))
    return out


def over_budgets(readings, step: float) -> pd.DataFrame:
    """C5's effect (alpha to 1 nat, crop+flip minus none, paired t over seeds) and the Hessian top
    eigenvalue's paired difference at each reading of :func:`budget_readings`, with the label the
    rule would give the effect alone, each arm's mean test accuracy and training loss."""
    rows = []
    for who, epochs, cells in readings:
        aug = compared_augmentation({c["augment"] for c in cells})
        if aug is None or not any(c["augment"] == "none" for c in cells):
            continue
        d, _ = effect(cells, aug, "absolute", "alpha", step)
        eig: dict[str, dict[int, float]] = {}
        for c in cells:
            eig.setdefault(c["augment"], {})[int(c["seed"])] = c["top_eig"]
        e = t_interval(paired(eig[aug], eig["none"]))
        arm = {a: [c for c in cells if c["augment"] == a] for a in ("none", aug)}
        rows.append({"seeds": who, "epochs": int(epochs), "n": d.n, "alpha": d.estimate, "alpha_lo": d.lo,
                     "alpha_hi": d.hi, "effect alone": decide(d.estimate, (d.lo, d.hi), 0.0, ">=", MARGINS["C5"]),
                     "eig": e.estimate, "eig_lo": e.lo, "eig_hi": e.hi,
                     **{f"test_acc {a}": float(np.mean([c["test_acc"] for c in v])) for a, v in arm.items()},
                     **{f"train_loss {a}": float(np.mean([c["start_loss"] for c in v])) for a, v in arm.items()}})
    return pd.DataFrame(rows)


def across_budgets(table: pd.DataFrame, margin: float) -> str:
    """One sentence on :func:`over_budgets`'s table, for the reader who weighs a gated verdict:
    how many readings (budget x seeds), the highest upper end of C5's interval against the
    margin (flattening would need an interval above 0), the labels the effect alone gets, and the
    Hessian gap at the shortest and longest budget."""
    if table.empty:
        return "no reading of C5 is stored"
    if table.alpha_hi.isna().all():  # fewer than two seeds per reading: no interval
        return f"{len(table)} readings of C5, none with an interval (fewer than two seeds each)"
    top = table.loc[table.alpha_hi.astype(float).idxmax()]
    labels = ", ".join(f"{k} {v}" for k, v in table["effect alone"].value_counts().items())
    short, long = table.loc[table.epochs.idxmin()], table.loc[table.epochs.idxmax()]
    above = int((table.alpha_lo > 0).sum())
    return (f"{len(table)} readings of C5 (budgets x seeds, {table.epochs.min()}-{table.epochs.max()} epochs): "
            f"the effect alone reads {labels}; "
            f"{above} of them {'has' if above == 1 else 'have'} an interval above 0 (flatter with augmentation); "
            f"the highest upper end is {top.alpha_hi:+.3f} ({top.seeds}, {top.epochs} epochs; margin "
            f"{margin:+.2f}); the Hessian top-eigenvalue gap is {short.eig:+.1f} at {short.epochs} epochs "
            f"({short.seeds}) and {long.eig:+.1f} at {long.epochs} ({long.seeds})")
