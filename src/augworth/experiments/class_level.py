"""Runner of the `class_level` chapter (paper B, B1-B4).

Stage 1 sweeps the random-resized-crop minimum scale s (and no augmentation) x seeds through the
sweep runner (each cell cached on its own, so an interrupted run resumes). Stage 2 (B4) picks,
on the VALIDATION split only, the average-optimal strength s* and the classes whose validation
accuracy at s* is at least ``min_drop`` below their own best, significantly over seeds (Holm);
it then trains, for the same seeds,
class-conditional policies with rrc(s*) for every other class, in two scopes: ``class`` (each
hurt class gets its own best strength, or none) and ``group`` (the hurt classes and their
fine-grained partners share one policy, see :func:`group_policy`). Test numbers are never used to choose anything in stage 2.

:func:`augworth.analysis.class_level.analyse` turns the cached results into the chapter's tables (B1 drops with Holm-corrected
paired tests, B2 group-forgiven drops, B3 confusion flows, B4 comparison).
"""

from __future__ import annotations

import numpy as np

from ..config import ClassLevelParams, TrainCell
from ..data.labels import group_of
from ..metrics import classwise
from .cells import convergence_cells, make_cell
from .registry import runner
from .sweep import run_sweep
from .training import train_cell


def spec_of(strength: str) -> str:
    """'none' or a scale written as text ('0.08') -> the augmentation spec."""
    return "none" if strength == "none" else f"rrc({strength})"


def strengths(p: ClassLevelParams) -> list[str]:
    """Strength labels from the weakest to the strongest augmentation: none, 1.0, ..., 0.08."""
    out = ["none"] if p.include_none else []
    return out + [f"{s:g}" for s in sorted(p.scales, reverse=True)]


def stage1_cells(p: ClassLevelParams) -> list[tuple[str, TrainCell]]:
    """Stage 1: (strength, cell) for every strength (weakest first) and seed."""
    return [(s, make_cell(TrainCell, p, augment=spec_of(s), seed=seed)) for s in strengths(p) for seed in p.seeds]


def b4_cells(p: ClassLevelParams, uniform: str, conditional: list[str]) -> list[TrainCell]:
    """Stage 2 (B4): the uniform policy with a class-conditional one, for every seed."""
    return [make_cell(TrainCell, p, augment=uniform, class_augment=conditional, seed=s) for s in p.seeds]


def stage1_and_convergence(p: ClassLevelParams) -> list[tuple[str, int, TrainCell]]:
    """(strength, budget factor, cell): stage 1 (factor 1), then its convergence runs."""
    stage1 = stage1_cells(p)
    return [(s, 1, c) for s, c in stage1] + [(stage1[i][0], k, c)
                                             for k, i, c in convergence_cells(p, [c for _, c in stage1])]


def cells(p: ClassLevelParams) -> list[TrainCell]:
    """Every model the runner may train: stage 1 and its convergence runs, and stage 2 at its
    upper bound (every scope fixes a class; which classes, stage 1 decides)."""
    return [c for _, _, c in stage1_and_convergence(p)] + [c for _ in B4_SCOPES for c in b4_cells(p, "none", [])]


def stack(rows, key: str, labels: list[str], seeds) -> dict[str, np.ndarray]:
    """{strength: array (seeds, ...)} of ``key`` from stage-1 rows (each with strength and seed)."""
    by = {(r["strength"], r["seed"]): r[key] for r in rows}
    return {s: np.stack([np.asarray(by[(s, seed)], dtype=float) for seed in seeds]) for s in labels}


