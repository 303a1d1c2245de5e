"""Analysis of the `exchange_rate` chapter (paper C, C1-C4): pure functions of the runner's
runs table -- the reference power laws, worth in samples with intervals, the convergence
table, the C3/C4 paired differences and the C2 asymptote gap. Nothing here trains; an edit
here never makes a stored result stale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import ExchangeRateParams
from ..metrics import exchange
from ..metrics.stats import paired, t_interval


def by_seed(runs: pd.DataFrame, metric: str) -> dict[int, dict[int, float]]:
    """{seed: {n: metric}} for a selection of runs (one run per seed and size)."""
    return {int(seed): {int(n): float(v) for n, v in zip(g.n, g[metric])} for seed, g in runs.groupby("seed")}


def reference_runs(runs: pd.DataFrame, metric: str, reference: str = "none") -> dict[int, dict[int, float]]:
    """The reference curve's data: ``by_seed`` of the main runs with the reference augmentation."""
    return by_seed(runs[(runs.kind == "main") & (runs.augment == reference)], metric)


def worth_table(runs: pd.DataFrame, metric: str, augmentations, reference: str = "none",
                kind_of: dict | None = None) -> pd.DataFrame:
    """Worth in samples of each augmentation at each size (leave-one-seed-out jackknife, see
    :func:`augworth.metrics.exchange.worth_interval`), against the power law fitted to the
    reference's ``metric`` (test_err or ood_err) over the main runs. ``kind_of`` maps extra row
    labels to selections of runs (DataFrames), e.g. the C3 and C4 runs."""
    main = runs[runs.kind == "main"]
    ref = reference_runs(runs, metric, reference)
    fits: dict = {}  # the reference's fit per seed subset, made once for every row
    out = []
    selections = {a: main[main.augment == a] for a in augmentations if a != reference}
    selections.update(kind_of or {})
    for label, sel in selections.items():
        for n, g in sel.groupby("n"):
            aug = {int(s): float(v) for s, v in zip(g.seed, g[metric])}
            v = exchange.worth_interval(ref, aug, int(n), fits)
            out.append({"augment": label, "n": int(n), "err": float(g[metric].mean()), **v, "rel": v["v"] / n,
                        "rel_lo": v["lo"] / n, "rel_hi": v["hi"] / n, "rel_sd": v["sd"] / n})
    return pd.DataFrame(out)


def fit_reference(runs: pd.DataFrame, metric: str, reference: str = "none", holdout: int = 0,
                  leave_out: int | None = None):
    """The reference power law (fitted to the seed-mean error at each size, as the worth
    intervals fit it) on the main runs, leaving out the ``holdout`` largest sizes, or the one size
    ``leave_out`` (an interior size: the fit then interpolates it); returns (fit, sizes used,
    held-out table: measured mean/sd vs predicted)."""
    ref = runs[(runs.kind == "main") & (runs.augment == reference)]
    sizes = sorted(ref.n.unique())
    used = sizes[: len(sizes) - holdout] if holdout else sizes
    if leave_out is not None:
        used = [n for n in used if n != leave_out]
    per_seed = by_seed(ref[ref.n.isin(used)], metric)
    fit_ = exchange.seed_fit(per_seed, sorted(per_seed))
    held = ref[~ref.n.isin(used)].groupby("n")[metric].agg(["mean", "std"]).reset_index()
    held["predicted"] = fit_(held.n.to_numpy()) if len(held) else []
    return fit_, used, held


