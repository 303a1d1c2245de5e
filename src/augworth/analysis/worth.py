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
    confusion flows, and the closed-form section."""
    runs, facts = value["runs"], value["facts"]
    names = list(facts["classes"])
    n_test, n_max = facts["n_test"], max(p.sizes)
    image = 1.0 / n_test  # one test image, in error units
    out = {"n_max": n_max, "n_test": n_test, "names": names, "facts": facts,
           "conv": convergence_table(runs), "conv_pairs": convergence_pairs(runs, (p.baseline, p.augment)),
           "conv_tol": max(p.convergence_tol, 2 * image),
           "holdout_tol": max(p.holdout_tol, 2 * image), "fit_problem": None}
    metrics = (("test_err", "id"), ("ood_err", "ood")) if p.ood else (("test_err", "id"),)
    for metric, tag in metrics:
        try:
            out[f"fit_{tag}"] = fit_reference(runs, metric, reference=p.baseline)[0]
            out[f"held_{tag}"] = fit_reference(runs, metric, reference=p.baseline, holdout=1)[2]
            out[f"w_{tag}"] = worth_table(runs, metric, [p.augment], reference=p.baseline)
        except ValueError as err:  # e.g. an error of 0: a power law in log-error is not defined
            out[f"fit_{tag}"] = out[f"held_{tag}"] = out[f"w_{tag}"] = None
            what = metric.replace("_err", " error").replace("ood", "corrupted-test")
            ref = runs[(runs.kind == "main") & (runs.augment == p.baseline)].groupby("n")[metric].mean()
            zero = [int(n) for n, e in ref.items() if e <= 0]
            out["fit_problem"] = (f"{p.baseline} makes no {what} at n = {zero} (mean over seeds, {n_test} test images): "
                                  "a power law in log-error is not defined there; use a harder task, more test images "
                                  "or smaller sizes (--sizes)" if zero else f"the baseline's {what} cannot be fitted: {err}")
    main = runs[runs.kind == "main"]
    at = main[main.n == n_max]
    base = by_seed(at[at.augment == p.baseline], "test_err")
    aug = by_seed(at[at.augment == p.augment], "test_err")
    out["gain"] = t_interval(paired({s: v[n_max] for s, v in base.items()}, {s: v[n_max] for s, v in aug.items()}))
    out["errors"] = main.groupby(["augment", "n"]).test_err.agg(["mean", "std", "count"]).reset_index()

    rows = value["classwise"]
    seeds_a, acc_a = _arm(rows, p.augment, n_max, "per_class")
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
    for arm in (p.baseline, p.augment):
        conf = np.array(_arm(rows, arm, n_max, "confusion")[1])
        share = classwise.confusion_flow(conf, worst).mean(0)
        flows += [{"policy": arm, "to": t, "to_name": names[t], "share": float(share[t])} for t in range(len(names))]
    out["flows"] = pd.DataFrame(flows)

    m = value.get("moments")
    out["moments"] = m
    if m is not None:
        d = pd.DataFrame(m["draws"])
        out["draws"] = d
        q = np.quantile(d.draws, [0.25, 0.5, 0.75])
        out["draws_summary"] = {"median": float(q[1]), "quartiles": (float(q[0]), float(q[2])), "images": len(d),
                                "max": float(d.draws.max()), "how": sorted(set(d.how))}
    return out

