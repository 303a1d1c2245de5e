"""Verdicts of `worth` (a user's augmentation on a user's data), from
:func:`augworth.analysis.worth.analyse`, through the same rules and gates as the book's
claims: the exchange chapter's convergence and held-out-fit checks, the seed-count rule, Student
t intervals over seeds and the leave-one-seed-out jackknife for the worth in samples.

Two decisions, both at the largest size n: ``error`` (the paired drop of the test error, base
minus augmented, > 0: the augmentation helps) and ``worth`` (v(n)/n > 0 on the baseline's power
law, gated by convergence and the held-out fit). :func:`summary` turns them and the per-class
table into the report's plain-language opening, with every number taken from the tables.
"""

from __future__ import annotations

import math
from html import escape

from .exchange_rate import first_seed_convergence, holdout_check
from .rules import Check, Decision, conclude, convergence_check, decide

PLAIN = {"supported": "helps", "not supported": "hurts", "inconclusive": "inconclusive"}


def error_decision(a: dict, p) -> Decision:
    """``error``: test error of the baseline minus the augmentation's at the largest n, paired by
    seed (t interval); > 0: the augmentation lowers the error."""
    g, n = a["gain"], a["n_max"]
    label = decide(g.estimate, (g.lo, g.hi), 0.0, ">=")
    return conclude("error", label, g.estimate, (g.lo, g.hi), f"error({p.baseline}) - error({p.augment}) at n = {n} "
                    "> 0 (paired t CI over seeds)",
                    f"test error at n = {n}: {p.baseline} {_pct(_mean_err(a, p.baseline))}, {p.augment} "
                    f"{_pct(_mean_err(a, p.augment))}", seeds=p.seeds, n_seeds=g.n, sd=g.sd, threshold=0.0)


def convergence(a: dict, p) -> list[Check]:
    """Each policy's largest-n test error moves by less than the tolerance with
    ``convergence_factor`` x the steps: over the seeds with convergence runs (90% t interval of
    the paired change, :func:`rules.convergence_check`); a run with one such seed (made before
    the pilot) reads that seed's change."""
    pairs = {pol: v for pol, v in (a.get("conv_pairs") or {}).items() if pol in (p.baseline, p.augment)}
    if any(len(before) >= 2 for before, _ in pairs.values()):
        return [convergence_check(before, after, a["conv_tol"], f"largest-n test error of {pol}",
                                  p.convergence_factor) for pol, (before, after) in pairs.items()]
    return [first_seed_convergence(a["conv"], [p.baseline, p.augment], a["conv_tol"])]


def worth_decision(a: dict, p) -> Decision:
    """``worth``: v(n)/n of the augmentation at the largest n against the baseline's power law
    (jackknife CI) > 0, gated by converged runs and a held-out fit within tolerance."""
    n = a["n_max"]
    checks = convergence(a, p)
    if a["w_id"] is None:
        checks.append(Check("power-law fit", False, a["fit_problem"]))
        return conclude("worth", "inconclusive", float("nan"), None, "v(n)/n at the largest n > 0 (jackknife CI)",
                        a["fit_problem"], checks=checks, seeds=p.seeds, n_seeds=len(p.seeds))
    checks.append(holdout_check(a["held_id"], a["holdout_tol"]))
    row = worth_row(a)
    label = decide(row.rel, (row.rel_lo, row.rel_hi), 0.0, ">=")
    return conclude("worth", label, row.rel, (row.rel_lo, row.rel_hi), "v(n)/n at the largest n > 0 (jackknife CI)",
                    f"{p.augment} at n = {n}: v = {_samples(row.v)} extra samples ({row.status}; CI "
                    f"{_samples(row.lo)} to {_samples(row.hi)})", checks=checks, seeds=p.seeds,
                    n_seeds=int(row.n_seeds), sd=row.rel_sd, threshold=0.0)


def decide_all(a: dict, p) -> dict[str, Decision]:
    return {d.claim: d for d in (worth_decision(a, p), error_decision(a, p))}


def decide_policies(a: dict, p) -> dict[str, dict[str, Decision]]:
    """Every augmentation's two decisions against the baseline: {augmentation: decide_all(...)},
    each on its own view of the analysis (:func:`augworth.analysis.worth.policy_view`)."""
    from dataclasses import replace

    from ..analysis.worth import policy_view

    return {aug: decide_all(policy_view(a, aug), replace(p, augment=aug)) for aug in p.augments}


