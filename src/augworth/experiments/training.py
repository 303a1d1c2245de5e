"""The training cell every training chapter sweeps over: load the data (once per process),
draw the class-balanced subset, train, evaluate on the validation split and the test set."""

from __future__ import annotations

import functools

import pandas as pd

from .. import runtime
from ..config import ConfigError, TrainCell, TrainConfig
from ..data import ImageDataset, balanced_indices, load_dataset, train_val_split
from ..train import fit

TRAIN_CELL_VERSION = 2  # bump when train_cell (or the training loop) changes what it computes
# 2: channels_last on the CPU too, and every cell trains on one thread (see sweep.CELL_THREADS)


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


def _train_config(p: TrainCell) -> TrainConfig:
    """The training hyper-parameters of a cell (its data fields left out)."""
    return TrainConfig.from_mapping({k: v for k, v in p.to_dict().items() if k in TrainConfig.__dataclass_fields__})


def train_on_cell(cell: dict, extra_eval: dict | None = None, checkpoint_dir=None, val: bool = True):
    """THE road into training: every chapter trains through here. Train one model as the cell
    (a :class:`TrainCell` mapping) says and return (params, data set, subset indices, fit
    result), evaluated at the end on the validation split (unless ``val`` is False), the test
    set and ``extra_eval`` {name: (x, y)}; ``checkpoint_dir`` receives the cell's checkpoints."""
    p = TrainCell.from_mapping(cell)
    device = runtime.resolve_device(p.device)
    ds = cached_dataset(p.dataset, p.data_path, p.image_size, str(device))
    idx, val_idx = training_subset(ds, p.val_size, p.n_train, p.seed)
    train_cfg = _train_config(p)
    evals = {"val": (ds.train_x[val_idx], ds.train_y[val_idx])} if val and len(val_idx) else {}
    evals.update({"test": (ds.test_x, ds.test_y), **(extra_eval or {})})
    res = fit(train_cfg, ds.train_x[idx], ds.train_y[idx], ds.num_classes, evals, device=device,
              checkpoint_dir=checkpoint_dir)
    return p, ds, idx, res


def train_on_cells_packed(cells: list[dict], extra_eval: dict | None = None, val: bool = True) -> list[tuple]:
    """:func:`train_on_cell` for compatible cells trained as one packed program (see
    :mod:`augworth.train.packed`): one (params, data set, subset indices, fit result) per cell."""
    from ..train.packed import fit_packed

    ps = [TrainCell.from_mapping(c) for c in cells]
    device = runtime.resolve_device(ps[0].device)
    data, evals, subsets = [], [], []
    for p in ps:
        ds = cached_dataset(p.dataset, p.data_path, p.image_size, str(device))
        idx, val_idx = training_subset(ds, p.val_size, p.n_train, p.seed)
        subsets.append((ds, idx))
        data.append((ds.train_x[idx], ds.train_y[idx]))
        evals.append({**({"val": (ds.train_x[val_idx], ds.train_y[val_idx])} if val and len(val_idx) else {}),
                      "test": (ds.test_x, ds.test_y), **(extra_eval or {})})
    cfgs = [_train_config(p) for p in ps]
    results = fit_packed(cfgs, data, subsets[0][0].num_classes, evals, device=device)
    return [(p, ds, idx, res) for p, (ds, idx), res in zip(ps, subsets, results)]


def cell_pack_key(cell: dict) -> tuple:
    """Cells with equal keys can be trained as one packed program."""
    from ..train.packed import pack_key

    p = TrainCell.from_mapping(cell)
    train_cfg = _train_config(p)
    return (p.dataset, p.data_path, p.image_size, p.val_size, p.device, p.fixed_copies > 0) + \
        pack_key(train_cfg, p.n_train)


def train_fields(p, augment: str, seed: int, **extra) -> dict:
    """The TrainCell of a chapter's fast CNN (its data fields, n_train, epochs, width) for one
    augmentation and seed."""
    d = p.to_dict()
    keys = ("dataset", "data_path", "image_size", "val_size", "device", "n_train", "epochs", "width")
    return {**{k: d[k] for k in keys if k in d}, "model": "fast_cnn", "augment": augment, "seed": seed, **extra}


def summarise(res) -> dict:
    """A fit result as a cell's cached value: timings, history and every eval set's metrics."""
    out = {"train_seconds": res.train_seconds, "images_per_s": res.images_per_second,
           "history": pd.DataFrame(res.history)}
    for split, m in res.final.items():
        out.update({f"{split}_acc": m["accuracy"], f"{split}_loss": m["loss"],
                    f"{split}_per_class": m["per_class_accuracy"], f"{split}_confusion": m["confusion"]})
    return out


def train_cell(cell: dict) -> dict:
    """Train one model as the cell says; return its validation/test metrics and history."""
    _, ds, _, res = train_on_cell(cell)
    return {"device": str(ds.device), **summarise(res)}


def _train_cells_packed(cells: list[dict]) -> list[dict]:
    return [{"device": str(ds.device), **summarise(res)} for _, ds, _, res in train_on_cells_packed(cells)]


# the packed executor (experiments.sweep) trains groups of compatible cells as one program
train_cell.packed = _train_cells_packed
train_cell.pack_key = cell_pack_key


def cell_params(cls, cell: dict):
    """A chapter's parameters for ONE sweep cell: the cell's 'augment' and 'seed' become the
    single-element 'augmentations' and 'seeds' (validated like the chapter's own)."""
    rest = {k: v for k, v in cell.items() if k not in ("augment", "seed")}
    return cls.from_mapping({**rest, "augmentations": [cell["augment"]], "seeds": [cell["seed"]]})


def chapter_cells(p, exclude=("augmentations", "seeds")) -> list[dict]:
    """The (augmentation x seed) grid of a chapter whose other parameters are shared by all cells."""
    from .sweep import expand_grid

    base = {k: v for k, v in p.to_dict().items() if k not in exclude}
    return expand_grid({"augment": list(p.augmentations), "seed": list(p.seeds)}, base=base)