def convergence_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Largest-n runs of the first seed: error at the budget vs at factor x the budget."""
    conv = runs[runs.kind == "convergence"]
    if conv.empty:
        return pd.DataFrame()
    conv = conv[(conv.seed == conv.seed.iloc[0]) & (conv.n == conv.n.iloc[0])]  # the first seed's (as before)
    main = runs[(runs.kind == "main") & (runs.n == conv.n.iloc[0]) & (runs.seed == conv.seed.iloc[0])]
    t = main.set_index("augment")[["test_err", "train_acc"]].join(
        conv.set_index("augment")[["test_err", "train_acc", "steps"]], suffixes=("", "_longer"))
    t["change"] = t.test_err_longer - t.test_err
    return t.reset_index()


def convergence_pairs(runs: pd.DataFrame, p: ExchangeRateParams) -> dict[str, tuple[dict, dict]]:
    """Where the profile names ``convergence_seeds``: each verdict's per-seed metric at the budget
    and with ``convergence_factor`` x the steps, {label: ({seed: at the budget}, {seed: longer})}:
    the largest-n test error of every augmentation ("err <augmentation>"), C3's contrast
    (invariant model minus plain model with flips, at C3's largest size) and C4's (the largest
    k of fixed copies minus fresh draws, at C4's largest size). Empty without them."""
    conv = runs[runs.kind == "convergence"]
    if not p.convergence_seeds or conv.empty:
        return {}

    def err(t):
        return {int(s): float(v) for s, v in zip(t.seed, t.test_err)}

    def pick(t, n, aug, invariance=None, copies=0):
        return t[(t.n == n) & (t.augment == aug) & (t.copies == copies) & (t.invariance == (invariance or "none"))]

    def diff(a, b):
        return {s: a[s] - b[s] for s in set(a) & set(b)}

    seeds = set(p.convergence_seeds)
    base = runs[(runs.kind != "convergence") & runs.seed.isin(seeds)]
    out = {}
    n_max = max(p.sizes)
    for aug in p.augmentations:
        out[f"err {aug}"] = (err(pick(base[base.kind == "main"], n_max, aug)), err(pick(conv, n_max, aug)))
    n3 = max(p.invariance_sizes or p.sizes)
    flip_base = base[base.kind.isin(["main", "flip_reference"])]
    out["C3"] = (diff(err(pick(base[base.kind == "invariant"], n3, "none", p.invariance)), err(pick(flip_base, n3, "flip"))),
                 diff(err(pick(conv, n3, "none", p.invariance)), err(pick(conv, n3, "flip"))))
    if p.fixed_sizes:
        n4, k = max(p.fixed_sizes), max(p.fixed_copies)
        out["C4"] = (diff(err(pick(base[base.kind == "fixed"], n4, p.fixed_augment, copies=k)),
                          err(pick(base[base.kind == "main"], n4, p.fixed_augment))),
                     diff(err(pick(conv, n4, p.fixed_augment, copies=k)), err(pick(conv, n4, p.fixed_augment))))
    return out


def error_curves(runs: pd.DataFrame, metric: str = "test_err") -> pd.DataFrame:
    """Mean and sd over seeds per (kind, augmentation, invariance, copies, n)."""
    keys = ["kind", "augment", "invariance", "copies", "n"]
    return runs.groupby(keys)[metric].agg(["mean", "std", "count"]).reset_index()


def paired_difference(runs: pd.DataFrame, a: dict, b: dict, metric: str = "test_err", sizes=None):
    """Per seed, the mean over sizes of metric(a) - metric(b), where a and b select runs by
    column values (e.g. {"kind": "invariant", "augment": "none"}; a list value: any of them); pairs
    share n and seed.
    Returns (per-seed differences, their Student t interval)."""
    def pick(sel):
        m = np.ones(len(runs), dtype=bool)
        for k, v in sel.items():
            m &= (runs[k].isin(v) if isinstance(v, (list, tuple)) else runs[k] == v).to_numpy()
        t = runs[m]
        return t[t.n.isin(sizes)] if sizes is not None else t

    ta, tb = pick(a).set_index(["n", "seed"])[metric], pick(b).set_index(["n", "seed"])[metric]
    d = (ta - tb).dropna()
    per_seed = d.groupby(level="seed").mean().to_numpy()
    return per_seed, t_interval(per_seed)


def ranking(runs: pd.DataFrame, n: int, first: str, others) -> dict:
    """Paper C's ranking at size n: is ``first`` worth more than each of ``others``? Against one
    reference curve, worth is a decreasing function of the augmented test error, so the ranking is
    the paired difference of test errors, other minus ``first``, over seeds (a t interval per
    other; above 0: ``first`` is worth more). Empty when ``first`` was not trained."""
    main = runs[runs.kind == "main"]
    if first not in set(main.augment):
        return {}
    return {o: paired_difference(runs, {"kind": "main", "augment": o}, {"kind": "main", "augment": first},
                                 sizes=[n])[1] for o in others if o in set(main.augment)}


def analyse(runs: pd.DataFrame, p: ExchangeRateParams) -> dict:
    """Every table the chapter shows and its verdicts read: reference fits (all sizes and with
    the largest held out, clean and corrupted), the convergence table, worth tables (clean,
    corrupted, C3 and C4 selections), the C3/C4 paired differences and the C2 asymptote gap."""
    n_max = max(p.sizes)
    main = runs[runs.kind == "main"]
    inv_sizes = sorted(int(n) for n in runs[runs.kind == "invariant"].n.unique())
    out = {"n_max": n_max, "inv_sizes": inv_sizes, "conv": convergence_table(runs) if not p.convergence_seeds
           else pd.DataFrame(), "conv_pairs": convergence_pairs(runs, p),
           "reference_sizes": sorted(int(n) for n in main[main.augment == p.augmentations[0]].n.unique())}
    for metric, tag in (("test_err", "id"), ("ood_err", "ood")):
        out[f"fit_{tag}"] = fit_reference(runs, metric)[0]
        out[f"held_{tag}"] = fit_reference(runs, metric, holdout=1)[2]
        out[f"w_{tag}"] = worth_table(runs, metric, p.augmentations)
    plain_flip = {"kind": ["main", "flip_reference"], "augment": "flip"}
    out["c3"] = paired_difference(runs, {"kind": "invariant", "augment": "none"}, plain_flip, sizes=inv_sizes)[1]
    inv_flip = runs[(runs.kind == "invariant") & (runs.augment == "flip")]
    out["c3_both"] = (paired_difference(runs, {"kind": "invariant", "augment": "flip"}, plain_flip, sizes=inv_sizes)[1]
                      if len(inv_flip) else None)  # None: the invariant model was not trained with flips
    out["c3_seeds"] = sorted(int(s) for s in runs[runs.kind == "invariant"].seed.unique())
    out["w_inv"] = worth_table(runs, "test_err", [], kind_of={
        "invariant model": runs[(runs.kind == "invariant") & (runs.augment == "none")],
        **({"invariant model + flip": inv_flip} if len(inv_flip) else {}),
        "plain model + flip": main[(main.augment == "flip") & main.n.isin(inv_sizes)]})
    k_max = max(p.fixed_copies)
    out["k_max"] = k_max
    out["c4"] = paired_difference(runs, {"kind": "fixed", "copies": k_max}, {"kind": "main", "augment": p.fixed_augment},
                                  sizes=list(p.fixed_sizes))[1]
    out["w_fixed"] = worth_table(runs, "test_err", [], kind_of={
        **{f"fixed k={k}": runs[(runs.kind == "fixed") & (runs.copies == k)] for k in p.fixed_copies},
        "fresh": main[(main.augment == p.fixed_augment) & main.n.isin(p.fixed_sizes)]})
    out["ranking"] = ranking(runs, n_max, "trivialaugment", [a for a in p.augmentations if a not in
                                                              ("none", "trivialaugment", p.strong)])
    strong = main[(main.augment == p.strong) & (main.n == n_max)]
    strong_ood = {int(s): float(v) for s, v in zip(strong.seed, strong.ood_err)}
    out["c2_gap"] = exchange.asymptote_gap(reference_runs(runs, "ood_err"), strong_ood)
    out.update(beyond_reference(runs, p, strong_ood))
    return out


def beyond_reference(runs: pd.DataFrame, p: ExchangeRateParams, strong_ood: dict[int, float]) -> dict:
    """What the reference-only sizes (``reference_sizes``, above the grid) add, read without
    extrapolating: ``held_id_by`` / ``held_ood_by``, {n: the held-out table of the reference fit
    without that one size} (:func:`fit_reference` with ``leave_out``: an interior size is
    interpolated by the fit, the largest extrapolated), and ``c2_measured``, {n: the paired t
    interval over seeds of the reference's corrupted error at n minus the strong augmentation's at
    the grid's largest size} (below 0: that much clean data beats the augmentation out of
    distribution, so its worth there is finite)."""
    ref = reference_runs(runs, "ood_err")
    extra = [int(n) for n in p.reference_sizes]
    out: dict = {"held_id_by": {}, "held_ood_by": {}, "c2_measured": {}}
    for n in extra:
        for metric, tag in (("test_err", "id"), ("ood_err", "ood")):
            out[f"held_{tag}_by"][n] = fit_reference(runs, metric, leave_out=n)[2]
        at_n = {s: v[n] for s, v in ref.items() if n in v}
        if len(set(at_n) & set(strong_ood)) >= 2:
            out["c2_measured"][n] = t_interval(paired(at_n, strong_ood))
    return out


def contrasts_over_budgets(readings) -> pd.DataFrame:
    """C3's and C4's contrasts at the size their convergence check reads (C3: the invariant model
    minus the plain model with flips at its largest size; C4: the largest k of fixed copies minus
    fresh draws at its largest size), at the budget and with ``convergence_factor`` x it, per set
    of seeds. ``readings``: ``(who, params, analysis)`` for each set (an :func:`analyse` output
    whose profile names convergence seeds; others are skipped). One row per (who, claim, steps):
    the mean over the seeds with both runs, its 95% t interval and the seed count."""
    rows = []
    for who, p, a in readings:
        for claim, (before, after) in (a.get("conv_pairs") or {}).items():
            if claim not in ("C3", "C4"):
                continue
            seeds = sorted(set(before) & set(after))
            if len(seeds) < 2:
                continue
            for steps, values in ((p.steps, before), (p.steps * p.convergence_factor, after)):
                iv = t_interval([values[s] for s in seeds])
                rows.append({"seeds": who, "claim": claim, "steps": int(steps), "contrast": iv.estimate,
                             "lo": iv.lo, "hi": iv.hi, "n_seeds": iv.n})
    return pd.DataFrame(rows, columns=["seeds", "claim", "steps", "contrast", "lo", "hi", "n_seeds"])


def asymptote_gaps(runs: pd.DataFrame, n: int) -> dict:
    """C2's number for every augmentation trained at size ``n``: the reference's fitted corrupted
    asymptote b minus the augmentation's corrupted error there, with its jackknife interval
    (:func:`augworth.metrics.exchange.asymptote_gap`), so that the one C2 reads is shown beside the others."""
    main = runs[(runs.kind == "main") & (runs.n == n)]
    ref = reference_runs(runs, "ood_err")
    return {aug: exchange.asymptote_gap(ref, {int(s): float(v) for s, v in zip(g.seed, g.ood_err)})
            for aug, g in main.groupby("augment", sort=False) if aug != "none"}
