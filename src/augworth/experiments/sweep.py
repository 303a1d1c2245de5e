"""Sweeps: a grid of cells, each cell's result cached by its own parameters.

``expand_grid`` turns ``{"n_train": [500, 2000], "augment": ["none", "flip"], "seed": [0, 1]}``
into cells (dicts); :func:`run_sweep` computes the cells that are not cached yet with an executor
and returns every cell's result in cell order. Each cell is written to the cache by the process
that computed it, the moment it finishes (atomic write), so an interrupted sweep -- Ctrl-C, a
killed job, a preempted cluster node -- loses at most the cells in flight, and running the same
sweep again computes only what is missing.

Executors:

- ``inline`` (default): one cell after another in this process.
- ``process``: a local pool of ``workers`` processes (spawned; on a GPU several small models
  then share the device).
- ``packed``: compatible cells (same architecture, batch, schedule and step count) trained as
  one program, up to ``AUGWORTH_PACK`` (default 64) models at once (:mod:`augworth.train.packed`);
  for cell functions that offer it (``fn.packed`` and ``fn.pack_key``), others run inline. The GPU
  lever: on a CPU it gains nothing.
- ``submitit-local`` / ``slurm``: jobs through ``submitit`` (a job array on a SLURM cluster; the
  local flavour runs the same code path in subprocesses, as the tests do). The cache folder must
  be on storage the nodes share (``AUGWORTH_CACHE``).

A cell function must be importable at module level (it is pickled for the pools and clusters)
and take one argument, the cell dict.
"""

from __future__ import annotations

import itertools
import sys
import time
from contextlib import contextmanager
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import paths, runtime
from .cache import ResultsCache, cache_key, from_jsonable, to_jsonable
from .cells import cell_fields
from .versions import code_hash

EXECUTORS = ("inline", "process", "packed", "submitit-local", "slurm")


class DeadlineReached(RuntimeError):
    """A sweep stopped before its next cell because ``AUGWORTH_DEADLINE`` (a Unix time) passed;
    every finished cell is stored, so running it again resumes."""


def _check_deadline() -> None:
    import os

    deadline = os.environ.get("AUGWORTH_DEADLINE")
    if deadline:
        try:
            float(deadline)
        except ValueError:
            from ..config import ConfigError

            raise ConfigError(f"environment variable AUGWORTH_DEADLINE = {deadline!r} must be a Unix time in seconds "
                              "(e.g. $(date -d '+2 hours' +%s))") from None
    if deadline and time.time() > float(deadline):
        raise DeadlineReached(f"the deadline (AUGWORTH_DEADLINE={deadline}) passed; finished cells are stored")


#: Torch threads a cell computes with, whatever the executor: the floating-point path (and so the
#: numbers) of a CPU computation depends on the thread count, and a cell's result must depend
#: only on its cache key. Parallelism comes from processes (``process``, ``slurm``).
CELL_THREADS = 1


@contextmanager
def cell_threads(n: int = CELL_THREADS):
    """Run the body with ``n`` torch threads (restored afterwards), malloc keeping freed memory
    (:func:`augworth.runtime.keep_freed_memory`): every cell computes in here."""
    import torch

    runtime.keep_freed_memory()
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def expand_grid(grid: Mapping[str, Sequence[Any]], base: Mapping[str, Any] | None = None) -> list[dict]:
    """The cartesian product of ``grid``'s value lists, each merged over ``base``; the last key
    varies fastest."""
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
            raise ValueError(f"grid entry '{key}' must be a non-empty list of values, got {values!r}")
    keys = list(grid)
    return [dict(base or {}, **dict(zip(keys, combo))) for combo in itertools.product(*grid.values())]


