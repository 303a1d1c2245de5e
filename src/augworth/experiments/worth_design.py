"""The design of a `worth` run: from the data set's size and the time budget, the subset sizes,
the step budget and the seeds (:func:`choose_design`, a pure function of measured step times,
tested); :func:`calibrate` measures those step times; :func:`resolve` returns the parameters with
every design field set."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .. import runtime
from ..config import ConfigError, linear_part
from ..config.worth import WorthParams
from ..data import class_counts, train_val_split
from ..metrics.stats import MIN_SEEDS
from .cells import make_cell
from .exchange_rate import ExchangeCell, exchange_cell
from .sweep import cell_threads, parallelism
from .training import cached_dataset

STEP_LADDER = (25, 50, 100, 200, 400, 800, 1600, 3200, 6400)  # steps are chosen from these (stable on resume)
MIN_STEPS = 50            # the smallest design trains every model for this many steps
DESIGN_SEEDS_MIN, DESIGN_SEEDS_GOOD, DESIGN_SEEDS_MAX = MIN_SEEDS, 5, 8  # seeds a design starts at, aims for, stops at
N_SIZES = 4               # sizes chosen: the fewest a 3-parameter power law plus a held-out size needs
SMALLEST_SHARE = 8        # chosen sizes run from the largest / 8 (at least 2 per class) to the largest
EPOCHS_FIRST, EPOCHS_MAX = 30, 120  # passes over the largest subset: steps grow to the first, then the second
EPOCHS_MIN = 10           # chosen sizes stop where the largest subset would be seen fewer times than this
CALIBRATION_STEPS = 12    # steps of the timing runs that size the design


# --- the data and the design ------------------------------------------------------------------

@dataclass(frozen=True)
class DataFacts:
    """What the design needs to know about a data set (its training pool is the whole train split
    less the validation images)."""

    name: str
    classes: tuple[str, ...]
    per_class: tuple[int, ...]  # training images per class
    n_test: int
    image_shape: tuple[int, int, int]

    def as_dict(self) -> dict:
        return {"name": self.name, "classes": list(self.classes), "per_class": list(self.per_class),
                "n_test": self.n_test, "image_shape": list(self.image_shape)}


def data_facts(p: WorthParams) -> DataFacts:
    """Load the data set ``p`` names (errors about the folder become ConfigErrors naming it)."""
    device = runtime.resolve_device(p.device)
    try:
        ds = cached_dataset(p.dataset, p.data_path, p.image_size, str(device))
    except ValueError as err:  # mixed sizes, fewer than 2 classes, train/val mismatch
        raise ConfigError(f"data {p.data_path or p.dataset}: {err}") from None
    pool, _ = train_val_split(ds.train_y, p.val_size, num_classes=ds.num_classes)
    counts = class_counts(ds.train_y[pool], ds.num_classes)
    return DataFacts(ds.name, tuple(ds.classes), tuple(int(c) for c in counts), len(ds.test_y), ds.image_shape)


def size_ladder(facts: DataFacts, count: int = N_SIZES, cap: int | None = None) -> list[int]:
    """``count`` class-balanced sizes, geometric, from the largest / 8 (at least 2 images per
    class) up to every image of the smallest class, or ``cap`` images per class if fewer (each
    size a multiple of the classes)."""
    k, top = len(facts.classes), min(facts.per_class)
    smallest = facts.classes[int(np.argmin(facts.per_class))]
    top = top if cap is None else max(min(top, cap), min(top, count))
    if top < count:
        raise ConfigError(f"class '{smallest}' has {top} training image{'s' if top != 1 else ''}: the smallest "
                          f"design needs {count} per class ({count} distinct class-balanced sizes); add images or "
                          "leave the class out")
    for lo in (max(2.0, top / SMALLEST_SHARE), 1.0):
        per = sorted({int(round(v)) for v in np.geomspace(lo, top, count)})
        if len(per) == count:
            return [q * k for q in per]
    return [q * k for q in range(top - count + 1, top + 1)]


def check_sizes(sizes: Sequence[int], facts: DataFacts) -> None:
    """Every class must hold its share of the largest size; the smallest size needs one image of
    every class."""
    k = len(facts.classes)
    need_max = math.ceil(max(sizes) / k)
    short = [(c, m) for c, m in zip(facts.classes, facts.per_class) if m < need_max]
    if min(sizes) < k:
        raise ConfigError(f"parameter 'sizes' holds {min(sizes)}, fewer than the {k} classes: a class-balanced "
                          "subset needs at least one image of each")
    if short:
        c, m = min(short, key=lambda t: t[1])
        need_min = math.ceil(min(sizes) / k)
        what = "smallest" if m < need_min else "largest"
        n = min(sizes) if what == "smallest" else max(sizes)
        raise ConfigError(f"class '{c}' has {m} training images, fewer than the {math.ceil(n / k)} per class the "
                          f"{what} subset n = {n} needs (parameter 'sizes' = {list(sizes)}; the largest balanced "
                          f"size here is {min(facts.per_class) * k})")


@dataclass(frozen=True)
class Design:
    """Sizes, steps and seeds of a worth run, with the time it is predicted to take."""

    sizes: tuple[int, ...]
    steps: int
    seeds: tuple[int, ...]
    cells: int
    predicted_s: float
    budget_s: float
    sec_per_step: float
    eval_s: float
    workers: int
    chosen: tuple[str, ...]  # the fields chosen here (the others were given)

    def line(self) -> str:
        chosen = f" (chosen: {', '.join(self.chosen)})" if self.chosen else ""
        return (f"sizes {list(self.sizes)}, {self.steps} steps per model, seeds {list(self.seeds)}: {self.cells} "
                f"models, predicted {self.predicted_s / 60:.1f} min on {self.workers} worker"
                f"{'s' if self.workers != 1 else ''} (budget {self.budget_s / 60:.1f} min){chosen}")


def predict_seconds(n_sizes: int, n_seeds: int, steps: int, factor: int, sec_per_step: float, eval_s: float,
                    workers: int = 1, moments: bool = True) -> tuple[int, float]:
    """(models, wall seconds) of a design: two policies x sizes x seeds, the two convergence
    runs (factor x the steps) and the moments model, each model its steps' time plus one
    evaluation, shared over ``workers`` processes."""
    main = 2 * n_sizes * n_seeds
    conv = 2 if factor > 1 else 0
    extra = 1 if moments else 0
    step_units = (main + extra) * steps + conv * factor * steps
    models = main + conv + extra
    return models, (step_units * sec_per_step + models * eval_s) / max(1, workers)


def choose_design(facts: DataFacts, p: WorthParams, sec_per_step: float, eval_s: float, workers: int = 1) -> Design:
    """The design for ``p``'s budget: given fields are kept; the rest is grown greedily from
    the smallest design (3 seeds, the smallest step budget that gives at least
    ``MIN_STEPS`` steps) in this order while the predicted time fits ``p.minutes``: seeds to 5,
    steps until the largest subset is seen ``EPOCHS_FIRST`` times, seeds to 8, steps until
    ``EPOCHS_MAX``. Chosen sizes stop where the largest subset would be seen fewer than
    ``EPOCHS_MIN`` times in the steps chosen (a large data set on a small budget). A budget that
    does not fit the smallest design is a ConfigError saying what it needs."""
    sizes = tuple(p.sizes) if p.sizes else tuple(size_ladder(facts))
    check_sizes(sizes, facts)
    budget = 60.0 * p.minutes
    moments = p.moments and linear_part(p.augment) is not None
    n_max, batch = max(sizes), p.batch_size

    def epochs(steps):
        return steps * min(batch, n_max) / n_max

    def cost(seeds, steps):
        return predict_seconds(len(sizes), seeds, steps, p.convergence_factor, sec_per_step, eval_s, workers, moments)

    seeds = len(p.seeds) or DESIGN_SEEDS_MIN
    steps = p.steps or next(s for s in STEP_LADDER if s >= MIN_STEPS)
    models, t = cost(seeds, steps)
    if t > budget:
        one = predict_seconds(1, 1, steps, 1, sec_per_step, eval_s, 1, False)[1] / 2
        raise ConfigError(
            f"parameter 'minutes' = {p.minutes:g} is too small: " + (
                f"one model of {steps} steps alone takes ~{one:.0f} s here" if one > budget else
                f"the smallest design ({len(sizes)} sizes x 2 policies x {seeds} seeds x {steps} steps, plus the "
                f"convergence runs: {models} models) takes ~{t / 60:.1f} min here") +
            f" (measured {1000 * sec_per_step:.0f} ms per step, {eval_s:.1f} s per evaluation, {workers} worker"
            f"{'s' if workers != 1 else ''}); give --minutes {math.ceil(t / 60 * 1.2 * 10) / 10:g} or more, "
            "fewer sizes/steps/seeds, or a smaller --resize")

    def grow_seeds(cap):
        return lambda s, k: (s + 1, k) if not p.seeds and s < cap else None

    def grow_steps(cap_epochs):
        def move(s, k):
            if p.steps or epochs(k) >= cap_epochs or k >= STEP_LADDER[-1]:
                return None
            return s, next(v for v in STEP_LADDER if v > k)
        return move

    for move in (grow_seeds(DESIGN_SEEDS_GOOD), grow_steps(EPOCHS_FIRST), grow_seeds(DESIGN_SEEDS_MAX), grow_steps(EPOCHS_MAX)):
        while (nxt := move(seeds, steps)) is not None and cost(*nxt)[1] <= budget:
            seeds, steps = nxt
    if not p.sizes and epochs(steps) < EPOCHS_MIN:  # a large data set: the budget trains small subsets well
        capped = tuple(size_ladder(facts, cap=steps * batch // (EPOCHS_MIN * len(facts.classes))))
        if capped != sizes:
            d = choose_design(facts, replace(p, sizes=capped), sec_per_step, eval_s, workers)
            return replace(d, chosen=("sizes",) + d.chosen)
    models, t = cost(seeds, steps)
    chosen = tuple(name for name, given in (("sizes", p.sizes), ("steps", p.steps), ("seeds", p.seeds)) if not given)
    return Design(sizes, steps, tuple(p.seeds) or tuple(range(seeds)), models, t, budget, sec_per_step, eval_s,
                  workers, chosen)


def _workers() -> int:
    """Processes the sweep will train on (one unless the process executor)."""
    executor, workers = parallelism()
    return workers if executor == "process" else 1


def model_cell(p: WorthParams, n: int, augment: str, seed: int, **fields):
    """A model of the worth sweep: the exchange chapter's cell (evaluated corrupted when ``p.ood``)."""
    return make_cell(ExchangeCell, p, n_train=n, augment=augment, seed=seed, evaluate_val=False,
                     corruptions=list(p.corruptions) if p.ood else [], ood_images=p.ood_images, **fields)


