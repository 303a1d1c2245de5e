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

The design (sizes, steps, seeds from the data and the time budget) is
:mod:`augworth.experiments.worth_design`; the report's tables are
:func:`augworth.analysis.worth.analyse`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from ..config import ConfigError, linear_part, param
from ..config.worth import WorthParams
from ..seeds import seed_stream
from .cells import cell_type, make_cell
from .exchange_rate import exchange_cell, runs_frame
from .registry import runner
from .sample_complexity import EPSILONS
from .sweep import run_sweep
from .worth_design import check_sizes, data_facts, model_cell

DRAW_IMAGES = 16          # test images the draws-needed distribution is read on
EPS = EPSILONS[0]         # relative accuracy of the loss estimate whose draws are counted (1%)
MC_DRAWS = 4096           # Monte Carlo draws that check the closed-form moments of each shown image


# --- the cells and the runner -----------------------------------------------------------------

#: The model of the first seed at the largest n, and the closed-form section measured on it.
MomentsCell = cell_type("MomentsCell", __name__, WorthParams, ("moment_images", "quad_nodes", "quad_nodes_rrc", "n_ref"),
                        extra={"linear": (str, param("none", "the augmentation's linear stages, whose moments are "
                                                             "measured"))})


def cells(p: WorthParams) -> list[tuple[str, object]]:
    """(kind, cell): both policies x sizes x seeds (``main``), and the largest-n runs of the first
    ``convergence_runs`` seeds with ``convergence_factor`` x the steps (``convergence``: the verdict's
    convergence check over seeds; the design's pilot trained them already) -- the exchange
    chapter's cells."""
    cell = functools.partial(model_cell, p)
    out = [("main", cell(n, aug, s)) for n in p.sizes for aug in p.policies for s in p.seeds]
    if p.convergence_factor > 1:
        out += [("convergence", cell(max(p.sizes), aug, s, steps=p.steps * p.convergence_factor))
                for aug in p.policies for s in p.seeds[:p.convergence_runs]]
    return out


def moments_cells(p: WorthParams) -> list:
    """A moments cell per augmentation with linear stages, when the report asks for them."""
    if not p.moments:
        return []
    return [make_cell(MomentsCell, p, n_train=max(p.sizes), augment=aug, seed=p.seeds[0], linear=linear_part(aug),
                      evaluate_val=False) for aug in p.augments if linear_part(aug) is not None]


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


@runner("worth", version=2, params=WorthParams)
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
    moments = {}
    extra = moments_cells(p)
    if extra:
        m = run_sweep(moments_cell, extra, name="worth_moments")
        moments, compute = {c.augment: r for c, r in zip(extra, m.results)}, compute + m.compute_s
    return {"runs": runs_frame(todo, sweep.results), "classwise": classwise_rows,
            "moments": moments.get(p.augments[0]), "moments_by_policy": moments,
            "facts": facts.as_dict(), "compute_s": compute}


moments_cell.cell_type = MomentsCell
