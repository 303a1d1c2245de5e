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

:func:`analyse` fits the power laws and turns errors into worth in samples.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ..config import ExchangeRateParams
from ..data import balanced_indices
from ..data.corruptions import SEVERITIES, corrupted_test_set
from ..metrics import exchange
from ..metrics.stats import t_interval
from .registry import runner
from .sweep import run_sweep
from .training import cached_dataset, cell_pack_key, summarise, train_on_cell, train_on_cells_packed
from .. import runtime

CELL_VERSION = 3  # 2: channels_last on the CPU, one thread per cell; 3: no validation evaluation (unused)
TRAIN_FIELDS = ("dataset", "data_path", "image_size", "val_size", "device", "steps", "batch_size", "width")
OOD_SEED = 0  # the corrupted subset and the corruptions' randomness; the same for every model


@functools.lru_cache(maxsize=2)
def _ood_sets(dataset: str, data_path, image_size: int, device: str, corruptions: tuple, n: int):
    ds = cached_dataset(dataset, data_path, image_size, device)
    idx = balanced_indices(ds.test_y, n, OOD_SEED, num_classes=ds.num_classes).to(ds.device)
    x, y = ds.test_x[idx], ds.test_y[idx]
    key = {"dataset": dataset, "data_path": data_path, "image_size": image_size, "subset": "test-balanced",
           "subset_seed": OOD_SEED}
    return {f"ood/{c}/{s}": (corrupted_test_set(x, c, s, key=key, seed=OOD_SEED), y)
            for c in corruptions for s in SEVERITIES}, (x, y)


def _split_cell(cell: dict):
    """(the TrainCell part, the clean/corrupted evaluation sets) of an exchange cell."""
    train = {k: v for k, v in cell.items() if k not in ("corruptions", "ood_images", "kind")}
    device = runtime.resolve_device(train.get("device", "auto"))
    sets, clean = _ood_sets(train["dataset"], train.get("data_path"), train.get("image_size", 64), str(device),
                            tuple(cell["corruptions"]), cell["ood_images"])
    return train, {"ood/clean/0": clean, **sets}


def _cell_value(res, names) -> dict:
    s = summarise(res)
    out = {k: v for k, v in s.items() if not k.startswith("ood/")}
    out["ood"] = {name: s[f"{name}_acc"] for name in names}
    out["history"] = s["history"][["epoch", "step", "train_loss", "train_acc"]]
    for k in [k for k in out if k.startswith("val_") and k not in ("val_acc", "val_loss")]:
        del out[k]
    return out


def exchange_cell(cell: dict) -> dict:
    """Train one model (a TrainCell plus 'corruptions', 'ood_images', 'kind'); evaluate clean and
    corrupted."""
    train, sets = _split_cell(cell)
    _, _, _, res = train_on_cell(train, extra_eval=sets, val=False)
    return _cell_value(res, list(sets))


def _exchange_cells_packed(cells: list[dict]) -> list[dict]:
    """Compatible exchange cells (one fixed step budget makes a whole grid compatible) as one
    packed program; the evaluation sets are the same for every cell of a chapter."""
    train, sets = zip(*(_split_cell(c) for c in cells))
    return [_cell_value(res, list(sets[0])) for _, _, _, res in train_on_cells_packed(list(train), sets[0], val=False)]


exchange_cell.packed = _exchange_cells_packed
exchange_cell.pack_key = lambda cell: cell_pack_key(_split_cell(cell)[0]) + (tuple(cell["corruptions"]),
                                                                              cell["ood_images"])


def cells_of(p: ExchangeRateParams) -> list[dict]:
    d = p.to_dict()
    base = {k: d[k] for k in TRAIN_FIELDS}
    base.update(corruptions=list(p.corruptions), ood_images=p.ood_images)
    cells = []
    for n in p.sizes:
        for aug in p.augmentations:
            cells += [{**base, "kind": "main", "n_train": n, "augment": aug, "seed": s} for s in p.seeds]
    base = {**base, "corruptions": []}  # only the main runs are read out of distribution (C2, the OOD worth)
    c3_seeds = p.invariance_seeds or p.seeds
    for n in p.invariance_sizes or p.sizes:
        for aug in p.invariance_augments:
            cells += [{**base, "kind": "invariant", "n_train": n, "augment": aug, "invariance": p.invariance, "seed": s}
                      for s in c3_seeds]
        cells += [{**base, "kind": "flip_reference", "n_train": n, "augment": "flip", "seed": s}
                  for s in c3_seeds if s not in p.seeds]
    for n in p.fixed_sizes:
        for k in p.fixed_copies:
            cells += [{**base, "kind": "fixed", "n_train": n, "augment": p.fixed_augment, "fixed_copies": k,
                       "seed": s} for s in p.seeds]
    if p.convergence_factor > 1:
        cells += [{**base, "kind": "convergence", "n_train": max(p.sizes), "augment": aug,
                   "steps": p.steps * p.convergence_factor, "seed": p.seeds[0]} for aug in p.augmentations]
    return cells


