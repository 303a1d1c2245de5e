"""The design of a `worth` run: from the data set's size and the time budget, the subset sizes,
the step budget and the seeds. The steps come first: a convergence pilot (:func:`pilot_steps`) on
the largest size climbs a ladder of step budgets S, training both policies on the first
``PILOT_SEEDS`` seeds with S and with ``convergence_factor`` x S steps, and keeps the smallest S
whose extra steps move every policy's test error by less than the tolerance (90% t interval of the
paired change over the seeds inside +-tol). Only then are the seeds and sizes fitted to what is
left of the budget (:func:`choose_design`, a pure function of measured step times, tested). When
no step budget converges inside the budget, it says before the main design trains how many
minutes the smallest converging design needs. :func:`calibrate` measures the step times;
:func:`resolve` returns the parameters with every design field set."""

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
from ..metrics.stats import MIN_SEEDS, seeds_needed, t_interval
from .cells import make_cell
from .exchange_rate import ExchangeCell, exchange_cell
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
PILOT_SEEDS = 3           # seeds of the convergence pilot (and of the convergence runs the verdict reads)
PILOT_LEVEL = 0.90        # the pilot's interval: two one-sided tests at 5% that the change lies inside +-tol


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
    pilot: "Pilot | None" = None  # the convergence pilot that chose the steps

    def line(self) -> str:
        chosen = f" (chosen: {', '.join(self.chosen)})" if self.chosen else ""
        return (f"sizes {list(self.sizes)}, {self.steps} steps per model, seeds {list(self.seeds)}: {self.cells} "
                f"models, predicted {self.predicted_s / 60:.1f} min on {self.workers} worker"
                f"{'s' if self.workers != 1 else ''} (budget {self.budget_s / 60:.1f} min){chosen}"
                + (f"; {self.pilot.line()}" if self.pilot else ""))


def predict_seconds(n_sizes: int, n_seeds: int, steps: int, factor: int, sec_per_step: float, eval_s: float,
                    workers: int = 1, moments: int = 1, conv_seeds: int = PILOT_SEEDS,
                    policies: int = 2) -> tuple[int, float]:
    """(models, wall seconds) of a design: ``policies`` (the baseline and each augmentation) x
    sizes x seeds, their convergence runs on the first ``conv_seeds`` seeds (factor x the steps)
    and ``moments`` moments models, each model its steps' time plus one evaluation, shared over
    ``workers`` processes."""
    main = policies * n_sizes * n_seeds
    conv = policies * min(conv_seeds, n_seeds) if factor > 1 else 0
    extra = int(moments)
    step_units = (main + extra) * steps + conv * factor * steps
    models = main + conv + extra
    return models, (step_units * sec_per_step + models * eval_s) / max(1, workers)


