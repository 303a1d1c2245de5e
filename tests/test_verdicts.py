"""The verdict layer on synthetic analysis results: each claim's rule gives supported, not
supported and inconclusive where each is the right answer, and every gate turns a verdict
inconclusive with its reason."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from augworth import claims, verdicts
from augworth.experiments.registry import Result
from augworth.metrics import exchange as ex
from augworth.metrics.stats import t_interval
from augworth.verdicts import class_level as vb
from augworth.verdicts import exchange_rate as vc
from augworth.verdicts import flatness as vf
from augworth.verdicts import saliency as vs
from augworth.verdicts import sample_complexity as va
from augworth.verdicts.rules import Check, conclude

SEEDS5 = (0, 1, 2, 3, 4)


def test_conclude_gates_and_counts_seeds():
    ok = conclude("C3", "supported", 0.1, (0.05, 0.15), "r", "s", seeds=SEEDS5, n_seeds=5)
    assert ok.verdict == "supported" and ok.reasons == []
    gated = conclude("C3", "supported", 0.1, (0.05, 0.15), "r", "s", checks=[Check("converged", False, "not yet")],
                     seeds=SEEDS5, n_seeds=5, sd=0.05, threshold=0.0)
    assert gated.verdict == "inconclusive" and gated.reasons == ["not yet"]
    assert gated.seeds_needed is None  # more seeds do not make runs converge
    few = conclude("C3", "supported", 0.1, (0.05, 0.15), "r", "s", seeds=(0, 1), n_seeds=2)
    assert few.verdict == "inconclusive" and "at least 3" in few.reasons[0]
    undecided = conclude("C3", "inconclusive", 0.02, (-0.01, 0.05), "r", "s", n_seeds=5, sd=0.03, threshold=0.0)
    assert undecided.seeds_needed > 5  # a power calculation: more seeds than were used
    with pytest.raises(ValueError, match="not one of"):
        conclude("C3", "maybe", 0, None, "r", "s")


def test_to_decide_reads_the_failed_checks_and_the_effect():
    """What would decide an undecided verdict: a check neither seeds nor steps fix comes first,
    then a longer budget, then the most seeds any failed check or the effect asks for."""
    moving = Check("converged", False, "test accuracy of flip: +0.02 ...: still moving", fix="budget")
    unshown = Check("converged", False, "C3 contrast: +0.001 ...: not shown", fix="seeds", seeds=12)
    decided = conclude("C3", "supported", 0.1, (0.05, 0.15), "r", "s", seeds=SEEDS5, n_seeds=5)
    assert verdicts.to_decide(decided) is None
    by_seeds = conclude("C3", "inconclusive", 0.02, (-0.01, 0.05), "r", "s", checks=[unshown], n_seeds=5, sd=0.03,
                        threshold=0.0)
    td = verdicts.to_decide(by_seeds)
    assert td.kind == "seeds" and td.seeds == max(12, by_seeds.effect_seeds) and by_seeds.ungated == "inconclusive"
    assert by_seeds.seeds_needed is None  # the verdict's own power calculation is for an ungated interval only
    gated = conclude("C3", "not supported", -0.02, (-0.03, -0.01), "r", "s", checks=[moving, unshown], n_seeds=5,
                     sd=0.01, threshold=0.0)
    td = verdicts.to_decide(gated)
    assert td.kind == "budget" and td.budget == ("test accuracy of flip",) and td.seeds == 12
    assert gated.ungated == "not supported" and gated.effect_seeds is None  # the effect alone is decided
    assert "more than 2x" in td.text() and "~12 seeds" in td.text()
    regime = conclude("B2", "inconclusive", 0.0, None, "r", "s", checks=[Check("affected classes", False, "none")])
    td = verdicts.to_decide(regime)
    assert td.kind == "regime" and "affected classes" in td.text() and "more seeds" not in td.text()
    with pytest.raises(ValueError, match="fix"):
        Check("converged", False, "x", fix="luck")


def test_decision_costs_price_the_seeds_a_chapter_needs(monkeypatch):
    """Claims of one chapter share its models: the chapter costs the most seeds any asks for."""
    from augworth.experiments import plan

    monkeypatch.setattr(plan, "seed_minutes", lambda chapter, profile, overrides=None:
                        {"exchange_rate": 2.0, "flatness": 10.0 * (overrides or {}).get("epochs", 1)}[chapter])
    c3 = conclude("C3", "inconclusive", 0.001, (-0.01, 0.012), "r", "s", n_seeds=5, sd=0.01, threshold=0.0)
    c4 = conclude("C4", "inconclusive", 0.004, (-0.001, 0.009), "r", "s", n_seeds=5, sd=0.004, threshold=0.0)
    c5 = conclude("C5", "supported", 0.1, (0.05, 0.15), "r", "s",
                  checks=[Check("converged", False, "alpha: moved", fix="budget")], n_seeds=5)
    table, chapters = verdicts.decision_costs({"C3": c3, "C4": c4, "C5": c5}, "book")
    assert list(table.kind) == ["seeds", "seeds", "budget"] and np.isnan(table.minutes.iloc[2])
    assert table.minutes.iloc[0] == 2.0 * c3.seeds_needed
    assert list(chapters.chapter) == ["exchange_rate"]
    assert chapters.minutes.iloc[0] == 2.0 * max(c3.seeds_needed, c4.seeds_needed)
    # a claim a later registration decided is priced at that registration's budget
    from dataclasses import fields

    from augworth import claims, prereg
    from augworth.verdicts.rules import Decision

    reg = prereg.later_for("book", "flatness")[-1]  # the latest registration of C5
    c5 = conclude("C5", "inconclusive", 0.004, (-0.001, 0.009), "r", "s", n_seeds=5, sd=0.004, threshold=0.0)
    rec = claims.Record(**{f.name: getattr(c5, f.name) for f in fields(Decision)}, profile="book", dataset="d",
                        device="cpu", wall_s=1.0, package_version="0", git_commit="abc", source="cache",
                        stage="confirmatory", registration=reg.number)
    later, _ = verdicts.decision_costs({"C5": rec}, "book")
    assert later.chapter.iloc[0] == f"flatness (registration {reg.number})"
    assert later.minutes.iloc[0] == c5.seeds_needed * 10.0 * reg.chapters["flatness"]["epochs"]
    import matplotlib

    matplotlib.use("Agg")
    from augworth.plotting.scorecard import decision_cost_figure

    ax = decision_cost_figure(table, 178.0).axes[0]
    assert [round(b.get_width(), 6) for b in ax.patches] == [round(m, 6) for m in table.minutes[:2]]  # priced claims
    assert any("longer budget" in t.get_text() for t in ax.texts) and ax.get_xscale() == "log"


def test_publish_writes_records_the_scorecard_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGWORTH_RECORDS", str(tmp_path))
    d = conclude("C3", "inconclusive", 0.02, (-0.01, 0.05), "r", "sum", checks=[Check("converged", True, "yes")],
                 seeds=SEEDS5, n_seeds=5, sd=0.05, threshold=0.0)
    result = Result(meta={"device_name": "cpu", "wall_s": 1.0, "augworth": "0", "git_commit": "abc",
                          "source": "computed"}, value={})
    verdicts.publish({"C3": d}, result=result, profile="smoke", dataset="fashion_mnist")
    rec = claims.load_records(tmp_path)["C3"]
    assert rec.verdict == "inconclusive" and rec.reasons == [] and rec.n_seeds == 5 and rec.seeds_needed > 5
    text = verdicts.describe(d)
    assert "[pass] converged: yes" in text and f"needs ~{rec.seeds_needed} seeds" in text
    gated = conclude("C3", "supported", 0.1, (0.05, 0.15), "r", "sum",
                     checks=[Check("converged", False, "acc: no", fix="budget")], seeds=SEEDS5, n_seeds=5, sd=0.05,
                     threshold=0.0)
    assert "[FAIL] converged: acc: no" in verdicts.describe(gated)
    assert "to decide: a budget of more than 2x the registered one (with 2x, acc moved by its tolerance or more)" in " ".join(verdicts.describe(gated).split())
    other = conclude("C3", "supported", 0.1, (0.05, 0.15), "r", "sum", checks=[Check("held-out fit", False, "no")],
                     seeds=SEEDS5, n_seeds=5, sd=0.05, threshold=0.0)
    assert "to decide: a check that neither seeds nor steps fix: held-" in " ".join(verdicts.describe(other).split())


# --- exchange_rate: C1-C4 ------------------------------------------------------------------

TRUE = ex.PowerLaw(a=2.0, c=0.35, b=0.02)
SIZES = [30, 60, 125, 250, 500]
REFERENCE_SIZES = [1000, 2000]  # no augmentation only, beyond the grid


def exchange_runs(aug_factor: float, seeds=SEEDS5, noise=0.01, conv_change=0.0, strong_err=None):
    """Main runs: the reference follows TRUE with per-seed noise; 'trivialaugment' is as good as
    aug_factor x the data; convergence runs change by conv_change."""
    rng = np.random.default_rng(0)
    rows = []
    for s in seeds:
        e = noise * rng.standard_normal()
        for n in SIZES:
            ref = float(TRUE(n)) * (1 + e)
            for aug, err in (("none", ref), ("trivialaugment", float(TRUE(aug_factor * n)) * (1 + e)),
                             ("noise(0.4)", ref)):
                rows.append({"kind": "main", "n": n, "augment": aug, "seed": s, "test_err": err,
                             "ood_err": err if strong_err is None or aug != "noise(0.4)" else strong_err,
                             "train_acc": 1.0, "steps": 300, "invariance": "none", "copies": 0})
        for n in REFERENCE_SIZES:  # the reference beyond the grid: C1 interpolates
            ref = float(TRUE(n)) * (1 + e)
            rows.append({"kind": "main", "n": n, "augment": "none", "seed": s, "test_err": ref, "ood_err": ref,
                         "train_acc": 1.0, "steps": 300, "invariance": "none", "copies": 0})
    for aug in ("none", "trivialaugment", "noise(0.4)"):
        base = next(r for r in rows if r["augment"] == aug and r["n"] == 500 and r["seed"] == seeds[0])
        rows.append({**base, "kind": "convergence", "steps": 600, "test_err": base["test_err"] + conv_change})
    return pd.DataFrame(rows)


def exchange_analysis(runs, p):
    from augworth.analysis import exchange_rate as er

    a = {"n_max": 500, "conv": er.convergence_table(runs),
         "reference_sizes": sorted(int(n) for n in runs[(runs.kind == "main") & (runs.augment == "none")].n.unique())}
    for metric, tag in (("test_err", "id"), ("ood_err", "ood")):
        a[f"fit_{tag}"] = er.fit_reference(runs, metric)[0]
        a[f"held_{tag}"] = er.fit_reference(runs, metric, holdout=1)[2]
        a[f"w_{tag}"] = er.worth_table(runs, metric, p.augmentations)
    strong = runs[(runs.kind == "main") & (runs.augment == p.strong) & (runs.n == 500)]
    a["c2_gap"] = ex.asymptote_gap(er.reference_runs(runs, "ood_err"), dict(zip(strong.seed, strong.ood_err)))
    return a


def exchange_params(**kw):
    base = dict(augmentations=("none", "trivialaugment", "noise(0.4)"), strong="noise(0.4)", seeds=SEEDS5,
                convergence_tol=0.005, holdout_tol=0.01)
    return SimpleNamespace(**{**base, **kw})


@pytest.mark.parametrize("factor,label", [(4.0, "supported"), (1.2, "not supported")])
def test_c1_labels(factor, label):
    p = exchange_params()
    d = vc.c1(exchange_analysis(exchange_runs(factor), p), p)
    assert d.verdict == label, d
    assert d.measured == pytest.approx(factor - 1, rel=0.1)


def test_c1_inconclusive_when_the_interval_straddles():
    p = exchange_params()
    d = vc.c1(exchange_analysis(exchange_runs(2.0, noise=0.05), p), p)
    assert d.verdict == "inconclusive" and d.interval[0] < 1 < d.interval[1] and not d.reasons


def test_c1_gated_by_convergence_and_holdout():
    p = exchange_params()
    d = vc.c1(exchange_analysis(exchange_runs(4.0, conv_change=-0.02), p), p)
    assert d.verdict == "inconclusive" and "runs not converged" in d.reasons[0]
    # a reference that bends away from the power law at the held-out size
    runs = exchange_runs(4.0)
    runs.loc[(runs.n == 500) & (runs.augment == "none") & (runs.kind == "main"), "test_err"] += 0.05
    d = vc.c1(exchange_analysis(runs, p), p)
    assert d.verdict == "inconclusive" and any("held-out" in c.name and not c.passed for c in d.checks)


def test_c1_needs_three_seeds():
    p = exchange_params(seeds=(0, 1))
    d = vc.c1(exchange_analysis(exchange_runs(4.0, seeds=(0, 1)), p), p)
    assert d.verdict == "inconclusive" and any(c.name == "seeds" and not c.passed for c in d.checks)


def test_c2_labels_and_the_asymptote_gate():
    p = exchange_params()
    below = vc.c2(exchange_analysis(exchange_runs(2.0, strong_err=0.005), p), p)  # b = 0.02 identified
    assert below.verdict == "supported", below
    above = vc.c2(exchange_analysis(exchange_runs(2.0, strong_err=0.2), p), p)
    assert above.verdict == "not supported"
    runs = exchange_runs(2.0, strong_err=0.005)
    flat = ex.PowerLaw(a=2.0, c=0.35, b=0.0)  # no asymptote: b at its bound
    for (i, r) in runs[runs.augment != "noise(0.4)"].iterrows():
        runs.loc[i, "ood_err"] = float(flat(r.n))
    d = vc.c2(exchange_analysis(runs, p), p)
    assert d.verdict == "inconclusive" and any("identified" in c.name and not c.passed for c in d.checks)


def with_beyond(a, runs, p):
    """``a`` with what the reference-only sizes add (analysis.exchange_rate.beyond_reference)."""
    from augworth.analysis import exchange_rate as er

    strong = runs[(runs.kind == "main") & (runs.augment == p.strong) & (runs.n == 500)]
    return {**a, **er.beyond_reference(runs, p, dict(zip(strong.seed, strong.ood_err)))}


def arm_pairs(changes: dict[str, float], seeds=SEEDS5, spread: float = 0.002):
    """C1/C2's convergence pairs over ``seeds``: each arm's largest-n error moved by its change."""
    rng = np.random.default_rng(1)
    out = {}
    for aug, change in changes.items():
        before = {s: 0.2 + 0.01 * rng.standard_normal() for s in seeds}
        out[f"err {aug}"] = (before, {s: v + change + spread * rng.standard_normal() for s, v in before.items()})
    return out


@pytest.mark.parametrize("factor,label", [(4.0, "supported"), (1.2, "not supported")])
def test_c1_c2_gate_toward_the_boundary_reads_each_arm_on_its_side(factor, label):
    """Registration 11's gate for C1: twice the steps may move the arms away from the boundary (a
    "supported" worth: the reference's error up, TrivialAugment's down), not toward it; the
    two-sided gate refuses both movements."""
    p = exchange_params(convergence_factor=2)
    a = exchange_analysis(exchange_runs(factor), p)
    sign = 1 if label == "supported" else -1
    away = {**a, "conv_pairs": arm_pairs({"none": sign * 0.02, "trivialaugment": -sign * 0.02})}
    toward = {**a, "conv_pairs": arm_pairs({"none": -sign * 0.02, "trivialaugment": 0.0})}
    assert vc.c1(away, p).verdict == "inconclusive"  # two-sided: still moving
    assert vc.c1(away, p, vc.TOWARD_BOUNDARY).verdict == label
    d = vc.c1(toward, p, vc.TOWARD_BOUNDARY)
    assert d.verdict == "inconclusive" and [c.passed for c in d.checks if c.name == "converged"] == [False, True]


def test_c1_held_out_reads_the_registered_size():
    """A reference that bends away from the power law at its largest size fails the default
    held-out check (an extrapolation); a registration's ``held_out`` interior size (beside the
    size C1 reads) is interpolated by the fit through the others and passes; a size not measured
    fails, naming the sizes there are."""
    p = exchange_params(reference_sizes=tuple(REFERENCE_SIZES))
    runs = exchange_runs(4.0)
    runs.loc[(runs.n == 2000) & (runs.augment == "none"), "test_err"] += 0.015
    a = with_beyond(exchange_analysis(runs, p), runs, p)
    assert any(c.name == "held-out fit" and not c.passed for c in vc.c1(a, p).checks)
    d = vc.c1(a, p, reading={"held_out": 1000})
    assert [c.passed for c in d.checks if c.name == "held-out fit"] == [True] and "n = 1000" in d.checks[-3].detail
    missing = vc.c1(a, p, reading={"held_out": 750})
    assert missing.verdict == "inconclusive" and "no reference-only size n = 750" in " ".join(missing.reasons)


def test_c2_refuted_by_the_measured_reference():
    """Under ``refuted_by: measured reference`` a reference size whose corrupted error lies below
    the strong augmentation's decides "not supported" with no fit to check (here the fit's
    asymptote is not identified, which leaves the default rule inconclusive); where the
    augmentation beats every measured size the default rule decides; without the reading nothing
    changes."""
    p = exchange_params(reference_sizes=tuple(REFERENCE_SIZES))
    flat = ex.PowerLaw(a=2.0, c=0.35, b=0.0)  # no asymptote: b at its bound
    runs = exchange_runs(2.0, strong_err=0.25)  # above the reference at 2000 (0.16)
    for (i, r) in runs[runs.augment != "noise(0.4)"].iterrows():
        runs.loc[i, "ood_err"] = float(flat(r.n)) * (1 + 0.01 * ((r.seed % 3) - 1))
    a = with_beyond(exchange_analysis(runs, p), runs, p)
    assert vc.c2(a, p).verdict == "inconclusive"
    d = vc.c2(a, p, reading={"refuted_by": "measured reference"})
    assert d.verdict == "not supported" and d.interval[1] < 0 and "n = 2,000" in d.rule, d
    assert not any(c.name in ("held-out fit", "identified asymptote") for c in d.checks)
    better = with_beyond(exchange_analysis(exchange_runs(2.0, strong_err=0.005), p), exchange_runs(2.0, strong_err=0.005), p)
    kept = vc.c2(better, p, reading={"refuted_by": "measured reference"})
    assert kept.verdict == "supported" and kept.rule == vc.c2(better, p).rule
    assert "minus noise(0.4)'s at n = 500: +" in kept.summary


@pytest.mark.parametrize("diffs,label", [([0.03, 0.02, 0.04, 0.03, 0.025], "supported"),
                                         ([-0.03, -0.02, -0.04, -0.03, -0.025], "not supported"),
                                         ([0.03, -0.02, 0.01, -0.01, 0.0], "inconclusive")])
def test_c3_c4_labels(diffs, label):
    p = exchange_params(fixed_augment="crop(2)+flip", fixed_sizes=(125,))
    iv = t_interval(diffs)
    fixed = pd.DataFrame({"augment": ["fixed k=16", "fresh"], "err": [0.3, 0.29]})
    a = {"c3": iv, "c3_both": iv, "inv_sizes": [60, 250], "c4": iv, "k_max": 16, "w_fixed": fixed}
    assert vc.c3(a, p).verdict == label and vc.c4(a, p).verdict == label
    assert (vc.c3(a, p).seeds_needed is not None) == (label == "inconclusive")


# --- class_level: B1-B4 --------------------------------------------------------------------

def class_analysis(drop: float, gain: float = 0.02, seeds=SEEDS5, noise=0.005):
    """Strengths none and 'mild' (s*): mild beats none by ``gain`` on average, except class 2,
    which loses ``drop`` at mild (its own best: none)."""
    from augworth.analysis import class_level as cl

    rng = np.random.default_rng(0)
    n = len(seeds)
    k = 10
    none = 0.80 + rng.normal(0, noise, (n, k))
    mild = none + gain * k / (k - 1) + rng.normal(0, noise, (n, k))
    mild[:, 2] = none[:, 2] - drop + rng.normal(0, noise, n)
    conf = {}
    for s, acc in (("none", none), ("mild", mild)):
        cm = np.zeros((n, k, k))
        for i in range(n):
            for c in range(k):
                cm[i, c, c] = 100 * acc[i, c]
                cm[i, c, (c + 2) % k] = 100 * (1 - acc[i, c])  # class 2's errors go to class 4: its group
        conf[s] = cm
    # the validation split: the same models on other images (its own noise)
    cells = [{"strength": s, "seed": seed, "test_per_class": acc[i], "test_confusion": conf[s][i],
              "val_per_class": acc[i] + rng.normal(0, noise, k)}
             for s, acc in (("none", none), ("mild", mild)) for i, seed in enumerate(seeds)]
    return cl.analyse({"strengths": ["none", "mild"], "cells": cells}, "fashion_mnist")


def class_params(**kw):
    return SimpleNamespace(**{**dict(alpha=0.05, seeds=SEEDS5, avg_tolerance=0.005), **kw})


def test_b1_labels_and_the_regime_gate():
    p = class_params()
    assert vb.b1(class_analysis(0.10), p).verdict == "supported"
    assert vb.b1(class_analysis(0.0), p).verdict == "not supported"
    noisy = vb.b1(class_analysis(0.02, gain=0.05, noise=0.02), p)
    assert noisy.verdict == "inconclusive" and not any(not c.passed for c in noisy.checks if c.name != "seeds")
    vacuous = vb.b1(class_analysis(0.10, gain=-0.02), p)  # no crop is best on average
    assert vacuous.verdict == "inconclusive" and "vacuous" in vacuous.reasons[0]
    weak = vb.b1(class_analysis(0.02, gain=0.006, noise=0.03), p)  # s* = mild, but not significantly better
    assert weak.verdict == "inconclusive" and "not significantly" in " ".join(weak.reasons)
    assert weak.seeds_needed > 5  # seeds for the regime check: a test over seeds itself


def test_b2_labels_and_the_affected_gate():
    p = class_params()
    a = class_analysis(0.10)
    assert vb.b2(a, p).verdict == "supported"  # class 2's errors go to class 4, in its fine-grained group
    none_affected = class_analysis(0.0)
    d = vb.b2(none_affected, p)
    assert d.verdict == "inconclusive" and "no class dropped by 2%" in d.reasons[0]
    assert d.n_seeds is None and all(c.name != "seeds" for c in d.checks)  # no interval: no seed count shown
    a["b2_share"] = t_interval([0.1, 0.15, 0.05, 0.12, 0.08])
    assert vb.b2(a, p).verdict == "not supported"
    # a class hurt significantly but by less than 2 points is nothing for B2 to explain
    small = class_analysis(0.012, noise=0.001)
    assert small["b1"].hurt.any() and small["b1"]["drop"].max() < small["affected_drop"]
    d = vb.b2(small, p)
    assert small["b2"].empty and d.verdict == "inconclusive" and "no class dropped by 2%" in d.reasons[0]


@pytest.mark.parametrize("diffs,label", [([0.1, 0.12, 0.09, 0.11, 0.1], "supported"),
                                         ([-0.1, -0.12, -0.09, -0.11, -0.1], "not supported"),
                                         ([0.1, -0.12, 0.09, -0.11, 0.0], "inconclusive")])
def test_b3_labels(diffs, label):
    a = class_analysis(0.1)
    assert vb.b3(a, (2, 4), t_interval(diffs), class_params()).verdict == label


@pytest.mark.parametrize("gain,avg,label", [([0.05] * 4 + [0.06], [0.0, 0.001, -0.001, 0.0, 0.0005], "supported"),
                                            ([0.05] * 4 + [0.06], [-0.05, -0.06, -0.04, -0.05, -0.05], "not supported"),
                                            ([0.05, -0.05, 0.02, -0.02, 0.0], [0.0, 0.001, -0.001, 0.0, 0.0005],
                                             "inconclusive")])
def test_b4_labels(gain, avg, label):
    info = {"scope": "group", "hurt": [2], "hurt_names": ["pullover"], "policy": {"2": "none"}, "optimum": "0.5",
            "gain": t_interval(gain), "avg_diff": t_interval(avg)}
    d = vb.b4({"group": (None, info), "class": (None, {})}, class_params())
    assert d.verdict == label and (d.seeds_needed is None or label == "inconclusive")
    undecided_average = {**info, "gain": t_interval([0.05] * 4 + [0.06]),
                         "avg_diff": t_interval([0.0, -0.01, 0.004, -0.008, 0.001])}
    d = vb.b4({"group": (None, undecided_average), "class": (None, {})}, class_params())
    assert d.verdict == "inconclusive" and d.seeds_needed > 5  # seeds for the average, the open half
    nothing = vb.b4({"group": (None, {}), "class": (None, {})}, class_params())
    assert nothing.verdict == "inconclusive" and "nothing to fix" in nothing.reasons[0]


def b4_world(gain: float, change: float, avg_change: float = 0.0, seeds=range(10, 20), stored=None) -> dict:
    """A class_level value with B4's group policy for class 2 (partners 0, 4, 6): the conditional
    runs raise class 2 by ``gain`` over the uniform rrc(s*) at the budget and by ``gain + change``
    with twice it (the average by ``avg_change`` more), with a little noise per seed; ``stored``:
    the seeds whose longer runs are stored (default all)."""
    rng = np.random.default_rng(3)
    seeds = list(seeds)

    def run(seed, acc2, avg, **kw):
        pc = np.full(10, 0.9)
        pc[2] = acc2
        return {"seed": seed, "test_per_class": pc.tolist(), "test_acc": avg, **kw}

    noise = {s: rng.normal(0, 0.004) for s in [0, 1, 2, 3, 4, *seeds]}
    cells = [{**run(s, 0.77, 0.88), "strength": "1"} for s in [0, 1, 2, 3, 4, *seeds]]
    cond = [run(s, 0.77 + gain + noise[s], 0.88 + noise[s] / 10) for s in [0, 1, 2, 3, 4, *seeds]]
    conv = [{**run(s, 0.78, 0.885), "strength": "1", "factor": 2} for s in seeds]
    longer = [{**run(s, 0.78 + gain + change + noise[s] + rng.normal(0, 0.004), 0.885 + avg_change), "factor": 2}
              for s in (seeds if stored is None else stored)]
    r = {"cells": cells, "convergence": conv, "choice_seeds": [0, 1, 2, 3, 4],
         "choice": {"optimum": "1", "hurt": {"2": "rrc(0.08)"}},
         "b4": {"group": {"policy": {str(c): "rrc(0.08)" for c in (0, 2, 4, 6)}, "runs": cond}}}
    r["b4_longer"] = {"scope": "group", "runs": longer, "expected": seeds}
    return r


def test_b4_gain_reads_the_hurt_classes_not_their_partners():
    """The group scope's policy covers the hurt class's fine-grained partners; the gain is the hurt
    class's ("recovers *their* accuracy"), the partners' share is in the average's change."""
    r = b4_world(0.03, 0.0)
    t, info = cla_b4_table(r)
    assert info["hurt"] == [2] and info["gain"].estimate == pytest.approx(0.03, abs=0.004)


