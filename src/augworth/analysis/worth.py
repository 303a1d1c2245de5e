"""Analysis of `worth` (a user's augmentation on their data): every table the report shows and
its verdicts read, from the runner's value. Pure: nothing here trains; an edit here never makes
a stored result stale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config.worth import WorthParams
from ..metrics import classwise
from ..metrics.stats import paired, t_interval
from .exchange_rate import by_seed, convergence_table, fit_reference, worth_table


def _arm(rows: list[dict], augment: str, n: int, key: str) -> tuple[list[int], np.ndarray]:
    sel = sorted((r for r in rows if r["augment"] == augment and r["n"] == n), key=lambda r: r["seed"])
    return [r["seed"] for r in sel], np.array([r[key] for r in sel], dtype=float)


def convergence_pairs(runs: pd.DataFrame, policies) -> dict[str, tuple[dict, dict]]:
    """{policy: ({seed: test error at the largest n}, {seed: the same with more steps})} over the
    seeds with convergence runs (what the verdict's convergence check reads)."""
    conv = runs[runs.kind == "convergence"]
    out = {}
    for pol in policies:
        c = conv[conv.augment == pol]
        if c.empty:
            continue
        m = runs[(runs.kind == "main") & (runs.augment == pol) & (runs.n == c.n.iloc[0]) & runs.seed.isin(c.seed)]
        out[pol] = ({int(s): float(v) for s, v in zip(m.seed, m.test_err)},
                    {int(s): float(v) for s, v in zip(c.seed, c.test_err)})
    return out


def analyse(value: dict, p: WorthParams) -> dict:
    """Every table the report shows and its verdicts read (see the module doc): the baseline's
    fits (all sizes; the largest held out), the convergence table, the worth tables, the paired
    error gain at the largest n, the per-class effects there with the most-hurt class's
    confusion flows, and the closed-form section -- for the first augmentation at the top level,
    for each augmentation under ``per_policy`` (the same keys), and their ``ranking``."""
    runs, facts = value["runs"], value["facts"]
    names = list(facts["classes"])
    n_test, n_max = facts["n_test"], max(p.sizes)
    image = 1.0 / n_test  # one test image, in error units
    out = {"n_max": n_max, "n_test": n_test, "names": names, "facts": facts,
           "conv": convergence_table(runs[runs.augment.isin([p.baseline, p.augments[0]])]),
           "conv_pairs": convergence_pairs(runs, p.policies),
           "conv_tol": max(p.convergence_tol, 2 * image),
           "holdout_tol": max(p.holdout_tol, 2 * image), "fit_problem": None}
    metrics = (("test_err", "id"), ("ood_err", "ood")) if p.ood else (("test_err", "id"),)
    for metric, tag in metrics:
        try:
            out[f"fit_{tag}"] = fit_reference(runs, metric, reference=p.baseline)[0]
            out[f"held_{tag}"] = fit_reference(runs, metric, reference=p.baseline, holdout=1)[2]
            out[f"w_{tag}"] = worth_table(runs, metric, list(p.augments), reference=p.baseline)
        except ValueError as err:  # e.g. an error of 0: a power law in log-error is not defined
            out[f"fit_{tag}"] = out[f"held_{tag}"] = out[f"w_{tag}"] = None
            what = metric.replace("_err", " error").replace("ood", "corrupted-test")
            ref = runs[(runs.kind == "main") & (runs.augment == p.baseline)].groupby("n")[metric].mean()
            zero = [int(n) for n, e in ref.items() if e <= 0]
            out["fit_problem"] = (f"{p.baseline} makes no {what} at n = {zero} (mean over seeds, {n_test} test images): "
                                  "a power law in log-error is not defined there; use a harder task, more test images "
                                  "or smaller sizes (--sizes)" if zero else f"the baseline's {what} cannot be fitted: {err}")
    main = runs[runs.kind == "main"]
    out["errors"] = main.groupby(["augment", "n"]).test_err.agg(["mean", "std", "count"]).reset_index()
    by_moments = value.get("moments_by_policy") or ({p.augments[0]: value["moments"]} if value.get("moments") else {})
    per = {aug: _policy(value, p, aug, out, by_moments.get(aug)) for aug in p.augments}
    out["per_policy"] = per
    out["w_all_id"], out["w_all_ood"] = out.get("w_id"), out.get("w_ood")  # every augmentation's rows
    out.update(per[p.augments[0]])
    out["ranking"] = ranking(out, p, runs)
    return out


def _policy(value: dict, p: WorthParams, aug: str, shared: dict, moments) -> dict:
    """One augmentation's tables against the baseline (the keys :func:`analyse` puts at the top)."""
    runs, names, n_max = value["runs"], shared["names"], shared["n_max"]
    out = {}
    for tag in ("id", "ood"):
        w = shared.get(f"w_{tag}")
        if f"w_{tag}" in shared:
            out[f"w_{tag}"] = None if w is None else w[w.augment == aug].reset_index(drop=True)
    main = runs[runs.kind == "main"]
    at = main[main.n == n_max]
    base = by_seed(at[at.augment == p.baseline], "test_err")
    aug_err = by_seed(at[at.augment == aug], "test_err")
    out["gain"] = t_interval(paired({s: v[n_max] for s, v in base.items()}, {s: v[n_max] for s, v in aug_err.items()}))

    rows = value["classwise"]
    seeds_a, acc_a = _arm(rows, aug, n_max, "per_class")
    seeds_b, acc_b = _arm(rows, p.baseline, n_max, "per_class")
    if seeds_a != seeds_b:
        raise ValueError(f"per-class results are not paired: seeds {seeds_a} vs {seeds_b}")
    effects = pd.DataFrame(classwise.paired_class_effects(acc_a, acc_b, p.alpha))
    effects.insert(1, "name", [names[c] for c in effects["class"]])
    effects["test_images"] = np.asarray(rows[0]["confusion"]).sum(1).astype(int)  # a confusion row: a class's test images
    out["classes"] = effects
    worst = int(effects.sort_values(["effect", "p"]).iloc[0]["class"])
    out["worst"] = worst
    flows = []
    for arm in (p.baseline, aug):
        conf = np.array(_arm(rows, arm, n_max, "confusion")[1])
        share = classwise.confusion_flow(conf, worst).mean(0)
        flows += [{"policy": arm, "to": t, "to_name": names[t], "share": float(share[t])} for t in range(len(names))]
    out["flows"] = pd.DataFrame(flows)

    out["moments"] = moments
    out["draws"], out["draws_summary"] = None, None
    if moments is not None:
        d = pd.DataFrame(moments["draws"])
        out["draws"] = d
        q = np.quantile(d.draws, [0.25, 0.5, 0.75])
        out["draws_summary"] = {"median": float(q[1]), "quartiles": (float(q[0]), float(q[2])), "images": len(d),
                                "max": float(d.draws.max()), "how": sorted(set(d.how))}
    return out


def policy_view(a: dict, aug: str) -> dict:
    """The analysis as one augmentation's report reads it: the shared tables with that
    augmentation's at the top level."""
    return {**a, **a["per_policy"][aug]}


def ranking(a: dict, p: WorthParams, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """The augmentations ranked by worth at the largest size (v/n with its jackknife interval;
    an undefined worth -- below the baseline's asymptote -- ranks first), with the paired error
    change and the class each costs most, and whether each ranks above the next one: against one
    baseline curve worth falls as the test error rises, so the pair is tested on their test errors
    at the largest size, paired by seed (next minus this; above 0: this one is worth more)."""
    rows = []
    for aug, t in a["per_policy"].items():
        w = t.get("w_id")
        row = {"augment": aug, "v/n": np.nan, "v/n low": np.nan, "v/n high": np.nan, "status": "not measurable"}
        if w is not None and len(w[w.n == a["n_max"]]):
            r = w[w.n == a["n_max"]].iloc[0]
            row.update({"v/n": float(r.rel), "v/n low": float(r.rel_lo), "v/n high": float(r.rel_hi),
                        "status": str(r.status)})
        g, c = t["gain"], t["classes"]
        worst = c.sort_values(["effect", "p"]).iloc[0]
        row.update({"error change": -g.estimate, "error low": -g.hi, "error high": -g.lo,
                    "costs most": str(worst["name"]), "class change": float(worst.effect),
                    "classes hurt": int((c.finding == "hurt").sum())})
        rows.append(row)
    t = pd.DataFrame(rows)
    key = t["v/n"].where(t.status != "undefined", np.inf).fillna(-np.inf)
    t = t.assign(_k=key, _e=-t["error change"]).sort_values(["_k", "_e"], ascending=False).drop(
        columns=["_k", "_e"]).reset_index(drop=True)
    above, lo, hi = [np.nan] * len(t), [np.nan] * len(t), [np.nan] * len(t)
    if runs is not None:
        from .exchange_rate import paired_difference

        for i in range(len(t) - 1):
            iv = paired_difference(runs, {"kind": "main", "augment": t.augment[i + 1]},
                                   {"kind": "main", "augment": t.augment[i]}, sizes=[a["n_max"]])[1]
            above[i], lo[i], hi[i] = iv.estimate, iv.lo, iv.hi
    return t.assign(**{"above next": above, "above next low": lo, "above next high": hi})
