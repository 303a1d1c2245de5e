"""Verdicts of the `exchange_rate` chapter (paper C, C1-C4), from
:func:`augworth.analysis.exchange_rate.analyse`.

Gates: C1 and C2 read worth at the largest size, so they need runs that had converged there
(the runs repeated with ``convergence_factor`` times the steps change the test error by at most
``convergence_tol``; under a registration's gate toward the claim's boundary, not by that much on
the side that could overturn the verdict) and a reference fit that predicts a held-out size
within ``holdout_tol`` (the largest, or the one a registration names); C2 also needs an
identified asymptote (a fitted b off its bound 0), unless a registration lets measured sizes
refute it (a reference size whose corrupted error is below the strong augmentation's). C3 and C4
need their contrast's change with twice the steps inside their margin over the convergence seeds
-- or, under a registration that gives them the gate toward the claim's boundary (registration
4), shown not to move by the margin toward the boundary the verdict could cross.
"""

from __future__ import annotations

import pandas as pd

from ..claims import ACCURACY_TOL, MARGINS
from ..prereg import GATES
from . import rules
from .rules import Check, Decision, conclude, decide, gate_side, nearest_decision

B_IDENTIFIED = 1e-6  # a fitted asymptote below this sits at its bound 0: not identified by the sizes


def first_seed_convergence(conv: pd.DataFrame, augmentations, tol: float) -> Check:
    """The largest-n runs of ``augmentations`` changed by at most ``tol`` with more steps."""
    if conv is None or conv.empty:
        return Check("converged", False, "no convergence runs (convergence_factor = 1): convergence not checked")
    rows = conv[conv.augment.isin(list(augmentations))]
    missing = sorted(set(augmentations) - set(rows.augment))
    if missing:
        return Check("converged", False, f"no convergence run for {', '.join(missing)}")
    worst = rows.loc[rows.change.abs().idxmax()]
    ok = bool((rows.change.abs() <= tol).all())
    steps = int(worst.steps)
    return Check("converged", ok, f"runs not converged: {worst.augment} changes its test error by {worst.change:+.4f} "
                 f"with {steps} steps (tolerance {tol:.3g})" if not ok else
                 f"largest change with {steps} steps {worst.change:+.4f} ({worst.augment}), within {tol:.3g}")


def convergence_checks(a: dict, p, labels, side: str = "two-sided") -> list[Check]:
    """Over the convergence seeds (profiles that name them): each of ``labels``' per-seed metric
    moves by less than its tolerance with ``convergence_factor`` x the steps -- test error by half
    a point, C3's and C4's contrasts by their margins; ``side`` "up" or "down" reads one side only
    (:func:`augworth.verdicts.rules.convergence_check`). Else the first seed's largest-n runs
    (:func:`first_seed_convergence`, the exploratory profiles' check, for C1 and C2 only)."""
    pairs = a.get("conv_pairs") or {}
    out = []
    for label in labels:
        if label not in pairs:
            continue
        before, after = pairs[label]
        tol = MARGINS[label] if label in MARGINS else ACCURACY_TOL
        what = f"{label} contrast (test error)" if label in MARGINS else f"largest-n test error of {label[4:]}"
        out.append(rules.convergence_check(before, after, tol, what, p.convergence_factor, side=side))
    return out


#: A power law of 3 parameters through the sizes left after holding one out: fewer than this many
#: sizes leave no residual degree of freedom, and a fit through them predicts anything.
MIN_FIT_SIZES = 4


def holdout_check(held: pd.DataFrame, tol: float, what: str = "test", fitted: int | None = None) -> Check:
    """The reference fit without the largest size predicts it within ``tol``, from at least
    MIN_FIT_SIZES sizes (``fitted``: how many it used)."""
    if held is None or held.empty:
        return Check("held-out fit", False, "no held-out size")
    err = float((held.predicted - held["mean"]).abs().max())
    n = int(held.n.max())
    if fitted is not None and fitted < MIN_FIT_SIZES:
        return Check("held-out fit", False, f"the {what} reference fit without n = {n} uses {fitted} sizes for 3 "
                                            f"parameters (no residual degree of freedom): it predicts n = {n} within "
                                            f"{err:.4f}, which tests nothing")
    return Check("held-out fit", err <= tol, f"the {what} reference fit without n = {n} predicts it within {err:.4f}"
                 + ("" if err <= tol else f", more than the tolerance {tol:.3g}")
                 + (f" ({fitted} sizes fitted)" if fitted else ""))