def cla_b4_table(r):
    from augworth.analysis import class_level as cla

    return cla.b4_table(r, "group")


@pytest.mark.parametrize("change,avg_change,passes", [(0.0, 0.0, True), (0.02, 0.0, True), (-0.03, 0.0, False),
                                                      (0.0, -0.01, False)])
def test_b4_gate_on_its_own_metric(change, avg_change, passes):
    """Registration 10's gate: a "supported" B4 stands if twice the epochs is shown (one-sided) not
    to lower the hurt classes' gain by GAIN_TOL nor the average's change by avg_tolerance; a rise
    passes; a fall by more fails; a run whose longer runs are not all stored fails; the two-sided
    default still reads every strength's accuracy."""
    from augworth.analysis import class_level as cla

    r, p = b4_world(0.03, change, avg_change), class_params(seeds=tuple(range(20)))
    tables = {"group": cla.b4_table(r, "group"), "class": (None, {})}
    conv = cla.b4_convergence(r, "group", r["b4_longer"])
    assert conv["seeds"] == list(range(10, 20)) and conv["hurt"] == [2]
    table = cla.b4_over_budgets(conv, 80, "group")
    assert list(table.columns[:2]) == ["80 epochs", "160 epochs"]
    assert table["change"].iloc[0] == pytest.approx(conv["gain"][2].estimate)
    d = vb.b4(tables, p, {}, vc.TOWARD_BOUNDARY, conv)
    assert d.verdict == ("supported" if passes else "inconclusive")
    assert all("one-sided" in c.detail for c in d.checks if c.passed and c.name == "converged")
    missing = b4_world(0.03, change, avg_change, stored=range(10, 15))
    short = vb.b4(tables, p, {}, vc.TOWARD_BOUNDARY, cla.b4_convergence(missing, "group", missing["b4_longer"]))
    assert short.verdict == "inconclusive" and any("5 of the 10" in c.detail for c in short.checks)
    # a "not supported" resting on the average alone is gated by the average's change alone
    losing = b4_world(0.03, 0.05, 0.0)
    for run in losing["b4"]["group"]["runs"] + losing["b4_longer"]["runs"]:
        run["test_acc"] -= 0.02  # the policy loses 2 points of average, with twice the epochs too
    lt = {"group": cla.b4_table(losing, "group"), "class": (None, {})}
    lost = vb.b4(lt, p, {}, vc.TOWARD_BOUNDARY, cla.b4_convergence(losing, "group", losing["b4_longer"]))
    assert lost.verdict == "not supported"
    assert [c.detail.split(" (")[0] for c in lost.checks if c.name == "converged"] == ["the average's change"]
    none = vb.b4(tables, p, {}, vc.TOWARD_BOUNDARY, None)
    assert none.verdict == "inconclusive"
    assert vb.b4(tables, p, {}).verdict == "supported"  # two-sided default: no accuracy runs to read


