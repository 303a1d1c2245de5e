"""The training cell every training chapter sweeps over: load the data (once per process),
draw the class-balanced subset, train, evaluate on the validation split and the test set."""

from __future__ import annotations

import functools

import pandas as pd

from .. import runtime
from ..config import ConfigError, TrainCell
from ..data import ImageDataset, balanced_indices, load_dataset, train_val_split
from ..train import fit

@functools.lru_cache(maxsize=4)
def cached_dataset(name: str, data_path: str | None, image_size: int, device: str) -> ImageDataset:
    return load_dataset(name, data_path=data_path, image_size=image_size, device=device)


def training_subset(ds: ImageDataset, val_size: int, n_train: int, seed: int) -> tuple:
    """(training-subset indices, validation indices) on the data set's device: the fixed
    validation split, then a class-balanced subset of the rest, nested in n for a seed."""
    pool, val = train_val_split(ds.train_y, val_size, num_classes=ds.num_classes)
    if n_train > len(pool):
        raise ConfigError(f"parameter 'n_train' = {n_train} is larger than the {len(pool)} training images of "
                          f"{ds.name} left after the validation split (val_size={val_size})")
    idx = balanced_indices(ds.train_y, n_train, seed, pool=pool, num_classes=ds.num_classes)
    return idx.to(ds.device), val.to(ds.device)


def check_against_data(p) -> None:
    """Before a chapter trains anything: every image count it asks of a split (the fields
    declared with ``of``) fits the data set, and the validation split leaves training images.
    A :class:`ConfigError` names the parameter; parameters without such fields load nothing."""
    import dataclasses

    if not any(f.metadata.get("of") for f in dataclasses.fields(p)) or not hasattr(p, "val_size"):
        return
    ds = cached_dataset(p.dataset, p.data_path, p.image_size, "cpu")
    if p.val_size >= len(ds.train_y):
        p.fail("val_size", f"leaves no training images: {ds.name} has {len(ds.train_y):,}")
    pool, _ = train_val_split(ds.train_y, p.val_size, num_classes=ds.num_classes)
    p.check_sizes({"train": len(pool), "test": len(ds.test_y)},
                  {"train": f"training images of {ds.name} left after the validation split (val_size={p.val_size})",
                   "test": f"test images of {ds.name}"})


def train_on_cell(cell: TrainCell, extra_eval: dict | None = None, checkpoint_dir=None):
    """THE road into training: every chapter trains through here. Train one model as the cell (a
    :class:`TrainCell`, or a cell type built on it) says and return (data set, subset indices,
    fit result), evaluated at the end on the validation split (when ``cell.evaluate_val``), the
    test set and ``extra_eval`` {name: (x, y)}; ``checkpoint_dir`` receives the cell's
    checkpoints. The cell is its own training configuration (a TrainCell is a TrainConfig)."""
    device = runtime.resolve_device(cell.device)
    ds, idx, evals = _data_of(cell, device, extra_eval)
    res = fit(cell, ds.train_x[idx], ds.train_y[idx], ds.num_classes, evals, device=device,
              checkpoint_dir=checkpoint_dir)
    return ds, idx, res


def _data_of(cell: TrainCell, device, extra_eval: dict | None) -> tuple:
    """(data set, training-subset indices, evaluation sets) of a cell."""
    ds = cached_dataset(cell.dataset, cell.data_path, cell.image_size, str(device))
    idx, val_idx = training_subset(ds, cell.val_size, cell.n_train, cell.seed)
    evals = {"val": (ds.train_x[val_idx], ds.train_y[val_idx])} if cell.evaluate_val and len(val_idx) else {}
    evals.update({"test": (ds.test_x, ds.test_y), **(extra_eval or {})})
    return ds, idx, evals


def train_on_cells_packed(cells: list[TrainCell], extra_eval: dict | None = None) -> list[tuple]:
    """:func:`train_on_cell` for compatible cells trained as one packed program (see
    :mod:`augworth.train.packed`): one (data set, subset indices, fit result) per cell."""
    from ..train.packed import fit_packed

    device = runtime.resolve_device(cells[0].device)
    data, evals, subsets = [], [], []
    for cell in cells:
        ds, idx, ev = _data_of(cell, device, extra_eval)
        subsets.append((ds, idx))
        data.append((ds.train_x[idx], ds.train_y[idx]))
        evals.append(ev)
    results = fit_packed(list(cells), data, subsets[0][0].num_classes, evals, device=device)
    return [(ds, idx, res) for (ds, idx), res in zip(subsets, results)]


def cell_pack_key(cell: TrainCell) -> tuple:
    """Cells with equal keys can be trained as one packed program."""
    from ..train.packed import pack_key

    return (cell.dataset, cell.data_path, cell.image_size, cell.val_size, cell.device, cell.fixed_copies > 0,
            cell.evaluate_val) + pack_key(cell, cell.n_train)


def summarise(res) -> dict:
    """A fit result as a cell's cached value: timings, history and every eval set's metrics."""
    out = {"train_seconds": res.train_seconds, "images_per_s": res.images_per_second,
           "history": pd.DataFrame(res.history)}
    for split, m in res.final.items():
        out.update({f"{split}_acc": m["accuracy"], f"{split}_loss": m["loss"],
                    f"{split}_per_class": m["per_class_accuracy"], f"{split}_confusion": m["confusion"]})
    return out


def train_cell(cell: TrainCell) -> dict:
    """Train one model as the cell says; return its validation/test metrics and history."""
    ds, _, res = train_on_cell(cell)
    return {"device": str(ds.device), **summarise(res)}


def _train_cells_packed(cells: list[TrainCell]) -> list[dict]:
    return [{"device": str(ds.device), **summarise(res)} for ds, _, res in train_on_cells_packed(cells)]


# the packed executor (experiments.sweep) trains groups of compatible cells as one program
train_cell.packed = _train_cells_packed
train_cell.pack_key = cell_pack_key
train_cell.cell_type = TrainCell