def interpolation_check(a: dict, n: int, rel: float = 1.0) -> Check:
    """C1 reads worth by interpolation: the reference (no augmentation) was measured at the
    equivalent size a worth of ``rel`` x n means, n (1 + rel), or beyond."""
    ref = a.get("reference_sizes") or []
    need = n * (1 + rel)
    ok = bool(ref) and max(ref) >= need
    return Check("interpolated", ok, f"the reference curve reaches n = {max(ref) if ref else 0:,}, "
                 + ("beyond" if ok else "short of") + f" the {need:,.0f} images a worth of {rel:g} x n at n = {n:,} "
                 "means" + ("" if ok else ": the worth there is an extrapolation of the fit"))


def c1(a: dict, p, gate: str = "two-sided", reading: dict | None = None) -> Decision:
    """C1: v(n)/n of TrivialAugment (else the best augmentation) at the largest size > 1.
    ``gate``: its convergence gate -- two-sided, or toward the claim's boundary, read on each arm
    on the side that lowers (for a "supported") or raises (a "not supported") the worth: the
    reference's largest-n error falling or the augmentation's rising (:func:`arm_sides`).
    ``reading``: a registration's ``held_out`` size (:data:`augworth.prereg.READINGS`)."""
    w, n_max = a["w_id"], a["n_max"]
    at_max = w[w.n == n_max]
    aug = "trivialaugment" if "trivialaugment" in set(at_max.augment) else \
        at_max.sort_values("v").augment.iloc[-1]
    row = at_max[at_max.augment == aug].iloc[0]
    others = at_max[at_max.augment != aug].set_index("augment").rel
    label = decide(row.rel, (row.rel_lo, row.rel_hi), 1.0, ">=")
    checks = [*legacy_convergence(a, p, [p.augmentations[0], aug], arm_sides(gate, label, "C1", aug, p)),
              held_out(a, p, "id", "test", (reading or {}).get("held_out")),
              interpolation_check(a, n_max)]
    return conclude("C1", label, row.rel, (row.rel_lo, row.rel_hi), "v(n)/n of TrivialAugment at the largest n > 1 (CI)",
                    f"{aug} at n = {n_max}: v = {row.v:.0f} extra samples (v/n {row.rel:.2f}, CI {row.rel_lo:.2f} to "
                    f"{row.rel_hi:.2f}, {row.status}); others: " + ", ".join(f"{k} {v:.2f}" for k, v in others.items())
                    + "; paper: ~2 (100k at 50k)" + ranking_text(a), checks=checks, seeds=p.seeds,
                    n_seeds=int(row.n_seeds),
                    sd=row.rel_sd, threshold=1.0)


def arm_sides(gate: str, label: str, claim: str, aug: str, p) -> dict[str, str] | None:
    """Under the gate toward the claim's boundary, the side of each arm's largest-n test error
    that could overturn ``label`` of C1 or C2 (both claim the augmentation is worth more: a worth,
    or an asymptote gap, that rises with the reference's error and falls with the augmentation's);
    None under the two-sided gate."""
    if gate == "two-sided":
        return None
    return {p.augmentations[0]: gate_side(gate, label, claim, ">="), aug: gate_side(gate, label, claim, "<=")}


def held_out(a: dict, p, tag: str, what: str, size: int | None) -> Check:
    """The held-out check of C1 (``tag`` "id") or C2 ("ood"): the fit without the largest size
    predicts it, or without ``size`` (a registration's ``held_out``) predicts that one."""
    fitted = len(a.get("reference_sizes") or []) - 1 or None
    if size is None:
        return holdout_check(a[f"held_{tag}"], p.holdout_tol, what, fitted=fitted)
    by = a.get(f"held_{tag}_by") or {}
    if size not in by:
        return Check("held-out fit", False, f"no reference-only size n = {size} to hold out (measured: "
                                            f"{sorted(by) or 'none'})")
    return holdout_check(by[size], p.holdout_tol, what, fitted=fitted)