# --- saliency (A4) and flatness (C5) -------------------------------------------------------

def saliency_result(effect: float, seeds=SEEDS5, spread=0.02):
    rng = np.random.default_rng(0)
    cells = []
    for s in seeds:
        base = 0.8 + rng.normal(0, 0.05)  # a seed effect shared by both arms
        for aug, rho in (("none", base), ("crop(3)", base - effect + rng.normal(0, spread)), ("crop(1)", base)):
            cells.append({"augment": aug, "seed": s, "over_time": [
                {"epoch": 1, "rho": np.full(8, 9.0), "edge": np.full(8, 9.0)},
                {"epoch": 6, "rho": rho + rng.normal(0, 0.3, 64), "edge": rho / 2 + rng.normal(0, 0.1, 64)}]})
    return {"cells": cells}


@pytest.mark.parametrize("effect,spread,label", [(0.4, 0.02, "supported"), (-0.2, 0.02, "not supported"),
                                                 (0.0, 0.02, "not supported"), (0.1, 0.3, "inconclusive")])
def test_a4_labels(effect, spread, label):
    """A4's margin decides a null: an interval around 0, inside the margin, is not supported."""
    p = SimpleNamespace(augmentations=("none", "crop(1)", "crop(3)"), seeds=SEEDS5)
    d = vs.a4(saliency_result(effect, spread=spread), p)
    assert d.verdict == label and d.n_seeds == 5
    assert vs.strongest_translation(["none", "crop(1)", "crop(3)", "crop(2)+flip"]) == "crop(3)"
    missing = vs.a4(saliency_result(0.2), SimpleNamespace(augmentations=("none", "flip"), seeds=SEEDS5))
    assert missing.verdict == "inconclusive"


