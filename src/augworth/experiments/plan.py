"""What a profile costs before it runs (``python -m augworth plan --profile full``).

Every chapter trains through :func:`augworth.experiments.training.train_on_cell`; this module
lists, per chapter, the models a profile's parameters make it train (the same cells its runner
builds) and counts, for each, the images it trains on (steps x batch), the images it is
evaluated on, and the floating-point operations of both: a forward pass's FLOPs counted by
torch's FLOP counter on one image (convolutions and matrix products), a training image as three
forward passes (forward, and a backward pass of about twice the forward), an evaluation image as
one. The invariant model (flip-average) runs the network twice per image.

Not counted: the work that is not training or evaluating a model -- flatness's Hessian power
iterations and loss-landscape slices, saliency's Monte Carlo gradients, sample_complexity's
moment estimates and its linear model. class_level's B4 cells depend on what the first sweep
finds: they are counted at their upper bound (every scope fixes a class).

``minutes(flops, tflops)`` turns a count into time at a sustained rate; :func:`sustained_tflops`
measures the rate of this machine's CPU on the reference step
(:func:`augworth.runtime.reference_step_ms`), the step of a quick exchange cell.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..config import TrainCell, load_params
from ..config.chapters import DEFAULT_IMAGE_SIZE
from .cells import evaluated_images

TRAIN_PASSES = 3  # forward-pass equivalents of one training image (forward, backward ~2x)


@functools.lru_cache(maxsize=None)
def forward_flops(model: str, width: int, in_channels: int, image_size: int, num_classes: int) -> int:
    """FLOPs of one image's forward pass (torch.utils.flop_counter: convolutions and matmuls)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..models import build_model

    net = build_model(model, in_channels=in_channels, num_classes=num_classes, image_size=image_size, width=width)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.zeros(1, in_channels, image_size, image_size))
    return int(counter.get_total_flops())


@dataclass
class Model:
    """One model a chapter trains: the cell, the images it trains on and is evaluated on."""
    cell: TrainCell
    train_images: int
    eval_images: int
    passes: int  # network passes per image (2 for the flip-average invariant model)

    def flops(self, test_shape: tuple[int, int, int], num_classes: int) -> float:
        c, h, _ = test_shape
        fwd = forward_flops(self.cell.model, self.cell.width, c, h, num_classes)
        return float(fwd * self.passes * (TRAIN_PASSES * self.train_images + self.eval_images))


def train_images(cell: TrainCell) -> int:
    """Images a cell's model trains on: steps x batch, with fit's rules (the last incomplete batch
    of an epoch dropped; fixed copies multiply the set)."""
    from ..train.loop import schedule

    bs, steps = schedule(cell, cell.n_train * max(1, cell.fixed_copies))
    return steps * bs


def model_of(cell: TrainCell, test_images: int) -> Model:
    """What a cell costs: the images its model trains and is evaluated on, and its passes."""
    return Model(cell, train_images(cell), evaluated_images(cell, test_images),
                 2 if cell.invariance == "flip-average" else 1)


def chapter_models(name: str, p, test_images: int, gates: dict | None = None) -> list[Model]:
    """The models chapter ``name`` trains with parameters ``p``: the cells its runner module
    gives (``cells(p)``; for a runner with a second stage, the most it may train), and what a
    registration's ``gates`` train beside it (B4's policy with more epochs)."""
    import importlib

    from .registry import get_runner

    module = importlib.import_module(get_runner(name).fn.__module__)
    if not hasattr(module, "cells"):
        return []  # data, scorecard: no training
    known = stored_second_stage(module, p)
    cells = module.cells(p) if known is None else [c for _, _, c in module.stage1_and_convergence(p)] + known
    from . import b4_longer

    if name == "class_level" and b4_longer.gated(gates) and known != []:
        cells = cells + b4_longer_bound(module, p)
    return [model_of(c[1] if isinstance(c, tuple) else c, test_images) for c in cells]


def b4_longer_bound(module, p) -> list:
    """The most a registration gating B4 on its own metric trains beside the runner
    (:mod:`augworth.experiments.b4_longer`): one scope's policy on every convergence seed it tests
    on, at each convergence factor (the policy does not change the cost)."""
    from .cells import longer

    choice = set(getattr(p, "choice_seeds", ()) or ())
    return [longer(c, k) for k in p.convergence_factors for c in module.b4_cells(p, "none", [])
            if c.seed in set(p.convergence_seeds) and c.seed not in choice]


