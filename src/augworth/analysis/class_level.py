"""Analysis of the `class_level` chapter (paper B, B1-B4): the chapter's tables from the
runner's value -- B1 drops with Holm-corrected paired tests, B2 group-forgiven drops, B3
confusion flows and its pair, the B4 comparison. Whatever a verdict selects is chosen on the
choice seeds' validation split and tested on the other seeds (where the profile names choice
seeds; else on the same models' validation and test splits). Pure: nothing here trains; an edit
here never makes a stored result stale.""" 

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.labels import FINE_GROUPS, group_of
from ..experiments.class_level import B4_SCOPES, stack  # noqa: F401  (B4_SCOPES: the chapter reads it here)
from ..metrics import classwise
from ..metrics.stats import jackknife_interval, t_interval, t_intervals

AFFECTED_DROP = 0.02  # accuracy (0-1): the smallest drop B2 and B3 explain (paper B: drops of up to 0.20)


def split_seeds(r: dict) -> tuple[list[int], list[int]]:
    """(choice seeds, test seeds): the runner's choice seeds, when they leave at least 2 seeds to
    test on, choose; the others test. Else every seed does both (choices then read the
    validation split, the tests the test split: the same models, an exploratory profile)."""
    seeds = sorted({c["seed"] for c in r["cells"]})
    choice = sorted(set(r.get("choice_seeds") or seeds) & set(seeds))
    test = [s for s in seeds if s not in choice]
    return (choice, test) if len(test) >= 2 else (seeds, seeds)


def held_out_drops(test_acc: dict, choice_acc: dict, alpha: float = 0.05) -> dict:
    """B1's drops with the choices apart from the test: s* (best mean accuracy) and each class's
    own best strength are chosen on ``choice_acc`` (validation accuracies of the choice seeds),
    and the drop acc_c(s_c) - acc_c(s*) is tested on ``test_acc`` (test accuracies of the test
    seeds): one-sided paired t over seeds, Holm-corrected over the classes with s_c != s*. Choosing
    and testing on the same numbers biases the drop upward (argmax of noise)."""
    strengths = list(test_acc)
    _, s_star, best = classwise.optimum_and_best({s: choice_acc[s] for s in strengths})
    a = np.stack([np.asarray(test_acc[s], dtype=float) for s in strengths])  # (S, seeds, classes)
    mean = a.mean(1)
    k = a.shape[2]
    diffs = np.stack([a[best[c], :, c] - a[s_star, :, c] for c in range(k)], axis=1)  # (seeds, classes)
    tested = best != s_star
    pv = np.array([classwise.paired_t_pvalue(diffs[:, c]) if tested[c] else 1.0 for c in range(k)])
    adj = np.ones(k)
    if tested.any():
        adj[tested] = classwise.holm(pv[tested])
    _, lo, hi = t_intervals(diffs)
    sd = diffs.std(0, ddof=1) if diffs.shape[0] > 1 else np.full(k, np.nan)
    rows = [{"class": c, "best_strength": strengths[best[c]], "acc_best": mean[best[c], c],
             "acc_at_optimum": mean[s_star, c], "drop": diffs[:, c].mean(), "drop_lo": lo[c], "drop_hi": hi[c],
             "drop_sd": sd[c], "p": pv[c], "p_holm": adj[c], "hurt": bool(tested[c] and adj[c] < alpha)}
            for c in range(k)]
    return {"optimum": strengths[s_star], "classes": rows}