def flatness_result(effect: float, seeds=SEEDS5, never: bool = False, spread=0.01):
    """Per seed: the filter-normalised step alpha to either threshold, ~0.5 without augmentation
    and ``effect`` more with crop+flip; stored as the runner stores it (weight-space distances:
    alpha x ||d||, step x k x ||d||)."""
    rng = np.random.default_rng(0)
    cells = []
    for s in seeds:
        base = 0.5 + rng.normal(0, 0.05)
        for aug, dist in (("none", base), ("crop(2)+flip", base + effect + rng.normal(0, spread))):
            flat = []
            for k in range(6):
                a = dist + rng.normal(0, 0.05)
                steps = int(np.ceil(a / 0.1))
                for thr in ("absolute", "relative"):
                    flat.append({"threshold": thr, "refined": a * 10.0, "paper": 0.1 * steps * 10.0, "steps": steps,
                                 "direction": k})
            if never and aug == "none" and s == 0:
                flat[0]["refined"] = float("inf")
            noise = {m: {"trace_cov": v} for m, v in (("fresh", 3.0), ("same-batch", 2.0), ("fixed", 1.0), ("none", 0.5))}
            cells.append({"augment": aug, "seed": s, "flatness": flat, "noise": noise, "top_eig": 10.0 + s,
                          "start_loss": 0.1, "test_acc": 0.9})
    return {"cells": cells}


