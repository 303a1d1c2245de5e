"""Verdicts of the `class_level` chapter (paper B, B1-B4), from
:func:`augworth.analysis.class_level.analyse` and the runner's B4 tables.

Gates: B1 is about the strength that is best on average, so it needs an augmentation that
beats no augmentation on average (paired t interval over seeds above 0); B2 needs at least one
affected class; every verdict needs at least MIN_SEEDS seeds.
"""

from __future__ import annotations

from dataclasses import replace

from ..analysis.class_level import b1_convergence, b2_convergence, b2_named, b3_convergence
from ..claims import ACCURACY_TOL, GAIN_TOL, MARGINS, SHARE_TOL
from ..metrics.stats import LEVEL, seeds_needed, t_interval
from .rules import (CONVERGENCE_LEVEL, Check, Decision, chapter_gates, change_check, conclude, convergence_check,
                    decide, gate_side, nearest_decision)

LARGE_DROP = 0.01  # B1 is not supported when the largest drop's CI lies below 1 point


def accuracy_convergence(a: dict) -> list[Check]:
    """Every strength's test accuracy moves by less than half a point with more epochs (over the
    convergence seeds; none where the profile trains no convergence runs)."""
    conv = a.get("convergence") or {}
    return [convergence_check(before, after, ACCURACY_TOL, f"test accuracy at {s}", conv["factor"])
            for s, (before, after) in conv.get("acc", {}).items()]


def bias_convergence(a: dict, pair: tuple[int, int], side: str = "two-sided") -> list[Check]:
    """B3's own effect (the pair's bias change, weakest to strongest) moves by less than its
    margin with more epochs; ``side`` as :func:`augworth.verdicts.rules.convergence_check`."""
    conv = b3_convergence(a, pair)
    if conv is None:
        return []
    seeds, before, after, factor = conv
    return [convergence_check(dict(zip(seeds, before)), dict(zip(seeds, after)), MARGINS["B3"],
                              "the pair's bias change", factor, side)]


def selection_text(a: dict) -> str:
    return (f"chosen on seeds {a['choice_seeds']} (validation), tested on seeds {a['seeds']}" if a.get("held_out")
            else "chosen on the validation split, tested on the test split of the same models")


def average_gain(a: dict):
    """Mean accuracy at s* minus without augmentation, per seed: a t interval (None without 'none')."""
    acc = a["acc"]
    if "none" not in acc:
        return None
    return t_interval(acc[a["optimum"]].mean(1) - acc["none"].mean(1))


def drop_convergence(a: dict, row, side: str) -> list[Check]:
    """B1's own metric (one class's drop from its own best strength to s*) moves by less than B1's
    margin with more epochs; ``side`` as :func:`augworth.verdicts.rules.convergence_check`."""
    conv = b1_convergence(a, int(row["class"]), str(row.best_strength), a["optimum"])
    if conv is None:
        return []
    seeds, before, after, factor = conv
    return [convergence_check(dict(zip(seeds, before)), dict(zip(seeds, after)), LARGE_DROP,
                              f"{row['name']}'s drop", factor, side)]


