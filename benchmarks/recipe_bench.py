"""Steps to convergence of the training recipe, today's and with each lever (issue: converge in
fewer steps). A model has converged at a step budget S when doubling the budget changes its test
accuracy by less than TOLERANCE: the paired change acc(2S) - acc(S) over seeds, with its t
interval. Every model is a cached training cell (resumable: rerun to continue; AUGWORTH_CACHE),
trained on one thread like every cell; AUGWORTH_EXECUTOR=process AUGWORTH_WORKERS=2 trains two at
once.

    python benchmarks/recipe_bench.py            # today's, the new and the fast recipe (trains what is missing)
    python benchmarks/recipe_bench.py --all      # every recipe: the table in benchmarks/results
    python benchmarks/recipe_bench.py --dry-run  # what it would train, and its cost here
    python benchmarks/recipe_bench.py --contrast # does a recipe move a chapter's key contrast?

The key-contrast check trains TrivialAugment and no augmentation at n = 250 (the exchange_rate
chapter's contrast at registration 11's budget of 1,200 steps of 64 images) on 16 seeds, with
today's recipe, the fast recipe and each of its levers alone: the contrast's change from today's
is paired by seed.

The levers (TrainConfig fields): linear decay to zero instead of cosine, identity (Dirac)
initialisation of the convolutions, BatchNorm biases at 64x the learning rate with scales fixed
at 1, a frozen 2x2 patch-whitening first layer (airbench's), and all of them together. Levers
that change what the chapters measure (label smoothing, weight averaging, test-time
augmentation, alternating flips) are left out.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd

from augworth import speed
from augworth.config import TrainCell
from augworth.experiments.cells import make_cell
from augworth.experiments.sweep import run_sweep
from augworth.experiments.training import train_cell
from augworth.metrics.convergence import doublings, steps_to_converge
from augworth.metrics.stats import t_interval

TOLERANCE = 0.005                      # accuracy (0-1): half a point
LADDER = (150, 300, 600, 1200, 2400)   # step budgets; convergence is read at every one but the last
SIZES = (250, 2000)                    # training images (class balanced), as the chapters train
SEEDS = (0, 1, 2)
AUGMENT = "crop(2)+flip"               # the chapters' common augmentation (slower to converge than none)
BASE = {"dataset": "fashion_mnist", "width": 8, "batch_size": 128, "val_size": 5000, "evaluate_val": False,
        "device": "cpu"}
NEW_RECIPE, FAST_RECIPE = speed.NEW_RECIPE, speed.FAST_RECIPE  # see augworth.speed; the default of no chapter
RECIPES = {                            # in the order they are trained (the table fills in this order)
    "today (cosine)": {},
    "all levers": {"decay": "linear", "dirac_init": True, "bn_bias_lr": 64.0, "bn_scale": "fixed", "stem": "whiten"},
    "linear decay": {"decay": "linear"},
    "Dirac init": {"dirac_init": True},
    "BN biases 64x, scales fixed": {"bn_bias_lr": 64.0, "bn_scale": "fixed"},
    "whitening stem": {"stem": "whiten"},
    "lr 0.2": {"lr": 0.2},
    "lr 0.4": {"lr": 0.4},
    "batch 64": {"batch_size": 64},
    "batch 256, lr 0.2": {"batch_size": 256, "lr": 0.2},
    "batch 512, lr 0.4": {"batch_size": 512, "lr": 0.4},
    "weight decay 2e-3": {"weight_decay": 2e-3},
    "fast: whitening, Dirac, lr 0.2": FAST_RECIPE,
}
#: What ``make bench`` trains by default: today's, the new and the fast recipe
BENCHED = ("today (cosine)", "lr 0.2", "fast: whitening, Dirac, lr 0.2")
assert RECIPES["lr 0.2"] == NEW_RECIPE


def cells(recipes=RECIPES, sizes=SIZES, seeds=SEEDS, ladder=LADDER) -> list[tuple[str, int, int, int, TrainCell]]:
    return [(name, n, steps, seed, make_cell(TrainCell, None, **{**BASE, **fields}, n_train=n, steps=steps, seed=seed,
                                             augment=AUGMENT))
            for name, fields in recipes.items() for n in sizes for seed in seeds for steps in ladder]


def convergence_table(rows: pd.DataFrame, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Per recipe and size: test accuracy at each budget (mean over seeds), the paired change
    from S to 2S with its t interval (points), and the steps to convergence
    (:func:`augworth.metrics.convergence.steps_to_converge`)."""
    out = []
    for (recipe, n), g in rows.groupby(["recipe", "n"], sort=False):
        by_budget = {int(s): dict(zip(b.seed, b.test_acc)) for s, b in g.groupby("steps")}
        row = {"recipe": recipe, "n": n, **{f"acc@{s}": float(np.mean(list(v.values()))) for s, v in by_budget.items()}}
        for d in doublings(by_budget):
            iv = d.change
            row[f"d{d.steps}"] = f"{100 * iv.estimate:+.2f} [{100 * iv.lo:+.2f}, {100 * iv.hi:+.2f}]"
        s = steps_to_converge(by_budget, tolerance)
        row["steps to converge"] = s if s is not None else f">{max(by_budget) // 2}"
        row["images to converge"] = s * int(g.batch.iloc[0]) if s is not None else None  # the cost: steps x batch
        out.append(row)
    return pd.DataFrame(out)