@dataclass
class SweepResult:
    cells: list[dict]
    results: list[dict]
    computed: int = 0       # cells computed in this call
    cached: int = 0         # cells found in the cache
    seconds: float = 0.0
    meta: list[dict] = field(default_factory=list)

    @property
    def compute_s(self) -> float:
        """Seconds the cells took when they were computed (cached ones included): the cost of
        the sweep, whatever this call's own wall time."""
        return float(sum(m.get("wall_s", 0.0) for m in self.meta))

    def rows(self) -> list[dict]:
        """One flat dict per cell: its parameters and its scalar results (for a DataFrame)."""
        out = []
        for cell, res in zip(self.cells, self.results):
            out.append({**cell_fields(cell), **{k: v for k, v in res.items() if isinstance(v, (int, float, str, bool))}})
        return out


def _init_worker(threads: int, parent: int) -> None:
    """A pool worker: ``threads`` torch threads; it stops when its parent does (however that
    dies), and leaves Ctrl-C to the parent, which stops the pool."""
    import signal

    import torch

    from .. import lifecycle

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lifecycle.follow(parent)
    torch.set_num_threads(threads)


@contextmanager
def _process_pool(workers: int):
    """A pool of spawned workers that never outlives this call: on any exception (Ctrl-C
    included) and when this process is stopped, its workers are killed at once rather than
    waited for (a cell in flight is lost; every finished one is stored)."""
    import multiprocessing as mp
    import os

    from .. import lifecycle

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                               initializer=_init_worker, initargs=(CELL_THREADS, os.getpid()))

    def kill() -> None:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.kill()

    forget = lifecycle.at_stop(kill)
    try:
        yield pool
    except BaseException:
        kill()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        forget()


def _compute_cell(fn: Callable, name: str, version: str, cell, cache_root: str) -> dict:
    """Compute one cell and store it (runs in the worker: the result survives the parent)."""
    start = time.perf_counter()
    with cell_threads():
        value = fn(cell)
    return _store(name, version, cell, value, time.perf_counter() - start, cache_root)