def ranking_summary(a: dict, by: dict[str, dict[str, Decision]], p) -> dict:
    """The opening of a report on several augmentations: what was decided first (each one's
    worth and error verdicts), then the ranking by worth with whether each ranks above the next
    (paired test errors); ``numbers`` holds what the text shows."""
    n, t = a["n_max"], a["ranking"]
    decided = [aug for aug in t.augment if by[aug]["worth"].verdict != "inconclusive"]
    parts = [f"On your data, against {p.baseline} at n = {n:,}: "]
    if decided:
        parts.append("the worth in samples is decided for " + ", ".join(
            f"{aug} ({PLAIN[by[aug]['worth'].verdict]}: {_rel(t[t.augment == aug].iloc[0])})" for aug in decided))
        rest = [aug for aug in t.augment if aug not in decided]
        parts.append((f"; not decided for {', '.join(rest)}" if rest else "") + ".")
    else:
        parts.append(f"the worth in samples is decided for none of the {len(t)} augmentations (each verdict's "
                     "reasons are below); the estimates only rank them.")
    order = []
    for i, r in t.iterrows():
        order.append(f"{r.augment} ({_rel(r)})")
        if i < len(t) - 1:
            iv = (r["above next"], r["above next low"], r["above next high"])
            sep = " > " if iv[1] > 0 else " ~ "
            order.append(sep)
    parts.append(" Ranked by the estimated worth: " + "".join(order)
                 + " ('>': its test error is lower than the next one's, paired 95% CI above 0; '~': not decided).")
    errors = [f"{aug} {PLAIN[by[aug]['error'].verdict]} ({_pts(-a['per_policy'][aug]['gain'].estimate)} points)"
              for aug in t.augment]
    parts.append(" Test error at the largest size: " + ", ".join(errors) + ".")
    hurt = [f"{r.augment} costs {r['costs most']} {_pts(r['class change'])} points" for _, r in t.iterrows()
            if r["classes hurt"] > 0]
    parts.append(" Classes hurt (Holm): " + ("; ".join(hurt) if hurt else "none") + ".")
    return {"text": "".join(parts), "numbers": {"ranking": list(t.augment), "decided": decided}}


def _rel(r) -> str:
    if r.status == "undefined":
        return "worth more than any amount of extra data: below the baseline's asymptote"
    if not math.isfinite(r["v/n"]):
        return "not measurable"
    return f"v/n {r['v/n']:.2f}, 95% CI {r['v/n low']:.2f} to {r['v/n high']:.2f}" + (
        ", extrapolated" if r.status == "extrapolated" else "")


def worth_row(a: dict):
    """The worth table's row at the largest size (what the summary and the verdict read)."""
    w = a["w_id"]
    return w[w.n == a["n_max"]].iloc[0]