def flatness_params():
    return SimpleNamespace(augmentations=("none", "crop(2)+flip"), seeds=SEEDS5, bisections=4, step=0.1, epochs=10,
                           convergence_factors=(2,))


@pytest.mark.parametrize("effect,spread,label", [(0.1, 0.01, "supported"), (-0.1, 0.01, "not supported"),
                                                 (0.0, 0.01, "not supported"), (0.03, 0.05, "inconclusive")])
def test_c5_labels(effect, spread, label):
    d = vf.c5(flatness_result(effect, spread=spread), flatness_params())
    assert d.verdict == label, d
    assert d.measured == pytest.approx(effect, abs=0.05)
    assert "same order" in d.summary


def test_c5_gated_by_a_direction_that_never_crosses():
    d = vf.c5(flatness_result(0.1, never=True), flatness_params())
    assert d.verdict == "inconclusive" and "never crossed" in d.reasons[0]


def test_c5_gated_by_convergence_runs_over_seeds():
    """Convergence runs whose effect moved by more than the margin make C5 inconclusive;
    runs that did not move leave it decided."""
    p = flatness_params()
    r = flatness_result(0.1)
    moved = flatness_result(0.3)["cells"]
    r["convergence"] = [{**c, "epochs": 20} for c in moved]
    d = vf.c5(r, p)
    assert d.verdict == "inconclusive" and any("still moving" in x for x in d.reasons), d
    r["convergence"] = [{**c, "epochs": 20} for c in flatness_result(0.1)["cells"]]
    assert vf.c5(r, p).verdict == "supported"


def test_c5_under_a_gate_toward_the_claims_boundary():
    """Registration 3's gate: a "not supported" stands when twice the epochs move the effect away
    from the claim (down), and falls to inconclusive when they raise it by the margin; a
    "supported" is threatened by a fall. The arms' test-accuracy changes are shown, not gating."""
    p = flatness_params()
    gate = vf.TOWARD_BOUNDARY
    r = flatness_result(-0.1)
    r["convergence"] = [{**c, "epochs": 20, "test_acc": 0.93} for c in flatness_result(-0.3)["cells"]]
    assert vf.c5(r, p).verdict == "inconclusive"  # two-sided: it moved by -0.2
    d = vf.c5(r, p, gate)
    assert d.verdict == "not supported", d
    assert [c.name for c in d.checks].count("converged") == 1 and "one-sided" in d.checks[1].detail
    assert "beside, not gating: test accuracy of none: +0.03" in d.summary  # moved 3 points: shown, not gating
    r["convergence"] = [{**c, "epochs": 20} for c in flatness_result(0.1)["cells"]]  # rose by +0.2
    d = vf.c5(r, p, gate)
    assert d.verdict == "inconclusive" and any("toward the boundary" in x for x in d.reasons), d
    up = flatness_result(0.1)  # supported; a rise cannot overturn it, a fall can
    up["convergence"] = [{**c, "epochs": 20} for c in flatness_result(0.3)["cells"]]
    assert vf.c5(up, p, gate).verdict == "supported"
    up["convergence"] = [{**c, "epochs": 20} for c in flatness_result(-0.1)["cells"]]
    assert vf.c5(up, p, gate).verdict == "inconclusive"
    assert vf.decide_all(up, p, gates={"C5": gate})["C5"].verdict == "inconclusive"
    assert vf.decide_all(r, p)["C5"].verdict == "inconclusive"
    with pytest.raises(ValueError, match="two-sided"):
        vf.c5(r, p, "one-sided")


