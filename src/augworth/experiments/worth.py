"""Runner of `worth`: what one augmentation is worth on a user's own data.

The measurement is the exchange-rate chapter's (paper C's protocol), pointed at one augmentation
and a baseline: class-balanced nested subsets of n images, each trained for one fixed step
budget with the augmentation and with the baseline, per seed (paired: a seed is one subset,
initialisation and batch order); the baseline's error curve is fitted with a power law and the
augmentation's error turned into its worth v(n) in extra samples; the largest-n runs of the
first seed are repeated with more steps to check convergence. The cells are the exchange
chapter's cells (:func:`augworth.experiments.exchange_rate.exchange_cell`), so the training
road, the cache and the executors are the same. One more cell retrains the augmented model of
the first seed at the largest n and measures, for the spec's linear stages, closed-form moments
of a few test images and the draws a 1%-accurate loss estimate needs
(:mod:`augworth.experiments.sample_complexity`'s measure).

:func:`choose_design` sizes the run from the data set and the time budget (a pure function of
measured step times, tested); :func:`resolve` measures those step times and returns the
parameters with every design field set; :func:`augworth.analysis.worth.analyse` builds every
table the report shows.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import torch

from .. import runtime
from ..config import ConfigError, linear_part, param
from ..config.worth import WorthParams
from ..data import class_counts, train_val_split
from ..metrics.stats import MIN_SEEDS
from ..seeds import seed_stream
from .cells import cell_type, make_cell
from .exchange_rate import ExchangeCell, exchange_cell, runs_frame
from .registry import runner
from .sample_complexity import EPSILONS
from .sweep import cell_threads, parallelism, run_sweep
from .training import cached_dataset

STEP_LADDER = (25, 50, 100, 200, 400, 800, 1600, 3200, 6400)  # steps are chosen from these (stable on resume)
MIN_STEPS = 50            # the smallest design trains every model for this many steps
DESIGN_SEEDS_MIN, DESIGN_SEEDS_GOOD, DESIGN_SEEDS_MAX = MIN_SEEDS, 5, 8  # seeds a design starts at, aims for, stops at
N_SIZES = 4               # sizes chosen: the fewest a 3-parameter power law plus a held-out size needs
SMALLEST_SHARE = 8        # chosen sizes run from the largest / 8 (at least 2 per class) to the largest
EPOCHS_FIRST, EPOCHS_MAX = 30, 120  # passes over the largest subset: steps grow to the first, then the second
EPOCHS_MIN = 10           # chosen sizes stop where the largest subset would be seen fewer times than this
CALIBRATION_STEPS = 12    # steps of the timing runs that size the design
DRAW_IMAGES = 16          # test images the draws-needed distribution is read on
EPS = EPSILONS[0]         # relative accuracy of the loss estimate whose draws are counted (1%)
MC_DRAWS = 4096           # Monte Carlo draws that check the closed-form moments of each shown image


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


def calibrate(p: WorthParams, sizes: Sequence[int]) -> tuple[float, float]:
    """(seconds per training step, seconds per evaluation) measured here: a few steps of each
    policy at the largest size, on one thread as every cell computes (the slower policy counts)."""
    per_step, evals = [], []
    with cell_threads():
        for aug in (p.augment, p.baseline):
            cell = _exchange_cell(p, max(sizes), aug, 0, steps=CALIBRATION_STEPS)
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


# --- the cells and the runner -----------------------------------------------------------------

#: The model of the first seed at the largest n, and the closed-form section measured on it.
MomentsCell = cell_type("MomentsCell", __name__, WorthParams, ("moment_images", "quad_nodes", "quad_nodes_rrc", "n_ref"),
                        extra={"linear": (str, param("none", "the augmentation's linear stages, whose moments are "
                                                             "measured"))})


def _exchange_cell(p: WorthParams, n: int, augment: str, seed: int, **fields):
    """A model of the worth sweep: the exchange chapter's cell (evaluated corrupted when ``p.ood``)."""
    return make_cell(ExchangeCell, p, n_train=n, augment=augment, seed=seed, evaluate_val=False,
                     corruptions=list(p.corruptions) if p.ood else [], ood_images=p.ood_images, **fields)