def stored_second_stage(module, p) -> list | None:
    """A runner whose second stage is chosen on stored models: the cells it will train there.

    class_level trains B4's policies only for classes hurt on its choice seeds' validation split
    (:func:`augworth.experiments.class_level.choose_on_validation`). When those seeds' first-stage
    models are all stored (a later registration choosing on the first one's exploratory seeds),
    that choice is known before anything runs: no hurt class, no second stage. ``None`` when it
    is not known (or a class is hurt): the plan then counts the most the runner may train."""
    if not all(hasattr(module, f) for f in ("stage1_cells", "stage1_and_convergence", "choose_on_validation")):
        return None
    from .cache import ResultsCache, cache_key
    from .cells import cell_fields
    from .sweep import code_version
    from .training import train_cell

    choice = set(getattr(p, "choice_seeds", ()) or p.seeds)
    cache, version = ResultsCache(), code_version(train_cell)
    rows = []
    for strength, cell in module.stage1_cells(p):
        if cell.seed in choice:
            hit = cache.get("train_cell", cache_key("train_cell", version, cell_fields(cell)))
            if hit is None:
                return None
            rows.append({"strength": strength, "seed": cell.seed, **hit[0]})
    val = module.stack(rows, "val_per_class", module.strengths(p), sorted(choice))
    return [] if not module.choose_on_validation(val, p.min_drop, p.conditional, p.alpha)["hurt"] else None


def profile_table(profile: str, names: list[str] | None = None, overrides: dict[str, dict] | None = None,
                  gates: dict[str, str] | None = None):
    """One row per chapter of ``profile``: models, training and evaluation images, TFLOPs.
    ``overrides``: chapter -> parameters replacing the profile's (a later registration's)."""
    import pandas as pd

    from .. import paths
    from ..data import load_dataset

    rows = []
    for name in [n for n in (names or paths.chapter_names()) if n not in paths.SUMMARY]:
        p = load_params(name, profile, (overrides or {}).get(name))
        ds = load_dataset(p.dataset, data_path=getattr(p, "data_path", None),
                          image_size=getattr(p, "image_size", DEFAULT_IMAGE_SIZE))
        models = chapter_models(name, p, len(ds.test_y), gates)
        shape = tuple(ds.test_x.shape[1:])
        rows.append({"chapter": name, "models": len(models),
                     "train images (M)": sum(m.train_images for m in models) / 1e6,
                     "eval images (M)": sum(m.eval_images for m in models) / 1e6,
                     "TFLOP": sum(m.flops(shape, ds.num_classes) for m in models) / 1e12})
    table = pd.DataFrame(rows)
    total = {"chapter": "total", **{k: table[k].sum() for k in table.columns if k != "chapter"}}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def later_tables(profile: str, names: list[str] | None = None):
    """For each later registration of ``profile`` (:func:`augworth.prereg.later`) that trains one
    of ``names`` (all chapters: None): (the registration, its :func:`profile_table` at its own
    parameters, those chapters only)."""
    from .. import prereg

    out = []
    for reg in prereg.later(profile):
        mine = [n for n in reg.chapters if not names or n in names]
        if mine:
            out.append((reg, profile_table(profile, mine, overrides=reg.chapters, gates=reg.gates)))
    return out


def sustained_tflops(step_ms: float | None = None) -> float:
    """TFLOP/s this CPU sustains on the reference step (width-8 fast CNN, batch 64, one thread)."""
    from .. import runtime

    step_ms = runtime.reference_step_ms() if step_ms is None else step_ms
    flops = TRAIN_PASSES * forward_flops("fast_cnn", runtime.REFERENCE_WIDTH, *runtime.REFERENCE_INPUT) * runtime.REFERENCE_BATCH
    return flops / (step_ms / 1e3) / 1e12


def minutes(tflop: float, tflops: float) -> float:
    """Minutes that ``tflop`` TFLOPs take at ``tflops`` TFLOP/s sustained."""
    return tflop / tflops / 60


def seed_minutes(name: str, profile: str, workers: int = 2, overrides: dict | None = None) -> float:
    """Minutes on ``workers`` cores of the reference machine (reference step
    :data:`augworth.runtime.REFERENCE_STEP_MS`) that one seed of chapter ``name`` costs with its
    convergence runs: the models of its costliest seed at the profile's parameters (a seed with
    convergence runs, where the profile has them). What "N more seeds" would cost is N times this
    (an upper bound for a claim that reads only some of a seed's models)."""
    from collections import defaultdict

    from .. import runtime
    from ..data import load_dataset

    p = load_params(name, profile, overrides)
    ds = load_dataset(p.dataset, data_path=getattr(p, "data_path", None),
                      image_size=getattr(p, "image_size", DEFAULT_IMAGE_SIZE))
    shape = tuple(ds.test_x.shape[1:])
    by_seed: dict[int, float] = defaultdict(float)
    for m in chapter_models(name, p, len(ds.test_y)):
        by_seed[m.cell.seed] += m.flops(shape, ds.num_classes)
    return minutes(max(by_seed.values(), default=0.0) / 1e12, sustained_tflops(runtime.REFERENCE_STEP_MS) * workers)


def profile_minutes(profile: str, workers: int = 2) -> float:
    """The whole profile's minutes on ``workers`` cores of the reference machine (``make plan``'s
    'min ref' total)."""
    from .. import runtime

    tflop = float(profile_table(profile).iloc[-1]["TFLOP"])
    return minutes(tflop, sustained_tflops(runtime.REFERENCE_STEP_MS) * workers)