def train(todo):
    """Train what of ``cells(...)`` is not cached yet: (one row per model, the sweep's result)."""
    res = run_sweep(train_cell, [c for *_, c in todo], name="recipe_bench")
    rows = pd.DataFrame([{"recipe": r, "n": n, "steps": s, "seed": seed, "batch": c.batch_size, "test_acc": v["test_acc"]}
                         for (r, n, s, seed, c), v in zip(todo, res.results)])
    return rows, res


def train_and_tabulate(recipes=RECIPES, sizes=SIZES) -> pd.DataFrame:
    """Train what is not cached yet and return the convergence table."""
    return convergence_table(train(cells(recipes, sizes))[0])


def steps_to_convergence_rows() -> pd.DataFrame:
    """Today's recipe beside the new one (`make bench`): the convergence table's key columns."""
    table = train_and_tabulate({"today": RECIPES["today (cosine)"], "new (lr 0.2)": NEW_RECIPE, "fast": FAST_RECIPE})
    keep = ["recipe", "n", *[c for c in table.columns if c.startswith("d")], "steps to converge"]
    return table[keep]


#: The key contrast a recipe must not move (the exchange_rate chapter's: TrivialAugment against
#: no augmentation at n = 250, registration 11's converged budget of 1,200 steps of 64 images)
CONTRAST = {"n_train": 250, "batch_size": 64, "augments": ("none", "trivialaugment"), "seeds": tuple(range(16)),
            "today": 1200, "fast": (600, 1200)}


def contrast_cells():
    c = CONTRAST
    runs = ([("today", {}, c["today"])] + [("fast", FAST_RECIPE, s) for s in c["fast"]]
            + [(f"{k}={v} alone", {k: v}, c["today"]) for k, v in FAST_RECIPE.items()])  # which lever moves it
    return [(name, steps, aug, seed, make_cell(TrainCell, None, **{**BASE, "batch_size": c["batch_size"], **fields},
                                                  n_train=c["n_train"], steps=steps, seed=seed, augment=aug))
            for name, fields, steps in runs for aug in c["augments"] for seed in c["seeds"]]


def contrast_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per recipe and budget: test error of each policy (mean over seeds) and the contrast
    error(none) - error(TrivialAugment) with its 95% t interval over seeds; then the paired
    difference of the contrast from today's, and whether the new value lies within today's interval."""
    none, strong = CONTRAST["augments"]
    per = rows.pivot_table(index=["recipe", "steps", "seed"], columns="augment", values="test_err").reset_index()
    per["contrast"] = per[none] - per[strong]
    today = per[per.recipe == "today"].set_index("seed")["contrast"]
    ref = t_interval(today.to_numpy())
    out = []
    for (recipe, steps), g in per.groupby(["recipe", "steps"], sort=False):
        iv = t_interval(g.contrast.to_numpy())
        d = t_interval((g.set_index("seed")["contrast"] - today).dropna().to_numpy())
        out.append({"recipe": recipe, "steps": steps, f"err {none}": g[none].mean(), f"err {strong}": g[strong].mean(),
                    "contrast [95% CI]": f"{iv.estimate:+.4f} [{iv.lo:+.4f}, {iv.hi:+.4f}]",
                    "minus today's [95% CI]": "" if recipe == "today" else f"{d.estimate:+.4f} [{d.lo:+.4f}, {d.hi:+.4f}]",
                    "within today's CI": bool(ref.lo <= iv.estimate <= ref.hi)})
    return pd.DataFrame(out)


def key_contrast() -> pd.DataFrame:
    """Train what is missing of the key-contrast check and return its table."""
    todo = contrast_cells()
    res = run_sweep(train_cell, [c for *_, c in todo], name="recipe_bench")
    rows = pd.DataFrame([{"recipe": r, "steps": s, "augment": a, "seed": seed, "test_err": 1.0 - v["test_acc"]}
                         for (r, s, a, seed, _), v in zip(todo, res.results)])
    return contrast_table(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true")
    ap.add_argument("--recipes", nargs="*", help="a subset of the recipes, by name (default: today's, the new "
                    "and the fast recipe: what make bench compares)")
    ap.add_argument("--all", action="store_true", help="every recipe (the full table: 390 models, about 2 hours "
                    "on two cores with an empty cache)")
    ap.add_argument("--contrast", action="store_true", help="the key-contrast check instead of the table")
    args = ap.parse_args()
    if args.contrast:
        print(f"{len(contrast_cells())} models (key contrast)", file=sys.stderr)
        if not args.dry_run:
            with pd.option_context("display.width", 250, "display.max_columns", 30):
                print(key_contrast().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        return
    names = args.recipes or (list(RECIPES) if args.all else list(BENCHED))
    unknown = sorted(set(names) - set(RECIPES))
    if unknown:
        ap.error(f"--recipes {unknown}: not a recipe; known are {list(RECIPES)}")
    chosen = {k: RECIPES[k] for k in names}
    todo = cells(chosen)
    steps = sum(t for _, _, t, _, _ in todo)
    units = sum(t * c.batch_size / 128 for _, _, t, _, c in todo)  # a step of 256 images costs two of 128
    from augworth import runtime

    ms = runtime.reference_step_ms()
    # a width-8, batch-128 step is about twice the reference step (width 8, batch 64)
    print(f"{len(todo)} models, {steps:,} steps: about {units * 2 * ms / 1e3 / 60:.0f} min on one core here "
          f"(reference step {ms:.1f} ms)", file=sys.stderr)
    if args.dry_run:
        return
    start = time.perf_counter()
    rows, res = train(todo)
    table = convergence_table(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"({res.computed} models trained in {time.perf_counter() - start:.0f} s, {res.cached} cached)",
          file=sys.stderr)
    np.seterr(all="ignore")


if __name__ == "__main__":
    main()