def analyse(r: dict, dataset: str, alpha: float = 0.05, class_names=None) -> dict:
    """The chapter's tables from the runner's value (see the module doc). Choices (s*, each
    class's best strength, B3's pair) are made on the choice seeds' validation split and tested
    on the test seeds (:func:`split_seeds`)."""
    labels = r["strengths"]
    choice_seeds, seeds = split_seeds(r)
    acc = stack(r["cells"], "test_per_class", labels, seeds)
    conf = stack(r["cells"], "test_confusion", labels, seeds)
    k = next(iter(acc.values())).shape[1]
    names = list(class_names) if class_names is not None else [str(c) for c in range(k)]
    drops = held_out_drops(acc, stack(r["cells"], "val_per_class", labels, choice_seeds), alpha=alpha)
    b1 = pd.DataFrame(drops["classes"])
    b1.insert(1, "name", [names[c] for c in b1["class"]])
    optimum = drops["optimum"]

    # per-class accuracy against strength with t intervals over seeds
    rows = []
    for s in labels:
        m, lo, hi = t_intervals(acc[s])
        rows += [{"strength": s, "class": c, "name": names[c], "acc": m[c], "lo": lo[c], "hi": hi[c]} for c in range(k)]
    per_class = pd.DataFrame(rows)
    avg = pd.DataFrame([{"strength": s, "acc": float(np.mean(acc[s].mean(1))), "sd": float(np.std(acc[s].mean(1)))}
                        for s in labels])

    # B2: the drop with in-group confusions forgiven
    groups = FINE_GROUPS.get(dataset, ())
    forgiven = {s: classwise.group_forgiven_accuracy(conf[s], groups) for s in labels}
    # B2 and B3 explain drops that matter: hurt classes (else any class) losing AFFECTED_DROP or
    # more. Tried and measured (two disjoint 7-seed sets, 2.0 GHz EPYC): every hurt class, however
    # small its drop, gave shares 1.14 [0.98, 1.29] and 0.57 [0.38, 0.77] (small drops of classes
    # outside every group dilute the share, and which of them pass Holm is seed noise); this rule
    # 1.31 [1.10, 1.52] and 0.98 [0.87, 1.09]
    hurt = b1[b1.hurt]
    affected = (hurt if len(hurt) else b1).loc[lambda t: t["drop"] >= AFFECTED_DROP]
    b2_rows = []
    for _, row in affected.iterrows():
        c, best = int(row["class"]), row["best_strength"]
        d_f = forgiven[best][:, c] - forgiven[optimum][:, c]
        b2_rows.append({"class": c, "name": names[c], "fine_grained": len(group_of(dataset, c)) > 1,
                        "drop": row["drop"], "drop_forgiven": float(d_f.mean())})
    b2 = pd.DataFrame(b2_rows, columns=["class", "name", "fine_grained", "drop", "drop_forgiven"])
    share = _vanishing_share(acc, forgiven, affected, optimum, seeds)

    # B3: where the affected classes' errors go, as a function of strength
    flows = []
    for c in affected["class"]:
        for s in labels:
            row = classwise.confusion_flow(conf[s], int(c))  # (seeds, classes)
            for t in range(k):
                if t != c:
                    flows.append({"class": int(c), "name": names[int(c)], "strength": s, "to": t, "to_name": names[t],
                                  "share": float(row[:, t].mean()), "sd": float(row[:, t].std())})
    flows = pd.DataFrame(flows, columns=["class", "name", "strength", "to", "to_name", "share", "sd"])
    return {"optimum": optimum, "b1": b1, "per_class": per_class, "average": avg, "b2": b2, "b2_share": share,
            "flows": flows, "acc": acc, "conf": conf, "names": names, "groups": groups, "seeds": seeds,
            "choice_seeds": choice_seeds, "held_out": choice_seeds != seeds, "affected_drop": AFFECTED_DROP,
            "convergence": convergence_runs(r)}


def convergence_runs(r: dict) -> dict:
    """Stage 1's convergence runs of the profile's first factor, next to the same seeds' runs at
    the budget: {"acc": {strength: ({seed: test acc}, {seed: longer})}, "conf": {strength: (conf at
    the budget, conf longer, seeds)}}; empty when the profile trains none."""
    runs = r.get("convergence") or []
    if not runs:
        return {}
    factor = min(c["factor"] for c in runs)
    longer = [c for c in runs if c["factor"] == factor]
    seeds = sorted({c["seed"] for c in longer})
    out = {"factor": factor, "acc": {}, "conf": {}}
    for s in r["strengths"]:
        base = {c["seed"]: c for c in r["cells"] if c["strength"] == s and c["seed"] in seeds}
        more = {c["seed"]: c for c in longer if c["strength"] == s}
        common = sorted(set(base) & set(more))
        out["acc"][s] = ({k: base[k]["test_acc"] for k in common}, {k: more[k]["test_acc"] for k in common})
        out["conf"][s] = (np.stack([base[k]["test_confusion"] for k in common]),
                          np.stack([more[k]["test_confusion"] for k in common]), common)
    return out