def choose_design(facts: DataFacts, p: WorthParams, sec_per_step: float, eval_s: float, workers: int = 1,
                  spent_s: float = 0.0, min_seeds: int = DESIGN_SEEDS_MIN) -> Design:
    """The design for ``p``'s budget: given fields are kept; the rest is grown greedily from
    the smallest design (3 seeds, the smallest step budget that gives at least
    ``MIN_STEPS`` steps) in this order while the predicted time fits ``p.minutes``: seeds to 5,
    steps until the largest subset is seen ``EPOCHS_FIRST`` times, seeds to 8, steps until
    ``EPOCHS_MAX``. Chosen sizes stop where the largest subset would be seen fewer than
    ``EPOCHS_MIN`` times in the steps chosen (a large data set on a small budget). A budget that
    does not fit the smallest design is a ConfigError saying what it needs. ``spent_s``: seconds
    of the budget already spent (the convergence pilot's, less the models the design reuses)."""
    sizes = tuple(p.sizes) if p.sizes else tuple(size_ladder(facts))
    check_sizes(sizes, facts)
    budget = 60.0 * p.minutes - spent_s
    moments = moments_models(p)
    n_max, batch = max(sizes), p.batch_size

    def epochs(steps):
        return steps * min(batch, n_max) / n_max

    def cost(seeds, steps):
        return predict_seconds(len(sizes), seeds, steps, p.convergence_factor, sec_per_step, eval_s, workers, moments,
                               p.convergence_runs, len(p.policies))

    seeds = len(p.seeds) or max(DESIGN_SEEDS_MIN, min_seeds)
    steps = p.steps or next(s for s in STEP_LADDER if s >= MIN_STEPS)
    models, t = cost(seeds, steps)
    if t > budget:
        one = predict_seconds(1, 1, steps, 1, sec_per_step, eval_s, 1, 0)[1] / 2
        raise ConfigError(
            f"parameter 'minutes' = {p.minutes:g} is too small: " + (
                f"one model of {steps} steps alone takes ~{one:.0f} s here" if one > budget else
                f"the smallest design ({len(sizes)} sizes x {len(p.policies)} policies x {seeds} seeds x {steps} "
                "steps, plus the "
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
            d = choose_design(facts, replace(p, sizes=capped), sec_per_step, eval_s, workers, spent_s)
            return replace(d, chosen=("sizes",) + d.chosen)
    models, t = cost(seeds, steps)
    chosen = tuple(name for name, given in (("sizes", p.sizes), ("steps", p.steps), ("seeds", p.seeds)) if not given)
    return Design(sizes, steps, tuple(p.seeds) or tuple(range(seeds)), models, t, budget, sec_per_step, eval_s,
                  workers, chosen)


# --- the convergence pilot ----------------------------------------------------------------------

@dataclass(frozen=True)
class PilotLevel:
    """One rung of the pilot: the step budget S and, per policy, the paired change of the test
    error from S to factor x S steps over the pilot seeds (estimate, lo, hi at PILOT_LEVEL)."""

    steps: int
    changes: dict
    converged: bool
    seeds: int = PILOT_SEEDS
    more_seeds: int | None = None  # not shown but below the tolerance: the seeds a power calculation asks for

    def line(self, factor: int) -> str:
        parts = [f"{pol} {est:+.4f} ({lo:+.4f} to {hi:+.4f})" for pol, (est, lo, hi) in self.changes.items()]
        return f"{self.steps} -> {factor * self.steps} steps, {self.seeds} seeds: " + ", ".join(parts)


@dataclass(frozen=True)
class Pilot:
    """What the pilot found: the smallest converged step budget (None: none inside the budget),
    every rung it trained, the seconds it predicts it spent, and -- when it stopped for the
    budget -- the seconds the next rung and the main design after it would need."""

    steps: int | None
    levels: tuple[PilotLevel, ...]
    spent_s: float
    factor: int
    tol: float
    needed_s: float = 0.0
    likely_s: float = 0.0   # at the spread measured: the seeds a power calculation asks for, their design

    @property
    def seeds(self) -> int:
        """The seeds of its last rung (the design's convergence runs are theirs)."""
        return self.levels[-1].seeds if self.levels else PILOT_SEEDS

    def line(self) -> str:
        rungs = "; ".join(level.line(self.factor) for level in self.levels) or "no rung fitted the budget"
        head = (f"converged at {self.steps} steps" if self.steps else "no step budget converged inside the budget")
        return f"convergence pilot: {head} (test error change, 90% CI, tolerance +-{self.tol:g}): {rungs}"


def pilot_ladder(factor: int) -> list[int]:
    """The step budgets the pilot tries: the ladder from MIN_STEPS while factor x S stays on it."""
    return [v for v in STEP_LADDER if v >= MIN_STEPS and factor * v <= STEP_LADDER[-1]]


def pilot_steps(measure, policies: Sequence[str], seeds: Sequence[int], tol: float, factor: int,
                budget_s: float, cost_s, after_s=lambda steps, n_seeds: 0.0, start_seeds: int = PILOT_SEEDS) -> Pilot:
    """Climb :func:`pilot_ladder`: at each S train (``measure``) every policy on the first seeds of
    ``seeds`` with S and ``factor`` x S steps -- a rung reuses the models of the one before -- and
    stop at the first S whose paired change of the test error lies, for every policy, inside
    +-``tol`` (the PILOT_LEVEL t interval over the seeds). A change as large as the tolerance moves
    to the next rung (more steps); a smaller one whose interval is too wide to show it adds seeds
    first (``start_seeds``, then 5, then all of ``seeds``), since more steps would not narrow it.
    ``measure(todo)``: {(policy, seed, steps): test error} for a list of such triples;
    ``cost_s(todo)``: their predicted seconds; ``after_s(S, n_seeds)``: the seconds the rest of a
    design at S would need. A batch is trained only when it and the rest of the design fit
    ``budget_s``; else the pilot stops with the seconds they would need (``needed_s``) and, where
    the last rung's changes were all smaller than the tolerance, the seconds a design with the
    seeds a power calculation at their spread asks for would need (``likely_s``)."""
    errs: dict = {}
    spent, levels = 0.0, []
    counts = sorted({min(len(seeds), c) for c in (start_seeds, DESIGN_SEEDS_GOOD, len(seeds))})
    m = counts[0]
    for steps in pilot_ladder(factor):
        while True:
            use = list(seeds[:m])
            todo = [(pol, s, k) for k in (steps, factor * steps) for pol in policies for s in use
                    if (pol, s, k) not in errs]
            need = cost_s(todo)
            needed = spent + need + after_s(steps, m)
            if needed > budget_s:
                likely = 0.0
                if levels and levels[-1].steps == steps and levels[-1].more_seeds:
                    m_star = levels[-1].more_seeds
                    more = [(pol, s, k) for k in (steps, factor * steps) for pol in policies for s in seeds[:m_star]
                            if (pol, s, k) not in errs]
                    likely = max(spent + cost_s(more) + after_s(steps, m_star), needed)
                return Pilot(None, tuple(levels), spent, factor, tol, needed_s=needed, likely_s=likely)
            errs.update(measure(todo))
            spent += need
            changes, inside, moving, seeds_for = {}, True, False, []
            for pol in policies:
                iv = t_interval(np.array([errs[(pol, s, factor * steps)] - errs[(pol, s, steps)] for s in use]),
                                level=PILOT_LEVEL)
                changes[pol] = (iv.estimate, iv.lo, iv.hi)
                inside = inside and -tol < iv.lo and iv.hi < tol
                moving = moving or abs(iv.estimate) >= tol
                if not (-tol < iv.lo and iv.hi < tol) and abs(iv.estimate) < tol:  # not shown: seeds that would
                    n = seeds_needed(iv.estimate, iv.sd, tol if iv.estimate >= 0 else -tol, level=PILOT_LEVEL)
                    seeds_for.append(min(len(seeds), n) if n else len(seeds))
            more_seeds = max(seeds_for) if seeds_for and not moving else None
            levels.append(PilotLevel(steps, changes, inside, len(use), more_seeds))
            if inside:
                return Pilot(steps, tuple(levels), spent, factor, tol)
            if moving or m == counts[-1]:
                break  # more steps
            m = next(c for c in counts if c > m)  # not shown: more seeds at the same steps
    return Pilot(None, tuple(levels), spent, factor, tol)


def run_pilot(p: WorthParams, n: int, seeds: Sequence[int], timing: tuple[float, float], budget_s: float,
              after_s, tol: float | None = None) -> Pilot:
    """:func:`pilot_steps` on the largest size ``n`` with the sweep's cells (stored like every
    cell: the main design reuses them, a rerun resumes them)."""
    sec_per_step, eval_s = timing
    workers = _workers()

    def measure(todo):
        res = run_sweep(exchange_cell, [model_cell(p, n, pol, s, steps=k) for pol, s, k in todo], name="exchange_cell")
        return {t: 1.0 - float(r["test_acc"]) for t, r in zip(todo, res.results)}

    def cost(todo):
        return sum(k * sec_per_step + eval_s for _, _, k in todo) / max(1, min(workers, len(todo) or 1))

    return pilot_steps(measure, p.policies, seeds, p.convergence_tol if tol is None else tol,
                       p.convergence_factor, budget_s, cost, after_s)


def moments_models(p: WorthParams) -> int:
    """The moments models a design trains: one per augmentation with linear stages (when asked)."""
    return sum(linear_part(a) is not None for a in p.augments) if p.moments else 0


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
    policy at the largest size, on one thread as every cell computes (the slowest policy counts)."""
    per_step, evals = [], []
    with cell_threads():
        for aug in p.policies:
            cell = model_cell(p, max(sizes), aug, 0, steps=CALIBRATION_STEPS)
            start = time.perf_counter()
            r = exchange_cell(cell)
            wall = time.perf_counter() - start
            per_step.append(r["train_seconds"] / CALIBRATION_STEPS)
            evals.append(max(0.0, wall - r["train_seconds"]))
    return max(per_step), max(evals)


def resolve(p: WorthParams, timing: tuple[float, float] | None = None,
            pilot=run_pilot) -> tuple[WorthParams, Design, DataFacts]:
    """``p`` with its design chosen, the design, and the data set's facts. Steps that are not
    given come from the convergence pilot (:func:`run_pilot`, on step times measured here unless
    ``timing`` gives them), the sizes the budget affords first, the seeds after it
    (:func:`choose_design`). A budget in which no step budget converges is a ConfigError that says
    what the smallest converging design needs (the pilot's models are stored: a rerun with more
    minutes continues from them)."""
    facts = data_facts(p)
    sizes = tuple(p.sizes) if p.sizes else tuple(size_ladder(facts))
    check_sizes(sizes, facts)
    p = replace(p, ood_images=min(p.ood_images, facts.n_test))
    timing = timing or calibrate(replace(p, sizes=sizes), sizes)
    workers = _workers()
    if p.steps or p.convergence_factor == 1:  # steps given (or no convergence runs): no pilot
        d = choose_design(facts, p, *timing, workers=workers)
        return replace(p, sizes=d.sizes, steps=d.steps, seeds=d.seeds), d, facts
    sizes = choose_design(facts, p, *timing, workers=workers).sizes  # the sizes the budget affords
    q = replace(p, sizes=sizes)
    seeds = tuple(p.seeds) or tuple(range(DESIGN_SEEDS_MAX))
    k, (sec, ev) = p.convergence_factor, timing
    moments, n_pol = moments_models(p), len(p.policies)
    tol = max(p.convergence_tol, 2.0 / facts.n_test)  # at least two test images' worth, as the verdict reads it

    def reused(steps, m):  # the pilot's models the design trains again: the largest size of the pilot seeds
        return n_pol * m * ((1 + k) * steps * sec + 2 * ev) / max(1, workers)

    def after(steps, m):  # the smallest design at these steps and seeds, less what the pilot trained
        n_seeds = len(p.seeds) or max(m, DESIGN_SEEDS_MIN)
        full = predict_seconds(len(sizes), n_seeds, steps, k, sec, ev, workers, moments, conv_seeds=m,
                               policies=n_pol)[1]
        return max(0.0, full - reused(steps, m))

    found = pilot(q, max(sizes), seeds, timing, 60.0 * p.minutes, after, tol)
    if found.steps is None:
        likely = max(found.likely_s, found.needed_s)
        more = (f"the smallest converging design needs more than {math.ceil(found.needed_s / 60 * 10) / 10:g} min here"
                + (f", about {math.ceil(found.likely_s / 60 * 10) / 10:g} min if the changes' spread stays as measured "
                   "(the seeds a power calculation asks for at these steps)" if found.likely_s > found.needed_s else "")
                + f": give --minutes {math.ceil(likely / 60 * 1.2 * 10) / 10:g} or more" if found.needed_s else
                f"even {k * pilot_ladder(k)[-1]} steps did not converge: a smaller learning rate or model, or "
                "--steps to train a fixed budget (the verdict then says it did not converge)")
        raise ConfigError(f"parameter 'minutes' = {p.minutes:g}: no converging design fits. {found.line()} (at n = "
                          f"{max(sizes)}); {more} (the pilot's models are stored: a rerun with the same sizes continues "
                          f"from them; --sizes {','.join(map(str, sizes))} keeps these)")
    m = found.seeds
    q = replace(q, steps=found.steps, convergence_runs=m, seeds=p.seeds or ())
    d = choose_design(facts, q, *timing, workers=workers, spent_s=max(0.0, found.spent_s - reused(found.steps, m)),
                      min_seeds=m)
    d = replace(d, chosen=tuple(dict.fromkeys(("sizes",) * (not p.sizes) + ("steps (pilot)",) + d.chosen)),
                pilot=found)
    return replace(p, sizes=d.sizes, steps=d.steps, seeds=d.seeds, convergence_runs=m), d, facts
