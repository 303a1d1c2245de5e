"""A cheaper, quieter convergence check? (issues #27 and #29: the 2x-budget run.) Today every
convergence run trains from scratch with twice the budget, so the paired change of test accuracy
from S to 2S steps carries two whole runs' seed noise: at the book's spreads 36-341 seeds per
claim would show convergence inside +-0.5 points. The alternative the issue names: one trunk at a
constant learning rate, with a cool-down branch at S and another at 2S (warm-up-stable-decay, the
cool-down a fixed share of each budget, linear to 0): 2.2x the steps of one run instead of 3x, and
the two models share their first 0.8 S steps, so the paired change holds the noise of the extra
training only. This bench measures, on the flatness chapter's setting (Fashion-MNIST, 2,000
images, fast CNN width 8, batch 128, S = 600 steps = its registered 40 epochs), per seed:

- cosine: test accuracy of today's recipe at S and at 2S, two independent runs (cached training
  cells, as the chapters train them);
- branch: test accuracy of the trunk's cool-down branches at S and 2S (one run);

and prints, per arm, each design's mean accuracy at S and 2S and the mean and spread (sd over
seeds) of the paired change, with the seeds a +-0.5-point check needs at 80% power when the true
change is 0 (90% t interval inside the tolerance, simulated), and the paired difference between
the designs' accuracy at S (does the branch reach today's accuracy?). Exploratory: it changes no
verdict and no recipe.

    AUGWORTH_CACHE=<folder> AUGWORTH_EXECUTOR=process AUGWORTH_WORKERS=2 \
        python benchmarks/branch_bench.py [--seeds 8] [--augs none crop(2)+flip]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from augworth import paths, runtime
from augworth.config import TrainCell
from augworth.experiments.cells import make_cell
from augworth.experiments.sweep import run_sweep
from augworth.experiments.training import _data_of, train_cell
from augworth.metrics.stats import paired, t_interval
from augworth.train import loop

S = 600                      # steps: the flatness chapter's registered budget (40 epochs of 2,000 images)
COOL = 0.2                   # cool-down share of each branch's budget (linear to 0)
TOLERANCE = 0.005            # the convergence checks' tolerance on test accuracy
BASE = {"dataset": "fashion_mnist", "width": 8, "batch_size": 128, "val_size": 5000, "evaluate_val": False,
        "device": "cpu", "n_train": 2000}


def cosine_cells(augs, seeds):
    """Today's recipe at S and 2S steps, as training cells (cached, like the chapters' models)."""
    return [(aug, seed, steps, make_cell(TrainCell, None, **BASE, steps=steps, seed=seed, augment=aug))
            for aug in augs for seed in seeds for steps in (S, 2 * S)]


class _Batches:
    """The training loop's data order: a new permutation each epoch from the run's shuffle
    generator, its incomplete last batch dropped (as :func:`augworth.train.loop._epoch`)."""

    def __init__(self, n: int, batch: int, gen: torch.Generator):
        self.n, self.batch, self.gen, self.perm, self.b = n, batch, gen, None, n // batch

    def next(self) -> torch.Tensor:
        if self.b >= self.n // self.batch:
            self.perm, self.b = torch.randperm(self.n, generator=self.gen), 0
        idx = self.perm[self.b * self.batch : (self.b + 1) * self.batch]
        self.b += 1
        return idx


def branch_run(aug: str, seed: int) -> dict:
    """One trunk (linear warm-up over today's share of S, then the peak rate), a cool-down branch
    ending at S and one ending at 2S: test accuracy and training loss of each."""
    cell = make_cell(TrainCell, None, **BASE, steps=2 * S, seed=seed, augment=aug)
    device = torch.device("cpu")
    ds, idx, evals = _data_of(cell, device, None)
    run, tx, ty = loop._prepare(cell, ds.train_x[idx], ds.train_y[idx], ds.num_classes, device)
    warm = int(round(cell.warmup_frac * S))
    batches = _Batches(len(tx), run.batch, run.shuffle_gen)

    def steps(state, first: int, last: int, lr_of) -> None:
        model, opt, data, aug_gen = state
        model.train()
        for step in range(first, last):
            i = data.next()
            yb = ty[i]
            xb = loop._augment(tx[i].float() / 255.0, yb, run.policy, run.per_class, aug_gen)
            xb = (xb - run.mean) / run.std
            for g in opt.param_groups:
                g["lr"] = lr_of(step) * g["lr_mult"]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def trunk_lr(step):
        return cell.lr * (step + 1) / warm if step < warm else cell.lr

    def cool(start, end):
        return lambda step: cell.lr * (end - step) / (end - start)

    def measure(model) -> dict:
        test = loop.evaluate(model, *evals["test"], ds.num_classes, run.mean, run.std)
        train = loop.evaluate(model, tx, ty, ds.num_classes, run.mean, run.std)
        return {"test_acc": test["accuracy"], "train_loss": train["loss"]}

    def fork(state):
        model, opt, data, gen = state
        m2, o2 = copy.deepcopy((model, opt))  # together: the copy's optimiser steps the copy's weights
        d2 = copy.copy(data)
        d2.gen = torch.Generator().set_state(data.gen.get_state())
        return m2, o2, d2, torch.Generator().set_state(gen.get_state())

    out = {"aug": aug, "seed": seed}
    state = (run.model, run.opt, batches, run.aug_gen)
    t0 = time.perf_counter()
    for budget in (S, 2 * S):
        start = budget - int(round(COOL * budget))
        done = out.get("trunk_at", 0)
        steps(state, done, start, trunk_lr)
        out["trunk_at"] = start
        branch = fork(state)
        steps(branch, start, budget, cool(start, budget))
        out.update({f"{k}@{budget}": v for k, v in measure(branch[0]).items()})
    out["seconds"] = time.perf_counter() - t0
    out["steps"] = int(2 * S * (1 + COOL) - COOL * S)  # trunk to 1.6 S, cool-downs 0.2 S and 0.4 S: 2.2 S
    return out


def branch_rows(augs, seeds, folder: Path) -> list[dict]:
    """Each (augmentation, seed) branch run, kept in ``folder`` once computed (resumable)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for aug in augs:
        for seed in seeds:
            f = folder / f"{aug}-{seed}-S{S}.json"
            if not f.is_file():
                torch.manual_seed(seed)
                row = branch_run(aug, seed)
                f.write_text(json.dumps(row))
                print(f"branch {aug} seed {seed}: {row['test_acc@600']:.4f} -> {row['test_acc@1200']:.4f} "
                      f"({row['seconds']:.0f} s)", file=sys.stderr, flush=True)
            rows.append(json.loads(f.read_text()))
    return rows


def seeds_for(sd: float, tolerance: float = TOLERANCE, power: float = 0.8, top: int = 400, draws: int = 20000) -> int | None:
    """Seeds for a 90% t interval of a paired change with spread ``sd`` to lie inside
    +-``tolerance`` with probability ``power`` when the true change is 0 (simulated)."""
    from scipy import stats

    rng = np.random.default_rng(0)
    for n in range(3, top + 1):
        x = rng.normal(0.0, sd, size=(draws, n))
        m, se = x.mean(1), x.std(1, ddof=1) / np.sqrt(n)
        q = stats.t.ppf(0.95, n - 1)
        if np.mean((m - q * se > -tolerance) & (m + q * se < tolerance)) >= power:
            return n
    return None


def table(cos: pd.DataFrame, br: pd.DataFrame) -> pd.DataFrame:
    out = []
    for aug in br.aug.unique():
        c = cos[cos.aug == aug].pivot(index="seed", columns="steps", values="test_acc")
        b = br[br.aug == aug].set_index("seed")
        for name, a1, a2 in (("cosine (2 runs)", c[S], c[2 * S]), ("branch (1 trunk)", b[f"test_acc@{S}"],
                                                                    b[f"test_acc@{2 * S}"])):
            diffs = paired(dict(a2), dict(a1))
            d, sd = t_interval(diffs, level=0.90), float(np.std(diffs, ddof=1))
            out.append({"aug": aug, "design": name, "n": d.n, f"acc@{S}": float(a1.mean()), f"acc@{2 * S}": float(a2.mean()),
                        "change": d.estimate, "90% lo": d.lo, "90% hi": d.hi, "sd of change": sd,
                        "seeds for +-0.005": seeds_for(sd)})
        gap = t_interval(paired(dict(b[f"test_acc@{S}"]), dict(c[S])))
        out.append({"aug": aug, "design": f"branch - cosine at {S}", "n": gap.n, "change": gap.estimate,
                    "90% lo": gap.lo, "90% hi": gap.hi})
    df = pd.DataFrame(out)
    df["seeds for +-0.005"] = df["seeds for +-0.005"].astype("Int64")
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--augs", nargs="*", default=["crop(2)+flip", "none"])
    ap.add_argument("--part", choices=["all", "cosine", "branch"], default="all")
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    folder = paths.cache_root() / "branch_bench"
    start = time.perf_counter()
    if args.part in ("all", "cosine"):
        todo = cosine_cells(args.augs, seeds)
        res = run_sweep(train_cell, [c for *_, c in todo], name="recipe_bench")  # the same models as recipe_bench's today rows
        cos = pd.DataFrame([{"aug": a, "seed": s, "steps": st, "test_acc": v["test_acc"]}
                            for (a, s, st, _), v in zip(todo, res.results)])
    if args.part in ("all", "branch"):
        br = pd.DataFrame(branch_rows(args.augs, seeds, folder))
    if args.part == "all":
        print(f"# branch_bench: S = {S} steps, cool-down {COOL:.0%} of each budget; Fashion-MNIST n = 2,000, fast CNN "
              f"width 8, batch 128; seeds 0-{args.seeds - 1}; {runtime.device_name(torch.device('cpu'))}, reference step "
              f"{runtime.reference_step_ms():.1f} ms; torch {torch.__version__}")
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(table(cos, br).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
