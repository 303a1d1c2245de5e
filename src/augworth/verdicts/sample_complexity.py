"""Verdicts of the `sample_complexity` chapter (paper A, A1-A3), from the runner's value.

A1 is an exact check (closed form against a large Monte Carlo: no training seed involved). A2
and A3 are about trained CNNs, so their unit is the training seed: per seed (the main model and
``verdict_seeds``), the images are summarised first (the median over images), then a Student t
interval over seeds on the log scale (draws and variance ratios vary by factors, not by
amounts); A2 does so per augmentation family and needs every family within a factor 2. A3 is
gated by the accuracy of its own reference: the truth it measures the draws against must itself
be accurate to a tenth of the 1% asked for. Where the profile trains convergence runs, A3's
per-seed draws must move by less than a factor 10^0.1 (26%) with twice the epochs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..analysis.sample_complexity import COMMON, EPSILONS, PAPER_N
from ..metrics.stats import LEVEL, t_interval
from .rules import Check, Decision, chapter_gates, conclude, convergence_check, decide, decide_within, gate_side

EPS = EPSILONS[0]                        # A3's relative accuracy of the loss estimate (1%)
REFERENCE_TOL = 0.1 * EPS                # A3 gate: the truth's own relative error
Z_MAX = 5.0                              # A1: largest |z| of the closed-form mean against Monte Carlo
RATIO_LOW, RATIO_HIGH = 0.5, 2.0         # A2: delta-method Var[L] within a factor 2 of the truth
DRAWS_TOL = 0.1                          # A3's convergence tolerance: log10 draws (a factor 1.26)


def seed_table(r: dict) -> pd.DataFrame:
    """One row per (seed, augmentation, image) of the CNN: E[L], Var[L], delta-method Var[L],
    the draws a 1%-accurate loss needs and the truth's own error; the main seed and the others."""
    main = pd.DataFrame(r["records"])
    main = main[main.model == "cnn"].assign(seed=r.get("seed", 0))
    cols = ["seed", "augment", "image", "E_L", "Var_L", "delta_Var_L", "ref_rel_err", f"N_pred_loss_{EPS}"]
    kept = r.get("seeds_kept")  # a value restricted to some seeds (analysis.seeds.restrict)
    rows = ([main[cols]] if kept is None or r.get("seed", 0) in kept else []) + (
        [pd.DataFrame(r["seed_records"])[cols]] if r.get("seed_records") else [])
    return pd.concat(rows, ignore_index=True)


def a1(r: dict, p) -> Decision:
    exact = [s for s in p.augmentations if r["a1"][s]["exact"]]
    z = max(r["a1"][s]["max_z_mean"] for s in exact) if exact else float("nan")
    checks = [Check("exact families", bool(exact), f"{len(exact)} exact families measured")]
    n_mc = r["a1"][exact[0]]["n_mc"] if exact else 0
    return conclude("A1", decide(z, None, Z_MAX, "<="), z, None, f"max |z| <= {Z_MAX:g}",
                    f"largest |z| of the closed-form mean against {n_mc:,} Monte Carlo draws over all pixels of "
                    f"{len(exact)} exact families", checks=checks, claimed=("<=", Z_MAX))


def a2_table(r: dict) -> pd.DataFrame:
    """Per augmentation: the delta-method Var[L] over the truth for the CNN, the median over images
    per seed, then a t interval over seeds on the log scale, Bonferroni over the augmentations (one
    decision per family keeps the 95% of the whole), and the label of that family alone (inside
    [0.5, 2] or not). ``attrs`` holds the intervals' level and the seeds."""
    t = seed_table(r)
    log_ratio = np.log((t.delta_Var_L / t.Var_L).replace([np.inf, -np.inf], np.nan))
    t = t.assign(log_ratio=log_ratio)
    augs = list(dict.fromkeys(t.augment))
    level = 1 - (1 - LEVEL) / max(1, len(augs))
    rows = []
    for aug in augs:
        per_seed = t[t.augment == aug].groupby("seed").log_ratio.median().dropna()
        iv = t_interval(per_seed.to_numpy(), level=level)
        ratio, lo, hi = (math.exp(v) for v in (iv.estimate, iv.lo, iv.hi)) if iv.n else (math.nan,) * 3
        rows.append({"augment": aug, "ratio": ratio, "lo": lo, "hi": hi, "seeds": iv.n, "sd_log": iv.sd,
                     "log_ratio": iv.estimate, "label": decide_within(ratio, (lo, hi), RATIO_LOW, RATIO_HIGH)})
    tab = pd.DataFrame(rows)
    tab.attrs.update(level=level, seeds=sorted(int(s) for s in t.seed.unique()))
    return tab