def b1(a: dict, p, gate: str = "two-sided", named: str | None = None) -> Decision:
    """B1: at least one class significantly below its own best strength at s* (Holm). Its number
    is the largest drop, or under a registration that names a class in advance (``named``) that
    class's; its convergence gate two-sided on every strength's test accuracy, or under the gate
    toward the claim's boundary that class's drop on the side that could overturn the label."""
    b1t = a["b1"]
    hurt = b1t[b1t.hurt]
    top = (hurt if len(hurt) else b1t).sort_values("drop", ascending=False).iloc[0]
    if named is not None:
        if named not in set(b1t.name):
            raise ValueError(f"B1's named class {named!r} is not one of {', '.join(b1t.name)}")
        top = b1t[b1t.name == named].iloc[0]
    gain = average_gain(a)
    if gain is None:
        regime = Check("augmentation helps on average", False, "no run without augmentation to compare s* with")
    elif a["optimum"] == "none":
        regime = Check("augmentation helps on average", False, "no augmentation is best on average (s* = none): "
                       "B1 is vacuous in this regime")
    else:
        regime = Check("augmentation helps on average", bool(gain.lo > 0),
                       f"s* = rrc({a['optimum']}) beats no augmentation by {gain.estimate:+.4f} on average "
                       f"(CI {gain.lo:+.4f} to {gain.hi:+.4f})" + ("" if gain.lo > 0 else ": not significantly"))
    if len(hurt):
        label = "supported"
    else:
        label = "not supported" if top.drop_hi < LARGE_DROP else "inconclusive"
    converged = (accuracy_convergence(a) if gate == "two-sided" else
                 drop_convergence(a, top, gate_side(gate, label, "B1")))
    n_tested = max(1, int((b1t.best_strength != a["optimum"]).sum()))
    seeds = a["seeds"]
    # the regime check is itself a test over seeds: more seeds can pass it
    needed = seeds_needed(gain.estimate, gain.sd) if gain is not None and not regime.passed and gain.estimate > 0 \
        else None
    if needed:
        regime = replace(regime, fix="seeds", seeds=needed)
    return conclude("B1", label, top["drop"], (top.drop_lo, top.drop_hi),
                    "at least one class significantly below its own best (Holm)",
                    f"s* = {a['optimum']}; {len(hurt)} of {len(b1t)} classes hurt; "
                    f"{'drop of the class named by the registration' if named else 'largest drop'} {top['drop']:.3f} "
                    f"({top['name']}: {top.acc_best:.3f} at s = {top.best_strength} -> {top.acc_at_optimum:.3f}, "
                    f"Holm p {top.p_holm:.3g}); {selection_text(a)}; paper: up to 0.20 (barn spider 0.68 -> 0.46)",
                    checks=[regime, *converged], seeds=seeds, n_seeds=len(seeds),
                    sd=float(top.drop_sd), threshold=0.0,
                    # Holm at its strictest: the one-sided test at alpha / (classes tested)
                    level=1 - 2 * p.alpha / n_tested, interval_level=LEVEL, needed=needed)


def b2(a: dict, p, gate: str = "two-sided", named: str | None = None) -> Decision:
    """B2: the share of the affected classes' drop that vanishes when in-group confusions are
    forgiven, against 0.5. The affected classes are found on the test seeds (B1's hurt classes
    losing 2 points or more), or under a registration that names a class in advance (``named``)
    that class alone, its drop from its own best strength (chosen on the choice seeds) to s*; its
    convergence gate two-sided on every strength's test accuracy, or under the gate toward the
    claim's boundary that class's share on the side that could overturn the label."""
    names, groups = a["names"], a["groups"]
    group_text = f"{[[names[c] for c in g] for g in groups]}"
    if named is None:
        share = a["b2_share"]
        affected = list(a["b2"].name)
        checks = [Check("affected classes", bool(affected),
                        f"{len(affected)} affected classes (a drop of {a['affected_drop']:.0%} or more)" if affected
                        else f"no class dropped by {a['affected_drop']:.0%} or more: nothing to explain")]
        what = (f"{share.estimate:.2f} of the affected classes' summed drop vanishes when confusions inside "
                f"{group_text} are forgiven; affected: {', '.join(affected) or 'none'}")
    else:
        if named not in names:
            raise ValueError(f"B2's named class {named!r} is not one of {', '.join(names)}")
        row = a["b1"][a["b1"].name == named].iloc[0]
        best = str(row.best_strength)
        share = b2_named(a, int(row["class"]), best)
        affected = [named]
        drops = bool(row.drop_lo > 0)
        checks = [Check("affected classes", drops,
                        f"{named} (named by the registration) drops by {row['drop']:.4f} from s = {best} to s* = "
                        f"{a['optimum']} (95% CI {row.drop_lo:.4f} to {row.drop_hi:.4f})"
                        + ("" if drops else ": not shown to drop, nothing to explain"))]
        what = (f"{share.estimate:.2f} of the drop of the class named by the registration ({named}: {row['drop']:.4f}, "
                f"s = {best} -> s* = {a['optimum']}) vanishes when confusions inside {group_text} are forgiven; "
                f"{selection_text(a)}")
    label = decide(share.estimate, (share.lo, share.hi), 0.5, ">=")
    if gate == "two-sided" or named is None:
        converged = accuracy_convergence(a)
    else:
        converged = share_convergence(a, row, gate_side(gate, label, "B2"))
    return conclude("B2", label, share.estimate,
                    (share.lo, share.hi), "share of the drop that vanishes > 0.5 (CI)", what,
                    # without affected classes there is no interval, hence no seed count to judge
                    checks=[*checks, *converged], seeds=a["seeds"], n_seeds=share.n if affected else None,
                    sd=share.sd, threshold=0.5)