def _vanishing_share(acc, forgiven, affected, optimum, seeds):
    """Share of the affected classes' summed drop that vanishes when in-group confusions are
    forgiven: 1 - mean(forgiven drop) / mean(drop) over seeds (a ratio of seed means), with a
    leave-one-seed-out jackknife interval (:func:`augworth.metrics.stats.jackknife_interval`)."""
    if affected.empty:
        return jackknife_interval(lambda u: float("nan"), [])
    cls = [int(c) for c in affected["class"]]
    best = list(affected["best_strength"])
    d = np.stack([acc[b][:, c] - acc[optimum][:, c] for c, b in zip(cls, best)], 1).sum(1)  # (seeds,)
    f = np.stack([forgiven[b][:, c] - forgiven[optimum][:, c] for c, b in zip(cls, best)], 1).sum(1)
    return jackknife_interval(share_of, list(zip(d, f)))


def pair_bias(conf: dict[str, np.ndarray], a: int, b: int) -> pd.DataFrame:
    """Per strength and seed: share of a predicted as b, of b predicted as a, and their
    difference (the bias of the pair toward b)."""
    rows = []
    for s, cm in conf.items():
        ab = classwise.confusion_flow(cm, a, [b])[:, 0]
        ba = classwise.confusion_flow(cm, b, [a])[:, 0]
        rows += [{"strength": s, "seed": i, "a_to_b": ab[i], "b_to_a": ba[i], "bias": ab[i] - ba[i]}
                 for i in range(len(ab))]
    return pd.DataFrame(rows)


def b4_table(r: dict, scope: str = "group", class_names=None) -> tuple[pd.DataFrame, dict]:
    """B4: test accuracy of the class-conditional policy (``scope``: "group" or "class") against
    the uniform rrc(s*) (both chosen on validation), per seed: the mean accuracy of the classes
    with their own policy, and the average accuracy. Empty when there was nothing to fix."""
    if scope not in r["b4"]:
        return pd.DataFrame(), {}
    policy = r["b4"][scope]["policy"]
    hurt = b4_hurt(r, scope)
    opt = r["choice"]["optimum"]
    uni = {c["seed"]: c for c in r["cells"] if c["strength"] == opt}
    test = set(split_seeds(r)[1])
    rows = []
    for c in (run for run in r["b4"][scope]["runs"] if run["seed"] in test):
        u = uni[c["seed"]]
        rows.append({"seed": c["seed"], "hurt_uniform": float(np.mean(np.asarray(u["test_per_class"])[hurt])),
                     "hurt_conditional": float(np.mean(np.asarray(c["test_per_class"])[hurt])),
                     "avg_uniform": u["test_acc"], "avg_conditional": c["test_acc"]})
    t = pd.DataFrame(rows)
    gain = t_interval((t.hurt_conditional - t.hurt_uniform).to_numpy())
    avg = t_interval((t.avg_conditional - t.avg_uniform).to_numpy())
    names = [class_names[c] if class_names is not None else str(c) for c in hurt]
    return t, {"scope": scope, "hurt": hurt, "hurt_names": names, "policy": policy, "optimum": opt,
               "gain": gain, "avg_diff": avg}


def b4_hurt(r: dict, scope: str) -> list[int]:
    """The classes whose accuracy B4's gain reads: those hurt on validation (the runner's
    ``choice``) that the scope's policy covers -- "recovers *their* accuracy". The group scope's
    policy also covers the hurt classes' fine-grained partners, which were not hurt; what the
    policy does to them is in the average's change, not in the gain."""
    policy = {int(c) for c in r["b4"][scope]["policy"]}
    hurt = sorted(int(c) for c in r["choice"].get("hurt", {}) if int(c) in policy)
    return hurt or sorted(policy)


