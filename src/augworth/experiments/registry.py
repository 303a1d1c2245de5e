"""Experiment runners: one function per chapter, its results cached by its parameters.

A runner is a function ``fn(params, device) -> dict`` registered with :func:`runner`. Calling
:func:`run` resolves the device and either returns a stored result (local cache, then committed
results) or computes, times and stores it. Before computing it seeds torch's global generators with
the chapter's ``seed`` where it has one (sample_complexity), else 0; the models and draws take
their seeds from their cells (:mod:`augworth.seeds`). The notebook and the command line
(``python -m augworth run <name>``) both go through :func:`run`, so a result computed on a GPU
machine from the command line is what the book later shows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from .. import paths, runtime
from ..config import ConfigError, Params
from .cache import ResultsCache, cache_key, from_jsonable, to_jsonable
from .sweep import cell_threads
from .training import check_against_data
from .versions import code_hash, hashed_modules  # noqa: F401  (hashed_modules: read here by tests and tools)


@dataclass(frozen=True)
class Runner:
    name: str
    version: int
    params: type[Params]
    fn: Callable[[Any, Any], dict]
    doc: str


@dataclass(frozen=True)
class Result:
    """A runner's output (``value``) and where it came from (``meta``)."""

    value: dict
    meta: dict

    def __getitem__(self, item: str) -> Any:
        return self.value[item]

    @property
    def stale(self) -> bool:
        """True when the code that computed this result differs from the code here now."""
        r = RUNNERS.get(self.meta.get("runner", ""))
        return r is None or self.meta.get("code_hash") != code_hash(r.fn.__module__)

    @property
    def compute_s(self) -> float | None:
        """For a sweep chapter's result, the seconds its cells took when they ran (cached cells
        cost this call nothing but cost that once); None for other runners."""
        return float(self.value["compute_s"]) if isinstance(self.value, dict) and "compute_s" in self.value else None

    @property
    def cost_s(self) -> float:
        """What the result cost: the runner's wall time, or for a sweep the compute of its cells
        if larger (when its cells came from the cache)."""
        wall, compute = float(self.meta.get("wall_s", float("nan"))), self.compute_s
        if compute is None:
            return wall
        return max(wall, compute) if wall == wall else compute

    def provenance(self) -> str:
        """One line for the top of a chapter: source, device, wall time, commit."""
        m = self.meta
        return (f"runner {m['runner']} v{m['version']} | {m['source']} | device {m['device_name']} | "
                f"wall time {m['wall_s']:.1f} s | computed {m['created']} | commit {m['git_commit'][:12]} | "
                f"torch {m['torch']}")


RUNNERS: dict[str, Runner] = {}

def runner(name: str, version: int, params: type[Params]) -> Callable:
    """Register ``fn(params, device) -> dict`` as the runner ``name`` (bump ``version`` when
    the code changes what it computes)."""

    def wrap(fn: Callable) -> Callable:
        RUNNERS[name] = Runner(name, version, params, fn, (fn.__doc__ or "").strip())
        _home_cell_types(fn.__module__)
        return fn

    return wrap


def _home_cell_types(module: str) -> None:
    """Give the cell types that ``module`` defines (with :func:`augworth.experiments.cells.cell_type`)
    ``module`` as their home, so that worker processes can unpickle them by reference: from Python
    3.12 on, ``dataclasses.make_dataclass`` sets ``__module__`` to its caller's module (cells.py),
    whatever the namespace says. Done here, where runners register, because a change of cells.py
    would change the code version of every stored result; move it into ``cell_type`` (its
    ``module=`` argument) with the next change that re-keys them anyway."""
    import sys

    for obj in list(vars(sys.modules[module]).values()):
        if isinstance(obj, type) and hasattr(obj, "CHAPTER_FIELDS") and obj.__module__ != module \
                and obj.__qualname__ in vars(sys.modules[module]):
            obj.__module__ = module


def get_runner(name: str) -> Runner:
    if name not in RUNNERS:
        raise ConfigError(f"unknown runner '{name}': known runners are {', '.join(sorted(RUNNERS))}")
    return RUNNERS[name]


def stored(name: str, params: Params, *, cache: ResultsCache | None = None) -> Result | None:
    """The runner's stored result for ``params`` (the local cache, then the committed results), or
    None: never computes (what a page shows only when it has been computed and shipped)."""
    r = get_runner(name)
    hit = (cache or ResultsCache()).get(name, cache_key(name, r.version, params.to_dict()))
    return None if hit is None else Result(*hit)


def run(name: str, params: Params, *, cache: ResultsCache | None = None, force: bool = False,
        export_dir: Path | None = None) -> Result:
    """Return the runner's result for ``params``, computing it only when no stored one exists.

    ``force`` recomputes even when stored; ``export_dir`` additionally writes the entry there
    (e.g. ``data/results/full`` when filling the committed results on a GPU machine).
    """
    r = get_runner(name)
    if not isinstance(params, r.params):
        raise ConfigError(f"runner '{name}' takes {r.params.__name__}, got {type(params).__name__}")
    cache = cache or ResultsCache()
    values = params.to_dict()
    key = cache_key(name, r.version, values)
    if not force:
        hit = cache.get(name, key)
        if hit is not None:
            value, meta = hit
            if export_dir is not None:
                cache.put(name, key, value, {k: v for k, v in meta.items() if k not in ("source", "path")},
                          root=export_dir)
            return Result(value, meta)
    device = runtime.resolve_device(getattr(params, "device", "auto"))
    paths.writable(cache.root, "AUGWORTH_CACHE")
    check_against_data(params)  # sizes the data cannot give fail here, before any training
    runtime.seed_everything(getattr(params, "seed", 0))
    start = time.perf_counter()
    with cell_threads():  # a result depends on its key only: the same thread count everywhere
        value = r.fn(params, device)
        wall = time.perf_counter() - start
        prov = runtime.provenance(device)  # names the thread count the result was computed with
    meta = {"runner": name, "version": r.version, "key": key, "params": values, "wall_s": wall,
            "code_hash": code_hash(r.fn.__module__),
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **prov}
    cache.put(name, key, value, meta)
    if export_dir is not None:
        cache.put(name, key, value, meta, root=export_dir)
    # Round-trip through the stored form so a fresh result and a cached one look the same.
    return Result(from_jsonable(to_jsonable(value)), dict(meta, source="computed"))