def share_convergence(a: dict, row, side: str) -> list[Check]:
    """B2's own metric (the vanishing share of the class in B1's table ``row``) moves by less than
    :data:`SHARE_TOL` with more epochs, on ``side`` (as
    :func:`augworth.verdicts.rules.convergence_check`): the change's jackknife-t 90% interval."""
    conv = b2_convergence(a, int(row["class"]), str(row.best_strength), a["optimum"], level=CONVERGENCE_LEVEL)
    if conv is None:
        return []
    change, before, after, factor = conv
    what = f"{row['name']}'s vanishing share ({before:.3f} -> {after:.3f})"
    return [change_check(change, SHARE_TOL, what, factor, side)]


def b3(a: dict, pair: tuple[int, int], effect, p, gate: str = "two-sided") -> Decision:
    """B3: the chosen pair's bias change from the weakest to the strongest setting, against 0
    with its margin; gated by that change's convergence, two-sided or, under a registration that
    gives it the gate toward the claim's boundary, on the side that could overturn the label."""
    names, labels = a["names"], list(a["acc"])
    pa, pb = pair
    m = MARGINS["B3"]
    label = decide(effect.estimate, (effect.lo, effect.hi), 0.0, ">=", m)
    return conclude("B3", label, effect.estimate,
                    (effect.lo, effect.hi), f"change of the pair's bias > 0 (CI); not supported below +{m:g}",
                    f"pair {names[pa]} / {names[pb]} ({selection_text(a)}): bias toward {names[pb]} changes by "
                    f"{effect.estimate:+.3f} from {labels[0]} to s = {labels[-1]}",
                    checks=bias_convergence(a, pair, gate_side(gate, label, "B3")), seeds=a["seeds"],
                    n_seeds=effect.n, sd=effect.sd,
                    threshold=nearest_decision(effect.estimate, 0.0, m), claimed=(">=", 0.0))


def b4_gate(conv: dict | None, side: str, avg_tolerance: float, parts=("gain", "avg")) -> list[Check]:
    """B4's own metrics with twice the epochs (:func:`augworth.analysis.class_level.b4_convergence`),
    each of ``parts`` on ``side``: the hurt classes' gain within :data:`augworth.claims.GAIN_TOL`,
    the average's change within ``avg_tolerance``. A registered run whose longer runs are not all
    stored fails."""
    if conv is None:
        return [Check("converged", False, "B4's policy has no run with twice the epochs: its own metric's "
                                          "convergence is not shown")]
    k, n = conv["factor"], len(conv["seeds"])
    checks = []
    expected = conv.get("expected") or []
    if n < len(expected):
        checks.append(Check("converged", False, f"{n} of the {len(expected)} registered seeds have their runs with "
                                                f"{k}x the budget stored: not shown"))
    for name, tol, what in (("gain", GAIN_TOL, "the hurt classes' gain"),
                            ("avg", avg_tolerance, "the average's change")):
        if name not in parts:
            continue
        before, after, change = conv[name]
        checks.append(change_check(change, tol, f"{what} ({before.mean():+.4f} -> {after.mean():+.4f})", k, side))
    return checks