def a2_pick(tab: pd.DataFrame) -> tuple[str, pd.Series]:
    """A2's label from the families' labels (:func:`a2_table`) and the family it turns on: the
    farthest from 1 among those with the verdict's label (among all when supported)."""
    labels = set(tab.label)
    label = ("not supported" if "not supported" in labels else
             "supported" if labels == {"supported"} else "inconclusive")
    decisive = tab[tab.label == label] if label != "supported" else tab
    return label, decisive.loc[decisive.log_ratio.abs().idxmax()]


def longer_records(r: dict, p) -> pd.DataFrame | None:
    """The records of the convergence runs with the profile's first factor (None without them)."""
    longer = [c for c in r.get("convergence", ()) if c["epochs"] == r.get("epochs", 0) * p.convergence_factors[0]]
    return pd.DataFrame([rec for c in longer for rec in c["records"]]) if longer else None


def family_log10_ratio(t: pd.DataFrame, family: str) -> dict:
    """{seed: log10 of the delta-method Var[L] over the truth} of one augmentation family, the
    median over a seed's images (rows of :func:`seed_table` or of :func:`longer_records`)."""
    t = t[t.augment == family]
    return np.log10(t.delta_Var_L / t.Var_L).groupby(t.seed).median().dropna().to_dict()


def a2_over_budgets(readings, family: str, factor: int) -> pd.DataFrame:
    """``family``'s log10 variance ratio at the budget and at ``factor`` x it, per set of seeds,
    over the seeds that have both runs (what A2's convergence gate reads). ``readings``: ``(who,
    epochs, value, p)`` per set (a runner value and its parameters; a set with fewer than 2 seeds
    with both runs is skipped). One row per (who, epochs): the mean, its 95% t interval, the seeds."""
    rows = []
    for who, epochs, r, p in readings:
        more = longer_records(r, p)
        if more is None:
            continue
        before, after = family_log10_ratio(seed_table(r), family), family_log10_ratio(more, family)
        both = sorted(set(before) & set(after))
        if len(both) < 2:
            continue
        for values, k in (([before[s] for s in both], 1), ([after[s] for s in both], factor)):
            iv = t_interval(np.asarray(values))
            rows.append({"seeds": who, "epochs": int(epochs * k), "log10_ratio": iv.estimate, "lo": iv.lo,
                         "hi": iv.hi, "n_seeds": iv.n})
    return pd.DataFrame(rows, columns=["seeds", "epochs", "log10_ratio", "lo", "hi", "n_seeds"])


def a2_side(gate: str, label: str, log_ratio: float) -> str:
    """The side A2's convergence check reads under a registration's ``gate``: two-sided, or under
    the gate toward the claim's boundary the side that could overturn ``label`` -- for "not
    supported", a movement of the shown family back toward [0.5, 2] (a fall when it lies above 2,
    a rise when below 0.5); a "supported" (every family inside) can be overturned either way."""
    side = gate_side(gate, label, "A2", ">=" if log_ratio < 0 else "<=")
    return side if label == "not supported" else "two-sided"


def a2(r: dict, p, gate: str = "two-sided", family: str | None = None) -> Decision:
    """A2 per augmentation family: supported when every family's ratio lies inside [0.5, 2], not
    supported when one lies wholly outside (intervals Bonferroni over the families). A median
    pooled over the families would sit near 1 when translations over- and brightness under-
    predict by orders of magnitude; the claim is about each. ``gate``: the convergence gate of
    the shown family's ratio (:func:`a2_side`). ``family``: the family shown (its number, interval
    and convergence check), named by a registration before its seeds ran; else the farthest from 1
    among those with the verdict's label (:func:`a2_pick`), which may differ between seed sets."""
    tab = a2_table(r)
    label, row = a2_pick(tab)
    if family is not None:
        if family not in set(tab.augment):
            raise ValueError(f"A2's shown family {family!r} was not measured (families: {', '.join(tab.augment)})")
        row = tab[tab.augment == family].iloc[0]
    outside = tab[tab.label == "not supported"]
    inside = int((tab.label == "supported").sum())
    nearest = min((math.log(RATIO_LOW), math.log(RATIO_HIGH)), key=lambda b: abs(row.log_ratio - b))
    checks = []
    more = longer_records(r, p)
    if more is not None:  # the shown family's per-seed ratio moves by less than a factor 10^0.1
        def per_seed(t):
            return family_log10_ratio(t, row.augment)

        checks.append(convergence_check(per_seed(seed_table(r)), per_seed(more), DRAWS_TOL,
                                        f"log10 Var ratio of {row.augment}", p.convergence_factors[0],
                                        a2_side(gate, label, row.log_ratio)))
    return conclude("A2", label, row.ratio, (row.lo, row.hi), "every family's CI (Bonferroni) within [0.5, 2]",
                    f"delta-method Var[L] / truth for the CNN, median over {p.n_images} images per seed, per "
                    f"augmentation: {inside} of {len(tab)} families inside [0.5, 2], {len(outside)} wholly outside"
                    + (f" ({', '.join(f'{a} {v:.3g}' for a, v in zip(outside.augment, outside.ratio))})"
                       if len(outside) else "") + f"; shown: {row.augment}"
                    + (" (named by the registration)" if family is not None else ""),
                    checks=checks, seeds=tab.attrs["seeds"], n_seeds=int(row.seeds), sd=row.sd_log,
                    threshold=nearest, power_effect=row.log_ratio, level=tab.attrs["level"],
                    claimed=("within", RATIO_LOW, RATIO_HIGH))


