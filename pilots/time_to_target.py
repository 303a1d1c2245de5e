"""Exploratory pilot (issue #27, before the recipes were named): how many epochs of full
Fashion-MNIST each recipe needs to end a whole run at 85% test accuracy (fast CNN width 16, batch
128, crop(2)+flip; the run's schedule decays to zero at its end). Seeds 0 and 1, the test set's
accuracy averaged over them; the naive loop (torchvision per-image transforms in a DataLoader)
with today's recipe beside. It chose the recipes `make bench` times (augworth.speed's FAST_RECIPE,
whitening + Dirac + lr 0.2, and NEW_RECIPE, lr 0.2: the one lever of the three that keeps the
exchange-rate chapter's key contrast), which `make bench` then measures on other seeds (2 and 3).

    PYTHONPATH=src python pilots/time_to_target.py [recipe ...]   # one thread per run

Its output of 2026-12-06: pilots/time_to_target.txt. The seconds printed there were measured with
two other training processes on the two cores: compare them within that file only.
"""

from __future__ import annotations

import sys

import torch

from augworth import speed
from augworth.data import load_dataset

RECIPES = {
    "today": {}, "lr 0.2": {"lr": 0.2}, "lr 0.4": {"lr": 0.4}, "linear": {"decay": "linear"},
    "bn64 fixed": {"bn_bias_lr": 64.0, "bn_scale": "fixed"}, "whiten": {"stem": "whiten"}, "dirac": {"dirac_init": True},
    "all": {"decay": "linear", "dirac_init": True, "bn_bias_lr": 64.0, "bn_scale": "fixed", "stem": "whiten"},
    "all lr 0.2": {"lr": 0.2, "decay": "linear", "dirac_init": True, "bn_bias_lr": 64.0, "bn_scale": "fixed",
                   "stem": "whiten"},
    "whiten dirac lr 0.2": {"lr": 0.2, "stem": "whiten", "dirac_init": True},
    "whiten dirac lr 0.3": {"lr": 0.3, "stem": "whiten", "dirac_init": True},
}
BUDGETS = (0.25, 0.3, 0.35, 0.42, 0.5, 0.59, 0.71)   # epochs of the 60,000 training images


def main() -> None:
    torch.set_num_threads(1)
    ds = load_dataset("fashion_mnist")
    cpu = torch.device("cpu")
    spe = len(ds.train_y) // 128
    chosen = sys.argv[1:] or ["naive", *RECIPES]
    for name in chosen:
        if name == "naive":
            run = speed.naive_run("fast_cnn", 16, ds, cpu, 128, 0.1)
        else:
            run = speed.engine_run("fast_cnn", 16, ds, cpu, 128, 0.1, RECIPES[name])
        for b in BUDGETS:
            out = [run(round(b * spe), seed) for seed in (0, 1)]
            acc = sum(a for _, a in out) / 2
            print(f"{name:>20} {b:5.2f} epochs {round(b * spe):4d} steps: acc {acc:.4f}, "
                  f"{sum(t for t, _ in out) / 2:.1f} s", flush=True)
            if acc >= 0.85:
                break


if __name__ == "__main__":
    main()