def b4(b4_tables: dict, p, a: dict | None = None, gate: str = "two-sided", conv: dict | None = None) -> Decision:
    """B4 on the group scope when it has a policy, else the class scope: the gain of the classes
    hurt on validation (CI above 0) without losing average accuracy (CI above -avg_tolerance).
    Gated by every strength's test accuracy with twice the epochs (two-sided), or, under a
    registration's gate toward the claim's boundary, by B4's own metrics with twice the epochs
    (``conv``, :func:`b4_gate`) on the side that could overturn the label."""
    t4, info = b4_tables["group"] if b4_tables["group"][1] else b4_tables["class"]
    rule = f"hurt-class gain > 0 and average change > -{p.avg_tolerance} (CIs)"
    if not info:
        return conclude("B4", "inconclusive", float("nan"), None, rule,
                        "no class was hurt on validation: no class-conditional policy to test",
                        checks=[Check("hurt classes", False, "no class hurt on validation: nothing to fix")],
                        seeds=p.seeds)
    g, d = info["gain"], info["avg_diff"]
    gain_label = decide(g.estimate, (g.lo, g.hi), 0.0, ">=")
    avg_label = decide(d.estimate, (d.lo, d.hi), -p.avg_tolerance, ">=")
    label = ("supported" if gain_label == avg_label == "supported" else
             "not supported" if "not supported" in (gain_label, avg_label) else "inconclusive")
    other = b4_tables["class"][1]
    extra = (f"; class scope: {other['gain'].estimate:+.4f} and {other['avg_diff'].estimate:+.4f}"
             if other and info["scope"] != "class" else "")
    covered = sorted(set(info["policy"]) - {str(c) for c in info["hurt"]})
    partners = (f", policy also on {len(covered)} partner class{'es' if len(covered) != 1 else ''}"
                if covered else "")
    # seeds needed for whichever half is still undecided (the gain, else the average's change)
    open_part, bound = (d, -p.avg_tolerance) if gain_label != "inconclusive" else (g, 0.0)
    needed = seeds_needed(open_part.estimate, open_part.sd, bound) if label == "inconclusive" else None
    # a "not supported" rests on the half (or halves) whose interval lies on the wrong side: only
    # those can be overturned by more epochs; a "supported" on both
    parts = [n for n, lab in (("gain", gain_label), ("avg", avg_label)) if lab == "not supported"] \
        if label == "not supported" else ["gain", "avg"]
    checks = (accuracy_convergence(a or {}) if gate == "two-sided" else
              b4_gate(conv, gate_side(gate, label, "B4"), p.avg_tolerance, parts))
    return conclude("B4", label, g.estimate, (g.lo, g.hi), rule,
                    f"{info['scope']} scope ({', '.join(info['hurt_names'])} -> "
                    f"{', '.join(sorted(set(info['policy'].values())))}{partners}): their accuracy {g.estimate:+.4f} (CI "
                    f"{g.lo:+.4f} to {g.hi:+.4f}); average {d.estimate:+.4f} (CI {d.lo:+.4f} to {d.hi:+.4f})" + extra,
                    checks=checks, seeds=sorted(t4.seed) if t4 is not None and len(t4) else p.seeds,
                    n_seeds=g.n, needed=needed,
                    claimed=(">=", 0.0))


def decide_all(a: dict, pair, effect, b4_tables: dict, p, gates: dict[str, str] | None = None,
               shown: dict[str, str] | None = None, b4_conv: dict | None = None) -> dict[str, Decision]:
    """B1-B4's verdicts; ``gates``: a registration's convergence gate per claim (of this chapter's
    claims B1-B4, whose gates read their own metric, may have one other than two-sided);
    ``shown``: B1's class named by a registration in advance."""
    gates = chapter_gates(gates, ("B1", "B2", "B3", "B4"), ("B1", "B2", "B3", "B4"))
    shown = shown or {}
    return {d.claim: d for d in (b1(a, p, gates["B1"], shown.get("B1")), b2(a, p, gates["B2"], shown.get("B2")),
                                 b3(a, pair, effect, p, gates["B3"]), b4(b4_tables, p, a, gates["B4"], b4_conv))}


def decide_value(r: dict, p, class_names=None, gates: dict[str, str] | None = None,
                 shown: dict[str, str] | None = None) -> dict[str, Decision]:
    """Every verdict from the runner's value alone: the chapter's analysis, B3's pair (chosen on
    validation) and its effect, the B4 tables, then :func:`decide_all` (what
    :meth:`augworth.verdicts.SeedView.decide` calls for each set of seeds)."""
    from ..analysis import class_level as cl

    a = cl.analyse(r, p.dataset, alpha=p.alpha, class_names=class_names)
    pair = cl.b3_pair(r)
    b4_tables = {scope: cl.b4_table(r, scope, class_names=class_names) for scope in cl.B4_SCOPES}
    longer = r.get("b4_longer")
    b4_conv = cl.b4_convergence(r, longer["scope"], longer) if longer else None
    return decide_all(a, pair, cl.b3_effect(a["conf"], *pair), b4_tables, p, gates, shown, b4_conv)


__all__ = ["average_gain", "b1", "b2", "b3", "b4", "decide_all", "decide_value"]