def a3(r: dict, p) -> Decision:
    t = seed_table(r)
    primary = COMMON[0]
    rule = f">= {PAPER_N:,} draws"
    if primary not in set(t.augment):
        return conclude("A3", "inconclusive", math.nan, None, rule, f"{primary} was not measured",
                        checks=[Check("measured", False, f"{primary} is not among the augmentations")])
    g = t[t.augment == primary]
    per_seed = np.log10(g.groupby("seed")[f"N_pred_loss_{EPS}"].median())
    iv = t_interval(per_seed.to_numpy())
    med, lo, hi = (10 ** v for v in (iv.estimate, iv.lo, iv.hi))
    ref_err = float(g.ref_rel_err.median())
    checks = [Check("reference accuracy", ref_err <= REFERENCE_TOL,
                    f"the truth for {primary} has a relative error of {ref_err:.2g} (tolerance {REFERENCE_TOL:g})")]
    more = longer_records(r, p)
    if more is not None:
        more = more[more.augment == primary]
        checks.append(convergence_check(per_seed.to_dict(),
                                        np.log10(more.groupby("seed")[f"N_pred_loss_{EPS}"].median()).to_dict(),
                                        DRAWS_TOL, f"log10 draws under {primary}", p.convergence_factors[0]))
    others = []
    for spec in COMMON[1:]:
        o = t[t.augment == spec]
        if len(o):
            others.append(f"{spec}: {10 ** np.log10(o.groupby('seed')[f'N_pred_loss_{EPS}'].median()).mean():,.0f}")
    # beside the rule's number: the same at 95% (1.96 standard errors within 1%), and the gradient's
    # draws (measured on the main seed's model)
    z95 = 1.959964 ** 2
    main = pd.DataFrame(r["records"])
    grad = main[(main.model == "cnn") & (main.augment == primary)].get(f"N_pred_grad_{EPS}")
    beside = (f"; beside the rule: for 95% within 1%, {z95 * med:,.0f} (CI {z95 * lo:,.0f} to {z95 * hi:,.0f})"
              + (f"; the weight gradient (main seed, median image) {float(grad.median()):,.0f}"
                 if grad is not None and len(grad) else ""))
    return conclude("A3", decide(med, (lo, hi), PAPER_N, ">="), med, (lo, hi), rule,
                    f"draws for a 1%-accurate loss of the median test image under {primary} (trained CNNs), "
                    f"geometric mean over {iv.n} seeds {med:,.0f}" + (f"; {'; '.join(others)}" if others else "")
                    + beside,
                    checks=checks, seeds=sorted(per_seed.index), n_seeds=iv.n, sd=iv.sd,
                    threshold=math.log10(PAPER_N), power_effect=iv.estimate, claimed=(">=", PAPER_N))


def decide_all(r: dict, p, gates: dict[str, str] | None = None, shown: dict[str, str] | None = None
               ) -> dict[str, Decision]:
    """A1-A3's verdicts; ``gates``: a registration's convergence gate per claim (of this chapter's
    claims only A2 may have one other than two-sided: A1 trains nothing, and A3's is its own
    registration's choice still to make); ``shown``: the family A2 reads, named by a registration."""
    gates = chapter_gates(gates, ("A1", "A2", "A3"), ("A2",))
    return {d.claim: d for d in (a1(r, p), a2(r, p, gates["A2"], (shown or {}).get("A2")), a3(r, p))}