def b4_convergence(r: dict, scope: str, longer: dict | None, level: float = 0.90):
    """B4's own metrics with more epochs, per test seed that has both longer runs (the uniform
    rrc(s*) among the runner's convergence runs, the scope's policy in ``longer``,
    :func:`augworth.experiments.b4_longer.stored_runs`): ``{"factor", "gain": (before, after,
    change interval), "avg": (...), "seeds", "expected"}``, t intervals at ``level`` over seeds;
    None without longer runs of the scope."""
    if not longer or longer.get("scope") != scope or scope not in r.get("b4", {}):
        return None
    hurt = b4_hurt(r, scope)
    opt = r["choice"]["optimum"]
    test = set(split_seeds(r)[1])
    uni = {c["seed"]: c for c in r["cells"] if c["strength"] == opt}
    cond = {c["seed"]: c for c in r["b4"][scope]["runs"]}
    factors = sorted({run["factor"] for run in longer["runs"]})
    if not factors:
        return None
    k = factors[0]
    uni2 = {c["seed"]: c for c in r.get("convergence") or [] if c["strength"] == opt and c["factor"] == k}
    cond2 = {run["seed"]: run for run in longer["runs"] if run["factor"] == k}
    seeds = sorted(s for s in test if s in uni and s in cond and s in uni2 and s in cond2)

    def hurt_acc(run):
        return float(np.mean(np.asarray(run["test_per_class"], dtype=float)[hurt]))

    out = {"factor": k, "seeds": seeds, "expected": longer.get("expected"), "hurt": hurt}
    for name, metric in (("gain", hurt_acc), ("avg", lambda run: float(run["test_acc"]))):
        before = np.array([metric(cond[s]) - metric(uni[s]) for s in seeds])
        after = np.array([metric(cond2[s]) - metric(uni2[s]) for s in seeds])
        out[name] = (before, after, t_interval(after - before, level=level))
    return out


def b4_over_budgets(conv: dict, epochs: int, scope: str) -> pd.DataFrame:
    """B4's two metrics (mean over seeds) at the budget and with more epochs, from
    :func:`b4_convergence`: one row per metric, one column per budget, and the change's interval."""
    rows = []
    for key, what in (("gain", "hurt classes' gain"), ("avg", "average's change")):
        before, after, change = conv[key]
        rows.append({"metric": f"{what} ({scope} scope, {len(conv['seeds'])} seeds)",
                     f"{epochs} epochs": before.mean(), f"{conv['factor'] * epochs} epochs": after.mean(),
                     "change": change.estimate, "90% CI low": change.lo, "90% CI high": change.hi})
    return pd.DataFrame(rows).set_index("metric")


def b3_pair(r: dict) -> tuple[int, int]:
    """The pair (a, b) of B3, chosen on the VALIDATION split: among pairs whose first class was
    hurt on validation (all classes if none was), the one whose bias (share a->b minus b->a)
    changes most from the weakest to the strongest setting, oriented so that the change is
    positive. The test set then says whether the direction holds."""
    labels = r["strengths"]
    conf = stack(r["cells"], "val_confusion", labels, split_seeds(r)[0])

    def bias(cm):  # (k, k): share a->b minus share b->a, mean over seeds
        flow = (cm / np.maximum(cm.sum(-1, keepdims=True), 1)).mean(0)
        return flow - flow.T

    change = bias(conf[labels[-1]]) - bias(conf[labels[0]])
    k = change.shape[0]
    hurt = [int(c) for c in r["choice"]["hurt"]] or list(range(k))
    size = np.abs(change[hurt])
    size[np.arange(len(hurt)), hurt] = -1.0  # never a class with itself
    i, b = np.unravel_index(int(np.argmax(size)), size.shape)  # the first of equal maxima, as a loop would
    a = hurt[i]
    return (a, int(b)) if change[a, b] > 0 else (int(b), a)


