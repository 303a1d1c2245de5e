"""Time to a target test accuracy, each contender at its best (``make bench``; ``make gpu`` on CUDA).

A contender is a training loop with a recipe: the engine (:func:`augworth.train.fit`) with a
recipe's :class:`~augworth.config.TrainConfig` fields, or the naive baseline (torchvision
per-image transforms in a DataLoader, fp32, batches copied every step) with today's recipe.
"At its best" means at its best budget: a run's learning rate decays to zero at its last step,
so a run stopped early is not the run one would make. Each contender therefore trains whole runs
of increasing length (``BUDGETS``: epochs of the training set, x1.19 apart on a CPU) and its
time to target is the wall time of the shortest run whose final test accuracy, averaged over
the seeds, reaches the target. The wall time covers the whole run: set-up (normalisation, the
whitening fit), training and the one final evaluation, which both loops share
(:func:`augworth.train.evaluate`).

Nothing here is imported by an experiment: it changes no result's cache key.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Recipes (TrainConfig fields) against today's, chosen on time to 85% test accuracy on the full
#: Fashion-MNIST training set (pilots/time_to_target.py, seeds 0 and 1: today's recipe needs whole
#: runs of 0.59 epochs). FAST_RECIPE reaches it in 0.42 but moves the exchange-rate chapter's key
#: contrast (benchmarks/recipe_bench.py --contrast: the whitening stem and Dirac initialisation
#: each raise no augmentation's test error at n = 250), so it is an option for speed runs only.
#: NEW_RECIPE keeps the lever that kept the contrast. Neither is the default of any chapter.
FAST_RECIPE = {"lr": 0.2, "stem": "whiten", "dirac_init": True}
NEW_RECIPE = {"lr": 0.2}
#: What ``make bench`` and ``make gpu`` time against the naive loop (the last line reads "new recipe")
TARGET_RECIPES = {"today's recipe": {}, "new recipe": NEW_RECIPE, "fast recipe (moves the contrast)": FAST_RECIPE}


def ladder(first: float, last: float, per_doubling: int) -> tuple[float, ...]:
    """Run lengths from ``first`` to ``last`` epochs, ``per_doubling`` of them per doubling."""
    k = round(per_doubling * math.log2(last / first))
    return tuple(round(first * 2 ** (i / per_doubling), 3) for i in range(k + 1))


#: Run lengths tried on a CPU, shortest first, in epochs of the training set (x1.19 apart); on a GPU
#: the search starts at one epoch and goes x1.41 (``GPU_BUDGETS``)
BUDGETS = ladder(0.25, 4.0, 4)
GPU_BUDGETS = ladder(1.0, 16.0, 2)


@dataclass(frozen=True)
class Reached:
    """A contender's shortest run that reaches the target (``seconds`` None: no run did)."""

    contender: str
    epochs: float | None        # the run's length, epochs of the training set
    steps: int | None
    seconds: float | None       # wall time of one run of that length, mean over the seeds
    accuracy: float             # its final test accuracy, mean over the seeds (the longest run's if none reached)
    tried: int                  # runs trained to find it (all seeds)


def at_its_best(contender: str, run: Callable[[int, int], tuple[float, float]], steps_per_epoch: int,
                target: float, seeds: Sequence[int] = (0, 1), budgets: Sequence[float] = BUDGETS,
                deadline: float | None = None) -> Reached:
    """The shortest budget whose runs reach ``target`` on average over ``seeds``.

    ``run(steps, seed)`` trains one whole run of ``steps`` steps and returns (wall seconds, final
    test accuracy). The search gives up (not reached) at the first budget that would start after
    ``deadline`` (a ``time.time()``)."""
    tried, acc = 0, float("nan")
    for epochs in budgets:
        if deadline is not None and time.time() > deadline:
            break
        steps = max(1, round(epochs * steps_per_epoch))
        outs = [run(steps, seed) for seed in seeds]
        tried += len(outs)
        acc = sum(a for _, a in outs) / len(outs)
        if acc >= target:
            return Reached(contender, epochs, steps, sum(s for s, _ in outs) / len(outs), acc, tried)
    return Reached(contender, None, None, None, acc, tried)


def engine_run(name: str, width: int, ds, device, batch_size: int, lr: float, recipe: dict | None = None,
               compile: bool = False) -> Callable[[int, int], tuple[float, float]]:
    """``run(steps, seed)`` for the engine with ``recipe`` (TrainConfig fields; the fast CNN's
    levers apply to it only)."""
    from .config import TrainConfig
    from .train import fit

    levers = dict(recipe or {}) if name == "fast_cnn" else {k: v for k, v in (recipe or {}).items()
                                                            if k not in ("stem", "dirac_init")}

    def run(steps: int, seed: int) -> tuple[float, float]:
        cfg = TrainConfig(**{"model": name, "width": width, "steps": steps, "batch_size": batch_size, "lr": lr,
                             "augment": "crop(2)+flip", "compile": compile, "seed": seed, **levers})
        start = time.perf_counter()
        res = fit(cfg, ds.train_x, ds.train_y, 10, {"val": (ds.test_x, ds.test_y)}, device=device)
        return time.perf_counter() - start, float(res.history[-1]["val_acc"])

    return run