def ranking_text(a: dict) -> str:
    """Paper C's ranking beside C1 (it does not gate C1's verdict): TrivialAugment worth more
    than each other policy at the largest size, read as the paired difference of their test
    errors (other minus TrivialAugment; above 0: TrivialAugment worth more)."""
    rank = a.get("ranking") or {}
    if not rank:
        return ""
    parts = [f"{o} {iv.estimate:+.4f} (CI {iv.lo:+.4f} to {iv.hi:+.4f}: "
             + {"supported": "TrivialAugment worth more", "not supported": "TrivialAugment worth less",
                "inconclusive": "not decided"}[decide(iv.estimate, (iv.lo, iv.hi), 0.0, ">=")] + ")"
             for o, iv in rank.items()]
    return ("; paper C's ranking, test error of each policy minus TrivialAugment's at n = "
            f"{a['n_max']}: " + ", ".join(parts))


def c2(a: dict, p, gate: str = "two-sided", reading: dict | None = None) -> Decision:
    """C2: out of distribution, the strong augmentation's corrupted error lies below the
    reference's asymptote b (what any amount of clean data reaches). ``gate``: as :func:`c1`.
    Under a registration's ``refuted_by: measured reference`` (:data:`augworth.prereg.READINGS`)
    a "not supported" may also come from the measured sizes alone: the reference's corrupted
    error at its largest size minus the augmentation's, paired t interval wholly below 0 (that much
    clean data beats it: its worth out of distribution is finite), with no fit to check; it then
    reads that difference, and the fitted gap is shown beside it."""
    gap, fit, n_max = a["c2_gap"], a["fit_ood"], a["n_max"]
    w_ood, w_id = a["w_ood"], a["w_id"]
    s_ood = w_ood[(w_ood.augment == p.strong) & (w_ood.n == n_max)].iloc[0]
    s_id = w_id[(w_id.augment == p.strong) & (w_id.n == n_max)].iloc[0]
    identified = fit.b > B_IDENTIFIED
    summary = (f"{p.strong} at n = {n_max}: corrupted-test error b - err = {gap.estimate:+.4f} (b = {fit.b:.4f}); "
               f"worth out of distribution v/n {s_ood.rel:.2f} ({s_ood.status}), in distribution {s_id.rel:.2f} "
               f"({s_id.status})")
    measured = (a.get("c2_measured") or {}) if (reading or {}).get("refuted_by") else {}
    if measured:
        n_ref = max(measured)
        m = measured[n_ref]
        summary += (f"; the reference's corrupted error at n = {n_ref:,} minus {p.strong}'s at n = {n_max}: "
                    f"{m.estimate:+.4f} (95% CI {m.lo:+.4f} to {m.hi:+.4f}, {m.n} seeds)")
        if m.hi < 0:  # refuted by measurement: no fit, no asymptote to check
            label = "not supported"
            return conclude("C2", label, m.estimate, (m.lo, m.hi),
                            f"not supported: the reference's corrupted error at its largest size (n = {n_ref:,}) "
                            f"minus {p.strong}'s at n = {n_max} below 0 (paired CI): {n_ref - n_max:,} more clean "
                            "images beat it", summary + f"; {n_ref - n_max:,} more clean images beat {p.strong} out "
                            "of distribution: its worth there is finite",
                            checks=legacy_convergence(a, p, [p.augmentations[0], p.strong],
                                                      arm_sides(gate, label, "C2", p.strong, p)),
                            seeds=p.seeds, n_seeds=m.n, sd=m.sd, threshold=0.0)
    label = decide(gap.estimate, (gap.lo, gap.hi), 0.0, ">=")
    checks = [*legacy_convergence(a, p, [p.augmentations[0], p.strong], arm_sides(gate, label, "C2", p.strong, p)),
              held_out(a, p, "ood", "corrupted-test", None),
              Check("identified asymptote", identified, f"the corrupted-test reference fit puts b at {fit.b:.4f}"
                    + ("" if identified else ", its bound 0: the sizes measured do not identify it"))]
    return conclude("C2", label, gap.estimate, (gap.lo, gap.hi),
                    "reference asymptote b minus the strong DA's corrupted error > 0 (CI)", summary, checks=checks,
                    seeds=p.seeds, n_seeds=gap.n, sd=gap.sd, threshold=0.0)