def cells(p: WorthParams) -> list[tuple[str, object]]:
    """(kind, cell): both policies x sizes x seeds (``main``), and the largest-n runs of the first
    seed with ``convergence_factor`` x the steps (``convergence``) -- the exchange chapter's
    cells."""
    cell = functools.partial(_exchange_cell, p)
    out = [("main", cell(n, aug, s)) for n in p.sizes for aug in (p.baseline, p.augment) for s in p.seeds]
    if p.convergence_factor > 1:
        out += [("convergence", cell(max(p.sizes), aug, p.seeds[0], steps=p.steps * p.convergence_factor))
                for aug in (p.baseline, p.augment)]
    return out


def moments_cells(p: WorthParams) -> list:
    """The moments cell, when the augmentation has linear stages and the report asks for them."""
    spec = linear_part(p.augment)
    if not (p.moments and spec is not None):
        return []
    return [make_cell(MomentsCell, p, n_train=max(p.sizes), augment=p.augment, seed=p.seeds[0], linear=spec,
                      evaluate_val=False)]


def moments_cell(cell) -> dict:
    """For the spec's linear stages ``linear``, on the model a training cell trains: the
    closed-form mean and sd of ``moment_images`` test images (each checked against a Monte Carlo),
    and on ``DRAW_IMAGES`` test images E[L], Var[L] of the cross-entropy under the stages and the
    draws a 1%-accurate Monte Carlo estimate of E[L] needs, Var / (eps^2 E^2)."""
    from ..augment import build
    from ..data import balanced_indices
    from ..models import Normalised
    from .sample_complexity import per_image_ce, moment_map, nodes_for, reference_error, truth
    from .training import train_on_cell

    q, spec = cell, cell.linear
    ds, _, res = train_on_cell(cell)
    device = ds.device
    mean, std = res.normalisation
    model = Normalised(res.model, mean, std).eval()
    k = min(DRAW_IMAGES, len(ds.test_y))
    idx = balanced_indices(ds.test_y, k, cell.seed, num_classes=ds.num_classes).to(device)
    images, labels = ds.test_x[idx].float() / 255.0, ds.test_y[idx]
    gen = torch.Generator(device=device).manual_seed(seed_stream(cell.seed, "moments draws"))
    pipe = build(spec)
    maps = [{"label": int(labels[i]), "image": images[i].cpu().numpy(),
             **moment_map(spec, images[i], nodes_for(q, spec), MC_DRAWS, gen)}
            for i in range(min(cell.moment_images, k))]
    draws = []
    for i in range(k):
        e, v, _, _, how = truth(model, per_image_ce, pipe, images[i], labels[i], q, device, gen, grads=False)
        draws.append({"image": i, "label": int(labels[i]), "E_L": e, "Var_L": v, "how": how,
                      "ref_rel_err": reference_error(how, e, v, q), "draws": v / (EPS**2 * e**2) if e else math.inf})
    return {"spec": spec, "maps": maps, "draws": draws, "test_acc": res.final["test"]["accuracy"]}


@runner("worth", version=1, params=WorthParams)
def worth(p: WorthParams, device) -> dict:
    """The worth sweep (both policies x sizes x seeds, convergence runs) and the moments cell."""
    if not p.resolved:
        raise ConfigError("worth needs its design resolved (sizes, steps and seeds set): run it through "
                          "`python -m augworth worth`, or give --sizes, --steps and --seeds")
    facts = data_facts(p)
    check_sizes(p.sizes, facts)
    todo = cells(p)
    sweep = run_sweep(exchange_cell, [c for _, c in todo], name="exchange_cell")
    classwise_rows = [{"augment": c.augment, "n": c.n_train, "seed": c.seed,
                       "per_class": list(map(float, r["test_per_class"])), "confusion": np.asarray(r["test_confusion"]).tolist()}
                      for (kind, c), r in zip(todo, sweep.results) if kind == "main"]
    compute = sweep.compute_s
    moments = None
    extra = moments_cells(p)
    if extra:
        m = run_sweep(moments_cell, extra, name="worth_moments")
        moments, compute = m.results[0], compute + m.compute_s
    return {"runs": runs_frame(todo, sweep.results), "classwise": classwise_rows, "moments": moments,
            "facts": facts.as_dict(), "compute_s": compute}


moments_cell.cell_type = MomentsCell