def naive_loader(x_u8, y, batch_size: int, device, seed: int, padding: int = 2):
    """torchvision's per-image pipeline in a DataLoader: (loader, (mean, std)). On the CPU no
    worker processes (with two cores they would take the cores the model trains on)."""
    import torch
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms as T

    mean = float(x_u8.float().mean() / 255)
    std = float((x_u8.float() / 255).std())
    tf = T.Compose([T.ToPILImage(), T.RandomCrop(x_u8.shape[-1], padding=padding), T.RandomHorizontalFlip(),
                    T.ToTensor(), T.Normalize([mean] * x_u8.shape[1], [std] * x_u8.shape[1])])

    class PerImage(Dataset):
        def __len__(self):
            return len(y)

        def __getitem__(self, i):
            return tf(x_u8[i]), y[i]

    cuda = device.type == "cuda"
    return DataLoader(PerImage(), batch_size=batch_size, shuffle=True, drop_last=True,
                      generator=torch.Generator().manual_seed(seed), num_workers=8 if cuda else 0,
                      pin_memory=cuda, persistent_workers=cuda), (mean, std)


def naive_model(name: str, width: int, ds, device, batch_size: int, lr: float, seed: int):
    """The naive baseline's (model, loader, optimiser, (mean, std)) with today's recipe: SGD with
    Nesterov momentum 0.9 and weight decay 5e-4 (its learning rate is set per step: :func:`naive_step`)."""
    import torch

    from .models import build_model

    torch.manual_seed(seed)
    c, h = ds.train_x.shape[1], ds.train_x.shape[2]
    model = build_model(name, in_channels=c, num_classes=10, image_size=h, width=width).to(device)
    loader, stats = naive_loader(ds.train_x.cpu(), ds.train_y.cpu(), batch_size, device, seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    model.train()
    return model, loader, opt, stats


def naive_step(model, opt, xb, yb, device, lr: float) -> None:
    """One step of the naive loop at learning rate ``lr``: the batch copied to the device, fp32."""
    import torch.nn.functional as F

    xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
    for g in opt.param_groups:
        g["lr"] = lr
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def naive_run(name: str, width: int, ds, device, batch_size: int, lr: float) -> Callable[[int, int], tuple[float, float]]:
    """``run(steps, seed)`` for the naive baseline with today's recipe (:func:`naive_model`):
    warm-up over 3.33% of the steps, then cosine decay to 0."""
    import torch

    from .train import evaluate, lr_at

    def run(steps: int, seed: int) -> tuple[float, float]:
        start = time.perf_counter()
        model, loader, opt, (mean, std) = naive_model(name, width, ds, device, batch_size, lr, seed)
        step = 0
        while step < steps:
            for xb, yb in loader:
                naive_step(model, opt, xb, yb, device, lr_at(step, steps, lr, 0.0333))
                step += 1
                if step == steps:
                    break
        acc = evaluate(model, ds.test_x.to(device), ds.test_y.to(device), 10, torch.tensor(mean, device=device),
                       torch.tensor(std, device=device))["accuracy"]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start, float(acc)

    return run


def time_to_target(name: str, width: int, ds, device, target: float, batch_size: int, lr: float,
                   recipes: dict[str, dict], seeds: Sequence[int] = (2, 3), compile: bool = False,
                   budgets: Sequence[float] | None = None, deadline: float | None = None) -> list[Reached]:
    """The naive loop (today's recipe) and the engine with each of ``recipes``, each at its best.
    The default seeds are not those the recipes were chosen on (0 and 1); the default run lengths
    are the device's (``BUDGETS`` on a CPU, ``GPU_BUDGETS`` on CUDA)."""
    if budgets is None:
        budgets = GPU_BUDGETS if device.type == "cuda" else BUDGETS
    steps_per_epoch = len(ds.train_y) // batch_size
    out = [at_its_best("naive loop, today's recipe", naive_run(name, width, ds, device, batch_size, lr),
                       steps_per_epoch, target, seeds, budgets, deadline)]
    for label, recipe in recipes.items():
        out.append(at_its_best(f"engine, {label}", engine_run(name, width, ds, device, batch_size, lr, recipe, compile),
                               steps_per_epoch, target, seeds, budgets, deadline))
    return out


def speed_up(rows: Sequence[Reached], contender: str) -> float | None:
    """The naive loop's time to target over ``contender``'s (None when either never reached it)."""
    naive = rows[0].seconds
    other = next(r.seconds for r in rows if r.contender == contender)
    return naive / other if naive and other else None