def b3_effect_per_seed(conf: dict[str, np.ndarray], a: int, b: int) -> np.ndarray:
    """Per seed (in the arrays' order): the pair's bias toward b at the strongest setting minus at
    the weakest (the first and last of ``conf``)."""
    labels = list(conf)
    bias = {s: classwise.confusion_flow(conf[s], a, [b])[:, 0] - classwise.confusion_flow(conf[s], b, [a])[:, 0]
            for s in (labels[0], labels[-1])}
    return bias[labels[-1]] - bias[labels[0]]


def b1_convergence(a: dict, cls: int, best: str, optimum: str):
    """B1's own metric for one class per seed: its test accuracy at its own best strength ``best``
    minus at s* (``optimum``), at the budget and with the convergence factor x it, on the seeds with
    both runs: ``(seeds, before, after, factor)``; None without convergence runs."""
    runs = _paired_runs(a, best, optimum)
    if runs is None:
        return None
    seeds, (b0, b1), (o0, o1), factor = runs
    before = _class_accuracy(b0, cls) - _class_accuracy(o0, cls)
    return seeds, before, _class_accuracy(b1, cls) - _class_accuracy(o1, cls), factor


def _class_accuracy(cm: np.ndarray, cls: int) -> np.ndarray:
    """(seeds, k, k) confusion matrices -> the class's accuracy per seed."""
    return cm[:, cls, cls] / np.maximum(cm[:, cls].sum(-1), 1)


def _paired_runs(a: dict, best: str, optimum: str):
    """The convergence runs' confusions at ``best`` and at ``optimum``, each at the budget and with
    the factor x it, on the seeds both have: ``(seeds, (best, longer), (optimum, longer),
    factor)``; None without convergence runs."""
    conv = a.get("convergence") or {}
    if not conv:
        return None
    (b0, b1, seeds), (o0, o1, other) = conv["conf"][best], conv["conf"][optimum]
    if list(seeds) != list(other):
        raise ValueError(f"convergence runs at {best} and {optimum} cover different seeds: {seeds} and {other}")
    return seeds, (b0, b1), (o0, o1), conv["factor"]


def b2_named(a: dict, cls: int, best: str):
    """B2's share for one class named in advance (a registration's ``shown``) instead of the
    affected classes found on the test seeds: of its drop from its own best strength ``best`` to
    s*, the share that vanishes when confusions inside its fine-grained group are forgiven (a
    ratio of seed means, jackknife-t interval over the test seeds)."""
    optimum = a["optimum"]
    forgiven = {s: classwise.group_forgiven_accuracy(a["conf"][s], a["groups"]) for s in {best, optimum}}
    return _vanishing_share(a["acc"], forgiven, pd.DataFrame([{"class": cls, "best_strength": best}]), optimum,
                            a["seeds"])


def _drop_units(conf: dict[str, np.ndarray], groups, cls: int, best: str, optimum: str) -> np.ndarray:
    """Per seed: (the class's drop from ``best`` to ``optimum``, the same drop with in-group
    confusions forgiven), from confusion matrices (seeds, k, k) per strength: (seeds, 2)."""
    def both(cm):
        return _class_accuracy(cm, cls), classwise.group_forgiven_accuracy(cm, groups)[:, cls]

    (a_b, f_b), (a_o, f_o) = both(conf[best]), both(conf[optimum])
    return np.stack([a_b - a_o, f_b - f_o], 1)


def share_of(units) -> float:
    """B2's share from per-seed (drop, forgiven drop) units: 1 - mean forgiven / mean drop."""
    u = np.asarray(list(units), dtype=float).reshape(-1, 2)
    d = u[:, 0].mean()
    return 1 - u[:, 1].mean() / d if d != 0 else float("nan")


def b2_units(a: dict, cls: int, best: str, optimum: str):
    """Per seed with both runs, B2's units for one class: (drop, forgiven drop) at the budget and
    with the convergence factor x it: ``(seeds, before, after, factor)``, before and after
    (seeds, 2); None without convergence runs."""
    runs = _paired_runs(a, best, optimum)
    if runs is None:
        return None
    seeds, (b0, b1), (o0, o1), factor = runs
    return (seeds, _drop_units({best: b0, optimum: o0}, a["groups"], cls, best, optimum),
            _drop_units({best: b1, optimum: o1}, a["groups"], cls, best, optimum), factor)