def choose_on_validation(val_acc: dict[str, np.ndarray], min_drop: float, conditional: str,
                         alpha: float = 0.05) -> dict:
    """s* (best mean validation accuracy) and the classes hurt there, each with the policy it
    gets: a class is hurt when its validation drop from its own best strength is at least
    ``min_drop`` AND significant (one-sided paired t over seeds, Holm-corrected over the classes:
    :func:`augworth.metrics.classwise.class_drops` on the validation split). A drop seen on one
    noisy validation mean alone does not choose a class, so the choice replicates."""
    drops = classwise.class_drops(val_acc, alpha=alpha)
    hurt = {}
    for row in drops["classes"]:
        if row["hurt"] and row["drop"] >= min_drop:
            hurt[row["class"]] = spec_of(row["best_strength"]) if conditional == "own-best" else "none"
    return {"optimum": drops["optimum"], "hurt": hurt}


def group_policy(val_acc: dict[str, np.ndarray], choice: dict, dataset: str, conditional: str) -> dict[int, str]:
    """The 'group' scope of B4: the hurt classes and every class in their fine-grained groups
    share ONE policy, the strength with the best mean validation accuracy over those classes (or
    none). Giving confusable classes different augmentations lets the model read the
    augmentation as a label cue; one policy per group avoids that."""
    if not choice["hurt"]:
        return {}
    members = sorted({m for c in choice["hurt"] for m in group_of(dataset, c)})
    labels = list(val_acc)
    score = [float(val_acc[s].mean(0)[members].mean()) for s in labels]
    spec = spec_of(labels[int(np.argmax(score))]) if conditional == "own-best" else "none"
    return {c: spec for c in members}


B4_SCOPES = ("group", "class")


@runner("class_level", version=2, params=ClassLevelParams)
def class_level(p: ClassLevelParams, device) -> dict:
    labels = strengths(p)
    first = stage1_and_convergence(p)
    res = run_sweep(train_cell, [c for _, _, c in first], name="train_cell")
    compute = res.compute_s
    stage1 = [(s, c) for s, k, c in first if k == 1]
    results = res.results[:len(stage1)]
    val_acc = stack([{"strength": s, "seed": c.seed, **r} for (s, c), r in zip(stage1, results)],
                    "val_per_class", labels, p.choice_seeds or p.seeds)
    choice = choose_on_validation(val_acc, p.min_drop, p.conditional, p.alpha)
    uniform = spec_of(choice["optimum"])
    policies = {"class": choice["hurt"], "group": group_policy(val_acc, choice, p.dataset, p.conditional)}
    conditional = {}
    for scope in B4_SCOPES:
        cond = [f"{c}={spec}" for c, spec in sorted(policies[scope].items()) if spec != uniform]
        if cond:  # else no hurt class, or its policy is the uniform one: nothing to fix
            conditional[scope] = cond
    # every scope's cells in ONE sweep: two sweeps of 7 cells on 2 workers idle one worker twice
    todo = [c for cond in conditional.values() for c in b4_cells(p, uniform, cond)]
    sweep = run_sweep(train_cell, todo, name="train_cell") if todo else None
    compute += sweep.compute_s if sweep else 0.0
    b4 = {}
    for i, scope in enumerate(conditional):
        b4[scope] = {"policy": {str(c): spec for c, spec in policies[scope].items() if spec != uniform},
                     "runs": sweep.results[i * len(p.seeds) : (i + 1) * len(p.seeds)]}
    keep = ("val_acc", "test_acc", "val_per_class", "test_per_class", "val_confusion", "test_confusion",
            "train_seconds")
    return {"strengths": labels, "compute_s": compute,
            "cells": [{"strength": s, "seed": c.seed, **{k: r[k] for k in keep}}
                      for (s, c), r in zip(stage1, results)],
            "convergence": [{"strength": s, "seed": c.seed, "factor": k, "epochs": c.epochs,
                             **{key: r[key] for key in keep}}
                            for (s, k, c), r in zip(first, res.results) if k > 1],
            "choice_seeds": list(p.choice_seeds or p.seeds),
            "choice": {"optimum": choice["optimum"], "hurt": {str(k): v for k, v in choice["hurt"].items()}},
            "b4": {scope: {"policy": v["policy"], "runs": [{"seed": s, **{k: r[k] for k in keep}}
                                                            for s, r in zip(p.seeds, v["runs"])]}
                   for scope, v in b4.items()}}
