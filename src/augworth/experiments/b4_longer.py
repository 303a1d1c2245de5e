"""B4's own convergence runs: the class-conditional policy of the scope B4's verdict reads,
trained again at each convergence factor x the budget, on the convergence seeds that the
verdict tests on.

The `class_level` runner trains B4's policies at the budget only, and its module is part of
every stored class_level result's version: changing it would make every shipped result stale.
These runs are therefore cells of their own (``train_cell``, cached and shipped one by one like
the runner's), built from the runner's stored result (its s*, its policies) by
:func:`longer_cells`, trained by :func:`train` (``make confirm`` for a registration that gates
B4 on its own metric) and read back without computing by :func:`stored_runs`, which the
verdict layer attaches to the runner's value as ``b4_longer``.
"""

from __future__ import annotations

from ..config import ClassLevelParams, TrainCell
from .cache import ResultsCache, cache_key
from .cells import cell_fields, longer, make_cell
from .class_level import spec_of

KEEP = ("val_acc", "test_acc", "val_per_class", "test_per_class", "test_confusion")


def gated(gates) -> bool:
    """Whether a registration's ``gates`` read B4 on its own metrics (a gate other than two-sided),
    i.e. whether it trains and reads these runs."""
    return (gates or {}).get("B4", "two-sided") != "two-sided"


def read_scope(value: dict) -> str | None:
    """The scope B4's verdict reads (:func:`augworth.verdicts.class_level.b4`): the group scope
    when it has a policy, else the class scope; None when neither has one."""
    b4 = value.get("b4") or {}
    return "group" if "group" in b4 else "class" if "class" in b4 else None


def longer_cells(p: ClassLevelParams, value: dict) -> list[tuple[int, TrainCell]]:
    """(factor, cell): the read scope's class-conditional cell for every convergence seed that
    is not a choice seed, at each of ``p.convergence_factors`` x the budget -- the same cell the
    runner trained at the budget (:func:`augworth.experiments.class_level.b4_cells`), longer."""
    scope = read_scope(value)
    if scope is None:
        return []
    uniform = spec_of(value["choice"]["optimum"])
    cond = [f"{c}={spec}" for c, spec in sorted(value["b4"][scope]["policy"].items(), key=lambda kv: int(kv[0]))]
    choice = set(value.get("choice_seeds") or ())
    seeds = [s for s in p.seeds if s in set(p.convergence_seeds) and s not in choice]
    return [(k, longer(make_cell(TrainCell, p, augment=uniform, class_augment=cond, seed=s), k))
            for k in p.convergence_factors for s in seeds]


def train(p: ClassLevelParams, value: dict) -> int:
    """Train (or find cached) :func:`longer_cells`; returns how many cells there are."""
    from .sweep import run_sweep
    from .training import train_cell

    cells = [c for _, c in longer_cells(p, value)]
    if cells:
        run_sweep(train_cell, cells, name="train_cell")
    return len(cells)


def stored_runs(p: ClassLevelParams, value: dict, cache: ResultsCache | None = None) -> dict | None:
    """The runs :func:`longer_cells` names that are stored (the local cache, then the shipped
    results), never computing: ``{"scope", "runs": [{seed, factor, epochs, ...KEEP}], "expected":
    the seeds it names}``; None when B4 has no policy or no convergence seed to test on."""
    from .sweep import code_version
    from .training import train_cell

    todo = longer_cells(p, value)
    if not todo:
        return None
    cache = cache or ResultsCache()
    version = code_version(train_cell)
    runs = []
    for factor, cell in todo:
        hit = cache.get("train_cell", cache_key("train_cell", version, cell_fields(cell)))
        if hit is not None:
            runs.append({"seed": cell.seed, "factor": factor, "epochs": cell.epochs,
                         **{k: hit[0][k] for k in KEEP if k in hit[0]}})
    return {"scope": read_scope(value), "runs": runs, "expected": sorted({c.seed for _, c in todo})}


__all__ = ["gated", "longer_cells", "read_scope", "stored_runs", "train"]