def calibrate(p: WorthParams, sizes: Sequence[int]) -> tuple[float, float]:
    """(seconds per training step, seconds per evaluation) measured here: a few steps of each
    policy at the largest size, on one thread as every cell computes (the slower policy counts)."""
    per_step, evals = [], []
    with cell_threads():
        for aug in (p.augment, p.baseline):
            cell = model_cell(p, max(sizes), aug, 0, steps=CALIBRATION_STEPS)
            start = time.perf_counter()
            r = exchange_cell(cell)
            wall = time.perf_counter() - start
            per_step.append(r["train_seconds"] / CALIBRATION_STEPS)
            evals.append(max(0.0, wall - r["train_seconds"]))
    return max(per_step), max(evals)


def resolve(p: WorthParams, timing: tuple[float, float] | None = None) -> tuple[WorthParams, Design, DataFacts]:
    """``p`` with its design chosen (:func:`choose_design`, on step times measured here unless
    ``timing`` gives them), the design, and the data set's facts."""
    facts = data_facts(p)
    sizes = tuple(p.sizes) if p.sizes else tuple(size_ladder(facts))
    check_sizes(sizes, facts)
    p = replace(p, ood_images=min(p.ood_images, facts.n_test))
    timing = timing or calibrate(replace(p, sizes=sizes), sizes)
    d = choose_design(facts, p, *timing, workers=_workers())
    return replace(p, sizes=d.sizes, steps=d.steps, seeds=d.seeds), d, facts