def runs_frame(cells: list[dict], results: list[dict]) -> pd.DataFrame:
    """One row per trained model: its kind, size, augmentation, seed, clean and corrupted test
    error (``ood_err``: the mean over every corrupted set, NaN without corruptions)."""
    rows = []
    for c, r in zip(cells, results):
        ood = r["ood"]
        corrupted = [v for k, v in ood.items() if not k.startswith("ood/clean")]
        rows.append({"kind": c["kind"], "n": c["n_train"], "augment": c["augment"], "seed": c["seed"],
                     "invariance": c.get("invariance", "none"), "copies": c.get("fixed_copies", 0),
                     "steps": c["steps"], "test_acc": r["test_acc"], "test_err": 1 - r["test_acc"],
                     "ood_err": 1 - float(np.mean(corrupted)) if corrupted else float("nan"),
                     "train_acc": float(r["history"]["train_acc"].iloc[-1]), "train_seconds": r["train_seconds"],
                     **{f"err/{k[4:]}": 1 - v for k, v in ood.items()}})
    return pd.DataFrame(rows)


@runner("exchange_rate", version=1, params=ExchangeRateParams)
def exchange_rate(p: ExchangeRateParams, device) -> dict:
    cells = cells_of(p)
    res = run_sweep(exchange_cell, cells, name="exchange_cell", version=CELL_VERSION)
    return {"runs": runs_frame(cells, res.results), "compute_s": res.compute_s}


def by_seed(runs: pd.DataFrame, metric: str) -> dict[int, dict[int, float]]:
    """{seed: {n: metric}} for a selection of runs (one run per seed and size)."""
    return {int(seed): {int(n): float(v) for n, v in zip(g.n, g[metric])} for seed, g in runs.groupby("seed")}


def reference_runs(runs: pd.DataFrame, metric: str, reference: str = "none") -> dict[int, dict[int, float]]:
    """The reference curve's data: ``by_seed`` of the main runs with the reference augmentation."""
    return by_seed(runs[(runs.kind == "main") & (runs.augment == reference)], metric)


def worth_table(runs: pd.DataFrame, metric: str, augmentations, reference: str = "none",
                kind_of: dict | None = None) -> pd.DataFrame:
    """Worth in samples of each augmentation at each size (leave-one-seed-out jackknife, see
    :func:`augworth.metrics.exchange.worth_interval`), against the power law fitted to the
    reference's ``metric`` (test_err or ood_err) over the main runs. ``kind_of`` maps extra row
    labels to selections of runs (DataFrames), e.g. the C3 and C4 runs."""
    main = runs[runs.kind == "main"]
    ref = reference_runs(runs, metric, reference)
    fits: dict = {}  # the reference's fit per seed subset, made once for every row
    out = []
    selections = {a: main[main.augment == a] for a in augmentations if a != reference}
    selections.update(kind_of or {})
    for label, sel in selections.items():
        for n, g in sel.groupby("n"):
            aug = {int(s): float(v) for s, v in zip(g.seed, g[metric])}
            v = exchange.worth_interval(ref, aug, int(n), fits)
            out.append({"augment": label, "n": int(n), "err": float(g[metric].mean()), **v, "rel": v["v"] / n,
                        "rel_lo": v["lo"] / n, "rel_hi": v["hi"] / n, "rel_sd": v["sd"] / n})
    return pd.DataFrame(out)


def fit_reference(runs: pd.DataFrame, metric: str, reference: str = "none", holdout: int = 0):
    """The reference power law (fitted to the seed-mean error at each size, as the worth
    intervals fit it) on the main runs, leaving out the ``holdout`` largest sizes; returns (fit,
    sizes used, held-out table: measured mean/sd vs predicted)."""
    ref = runs[(runs.kind == "main") & (runs.augment == reference)]
    sizes = sorted(ref.n.unique())
    used = sizes[: len(sizes) - holdout] if holdout else sizes
    per_seed = by_seed(ref[ref.n.isin(used)], metric)
    fit_ = exchange.seed_fit(per_seed, sorted(per_seed))
    held = ref[~ref.n.isin(used)].groupby("n")[metric].agg(["mean", "std"]).reset_index()
    held["predicted"] = fit_(held.n.to_numpy()) if len(held) else []
    return fit_, used, held


