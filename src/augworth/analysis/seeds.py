"""A runner's value restricted to some training seeds: what a verdict reads when a profile keeps
exploratory and confirmatory seeds apart (see :mod:`augworth.prereg`). Pure: nothing trains.

Every list of records that carry a ``seed`` and every table with a ``seed`` column keeps the rows
of ``seeds``, at any depth; a value measured on one main seed (a top-level ``seed``) records the
seeds kept in ``seeds_kept`` so its readers can leave the main seed out.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def _restrict(v, keep: frozenset):
    if isinstance(v, pd.DataFrame):
        return v[v["seed"].isin(keep)].reset_index(drop=True) if "seed" in v.columns else v
    if isinstance(v, dict):
        return {k: _restrict(x, keep) for k, x in v.items()}
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        if all("seed" in x for x in v):
            return [_restrict(x, keep) for x in v if int(x["seed"]) in keep]
        return [_restrict(x, keep) for x in v]
    return v


def restrict(value: dict, seeds: Iterable[int]) -> dict:
    """``value`` with only the models of ``seeds`` (a new object; ``value`` is not changed)."""
    keep = frozenset(int(s) for s in seeds)
    out = _restrict(value, keep)
    if isinstance(value.get("seed"), int):
        out["seeds_kept"] = sorted(keep)
    if value.get("choice_seeds") is not None:  # choices made on seeds left out cannot be re-made here
        out["choice_seeds"] = [s for s in value["choice_seeds"] if s in keep]
    return out


def seeds_in(value) -> set[int]:
    """Every training seed the value holds a model of."""
    found: set[int] = set()

    def walk(v):
        if isinstance(v, pd.DataFrame) and "seed" in v.columns:
            found.update(int(s) for s in v["seed"].unique())
        elif isinstance(v, dict):
            if isinstance(v.get("seed"), int):
                found.add(v["seed"])
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                if isinstance(x, (dict, list, pd.DataFrame)):
                    walk(x)

    walk(value)
    return found