def _store(name: str, version: str, cell, value: dict, wall: float, cache_root: str, **extra) -> dict:
    """Write one computed cell with its meta; return it as a cached read would give it."""
    fields = cell_fields(cell)
    key = cache_key(name, version, fields)
    meta = {"runner": name, "version": version, "key": key, "params": fields, "cell_type": type(cell).__name__,
            "wall_s": wall, **extra,
            "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "git_commit": runtime.git_commit()}
    ResultsCache(Path(cache_root), read_only=[]).put(name, key, value, meta)
    return from_jsonable(to_jsonable(value))


def _env_int(var: str, default: int) -> int:
    import os

    from ..config import ConfigError

    raw = os.environ.get(var, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"environment variable {var} = {raw!r} must be a whole number >= 1")
    return value


def _compute_packed(fn, name: str, version: str, cells: list, cache_root: str) -> list[dict]:
    """Compute compatible cells as one packed program; each is stored (its wall time: the
    group's divided by its size) the moment the group finishes."""
    if len(cells) == 1:
        return [_compute_cell(fn, name, version, cells[0], cache_root)]
    start = time.perf_counter()
    with cell_threads():
        values = fn.packed(cells)
    wall = (time.perf_counter() - start) / len(cells)
    return [_store(name, version, cell, value, wall, cache_root, packed=len(cells)) for cell, value in zip(cells, values)]


def parallelism() -> tuple[str, int]:
    """(executor, workers) as the environment sets them (``AUGWORTH_EXECUTOR``, default inline;
    ``AUGWORTH_WORKERS``, default 2): what :func:`run_sweep` uses when not told."""
    import os

    return os.environ.get("AUGWORTH_EXECUTOR", "inline"), _env_int("AUGWORTH_WORKERS", 2)


def _slurm_from_environment() -> dict | None:
    """The submitit parameters in ``AUGWORTH_SLURM`` (a YAML mapping), or None."""
    import os

    import yaml

    raw = os.environ.get("AUGWORTH_SLURM")
    if not raw:
        return None
    try:
        slurm = yaml.safe_load(raw)
    except yaml.YAMLError:
        slurm = None
    if not isinstance(slurm, dict):
        from ..config import ConfigError

        raise ConfigError(f"environment variable AUGWORTH_SLURM = {raw!r} must be a YAML mapping of submitit "
                          "parameters, e.g. '{slurm_partition: gpu, gpus_per_node: 1}'") from None
    return slurm


def code_version(fn: Callable) -> str:
    """The version of the code that computes ``fn``'s cells: the hash of its module's source and
    of everything that runs under it (:func:`augworth.experiments.versions.code_hash`)."""
    return code_hash(fn.__module__)


def _check_cells(fn: Callable, cells: Sequence) -> None:
    """A cell function that declares its cell type(s) (``fn.cell_type``) gets only cells of those
    types: a cell carries exactly the fields its function reads, nothing riding along."""
    types = getattr(fn, "cell_type", None)
    if types is None:
        return
    types = types if isinstance(types, tuple) else (types,)
    for cell in cells:
        if type(cell) not in types:  # exactly: a subtype would carry fields fn does not read
            names = " or ".join(t.__name__ for t in types)
            raise TypeError(f"{fn.__name__} computes cells of type {names}, got {type(cell).__name__}: build "
                            "cells with augworth.experiments.cells.make_cell")


class _Progress:
    """A sweep's progress: a bar on a terminal, and a line per finished cell (cells done, ETA)."""

    def __init__(self, name: str, todo: int, total: int):
        self.name, self.todo, self.done, self.start = name, todo, 0, time.perf_counter()
        self.bar = runtime.progress(range(todo), desc=f"sweep {name}: {todo} of {total} cells to compute",
                                    total=todo) if todo else None
        if todo:
            runtime.report(f"sweep {name}: {todo} of {total} cells to compute ({total - todo} cached)")

    def tick(self) -> None:
        self.done += 1
        if hasattr(self.bar, "update"):
            self.bar.update(1)
        spent = time.perf_counter() - self.start
        runtime.report(f"sweep {self.name}: {self.done}/{self.todo} cells computed, {spent:.0f} s, "
                       f"ETA {runtime.eta(self.done, self.todo, spent)}")

    def close(self) -> None:
        if hasattr(self.bar, "close"):
            self.bar.close()


def _run_inline(fn, name, version, cells, todo, root, results, tick, **_) -> None:
    for i in todo:
        _check_deadline()
        results[i] = _compute_cell(fn, name, version, cells[i], root)
        tick()


def _run_packed(fn, name, version, cells, todo, root, results, tick, **_) -> None:
    pack = _env_int("AUGWORTH_PACK", 64)
    groups: dict[tuple, list[int]] = {}
    for i in todo:
        groups.setdefault(fn.pack_key(cells[i]), []).append(i)
    for members in groups.values():
        for j in range(0, len(members), pack):
            chunk = members[j : j + pack]
            _check_deadline()
            for i, value in zip(chunk, _compute_packed(fn, name, version, [cells[i] for i in chunk], root)):
                results[i] = value
                tick()


def _run_pool(fn, name, version, cells, todo, root, results, tick, workers, **_) -> None:
    with _process_pool(workers) as pool:
        futures: dict[Future, int] = {pool.submit(_compute_cell, fn, name, version, cells[i], root): i for i in todo}
        for fut in as_completed(futures):
            results[futures[fut]] = fut.result()
            tick()


def _run_submitit(fn, name, version, cells, todo, root, results, tick, executor, slurm, log_folder, **_) -> None:
    import submitit

    folder = Path(log_folder or paths.cache_root() / "submitit" / name)
    ex = submitit.AutoExecutor(folder=folder, cluster="local" if executor == "submitit-local" else "slurm")
    ex.update_parameters(**{"timeout_min": 60, **(slurm or {})})
    pending = {i: ex.submit(_compute_cell, fn, name, version, cells[i], root) for i in todo}
    while pending:
        for i, job in list(pending.items()):
            if job.done():
                results[i] = job.result()  # raises with the job's traceback if it failed
                del pending[i]
                tick()
        if pending:
            time.sleep(0.5)


def run_sweep(fn: Callable[[Any], dict], cells: Sequence, *, name: str, version: str | int | None = None,
              executor: str | None = None, workers: int | None = None, cache: ResultsCache | None = None,
              slurm: Mapping[str, Any] | None = None, log_folder: Path | None = None) -> SweepResult:
    """Results of ``fn(cell)`` for every cell, computing only the cells not already stored.

    A cell's key is ``name``, its fields (:func:`augworth.experiments.cells.cell_fields`) and
    ``version``, by default the version of the code that computes it (:func:`code_version`).
    How cells are computed never enters the key: ``executor`` and ``workers`` default to the
    environment (``AUGWORTH_EXECUTOR``, ``AUGWORTH_WORKERS``; else inline, 2), so a chapter's
    runner runs unchanged on a laptop or a cluster. ``slurm``: extra submitit parameters
    (default: the YAML mapping in ``AUGWORTH_SLURM``), e.g.
    ``{"slurm_partition": "gpu", "gpus_per_node": 1, "timeout_min": 60}``.
    """
    env_executor, env_workers = parallelism()
    executor = executor or env_executor
    workers = workers if workers is not None else env_workers
    slurm = slurm if slurm is not None else _slurm_from_environment()
    if executor not in EXECUTORS:
        from ..config import ConfigError

        raise ConfigError(f"unknown executor '{executor}' (AUGWORTH_EXECUTOR or --executor): known are "
                          f"{', '.join(EXECUTORS)}")
    if workers < 1:
        raise ValueError(f"workers={workers} must be >= 1")
    _check_cells(fn, cells)
    version = code_version(fn) if version is None else version
    cache = cache or ResultsCache()
    paths.writable(cache.root, "AUGWORTH_CACHE")
    start = time.perf_counter()
    keys = [cache_key(name, version, cell_fields(c)) for c in cells]
    results: list[dict | None] = [None] * len(cells)
    metas: list[dict] = [{} for _ in cells]
    todo = []
    for i, key in enumerate(keys):
        hit = cache.get(name, key)
        if hit is None:
            todo.append(i)
        else:
            results[i], metas[i] = hit
    progress = _Progress(name, len(todo), len(cells))
    run = (_run_packed if executor == "packed" and hasattr(fn, "packed") else
           _run_inline if executor in ("inline", "packed") else _run_pool if executor == "process" else _run_submitit)
    run(fn, name, version, list(cells), todo, str(cache.root), results, progress.tick, workers=workers,
        executor=executor, slurm=slurm, log_folder=log_folder)
    progress.close()
    for i in todo:
        hit = cache.get(name, keys[i])
        metas[i] = hit[1] if hit else {}
    return SweepResult(list(cells), results, computed=len(todo), cached=len(cells) - len(todo),  # type: ignore[arg-type]
                       seconds=time.perf_counter() - start, meta=metas)


def print_summary(res: SweepResult, file=None) -> None:
    print(f"sweep: {len(res.cells)} cells, {res.cached} from cache, {res.computed} computed in {res.seconds:.1f} s",
          file=file or sys.stderr)


def echo_cell(cell: dict) -> dict:
    """A cell that trains nothing: returns ``x**2`` (and the process id). For dry runs of a
    sweep's machinery -- executors, cache, resume -- in seconds. With ``marker_dir`` in the cell,
    it also leaves a file there per call, so a test can count computations across processes;
    with ``hold`` (a path) it lasts as long as that file exists."""
    import os

    if cell.get("marker_dir"):
        marker = Path(cell["marker_dir"]) / f"x{cell['x']}-{os.getpid()}-{time.time_ns()}"
        marker.touch()
    while cell.get("hold") and Path(cell["hold"]).exists():  # a long cell, for tests of what stops a run
        time.sleep(0.05)
    return {"square": cell["x"] ** 2, "pid": os.getpid()}