def _mean_err(a: dict, policy: str) -> float:
    e = a["errors"]
    return float(e[(e.augment == policy) & (e.n == a["n_max"])]["mean"].iloc[0])


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def _pts(v: float, sign: bool = True) -> str:
    """Accuracy or error points (0.031 -> '+3.1'); a change that rounds to 0 is '0.0', never '-0.0'."""
    r = round(100 * v, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    return ("0.0" if r == 0 else f"{r:+.1f}") if sign else f"{abs(r):.1f}"


def _samples(v: float) -> str:
    return "inf" if math.isinf(v) else "nan" if math.isnan(v) else f"{v:,.0f}"


def summary(a: dict, decisions: dict[str, Decision], p) -> dict:
    """The report's opening: ``text`` (plain language) and ``numbers`` (each number the text
    shows, read from the tables: worth, its interval and status, the error change, the most-hurt
    or least-helped class with its effect, interval and Holm p)."""
    n, d_w, d_e = a["n_max"], decisions["worth"], decisions["error"]
    g = a["gain"]
    nums = {"n": n, "error_base": _mean_err(a, p.baseline), "error_aug": _mean_err(a, p.augment),
            "gain": g.estimate, "gain_lo": g.lo, "gain_hi": g.hi, "seeds": g.n}
    parts = []
    if a["w_id"] is not None:
        row = worth_row(a)
        nums.update(v=float(row.v), v_lo=float(row.lo), v_hi=float(row.hi), status=str(row.status))
        if row.status == "undefined":
            what = ("worth more than any amount of extra un-augmented data: its error is below the baseline's "
                    "fitted asymptote")
        else:
            what = (f"worth about {_samples(row.v)} extra samples (95% CI {_samples(row.lo)} to {_samples(row.hi)})"
                    + (", extrapolated beyond the largest size measured" if row.status == "extrapolated" else ""))
        verdict = f"verdict: {PLAIN[d_w.verdict]}" + (f" ({'; '.join(d_w.reasons)})" if d_w.reasons else "")
        if d_w.verdict == "inconclusive":  # lead with what was decided: nothing; the estimate only after it
            why = "the check above failed" if d_w.reasons else "its interval reaches both sides of the threshold"
            parts.append(f"On your data, what {p.augment} is worth in samples at n = {n:,} (against {p.baseline}) "
                         f"is not decided: {verdict}. The estimate, which the verdict does not confirm ({why}), is "
                         f"that it is {what}.")
        else:
            parts.append(f"On your data, {p.augment} is {what} at n = {n:,} (against {p.baseline}); {verdict}.")
    else:
        parts.append(f"On your data, the worth of {p.augment} in samples is not measurable: {a['fit_problem']}.")
    parts.append(f"It changes the test error at n = {n:,} from {_pct(nums['error_base'])} to {_pct(nums['error_aug'])}: "
                 f"{_pts(-g.estimate)} points (95% CI {_pts(-g.hi)} to {_pts(-g.lo)}, {g.n} seeds); verdict: "
                 f"{PLAIN[d_e.verdict]}" + (f" ({'; '.join(d_e.reasons)})" if d_e.reasons else "") + ".")
    cls = a["classes"]
    hurt = cls[cls.finding == "hurt"].sort_values("effect")
    worst = cls.sort_values(["effect", "p"]).iloc[0]
    nums.update(cls=str(worst["name"]), cls_effect=float(worst.effect), cls_lo=float(worst.lo),
                cls_hi=float(worst.hi), cls_p_holm=float(worst.p_holm), hurt=list(hurt["name"]))
    detail = (f"{_pts(worst.effect)} points of accuracy (95% CI {_pts(worst.lo)} to {_pts(worst.hi)}, "
              f"Holm p = {worst.p_holm:.2g}, {int(worst.test_images)} test images)")
    if len(hurt):
        parts.append(f"It costs class {worst['name']} about {_pts(-worst.effect, sign=False)} points: {detail}"
                     + (f"; also hurt: {', '.join(hurt['name'].iloc[1:])}" if len(hurt) > 1 else "") + ".")
    elif worst.effect < 0:
        parts.append(f"No class is significantly hurt (Holm, alpha = {p.alpha:g}); the largest drop is class "
                     f"{worst['name']}, {detail}.")
    else:
        parts.append(f"No class loses accuracy on average; the smallest change is class {worst['name']}, {detail}.")
    return {"text": " ".join(parts), "numbers": nums}


def summary_box(s: dict, decisions: dict[str, Decision], provenance: str):
    """The box that opens the report: the summary, each verdict with its rule and checks, and
    where the numbers come from (an IPython HTML object)."""
    from IPython.display import HTML

    from . import COLOURS

    rows = "".join(
        f"<tr><td style='padding:2px 8px 2px 0'><b>{escape(d.claim)}</b></td><td style='padding:2px 8px'>"
        f"<b style='color:{COLOURS[d.verdict]}'>{PLAIN[d.verdict]}</b>"
        + "".join(f"<br><small>{escape(r)}</small>" for r in d.reasons)
        + f"</td><td style='padding:2px 8px'><small>{escape(d.rule)}; {escape(d.summary)}</small></td></tr>"
        for d in decisions.values())
    return HTML("<div style='border-left:4px solid #029e73;background:#f3fbf7;padding:8px 12px;margin:8px 0;"
                f"overflow-x:auto'><p style='margin:0 0 6px 0'>{escape(s['text'])}</p><table>{rows}</table>"
                f"<p style='margin:6px 0 0 0'><small>{escape(provenance)}</small></p></div>")