def b2_convergence(a: dict, cls: int, best: str, optimum: str, level: float = 0.90):
    """B2's own metric (the named class's vanishing share) at the budget and with the
    convergence factor x it, paired by seed: ``(change, before, after, factor)`` -- the change of
    the share (a ratio of seed means) with its leave-one-seed-out jackknife-t interval at
    ``level``, and the share at each budget; None without convergence runs."""
    units = b2_units(a, cls, best, optimum)
    if units is None:
        return None
    _, before, after, factor = units
    change = jackknife_interval(lambda u: share_of([x[1] for x in u]) - share_of([x[0] for x in u]),
                                list(zip(before, after)), level=level)
    return change, share_of(before), share_of(after), factor


def b2_over_budgets(readings, named: str) -> pd.DataFrame:
    """B2's share for the class ``named`` (its drop from its own best strength, chosen on each
    set's choice seeds, to s*) at the budget and with the convergence factor x it, per set of
    seeds. ``readings``: ``(who, epochs, analysis)``; a set with fewer than 2 seeds with both runs,
    or where the class's best strength is s*, is skipped. One row per (who, epochs): the share,
    its 95% jackknife-t interval and the seed count."""
    rows = []
    for who, epochs, a in readings:
        row = a["b1"][a["b1"].name == named]
        if row.empty or str(row.best_strength.iloc[0]) == a["optimum"]:
            continue
        units = b2_units(a, int(row["class"].iloc[0]), str(row.best_strength.iloc[0]), a["optimum"])
        if units is None or len(units[0]) < 2:
            continue
        _, before, after, factor = units
        for u, k in ((before, 1), (after, factor)):
            iv = jackknife_interval(share_of, list(u))
            rows.append({"seeds": who, "epochs": int(epochs * k), "share": iv.estimate, "lo": iv.lo, "hi": iv.hi,
                         "n_seeds": iv.n})
    return pd.DataFrame(rows, columns=["seeds", "epochs", "share", "lo", "hi", "n_seeds"])


def b3_convergence(a: dict, pair: tuple[int, int]):
    """B3's effect per seed at the budget and with the convergence factor x it, on the seeds with
    both runs: ``(seeds, before, after, factor)``, or None where the analysis ``a`` has no
    convergence runs."""
    conv = a.get("convergence") or {}
    if not conv:
        return None
    labels = list(conv["conf"])
    ends = (labels[0], labels[-1])
    before, after = (b3_effect_per_seed({s: conv["conf"][s][k] for s in ends}, *pair) for k in (0, 1))
    return conv["conf"][labels[0]][2], before, after, conv["factor"]


def b3_over_budgets(readings) -> pd.DataFrame:
    """B3's effect (the chosen pair's bias change, weakest to strongest) at the budget and with
    the convergence factor x it (:func:`b3_convergence`), per set of seeds. ``readings``: ``(who,
    epochs, analysis, pair)`` for each set (an :func:`analyse` output and the pair :func:`b3_pair`
    chose for it; a set with fewer than 2 seeds with both runs is skipped). One row per (who,
    epochs): the mean, its 95% t interval and the seed count."""
    rows = []
    for who, epochs, a, pair in readings:
        conv = b3_convergence(a, pair)
        if conv is None or len(conv[0]) < 2:
            continue
        seeds, before, after, factor = conv
        for values, k in ((before, 1), (after, factor)):
            iv = t_interval(values)
            rows.append({"seeds": who, "epochs": int(epochs * k), "effect": iv.estimate, "lo": iv.lo,
                         "hi": iv.hi, "n_seeds": iv.n})
    return pd.DataFrame(rows, columns=["seeds", "epochs", "effect", "lo", "hi", "n_seeds"])


def b3_effect(conf: dict[str, np.ndarray], a: int, b: int):
    """Change of the pair's bias toward b (share a->b minus b->a) from the weakest to the
    strongest setting of the sweep, paired over seeds: a t interval over the seeds' changes."""
    return t_interval(b3_effect_per_seed(conf, a, b))
