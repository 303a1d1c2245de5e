"""Class-balanced, seed-determined subsets, and the fixed validation split.

The validation split is carved from the official training set once, with its own fixed seed, so
it is the same whatever an experiment's seed is and never overlaps a training subset. Test data
is never used to choose anything.

Subsets are *nested*: for a given seed, the subset of size n is contained in the subset of any
size m > n (each class's pool is permuted once per seed and read from the front). Learning curves
across n then differ only by the added samples, not by a fresh draw.
"""

from __future__ import annotations

import torch

from ..seeds import seed_stream

VALIDATION_SEED = 20_221_115  # fixed forever: changing it changes every validation number


def _per_class_counts(n: int, num_classes: int, available: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Split n as evenly as possible over classes; the remainder goes to classes chosen by ``gen``."""
    counts = torch.full((num_classes,), n // num_classes, dtype=torch.long)
    extra = torch.randperm(num_classes, generator=gen)[: n % num_classes]
    counts[extra] += 1
    if bool((counts > available).any()):
        c = int(torch.argmax((counts - available).float()))
        raise ValueError(f"subset of {n} images needs {int(counts[c])} of class {c}, "
                         f"but only {int(available[c])} are available")
    return counts


def balanced_indices(labels: torch.Tensor, n: int, seed: int, pool: torch.Tensor | None = None,
                     num_classes: int | None = None) -> torch.Tensor:
    """Indices (into ``labels``) of a class-balanced subset of size ``n``, drawn from ``pool``.

    Per class counts differ by at most one. The result is sorted, on the CPU, and nested in ``n``
    for a fixed ``seed``.
    """
    labels = labels.cpu()
    pool = torch.arange(len(labels)) if pool is None else pool.cpu()
    num_classes = num_classes or int(labels.max()) + 1
    if n < 0 or n > len(pool):
        raise ValueError(f"subset size n={n} is outside [0, {len(pool)}] (the pool's size)")
    gen = torch.Generator().manual_seed(seed)
    pool_labels = labels[pool]
    by_class = [pool[pool_labels == c] for c in range(num_classes)]
    # One permutation per class per seed; nesting comes from always reading from the front.
    by_class = [idx[torch.randperm(len(idx), generator=gen)] for idx in by_class]
    available = torch.tensor([len(idx) for idx in by_class])
    counts = _per_class_counts(n, num_classes, available, torch.Generator().manual_seed(seed_stream(seed, "subset counts")))
    picked = [idx[: int(k)] for idx, k in zip(by_class, counts)]
    return torch.sort(torch.cat(picked)).values


def train_val_split(labels: torch.Tensor, val_size: int, num_classes: int | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed split of the official training set: (train pool indices, validation indices)."""
    val = balanced_indices(labels, val_size, VALIDATION_SEED, num_classes=num_classes)
    mask = torch.ones(len(labels), dtype=torch.bool)
    mask[val] = False
    return torch.nonzero(mask).squeeze(1), val


def class_counts(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    return torch.bincount(labels.cpu(), minlength=num_classes)
