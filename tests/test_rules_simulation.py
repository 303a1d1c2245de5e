"""Simulations that keep #29's rules honest: the convergence check over seeds, the equivalence
margin (two one-sided tests) and selection kept apart from testing (B1, B3), each with a
planted effect and a null."""

from __future__ import annotations

import numpy as np
from augworth.analysis import class_level as cl
from augworth.metrics.stats import t_interval
from augworth.verdicts.rules import convergence_check, decide

SIMS = 2000


def _pass_rate(true_change: float, sd: float, n: int, tol: float, sims: int = SIMS, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    base = {s: 0.8 for s in range(n)}
    hits = 0
    for _ in range(sims):
        after = {s: 0.8 + true_change + sd * rng.standard_normal() for s in range(n)}
        hits += convergence_check(base, after, tol, "accuracy").passed
    return hits / sims


def test_convergence_check_fails_a_planted_non_convergence_and_passes_a_converged_world():
    tol, sd, n = 0.005, 0.003, 6
    assert _pass_rate(0.015, sd, n, tol) == 0.0                 # still improving by 1.5 points
    assert _pass_rate(0.0, sd, n, tol) >= 0.9                   # converged: passes (power)
    # at the tolerance itself a budget passes at most at the nominal 5% (two one-sided tests)
    assert _pass_rate(tol, sd, n, tol) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / SIMS)
    assert _pass_rate(-tol, sd, n, tol, seed=1) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / SIMS)