def convergence_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Largest-n runs of the first seed: error at the budget vs at factor x the budget."""
    conv = runs[runs.kind == "convergence"]
    if conv.empty:
        return pd.DataFrame()
    main = runs[(runs.kind == "main") & (runs.n == conv.n.iloc[0]) & (runs.seed == conv.seed.iloc[0])]
    t = main.set_index("augment")[["test_err", "train_acc"]].join(
        conv.set_index("augment")[["test_err", "train_acc", "steps"]], suffixes=("", "_longer"))
    t["change"] = t.test_err_longer - t.test_err
    return t.reset_index()


def error_curves(runs: pd.DataFrame, metric: str = "test_err") -> pd.DataFrame:
    """Mean and sd over seeds per (kind, augmentation, invariance, copies, n)."""
    keys = ["kind", "augment", "invariance", "copies", "n"]
    return runs.groupby(keys)[metric].agg(["mean", "std", "count"]).reset_index()


def paired_difference(runs: pd.DataFrame, a: dict, b: dict, metric: str = "test_err", sizes=None):
    """Per seed, the mean over sizes of metric(a) - metric(b), where a and b select runs by
    column values (e.g. {"kind": "invariant", "augment": "none"}; a list value: any of them); pairs
    share n and seed.
    Returns (per-seed differences, their Student t interval)."""
    def pick(sel):
        m = np.ones(len(runs), dtype=bool)
        for k, v in sel.items():
            m &= (runs[k].isin(v) if isinstance(v, (list, tuple)) else runs[k] == v).to_numpy()
        t = runs[m]
        return t[t.n.isin(sizes)] if sizes is not None else t

    ta, tb = pick(a).set_index(["n", "seed"])[metric], pick(b).set_index(["n", "seed"])[metric]
    d = (ta - tb).dropna()
    per_seed = d.groupby(level="seed").mean().to_numpy()
    return per_seed, t_interval(per_seed)


def analyse(runs: pd.DataFrame, p: ExchangeRateParams) -> dict:
    """Every table the chapter shows and its verdicts read: reference fits (all sizes and with
    the largest held out, clean and corrupted), the convergence table, worth tables (clean,
    corrupted, C3 and C4 selections), the C3/C4 paired differences and the C2 asymptote gap."""
    n_max = max(p.sizes)
    main = runs[runs.kind == "main"]
    inv_sizes = sorted(int(n) for n in runs[runs.kind == "invariant"].n.unique())
    out = {"n_max": n_max, "inv_sizes": inv_sizes, "conv": convergence_table(runs)}
    for metric, tag in (("test_err", "id"), ("ood_err", "ood")):
        out[f"fit_{tag}"] = fit_reference(runs, metric)[0]
        out[f"held_{tag}"] = fit_reference(runs, metric, holdout=1)[2]
        out[f"w_{tag}"] = worth_table(runs, metric, p.augmentations)
    plain_flip = {"kind": ["main", "flip_reference"], "augment": "flip"}
    out["c3"] = paired_difference(runs, {"kind": "invariant", "augment": "none"}, plain_flip, sizes=inv_sizes)[1]
    inv_flip = runs[(runs.kind == "invariant") & (runs.augment == "flip")]
    out["c3_both"] = (paired_difference(runs, {"kind": "invariant", "augment": "flip"}, plain_flip, sizes=inv_sizes)[1]
                      if len(inv_flip) else None)  # None: the invariant model was not trained with flips
    out["c3_seeds"] = sorted(int(s) for s in runs[runs.kind == "invariant"].seed.unique())
    out["w_inv"] = worth_table(runs, "test_err", [], kind_of={
        "invariant model": runs[(runs.kind == "invariant") & (runs.augment == "none")],
        **({"invariant model + flip": inv_flip} if len(inv_flip) else {}),
        "plain model + flip": main[(main.augment == "flip") & main.n.isin(inv_sizes)]})
    k_max = max(p.fixed_copies)
    out["k_max"] = k_max
    out["c4"] = paired_difference(runs, {"kind": "fixed", "copies": k_max}, {"kind": "main", "augment": p.fixed_augment},
                                  sizes=list(p.fixed_sizes))[1]
    out["w_fixed"] = worth_table(runs, "test_err", [], kind_of={
        **{f"fixed k={k}": runs[(runs.kind == "fixed") & (runs.copies == k)] for k in p.fixed_copies},
        "fresh": main[(main.augment == p.fixed_augment) & main.n.isin(p.fixed_sizes)]})
    strong = main[(main.augment == p.strong) & (main.n == n_max)]
    out["c2_gap"] = exchange.asymptote_gap(reference_runs(runs, "ood_err"),
                                           {int(s): float(v) for s, v in zip(strong.seed, strong.ood_err)})
    return out