def test_c5_read_budget_by_budget():
    """The page's runs, its convergence runs and a longer-budget pilot's two budgets, each read
    by C5's effect alone: a contrast that moves with training shows as it moves."""
    p = flatness_params()
    page = flatness_result(-0.1)
    page["convergence"] = [{**c, "epochs": 20} for c in flatness_result(-0.05)["cells"]]
    pilot = flatness_result(-0.05, seeds=(5, 6, 7, 8, 9))
    pilot["convergence"] = [{**c, "epochs": 40} for c in flatness_result(0.1, seeds=(5, 6, 7, 8, 9))["cells"]]
    pilot_p = SimpleNamespace(**{**vars(p), "epochs": 20, "seeds": (5, 6, 7, 8, 9)})
    readings = vf.budget_readings(page, p, (pilot, pilot_p))
    assert [(who, e) for who, e, _ in readings] == [("seeds 0-4", 10), ("seeds 0-4", 20), ("seeds 5-9", 20),
                                                    ("seeds 5-9", 40)]
    table = vf.over_budgets(readings, p.step)
    assert list(table["effect alone"]) == ["not supported", "not supported", "not supported", "supported"]
    assert table.alpha.iloc[0] == pytest.approx(-0.1, abs=0.05) and table.alpha.iloc[3] == pytest.approx(0.1, abs=0.05)
    assert list(table.n) == [5, 5, 5, 5] and (table.eig == 0).all()  # same eigenvalues in both arms
    assert len(vf.budget_readings(flatness_result(0.1), p)) == 1  # no convergence runs, no pilot: one reading
    said = vf.across_budgets(table, 0.04)
    assert said.startswith("4 readings of C5 (budgets x seeds, 10-40 epochs)") and "not supported 3, supported 1" in said
    assert "1 of them has an interval above 0" in said and "(seeds 5-9, 40 epochs; margin +0.04)" in said
    assert vf.across_budgets(table.iloc[:0], 0.04) == "no reading of C5 is stored"
    alone = table.assign(alpha_lo=float("nan"), alpha_hi=float("nan"))  # one seed each: no interval
    assert "none with an interval" in vf.across_budgets(alone, 0.04)
    import matplotlib

    matplotlib.use("Agg")
    from augworth.plotting.flatness import over_budgets

    assert len(over_budgets(table, 0.04).axes) == 2
    many = pd.concat([table.assign(seeds=f"seeds {k}") for k in range(9)])  # more seed sets than colours
    assert len(over_budgets(many, 0.04).axes) == 2


# --- sample_complexity: A1-A3 --------------------------------------------------------------

def sc_result(n_median: float, ratio: float = 1.0, seeds=(0, 1, 2, 3, 4), ref_err: float = 0.0, spread=0.1):
    """Per seed and image: Var / (eps^2 E^2) log-normal around ``n_median`` (seed effect and
    image spread), delta-method Var = ratio x the truth."""
    rng = np.random.default_rng(0)
    recs, seed_recs = [], []
    for s in seeds:
        seed_factor = np.exp(rng.normal(0, spread))
        for i in range(12):
            n = n_median * seed_factor * np.exp(rng.normal(0, 0.3))
            e = 0.5
            v = n * (0.01 * e) ** 2
            row = {"augment": "crop(2)+flip", "image": i, "E_L": e, "Var_L": v, "delta_Var_L": ratio * v,
                   "ref_rel_err": ref_err, "N_pred_loss_0.01": n}
            if s == seeds[0]:
                recs.append({**row, "model": "cnn"})
            else:
                seed_recs.append({**row, "seed": s})
    a1 = {"crop(2)+flip": {"exact": True, "max_z_mean": 3.0, "n_mc": 8192}}
    return {"records": recs, "seed_records": seed_recs, "seed": seeds[0], "a1": a1}


SC_P = SimpleNamespace(augmentations=("crop(2)+flip",), n_images=12)


@pytest.mark.parametrize("n,label", [(50_000, "supported"), (1_000, "not supported"), (10_000, "inconclusive")])
def test_a3_labels(n, label):
    d = va.a3(sc_result(n), SC_P)
    assert d.verdict == label and d.n_seeds == 5
    assert d.measured == pytest.approx(n, rel=0.3)


def test_a3_gates():
    d = va.a3(sc_result(50_000, ref_err=0.01), SC_P)
    assert d.verdict == "inconclusive" and "relative error" in d.reasons[0]
    one_seed = va.a3(sc_result(50_000, seeds=(0,)), SC_P)
    assert one_seed.verdict == "inconclusive" and "at least 3" in one_seed.reasons[-1]
    other = va.a3(sc_result(50_000), SimpleNamespace(augmentations=("noise(0.1)",), n_images=12))
    assert other.verdict == "supported"  # the table holds crop(2)+flip anyway
    r = sc_result(50_000)
    for rec in r["records"] + r["seed_records"]:
        rec["augment"] = "noise(0.1)"
    assert va.a3(r, SC_P).verdict == "inconclusive"


@pytest.mark.parametrize("ratio,label", [(1.2, "supported"), (5.0, "not supported")])
def test_a2_labels(ratio, label):
    assert va.a2(sc_result(1000, ratio=ratio), SC_P).verdict == label


def test_a2_reads_every_family_not_their_pooled_median():
    """Two families off by factors 20 and 1/20: a median pooled over both lies between them; A2 is
    not supported and says how many families are inside; both inside the band: supported."""
    def two_families(r_a, r_b):
        r = sc_result(1000, ratio=1.0)
        for k, rec in enumerate(r["records"] + r["seed_records"]):
            if rec["image"] % 2:
                rec["augment"], rec["delta_Var_L"] = "brightness(0.4)", rec["Var_L"] * r_b
            else:
                rec["delta_Var_L"] = rec["Var_L"] * r_a
        return r

    p2 = SimpleNamespace(augmentations=("crop(2)+flip", "brightness(0.4)"), n_images=6)
    r = two_families(20.0, 0.05)
    pooled = np.median([x["delta_Var_L"] / x["Var_L"] for x in r["records"] + r["seed_records"]])
    assert 0.05 < pooled < 20.0
    d = va.a2(r, p2)
    assert d.verdict == "not supported" and "0 of 2 families inside" in d.summary
    assert d.measured == pytest.approx(20.0) or d.measured == pytest.approx(0.05)
    tab = va.a2_table(r)
    assert list(tab.label) == ["not supported", "not supported"]
    assert va.a2(two_families(1.3, 0.8), p2).verdict == "supported"


def test_a2_reads_the_family_a_registration_names():
    """Unnamed, A2 shows the family farthest from 1 (x30 here); a registration that names the
    other (x0.05) gets that family's number, interval and convergence check, the same label; a
    family that was not measured is refused."""
    r = sc_result(1000, ratio=1.0)
    for rec in r["records"] + r["seed_records"]:
        if rec["image"] % 2:
            rec["augment"], rec["delta_Var_L"] = "brightness(0.4)", rec["Var_L"] * 0.05
        else:
            rec["delta_Var_L"] = rec["Var_L"] * 30.0
    r["a1"]["brightness(0.4)"] = r["a1"]["crop(2)+flip"]
    p2 = SimpleNamespace(augmentations=("crop(2)+flip", "brightness(0.4)"), n_images=6)
    assert va.a2(r, p2).measured == pytest.approx(30.0)
    named = va.decide_all(r, p2, shown={"A2": "brightness(0.4)"})["A2"]
    assert named.measured == pytest.approx(0.05) and named.verdict == "not supported"
    assert "shown: brightness(0.4) (named by the registration)" in named.summary
    with pytest.raises(ValueError, match="'rotate\\(10\\)' was not measured"):
        va.a2(r, p2, family="rotate(10)")


