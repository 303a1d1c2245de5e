"""Runner of the `exchange_rate` chapter (paper C, C1-C4).

One sweep (cached per cell, resumable) holds four kinds of cells, all with the same fixed step
budget whatever n (paper C's protocol), each evaluated on the clean test set and (main runs) on
corrupted copies of a class-balanced test subset (every corruption at 5 severities, built once
and cached on disk):

- ``main``: size n x augmentation x seed (C1, C2);
- ``invariant``: a flip-invariant model, trained without augmentation and with flips (C3), for
  ``invariance_seeds``; ``flip_reference``: the plain model with flips at C3's sizes for those of
  its seeds the main grid does not train (the pairs of C3, kept out of the main tables);
- ``fixed``: k augmented copies of the training set made once, k in ``fixed_copies`` (C4);
- ``convergence``: the largest-n runs of the first seed with ``convergence_factor`` times the
  steps: if they do much better, the budget was too short and the worth at large n is biased.

Only the main runs are evaluated on the corrupted sets (nothing else is read out of
distribution), and no cell is evaluated on the validation split (nothing here reads it).

The analysis (power laws, worth in samples) is :mod:`augworth.analysis.exchange_rate`.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..config import ExchangeRateParams
from ..data import balanced_indices
from ..data.corruptions import SEVERITIES, corrupted_test_set
from .. import runtime
from .cells import cell_type, make_cell
from .registry import runner
from .sweep import run_sweep
from .training import cached_dataset, cell_pack_key, summarise, train_on_cell, train_on_cells_packed

OOD_SEED = 0  # the corrupted subset and the corruptions' randomness; the same for every model


def _ood_images_evaluated(cell) -> int:
    """The clean subset and every corruption at every severity."""
    return cell.ood_images * (1 + len(SEVERITIES) * len(cell.corruptions))


#: One model of the chapter (and of `worth`): a training cell plus the corrupted test sets it is
#: evaluated on (none: the clean test set only).
ExchangeCell = cell_type("ExchangeCell", __name__, ExchangeRateParams, ("corruptions", "ood_images"),
                         methods={"extra_eval_images": _ood_images_evaluated})


@functools.lru_cache(maxsize=2)
def _ood_sets(dataset: str, data_path, image_size: int, device: str, corruptions: tuple, n: int):
    ds = cached_dataset(dataset, data_path, image_size, device)
    idx = balanced_indices(ds.test_y, n, OOD_SEED, num_classes=ds.num_classes).to(ds.device)
    x, y = ds.test_x[idx], ds.test_y[idx]
    key = {"dataset": dataset, "data_path": data_path, "image_size": image_size, "subset": "test-balanced",
           "subset_seed": OOD_SEED}
    return {f"ood/{c}/{s}": (corrupted_test_set(x, c, s, key=key, seed=OOD_SEED), y)
            for c in corruptions for s in SEVERITIES}, (x, y)


def _eval_sets(cell) -> dict:
    """The clean/corrupted evaluation sets of an exchange cell (the same for every cell with the
    same data, corruptions and subset size)."""
    device = runtime.resolve_device(cell.device)
    sets, clean = _ood_sets(cell.dataset, cell.data_path, cell.image_size, str(device), tuple(cell.corruptions),
                            cell.ood_images)
    return {"ood/clean/0": clean, **sets}


def _cell_value(res, names) -> dict:
    s = summarise(res)
    out = {k: v for k, v in s.items() if not k.startswith("ood/")}
    out["ood"] = {name: s[f"{name}_acc"] for name in names}
    out["history"] = s["history"][["epoch", "step", "train_loss", "train_acc"]]
    for k in [k for k in out if k.startswith("val_") and k not in ("val_acc", "val_loss")]:
        del out[k]
    return out


def exchange_cell(cell) -> dict:
    """Train one model (an :data:`ExchangeCell`); evaluate it clean and corrupted."""
    sets = _eval_sets(cell)
    _, _, res = train_on_cell(cell, extra_eval=sets)
    return _cell_value(res, list(sets))


def _exchange_cells_packed(cells: list) -> list[dict]:
    """Compatible exchange cells (one fixed step budget makes a whole grid compatible) as one
    packed program; the evaluation sets are the same for every cell of a chapter."""
    sets = _eval_sets(cells[0])
    return [_cell_value(res, list(sets)) for _, _, res in train_on_cells_packed(list(cells), sets)]


exchange_cell.packed = _exchange_cells_packed
exchange_cell.pack_key = lambda cell: cell_pack_key(cell) + (tuple(cell.corruptions), cell.ood_images)
exchange_cell.cell_type = ExchangeCell


def cells(p: ExchangeRateParams) -> list[tuple[str, object]]:
    """Every model of the chapter as (kind, cell): the kind (main, invariant, flip_reference,
    fixed, convergence) labels the run for the analysis; the cell holds what the model reads."""
    def cell(n, aug, seed, corrupt=(), **fields):
        return make_cell(ExchangeCell, p, n_train=n, augment=aug, seed=seed, evaluate_val=False,
                         corruptions=list(corrupt), ood_images=p.ood_images, **fields)

    out = []
    for n in p.sizes:
        for aug in p.augmentations:
            # only the main runs are read out of distribution (C2, the OOD worth)
            out += [("main", cell(n, aug, s, p.corruptions)) for s in p.seeds]
    c3_seeds = p.invariance_seeds or p.seeds
    for n in p.invariance_sizes or p.sizes:
        for aug in p.invariance_augments:
            out += [("invariant", cell(n, aug, s, invariance=p.invariance)) for s in c3_seeds]
        out += [("flip_reference", cell(n, "flip", s)) for s in c3_seeds if s not in p.seeds]
    for n in p.fixed_sizes:
        for k in p.fixed_copies:
            out += [("fixed", cell(n, p.fixed_augment, s, fixed_copies=k)) for s in p.seeds]
    for n in p.reference_sizes:  # the reference curve beyond the grid (no augmentation only)
        out += [("main", cell(n, p.augmentations[0], s, p.corruptions)) for s in p.seeds]
    if p.convergence_factor > 1:
        longer = p.steps * p.convergence_factor
        conv_seeds = p.convergence_seeds or p.seeds[:1]
        out += [("convergence", cell(max(p.sizes), aug, s, steps=longer)) for aug in p.augmentations
                for s in conv_seeds]
        if p.convergence_seeds:  # C3's and C4's models too, at their largest size and k
            n3 = max(p.invariance_sizes or p.sizes)
            out += [("convergence", cell(n3, aug, s, steps=longer, invariance=p.invariance))
                    for aug in p.invariance_augments for s in conv_seeds]
            out += [("convergence", cell(n3, "flip", s, steps=longer)) for s in conv_seeds
                    if n3 != max(p.sizes) or "flip" not in p.augmentations]
            if p.fixed_sizes:
                out += [("convergence", cell(max(p.fixed_sizes), p.fixed_augment, s, steps=longer,
                                             fixed_copies=max(p.fixed_copies))) for s in conv_seeds]
                out += [("convergence", cell(max(p.fixed_sizes), p.fixed_augment, s, steps=longer))
                        for s in conv_seeds if max(p.fixed_sizes) != max(p.sizes)]
    return out


def runs_frame(cells: list[tuple[str, object]], results: list[dict]) -> pd.DataFrame:
    """One row per trained model (``cells``: (kind, cell) pairs): its kind, size, augmentation,
    seed, clean and corrupted test error (``ood_err``: the mean over every corrupted set, NaN
    without corruptions)."""
    rows = []
    for (kind, c), r in zip(cells, results):
        ood = r["ood"]
        corrupted = [v for k, v in ood.items() if not k.startswith("ood/clean")]
        rows.append({"kind": kind, "n": c.n_train, "augment": c.augment, "seed": c.seed,
                     "invariance": c.invariance, "copies": c.fixed_copies, "steps": c.steps, "test_acc": r["test_acc"], "test_err": 1 - r["test_acc"],
                     "ood_err": 1 - float(np.mean(corrupted)) if corrupted else float("nan"),
                     "train_acc": float(r["history"]["train_acc"].iloc[-1]), "train_seconds": r["train_seconds"],
                     **{f"err/{k[4:]}": 1 - v for k, v in ood.items()}})
    return pd.DataFrame(rows)


@runner("exchange_rate", version=1, params=ExchangeRateParams)
def exchange_rate(p: ExchangeRateParams, device) -> dict:
    todo = cells(p)
    res = run_sweep(exchange_cell, [c for _, c in todo], name="exchange_cell")
    return {"runs": runs_frame(todo, res.results), "compute_s": res.compute_s}