def legacy_convergence(a: dict, p, augmentations, sides: dict[str, str] | None = None) -> list[Check]:
    """C1/C2's convergence: over the convergence seeds where the profile names them (each
    augmentation's check on its side in ``sides``, else two-sided), else the first seed's
    largest-n runs against ``convergence_tol``."""
    if a.get("conv_pairs"):
        sides = sides or {}
        return [c for x in augmentations for c in convergence_checks(a, p, [f"err {x}"], sides.get(x, "two-sided"))]
    return [first_seed_convergence(a["conv"], augmentations, p.convergence_tol)]


#: The one convergence gate a registration may give C3 and C4 besides the two-sided default.
TOWARD_BOUNDARY = GATES[0]


def _paired(claim: str, iv, rule: str, summary: str, seeds, a: dict, p, gate: str = "two-sided") -> Decision:
    """A contrast claim (C3, C4): the paired interval against 0 with the claim's margin, gated by
    its contrast's convergence check -- two-sided, or under :data:`TOWARD_BOUNDARY` on the side
    that could overturn the label the rule gives (:func:`augworth.verdicts.rules.threatening_side`)."""
    m = MARGINS[claim]
    label = decide(iv.estimate, (iv.lo, iv.hi), 0.0, ">=", m)
    return conclude(claim, label, iv.estimate, (iv.lo, iv.hi), rule + f"; not supported below +{m:g}", summary,
                    checks=convergence_checks(a, p, [claim], gate_side(gate, label, claim)),
                    seeds=seeds, n_seeds=iv.n, sd=iv.sd, threshold=nearest_decision(iv.estimate, 0.0, m),
                    claimed=(">=", 0.0))


def c3(a: dict, p, gate: str = "two-sided") -> Decision:
    """C3: the flip-invariant model (no augmentation) errs more than a plain model with flips.
    ``gate``: its convergence gate (:func:`_paired`)."""
    c3_, both = a["c3"], a["c3_both"]
    extra = f"; invariant + flips minus plain + flips: {both.estimate:+.4f}" if both is not None else ""
    return _paired("C3", c3_, "error(invariant model) - error(flip DA) > 0 (CI)",
                   f"invariant model minus plain model with flips, mean over n = {a['inv_sizes']}: {c3_.estimate:+.4f}"
                   + extra, a.get("c3_seeds", p.seeds), a, p, gate)


def c4(a: dict, p, gate: str = "two-sided") -> Decision:
    """C4: k fixed copies (the largest k) err more than fresh draws. ``gate``: as :func:`c3`."""
    w = a["w_fixed"]
    by_k = w.groupby("augment", sort=False).err.mean()
    return _paired("C4", a["c4"], f"error({a['k_max']} fixed copies) - error(fresh) > 0 (CI)",
                   f"{p.fixed_augment}, n = {list(p.fixed_sizes)}: test error "
                   + ", ".join(f"{k} {v:.4f}" for k, v in by_k.items()), p.seeds, a, p, gate)


def decide_all(a: dict, p, gates: dict[str, str] | None = None,
               readings: dict[str, dict] | None = None) -> dict[str, Decision]:
    """C1-C4's verdicts; ``gates``: a registration's convergence gate per claim (default
    two-sided); ``readings``: how C1 and C2 read their numbers under it (:data:`augworth.prereg.READINGS`)."""
    claims = ("C1", "C2", "C3", "C4")
    gates = rules.chapter_gates(gates, claims, claims)  # each of them may have the gate toward its boundary
    readings = readings or {}
    return {d.claim: d for d in (c1(a, p, gates["C1"], readings.get("C1")), c2(a, p, gates["C2"], readings.get("C2")),
                                 c3(a, p, gates["C3"]), c4(a, p, gates["C4"]))}


__all__ = ["c1", "c2", "c3", "c4", "decide_all", "first_seed_convergence", "convergence_checks", "holdout_check", "interpolation_check"]


def decide_value(value: dict, p, gates: dict[str, str] | None = None,
                 readings: dict[str, dict] | None = None) -> dict[str, Decision]:
    """Every verdict from the runner's value alone: the chapter's analysis of its runs, then
    :func:`decide_all` (what :meth:`augworth.verdicts.SeedView.decide` calls for each set of seeds,
    and :func:`augworth.verdicts.registered_again` with a registration's ``gates``)."""
    from ..analysis import exchange_rate as er

    return decide_all(er.analyse(value["runs"], p), p, gates, readings)

