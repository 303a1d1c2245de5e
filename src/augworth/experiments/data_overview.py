"""Runner of the `data` chapter: the data set, its fixed validation split and the subsets.

Checks, on the real labels, the properties every other chapter relies on: subsets are class
balanced, nested in their size for a fixed seed, and disjoint from the validation split.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import DataParams
from ..data import balanced_indices, class_counts, load_from_params, train_val_split
from .registry import runner

MAX_GRID_CLASSES = 20  # a grid of 100 CIFAR-100 classes is unreadable; show the first 20


@runner("data", version=1, params=DataParams)
def data_overview(p: DataParams, device) -> dict:
    """Class counts per split, subset balance/nesting/disjointness, pixel statistics, a grid."""
    ds = load_from_params(p)
    k = ds.num_classes
    pool, val = train_val_split(ds.train_y, p.val_size, num_classes=k)  # sizes checked by run: check_against_data
    val_set = set(val.tolist())
    subsets = []
    for seed in p.seeds:
        previous: set[int] = set()
        for n in sorted(p.subset_sizes):
            idx = balanced_indices(ds.train_y, n, seed, pool=pool, num_classes=k)
            counts = class_counts(ds.train_y[idx], k)
            members = set(idx.tolist())
            subsets.append({
                "seed": seed, "n": n, "min_per_class": int(counts.min()), "max_per_class": int(counts.max()),
                "unique": len(members), "overlap_val": len(members & val_set),
                "contains_smaller": previous <= members,
            })
            previous = members
    gen = torch.Generator().manual_seed(p.seeds[0])
    grid = []
    for c in range(min(k, MAX_GRID_CLASSES)):
        members = pool[ds.train_y[pool] == c]
        grid.append(ds.train_x[members[torch.randperm(len(members), generator=gen)[: p.n_per_class]]])
    x = ds.train_x[pool].float() / 255.0
    return {
        "dataset": ds.name,
        "classes": list(ds.classes),
        "image_shape": list(ds.image_shape),
        "counts": {"train (official)": class_counts(ds.train_y, k).numpy(),
                   "train pool": class_counts(ds.train_y[pool], k).numpy(),
                   "validation": class_counts(ds.train_y[val], k).numpy(),
                   "test": class_counts(ds.test_y, k).numpy()},
        "pixel_mean": x.mean(dim=(0, 2, 3)).numpy(),
        "pixel_std": x.std(dim=(0, 2, 3)).numpy(),
        "subsets": subsets,
        "grid": np.stack([g.numpy() for g in grid]),  # (classes, n_per_class, C, H, W) uint8
    }