def _one_sided_pass_rate(true_change: float, sd: float, n: int, tol: float, side: str, sims: int = SIMS,
                         seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    base = {s: 0.0 for s in range(n)}
    return sum(convergence_check(base, {s: true_change + sd * rng.standard_normal() for s in range(n)}, tol, "alpha",
                                 side=side).passed for _ in range(sims)) / sims


def test_a_one_sided_gate_fails_a_planted_rise_and_passes_a_fall_or_a_converged_world():
    """The gate toward a verdict's boundary ("up": shown not to rise by the tolerance): a budget
    that still raises the metric by the tolerance passes at most at the nominal 5%; one that
    lowers it (away from the boundary) or leaves it passes; "down" mirrors it."""
    tol, sd, n = 0.04, 0.05, 12
    bound = 0.05 + 3 * np.sqrt(0.05 * 0.95 / SIMS)
    assert _one_sided_pass_rate(tol, sd, n, tol, "up") <= bound
    assert _one_sided_pass_rate(-tol, sd, n, tol, "down", seed=1) <= bound
    assert _one_sided_pass_rate(3 * tol, sd, n, tol, "up") == 0.0
    assert _one_sided_pass_rate(-0.04, sd, n, tol, "up") >= 0.99   # moving away from the boundary
    assert _one_sided_pass_rate(0.0, sd, n, tol, "up") >= 0.8      # converged: passes (power)
    assert _one_sided_pass_rate(0.0, sd, n, tol, "two-sided") < _one_sided_pass_rate(0.0, sd, n, tol, "up")
    base = {s: 0.0 for s in range(4)}
    rising = convergence_check(base, {s: 0.1 + 0.001 * s for s in range(4)}, tol, "alpha", side="up")
    assert not rising.passed and rising.fix == "budget" and "toward the boundary" in rising.detail
    wide = convergence_check(base, {s: 0.01 + (0.08 if s % 2 else -0.08) for s in range(4)}, tol, "alpha", side="up")
    assert not wide.passed and wide.fix == "seeds" and wide.seeds > 4
    import pytest

    with pytest.raises(ValueError, match="two-sided, up, down"):
        convergence_check(base, base, tol, "alpha", side="sideways")


def test_convergence_check_says_why_it_fails():
    base = {s: 0.8 for s in range(4)}
    moving = convergence_check(base, {s: 0.82 + 0.001 * s for s in range(4)}, 0.005, "acc")
    assert not moving.passed and "still moving" in moving.detail
    wide = convergence_check(base, {s: 0.8 + (0.02 if s % 2 else -0.02) for s in range(4)}, 0.005, "acc")
    assert not wide.passed and "not shown" in wide.detail
    few = convergence_check(base, {0: 0.8}, 0.005, "acc")
    assert not few.passed and "needs at least 2" in few.detail


def _labels(effect: float, sd: float, n: int, margin: float, sims: int = SIMS, seed: int = 0) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    out = {"supported": 0, "not supported": 0, "inconclusive": 0}
    for _ in range(sims):
        iv = t_interval(effect + sd * rng.standard_normal(n))
        out[decide(iv.estimate, (iv.lo, iv.hi), 0.0, ">=", margin)] += 1
    return {k: v / sims for k, v in out.items()}


def test_equivalence_margin_decides_a_null_and_keeps_both_errors_at_nominal():
    margin, sd, n = 0.02, 0.01, 10
    null = _labels(0.0, sd, n, margin)
    assert null["supported"] <= 0.025 + 0.01   # one-sided 2.5% at the threshold
    assert null["not supported"] >= 0.9        # "no effect" is decided
    at_margin = _labels(margin, sd, n, margin)  # an effect as large as the margin matters:
    assert at_margin["not supported"] <= 0.025 + 0.01   # rarely called negligible
    planted = _labels(3 * margin, sd, n, margin)
    assert planted["supported"] >= 0.99
    without = _labels(0.0, sd, n, 0.0)          # the old rule: a null is never decided
    assert without["not supported"] <= 0.035


# --- selection apart from testing ------------------------------------------------------------

def _null_class_world(rng, seeds: int, strengths=("none", "0.08", "0.25", "0.5", "1"), k: int = 10, model_sd=0.01,
                      split_sd=0.01):
    """No class-specific effect: every class has the same accuracy at every strength. A seed's
    model deviates per class (shared by its validation and test splits); each split adds its own
    sampling noise."""
    val, test = {}, {}
    for s in strengths:
        model = 0.85 + model_sd * rng.standard_normal((seeds, k))
        val[s] = model + split_sd * rng.standard_normal((seeds, k))
        test[s] = model + split_sd * rng.standard_normal((seeds, k))
    return val, test


def _b1_false_positive_rate(held_out: bool, sims: int = 1000, seeds: int = 10) -> float:
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(sims):
        val, test = _null_class_world(rng, seeds)
        if held_out:  # choose on half the seeds' validation split, test on the other half's test split
            choice = {s: v[: seeds // 2] for s, v in val.items()}
            tested = {s: t[seeds // 2 :] for s, t in test.items()}
        else:         # the old rule: choose and test on the same test accuracies
            choice, tested = test, test
        hits += any(row["hurt"] for row in cl.held_out_drops(tested, choice, alpha=0.05)["classes"])
    return hits / sims


def test_b1_held_out_selection_keeps_the_false_positive_rate_at_nominal():
    nominal = 0.05
    rate = _b1_false_positive_rate(held_out=True)
    assert rate <= nominal + 0.01, rate
    assert _b1_false_positive_rate(held_out=False) > nominal + 0.02   # choosing on the test inflates it


def _b3_false_positive_rate(held_out: bool, sims: int = 600, seeds: int = 10, k: int = 6) -> float:
    """No class moves its errors toward a partner: every off-diagonal confusion share is the same
    in truth at every strength; a seed's model perturbs them (shared by both splits)."""
    rng = np.random.default_rng(11)
    hits = 0
    strengths = ["none", "1"]
    for _ in range(sims):
        cells = []
        for s in strengths:
            for seed in range(seeds):
                model = 0.02 + 0.004 * rng.standard_normal((k, k))
                conf = {}
                for split in ("val", "test"):
                    share = np.clip(model + 0.004 * rng.standard_normal((k, k)), 0.0, None)
                    np.fill_diagonal(share, 0.0)
                    cm = 1000 * share
                    np.fill_diagonal(cm, 1000 * (1 - share.sum(1)))
                    conf[split] = cm
                cells.append({"strength": s, "seed": seed, "val_confusion": conf["val"], "test_confusion": conf["test"]})
        r = {"strengths": strengths, "cells": cells, "choice": {"hurt": {}},
             "choice_seeds": list(range(seeds // 2)) if held_out else list(range(seeds))}
        a_, b_ = cl.b3_pair(r)
        test_seeds = cl.split_seeds(r)[1]
        conf = {s: np.stack([c["test_confusion"] for c in cells if c["strength"] == s and c["seed"] in test_seeds])
                for s in strengths}
        iv = cl.b3_effect(conf, a_, b_)
        hits += iv.lo > 0
    return hits / sims


def test_b3_held_out_selection_keeps_the_false_positive_rate_at_nominal():
    nominal = 0.025  # one-sided: the 95% interval's lower end above 0
    rate = _b3_false_positive_rate(held_out=True)
    assert rate <= nominal + 0.01, rate
    # the pair chosen and oriented on the same models' validation split: their noise is shared
    assert _b3_false_positive_rate(held_out=False) > nominal + 0.05


def test_convergence_check_says_what_would_pass_it_and_its_seeds_deliver():
    """A failed check names its fix: a change of the tolerance or more needs a longer budget; one
    inside it, not yet shown, gets the seeds a power calculation asks for -- and with that many
    seeds the check passes at that change about 80% of the time."""
    base = {s: 0.8 for s in range(4)}
    moving = convergence_check(base, {s: 0.82 + 0.001 * s for s in range(4)}, 0.005, "acc")
    assert moving.fix == "budget" and moving.seeds is None
    rng = np.random.default_rng(3)
    small = convergence_check(base, {s: 0.8 + 0.001 + 0.004 * rng.standard_normal() for s in range(4)}, 0.005, "acc")
    assert not small.passed and small.fix == "seeds" and small.seeds > 4
    true_change, sd, tol = 0.001, 0.004, 0.005
    n = convergence_check({s: 0.0 for s in range(50)}, {s: true_change + sd * z for s, z in
                                                         enumerate(np.random.default_rng(0).standard_normal(50))},
                          tol, "acc")
    assert n.passed  # 50 seeds show it
    from augworth.metrics.stats import seeds_needed
    from augworth.verdicts.rules import CONVERGENCE_LEVEL

    k = seeds_needed(true_change, sd, tol, level=CONVERGENCE_LEVEL)
    assert 0.7 <= _pass_rate(true_change, sd, k, tol) <= 0.95


def test_a_significant_change_inside_the_tolerance_may_take_seeds_or_a_longer_budget():
    base = {s: 0.8 for s in range(5)}
    small = convergence_check(base, {s: 0.8042 + 0.0008 * (s - 2) for s in range(5)}, 0.005, "acc")
    assert not small.passed and small.fix == "seeds or budget" and small.seeds >= 5
    assert "still moving, inside the tolerance" in small.detail