def test_a2_inconclusive_when_the_ratio_straddles_a_bound():
    r = sc_result(1000, ratio=2.0, spread=0.0)
    for k, rec in enumerate(r["records"] + r["seed_records"]):
        rec["delta_Var_L"] = rec["Var_L"] * (2.0 * np.exp(0.5 * ((k // 12) % 2 - 0.5)))
    assert va.a2(r, SC_P).verdict == "inconclusive"


@pytest.mark.parametrize("ratio", [5.0, 0.1])
def test_a2_under_the_gate_toward_the_claims_boundary(ratio):
    """A2's gate under a registration: the shown family lies wholly outside [0.5, 2] ("not
    supported"); twice the epochs moving its ratio by a factor 2 (0.3 in log10, three times the
    tolerance) fails the two-sided check either way, and under the gate toward the boundary passes
    a movement away from [0.5, 2] and fails one back toward it. Only A2 may be given the gate."""
    gate = vc.TOWARD_BOUNDARY
    away = 2.0 if ratio > 1 else 0.5

    def moved(factor):
        r = sc_result(1000, ratio=ratio)
        r["epochs"] = 40
        wobble = [1.0, 1.02, 0.98, 1.01, 0.99]
        more = [{**rec, "delta_Var_L": rec["delta_Var_L"] * factor * wobble[rec["seed"]]}
                for rec in r["seed_records"]]
        r["convergence"] = [{"epochs": 80, "records": more}]
        return r

    p = SimpleNamespace(**vars(SC_P), convergence_factors=(2,))
    assert va.a2(moved(away), p).verdict == "inconclusive"  # two-sided: still moving
    passed = va.a2(moved(away), p, gate)
    assert passed.verdict == "not supported" and "one-sided" in passed.checks[0].detail
    toward = va.a2(moved(1 / away), p, gate)
    assert toward.verdict == "inconclusive" and not toward.checks[0].passed
    assert va.decide_all(moved(away), p, {"A2": gate})["A2"].verdict == "not supported"
    with pytest.raises(ValueError, match="only A2"):
        va.decide_all(moved(away), p, {"A3": gate})


def test_a2_over_budgets_reads_the_shown_familys_movement_per_seed_set():
    """The A2 budget figure's table: the shown family's log10 ratio at the budget and at 2x it over
    the seeds with both runs (a factor 2 more is +0.301), one row per set and budget; a set without
    longer runs is left out."""
    r = sc_result(1000, ratio=5.0)
    r["epochs"] = 40
    r["convergence"] = [{"epochs": 80, "records": [{**rec, "delta_Var_L": rec["delta_Var_L"] * 2.0}
                                                   for rec in r["seed_records"]]}]
    p = SimpleNamespace(**vars(SC_P), convergence_factors=(2,))
    bare = sc_result(1000, ratio=5.0)
    t = va.a2_over_budgets([("a", 40, r, p), ("b", 40, bare, p)], "crop(2)+flip", 2)
    assert list(t.seeds) == ["a", "a"] and list(t.epochs) == [40, 80]
    assert t.log10_ratio.iloc[0] == pytest.approx(np.log10(5.0), abs=0.05)
    assert t.log10_ratio.iloc[1] - t.log10_ratio.iloc[0] == pytest.approx(np.log10(2.0))
    assert (t.n_seeds == len({rec["seed"] for rec in r["seed_records"]})).all()


def test_a1_exact_check():
    r = sc_result(1000)
    assert va.a1(r, SC_P).verdict == "supported"
    r["a1"]["crop(2)+flip"]["max_z_mean"] = 12.0
    assert va.a1(r, SC_P).verdict == "not supported"


def test_longer_budget_table_sets_the_verdicts_side_by_side():
    page = {"C3": conclude("C3", "not supported", -0.01, (-0.015, -0.004), "r", "s",
                           checks=[Check("converged", False, "C3 contrast: moved", fix="budget")], n_seeds=8)}
    longer = {"C3": conclude("C3", "inconclusive", 0.001, (-0.004, 0.006), "r", "s", n_seeds=5)}
    t = verdicts.longer_budget_table(page, longer, "600 steps", "1200 steps")
    row = t.iloc[0]
    assert row["600 steps: effect alone"] == "not supported" and row["1200 steps: effect alone"] == "inconclusive"
    assert row["1200 steps: verdict"] == "inconclusive" and "-0.015" in row["600 steps: effect"]
    assert verdicts.longer_budget_table(page, {}, "a", "b").iloc[0]["b: effect"] == "-"


def test_the_result_box_shows_the_first_failed_check_and_counts_the_rest():
    """A verdict gated by three checks shows the first in full and counts the other two; one
    gated by one shows it alone; a decided one shows none."""
    checks = [Check("converged", False, f"check {k} failed") for k in range(3)]
    many = conclude("B1", "supported", 0.1, (0.05, 0.15), "r", "s", checks=checks, n_seeds=5)
    one = conclude("B3", "supported", 0.1, (0.05, 0.15), "r", "s", checks=checks[:1], n_seeds=5)
    fine = conclude("C3", "supported", 0.1, (0.05, 0.15), "r", "s", n_seeds=5)
    box = verdicts.result_box({d.claim: d for d in (many, one, fine)}, profile="smoke", dataset="d").data
    assert box.count("check 0 failed") == 2 and "check 1 failed" not in box and "check 2 failed" not in box
    assert box.count("and 2 more failed checks (Verdicts section)") == 1 and "more failed check " not in box


def b3_convergence_runs(change: float, seeds=(0, 1, 2, 3, 4, 5), k: int = 10) -> dict:
    """An analysis' convergence runs in which the pair (2, 4)'s bias change (none -> mild) moves
    by ``change`` with twice the epochs: class 2 sends 10% of its images to class 4 at mild (the
    budget), 10% + ``change`` with twice it; none sends nothing."""
    noise = [0.002, -0.004, 0.0, 0.004, -0.002, 0.0][:len(seeds)]

    def conf(share):
        cm = np.tile(np.eye(k) * 100, (len(seeds), 1, 1))
        for i, sh in enumerate(np.broadcast_to(share, (len(seeds),))):
            cm[i, 2, 2], cm[i, 2, 4] = 100 * (1 - sh), 100 * sh
        return cm

    mild = (conf(0.1), conf(0.1 + change + np.array(noise)), list(seeds))
    return {"factor": 2, "conf": {"none": (conf(0.0), conf(0.0), list(seeds)), "mild": mild}}


@pytest.mark.parametrize("diffs,label", [([0.1, 0.12, 0.09, 0.11, 0.1], "supported"),
                                         ([-0.1, -0.12, -0.09, -0.11, -0.1], "not supported")])
def test_b3_under_the_gate_toward_the_claims_boundary(diffs, label):
    """Registration 5's gate: B3's own effect still moving by more than its margin (0.02) with
    twice the epochs fails the two-sided check either way; under the gate toward the boundary it
    passes a movement away from the boundary the label could cross (a rise for "supported", a
    fall for "not supported") and fails one toward it."""
    iv, p = t_interval(diffs), class_params()
    away = 0.05 if label == "supported" else -0.05
    a = class_analysis(0.1)
    a["convergence"] = b3_convergence_runs(away)
    assert vb.b3(a, (2, 4), iv, p).verdict == "inconclusive"  # two-sided: still moving
    passed = vb.b3(a, (2, 4), iv, p, vc.TOWARD_BOUNDARY)
    assert passed.verdict == label and "one-sided" in passed.checks[0].detail
    a["convergence"] = b3_convergence_runs(-away)
    toward = vb.b3(a, (2, 4), iv, p, vc.TOWARD_BOUNDARY)
    assert toward.verdict == "inconclusive" and not toward.checks[0].passed
    with pytest.raises(ValueError, match="gate"):
        vb.b3(a, (2, 4), iv, p, "one-sided")


def b1_convergence_runs(change: float, seeds=SEEDS5, k: int = 10) -> dict:
    """Convergence runs in which class 2's drop from none (its own best) to mild (s*) is 0.10 at the
    budget and 0.10 + ``change`` with twice it (a little noise per seed); every other class at 0.9."""
    noise = np.array([0.002, -0.004, 0.0, 0.004, -0.002])[:len(seeds)]

    def conf(acc2):
        cm = np.tile(np.eye(k) * 90, (len(seeds), 1, 1)) + np.tile(np.roll(np.eye(k), 2, 1) * 10, (len(seeds), 1, 1))
        for i, a2 in enumerate(np.broadcast_to(acc2, (len(seeds),))):
            cm[i, 2, 2], cm[i, 2, 4] = 100 * a2, 100 * (1 - a2)
        return cm

    flat = {seed: 0.9 for seed in seeds}  # mean test accuracy: unmoved at both strengths
    return {"factor": 2, "acc": {s: (flat, flat) for s in ("none", "mild")},
            "conf": {"none": (conf(0.9), conf(0.9), list(seeds)),
                     "mild": (conf(0.8), conf(0.8 - change + noise), list(seeds))}}


def test_b1_under_the_gate_toward_the_claims_boundary_reads_its_named_classs_drop():
    """A registration may give B1 the gate toward its boundary and name its class in advance: the
    gate reads that class's drop (own best minus s*) at the budget and with twice it. A drop that
    grows by 5 points passes ("supported" is threatened by a fall), one that shrinks by 5 fails;
    without the gate B1 reads every strength's test accuracy as before. A class that is not in
    the data is refused (this analysis names its classes 0-9)."""
    p = class_params()
    a = class_analysis(0.10)
    a["convergence"] = b1_convergence_runs(0.05)
    gate = vc.TOWARD_BOUNDARY
    passed = vb.b1(a, p, gate, "2")
    assert passed.verdict == "supported" and passed.measured == pytest.approx(a["b1"].set_index("name").loc["2", "drop"])
    (conv,) = [c for c in passed.checks if c.name == "converged"]
    assert conv.passed and "2's drop" in conv.detail and "one-sided" in conv.detail
    assert "drop of the class named by the registration" in passed.summary
    a["convergence"] = b1_convergence_runs(-0.05)
    toward = vb.b1(a, p, gate, "2")
    assert toward.verdict == "inconclusive" and "2's drop" in toward.reasons[0]
    assert any("test accuracy at" in c.detail for c in vb.b1(a, p).checks)  # two-sided: every strength
    no_b4 = {scope: (None, {}) for scope in ("group", "class")}  # no class hurt on validation
    other = vb.decide_all(a, (2, 4), t_interval([0.1] * 5), no_b4, p, shown={"B1": "1"})["B1"]
    assert other.measured == pytest.approx(a["b1"].set_index("name").loc["1", "drop"])
    with pytest.raises(ValueError, match="'Dress shoe' is not one of"):
        vb.b1(a, p, gate, "Dress shoe")


def test_b3_over_budgets_reads_the_seeds_with_both_runs():
    """The figure under registration 5: per set of seeds, B3's effect at the budget and with twice
    it over the seeds with both runs; a set without convergence runs gives no row."""
    from augworth.analysis import class_level as cl

    a = {"convergence": b3_convergence_runs(0.05)}
    t = cl.b3_over_budgets([("reg", 80, a, (2, 4)), ("none", 80, {"convergence": {}}, (2, 4))])
    assert list(t.seeds) == ["reg", "reg"] and list(t.epochs) == [80, 160] and set(t.n_seeds) == {6}
    assert t.effect.iloc[0] == pytest.approx(0.1) and t.effect.iloc[1] == pytest.approx(0.15)
    assert t.lo.iloc[1] < 0.15 < t.hi.iloc[1]
    flipped = cl.b3_over_budgets([("reg", 80, a, (4, 2))])  # the other orientation: the sign turns
    assert flipped.effect.iloc[0] == pytest.approx(-0.1)


@pytest.mark.parametrize("diffs,label", [([-0.03, -0.02, -0.04, -0.03, -0.025], "not supported"),
                                         ([0.03, 0.02, 0.04, 0.03, 0.025], "supported")])
def test_c3_c4_under_the_gate_toward_the_claims_boundary(diffs, label):
    """Registration 4's gate: a contrast still moving by more than its margin with twice the
    steps fails the two-sided check either way; under the gate toward the boundary it passes when
    the movement is away from the boundary the label could cross (a fall for "not supported", a
    rise for "supported") and fails when it is toward it."""
    p = exchange_params(fixed_augment="crop(2)+flip", fixed_sizes=(125,), convergence_factor=2)
    iv = t_interval(diffs)
    fixed = pd.DataFrame({"augment": ["fixed k=16", "fresh"], "err": [0.3, 0.29]})
    before = {s: 0.0 for s in range(6)}
    noise = [0.001, -0.002, 0.0, 0.002, -0.001, 0.0]

    def analysis(change):
        after = {s: change + e for s, e in zip(before, noise)}
        return {"c3": iv, "c3_both": None, "inv_sizes": [60, 250], "c4": iv, "k_max": 16, "w_fixed": fixed,
                "conv_pairs": {"C3": (before, after), "C4": (before, after)}}

    away = -0.02 if label == "not supported" else 0.02
    for claim in (vc.c3, vc.c4):
        assert claim(analysis(away), p).verdict == "inconclusive"  # two-sided: still moving
        assert claim(analysis(away), p, vc.TOWARD_BOUNDARY).verdict == label
        toward = claim(analysis(-away), p, vc.TOWARD_BOUNDARY)
        assert toward.verdict == "inconclusive" and any(c.name == "converged" and not c.passed for c in toward.checks)
        with pytest.raises(ValueError, match="gate"):
            claim(analysis(away), p, "one-sided")


def test_contrasts_over_budgets_reads_the_seeds_with_both_runs():
    """The figure under registration 4: per set of seeds and claim, the contrast at the budget and
    with twice it over the seeds that have both (a seed without its longer run is left out), and
    nothing for a set without convergence pairs."""
    from augworth.analysis import exchange_rate as er

    p = SimpleNamespace(steps=600, convergence_factor=2)
    before, after = {1: 0.01, 2: 0.02, 3: 0.03, 4: 0.5}, {1: 0.0, 2: -0.01, 3: 0.01}
    a = {"conv_pairs": {"C3": (before, after), "err none": (before, after)}}
    t = er.contrasts_over_budgets([("one", p, a), ("none", p, {"conv_pairs": {}})])
    assert list(t.claim) == ["C3", "C3"] and list(t.steps) == [600, 1200] and set(t.seeds) == {"one"}
    assert t.contrast.tolist() == pytest.approx([0.02, 0.0]) and (t.n_seeds == 3).all()
    assert (t.lo < t.contrast).all() and (t.contrast < t.hi).all()
