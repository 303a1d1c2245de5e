"""The evidence, computed once and shipped: ``data/results/<profile>/``.

A profile's results take an hour or more of CPU; a reader's ``make book`` should take minutes.
So the results are computed once (any machine; every finished cell is stored, so it resumes),
then shipped -- committed -- with what made them, and every later ``make book`` reads them
(the results cache looks in ``data/results/*/`` after the local cache):

- :func:`ship` copies a finished run's results cache (the chapters' results and every cell
  behind them, so ``make nb NAME=x P=...`` recomputes only new cells) and its claim records
  into ``data/results/<profile>/``, with ``PROVENANCE.json``: the machine (CPU model, cores,
  its reference step), torch, commits, dates, compute time.
- :func:`status` tells, per chapter, whether a stored result exists for the profile's
  parameters, and whether the code that computed it has changed since (stale): ``make book``
  prints it, so a reader is told what is stale and how to refresh it, and a missing result is
  announced with its cost before it is computed.
- :func:`augworth.pipeline.reproduce` recomputes a profile from scratch on this machine into a
  cache of its own (shipped results hidden from it, never overwritten) and :func:`compare` sets
  its verdicts beside the shipped ones, claim by claim.
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

from . import paths
from .io import PACK_BYTES, UNPACKED_LIST, atomic_write, atomic_write_text, unpack_gzipped

PROVENANCE = "PROVENANCE.json"
RECORDS = "records"


def shipped_dir(profile: str) -> Path:
    return paths.COMMITTED_RESULTS / profile


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(step_ms: float | None = None) -> dict:
    """This machine, as a shipped result's provenance names it."""
    import torch

    from . import runtime

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "python": platform.python_version(), "platform": platform.platform(terse=True),
            "reference_step_ms": round(runtime.reference_step_ms() if step_ms is None else step_ms, 2),
            "reference_step_ms_there": runtime.REFERENCE_STEP_MS}


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob("*/*.json") if p.parent.name != RECORDS)


def read_entries(profile: str, entries: list[Path], spot_cells: int = 2,
                 spot_since: str | None = None) -> tuple[list[Path], dict]:
    """Of ``entries`` (a results cache's files), what the notebooks of ``profile`` read -- each
    chapter's result for the profile's parameters -- and the ``spot_cells`` cheapest cells of
    every sweep runner (what CI's spot check recomputes: among the cells computed on a CPU, and
    with ``spot_since`` among those created at or after it, e.g. those computed on CPUs like CI's).
    Returns (kept, {runner: cells left out})."""
    from . import experiments  # noqa: F401  (registers the runners)
    from .config import load_params
    from .experiments.cache import cache_key
    from .experiments.registry import RUNNERS

    from . import prereg

    reg = prereg.load(profile)
    sets = [(name, {}) for name in paths.chapter_names() if name in RUNNERS] + [
        (name, over) for name, over in (reg.longer if reg else {}).items()] + [  # the pages show these too
        (name, over) for later in prereg.later(profile) for name, over in later.chapters.items()]
    wanted = {(name, cache_key(name, RUNNERS[name].version, load_params(name, profile, over).to_dict()))
              for name, over in sets} | choice_cells(profile) | longer_cells(profile, entries)
    kept, cells = [], {}
    for path in entries:
        if (path.parent.name, path.stem) in wanted:
            kept.append(path)
        elif path.parent.name in SWEEP_CELLS:
            entry = json.loads(path.read_text())
            meta, value = entry["meta"], entry.get("result")
            # CI's spot check recomputes these on CPUs: never a cell trained on a GPU
            on_gpu = isinstance(value, dict) and str(value.get("device", "")).startswith("cuda")
            late = (spot_since is None or meta.get("created", "") >= spot_since) and not on_gpu
            cells.setdefault(path.parent.name, []).append((not late, float(meta.get("wall_s", 1e9)), path))
    left_out = {}
    for runner, items in sorted(cells.items()):
        items.sort(key=lambda t: (t[0], t[1], t[2].name))
        kept += [p for *_, p in items[:spot_cells]]
        left_out[runner] = len(items) - min(spot_cells, len(items))
    return sorted(kept), left_out


def choice_cells(profile: str) -> set[tuple[str, str]]:
    """(runner, key) of the models a later registration of ``profile`` chooses on and never tests
    (class_level's ``choice_seeds``: their first-stage models). Shipped, so that its choice is
    remade on a fresh clone from the models it was made on rather than from models trained again
    on another machine, and so that its plan knows before it runs whether the choice trains a
    second stage (:func:`augworth.experiments.plan.stored_second_stage`)."""
    import importlib

    from . import prereg
    from .config import load_params
    from .experiments.cache import cache_key
    from .experiments.cells import cell_fields
    from .experiments.registry import RUNNERS
    from .experiments.sweep import code_version
    from .experiments.training import train_cell

    version, out = code_version(train_cell), set()
    for later in prereg.later(profile):
        for name, over in later.chapters.items():
            module = importlib.import_module(RUNNERS[name].fn.__module__)
            choice = set(later.choice_seeds(name))
            if not choice or not hasattr(module, "stage1_cells"):
                continue
            out |= {("train_cell", cache_key("train_cell", version, cell_fields(cell)))
                    for _, cell in module.stage1_cells(load_params(name, profile, over)) if cell.seed in choice}
    return out


def longer_cells(profile: str, entries: list[Path]) -> set[tuple[str, str]]:
    """(runner, key) of the runs a later registration of ``profile`` trains beside its runner
    and its verdict reads (B4's policy with more epochs, :mod:`augworth.experiments.b4_longer`),
    found from its runner's result among ``entries``. Shipped, so that a fresh clone's page reads
    the gate that decided the verdict."""
    from . import prereg
    from .config import load_params
    from .experiments import b4_longer
    from .experiments.cache import cache_key, from_jsonable
    from .experiments.cells import cell_fields
    from .experiments.registry import RUNNERS
    from .experiments.sweep import code_version
    from .experiments.training import train_cell

    by_key = {(p.parent.name, p.stem): p for p in entries}
    version, out = code_version(train_cell), set()
    for later in prereg.later(profile):
        if "class_level" not in later.chapters or not b4_longer.gated(later.gates):
            continue
        p = load_params("class_level", profile, later.chapters["class_level"])
        path = by_key.get(("class_level", cache_key("class_level", RUNNERS["class_level"].version, p.to_dict())))
        if path is None:
            continue
        value = from_jsonable(json.loads(path.read_text())["result"])
        out |= {("train_cell", cache_key("train_cell", version, cell_fields(cell)))
                for _, cell in b4_longer.longer_cells(p, value)}
    return out


def ship(profile: str, cache: Path, records: Path, step_ms: float | None = None, only_read: bool = False,
         notes: dict | None = None, spot_since: str | None = None) -> dict:
    """Copy the results cache ``cache`` (a folder of ``<runner>/<key>.json``, filled by one run
    of ``profile``) and its claim records into ``data/results/<profile>/`` (replacing what was
    shipped before) and write its ``PROVENANCE.json``; returns the provenance. ``only_read``:
    ship what the notebooks read and the spot check's cells alone (:func:`read_entries`), not
    every cell behind them (a reader's ``make nb`` with new parameters then computes its cells).
    ``notes``: more provenance (e.g. where each stage of a pre-registered profile ran), kept in
    ``PROVENANCE.json`` under their keys."""
    cache, records = Path(cache), Path(records)
    entries = _entries(cache)
    left_out: dict = {}
    if only_read and entries:
        entries, left_out = read_entries(profile, entries, spot_since=spot_since)
    if not entries:
        from .config import ConfigError

        raise ConfigError(f"no results in {cache}: compute the profile into it first (AUGWORTH_CACHE={cache} "
                          f"make notebooks PROFILE={profile})")
    dest = shipped_dir(profile)
    staging = dest.with_name(f".{profile}.shipping")
    shutil.rmtree(staging, ignore_errors=True)
    metas = []
    packed = []
    for src in entries:  # written compactly: the same entry (and checksum) in two thirds of the bytes
        entry = json.loads(src.read_text())
        metas.append(entry["meta"])
        text = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
        if len(text) > PACK_BYTES:  # committed compressed, unpacked beside on first use (io.unpack_gzipped)
            packed.append(f"{src.parent.name}/{src.name}")
            atomic_write(staging / src.parent.name / f"{src.name}.gz",
                         lambda fh, text=text: fh.write(gzip.compress(text, mtime=0)))
        else:
            atomic_write(staging / src.parent.name / src.name, lambda fh, text=text: fh.write(text))
    if packed:
        atomic_write_text(staging / UNPACKED_LIST, "# unpacked copies of the .gz entries (io.unpack_gzipped)\n"
                          + "".join(f"/{p}\n" for p in packed))
    for rec in sorted(records.glob("*.json")):
        (staging / RECORDS).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rec, staging / RECORDS / rec.name)
    created = sorted(m.get("created", "?") for m in metas)
    runners = sorted({m.get("runner", "?") for m in metas})
    prov = {
        "profile": profile,
        "computed": {"first": created[0], "last": created[-1]},
        "commits": sorted({m.get("git_commit", "?")[:12] for m in metas}),
        "machine": machine(step_ms),
        "device": sorted({m["device_name"] for m in metas if "device_name" in m}),
        # the cells' own compute (one thread each) and the chapters' wall time as they ran
        "cells_compute_s": round(sum(float(m.get("wall_s", 0.0)) for m in metas if "code_hash" not in m), 1),
        "chapters_wall_s": round(sum(float(m.get("wall_s", 0.0)) for m in metas if "code_hash" in m), 1),
        "entries": {r: sum(1 for m in metas if m.get("runner") == r) for r in runners},
        "records": sorted(p.stem for p in records.glob("*.json")),
        **({"cells_left_out": left_out, "cells_note": "only the chapters' results and the spot check's cells "
            "are shipped: a chapter with new parameters computes its cells (make reproduce computes them all)"}
           if only_read else {}),
        "shipped": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        **(notes or {}),
    }
    rest = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
    prov["bytes"] = rest
    for _ in range(3):  # the whole, this file included (its own size holds the count's digits)
        prov["bytes"] = rest + len((json.dumps(prov, indent=1) + "\n").encode())
    atomic_write_text(staging / PROVENANCE, json.dumps(prov, indent=1) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(staging, dest)
    unpack_gzipped(dest)
    return prov


def committed_files(profile: str) -> list[Path]:
    """The files of ``data/results/<profile>/`` that are committed: all but the unpacked copies
    of its ``.gz`` entries (:func:`augworth.io.unpack_gzipped`)."""
    dest = shipped_dir(profile)
    unpacked = {gz.with_suffix("") for gz in dest.rglob("*.gz")}
    return sorted(p for p in dest.rglob("*") if p.is_file() and p not in unpacked)


def provenance(profile: str) -> dict | None:
    """The shipped ``PROVENANCE.json`` of ``profile`` (None when nothing is shipped)."""
    path = shipped_dir(profile) / PROVENANCE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def status(name: str, profile: str, overrides: dict | None = None) -> str:
    """For a chapter with a runner: 'missing' (no stored result for these parameters),
    'stale' (stored, computed by code that has changed since) or 'current'; '' for pages
    without a runner (the scorecard)."""
    from . import experiments  # noqa: F401  (registers the runners)
    from .config import load_params
    from .experiments.cache import ResultsCache, cache_key
    from .experiments.registry import RUNNERS, code_hash

    if name not in RUNNERS:
        return ""
    runner = RUNNERS[name]
    params = load_params(name, profile, overrides).to_dict()
    hit = ResultsCache().get(name, cache_key(name, runner.version, params))
    if hit is None:
        return "missing"
    return "current" if hit[1].get("code_hash") == code_hash(runner.fn.__module__) else "stale"


# -- compare a reproduction with what is shipped -----------------------------------------------

def compare(shipped: Path, reproduced: Path, names: list[str] | None = None):
    """Claim by claim: the shipped and the reproduced verdict and value, whether the verdicts
    agree and whether the reproduced value lies in the shipped interval (a DataFrame)."""
    import pandas as pd

    from .claims import CLAIMS, load_records

    a, b = load_records(shipped), load_records(reproduced)
    rows = []
    for claim in sorted(set(a) | set(b)):
        s, r = a.get(claim), b.get(claim)
        if names and claim in CLAIMS and CLAIMS[claim].notebook not in names:
            continue
        inside = None
        if s is not None and r is not None and s.interval is not None and _finite(r.measured):
            lo, hi = s.interval
            inside = bool(lo <= r.measured <= hi) if _finite(lo) and _finite(hi) else None
        def text(x):
            return "-" if x is None else f"{x.verdict}: {_value(x)}" + (
                f" (registration {x.registration})" if x.registration > 1 else "")

        rows.append({"claim": claim, "shipped": text(s), "reproduced": text(r),
                     "same verdict": None if s is None or r is None else s.verdict == r.verdict,
                     "in shipped interval": inside})
    return pd.DataFrame(rows)


def _finite(x) -> bool:
    import math

    return isinstance(x, (int, float)) and math.isfinite(x)


def _value(rec) -> str:
    if not _finite(rec.measured):
        return "no value"
    text = f"{rec.measured:.3g}"
    if rec.interval is not None and all(_finite(v) for v in rec.interval):
        text += f" [{rec.interval[0]:.3g}, {rec.interval[1]:.3g}]"
    return text


def print_comparison(table, file=None) -> None:
    file = file or sys.stdout
    if table.empty:
        print("no claims to compare", file=file)
        return
    print(table.to_string(index=False), file=file)
    same = table["same verdict"].dropna()
    inside = table["in shipped interval"].dropna()
    print(f"\n{int(same.sum())} of {len(same)} verdicts the same; {int(inside.sum())} of {len(inside)} reproduced "
          f"values inside the shipped interval (a rerun on another CPU is new seeds' worth of noise, not the same "
          f"measurement: about 1 in 20 values may fall outside by chance alone)", file=file)


# -- the spot-check: do shipped cells still follow from the code? ------------------------------

#: Every sweep cell the chapters store: (module, cell function).
SWEEP_CELLS = {
    "train_cell": ("augworth.experiments.training", "train_cell"),
    "exchange_cell": ("augworth.experiments.exchange_rate", "exchange_cell"),
    "saliency_cell": ("augworth.experiments.saliency", "saliency_cell"),
    "flatness_cell": ("augworth.experiments.flatness", "flatness_cell"),
    "sample_complexity_cell": ("augworth.experiments.sample_complexity", "chapter_cell"),
}
#: How far a recomputed number may lie from the shipped one: another CPU takes other floating-
#: point paths (vector widths, summation orders), which a few hundred SGD steps amplify; a change
#: of what the code computes moves numbers further (or changes the shape of the result).
SPOT_ATOL, SPOT_RTOL = 0.03, 0.05


def _leaves(value, prefix=""):
    """(path, number) for every number in a result: scalars, list items, array elements."""
    import numpy as np

    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{prefix}[{i}]")
    elif isinstance(value, np.ndarray):
        for i, v in enumerate(value.ravel().tolist()):
            yield from _leaves(v, f"{prefix}[{i}]")
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        yield prefix, value
    elif isinstance(value, (int, float)):
        yield prefix, float(value)
    elif type(value).__name__ == "DataFrame":
        yield from _leaves(value.to_dict(orient="list"), prefix)


_TIMING = ("seconds", "_s", "per_s", "pid")  # measured times and process ids: not results


def differences(shipped, recomputed) -> list[str]:
    """Where ``recomputed`` departs from ``shipped`` beyond the spot-check's tolerance (timings
    ignored): a different structure, a different word, or a number too far away."""
    import math

    a = dict(_leaves(shipped))
    b = dict(_leaves(recomputed))
    keep = lambda k: not any(k.split(".")[-1].split("[")[0].endswith(t) for t in _TIMING)  # noqa: E731
    out = [f"{k}: only in the {'shipped' if k in a else 'recomputed'} result" for k in sorted(set(a) ^ set(b)) if keep(k)]
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        if not keep(k) or x == y:
            continue
        if isinstance(x, float) and isinstance(y, float):
            if math.isnan(x) and math.isnan(y):
                continue
            if abs(x - y) <= SPOT_ATOL + SPOT_RTOL * abs(x):
                continue
        out.append(f"{k}: shipped {x!r}, recomputed {y!r}")
    return out


def cheapest_cells(profile: str, per_runner: int = 1, max_s: float = 20.0,
                   runners: tuple[str, ...] | None = None) -> list[tuple[str, dict, dict, Path]]:
    """The ``per_runner`` cheapest shipped cells of each sweep runner (of ``runners``, default
    all; by the seconds they took when computed, at most ``max_s``): (runner, cell, stored meta,
    path)."""
    found: dict[str, list] = {}
    for path in sorted(shipped_dir(profile).glob("*/*.json")):
        if path.parent.name not in SWEEP_CELLS or (runners and path.parent.name not in runners):
            continue
        meta = json.loads(path.read_text())["meta"]
        if float(meta.get("wall_s", 1e9)) <= max_s:
            found.setdefault(path.parent.name, []).append((float(meta["wall_s"]), meta, path))
    out = []
    for runner, items in sorted(found.items()):
        for _, meta, path in sorted(items, key=lambda t: t[0])[:per_runner]:
            out.append((runner, meta["params"], meta, path))
    return out


def spot_check(profile: str, per_runner: int = 1, max_s: float = 20.0,
               runners: tuple[str, ...] | None = None) -> list[dict]:
    """Recompute the cheapest shipped cells of every sweep runner with the code here and compare
    them with what is shipped: one row per cell (runner, seconds, code version then and now,
    differences). Code that moves numbers shows up here, whatever its version says."""
    import importlib
    import time

    from .experiments.cache import from_jsonable, to_jsonable
    from .experiments.sweep import cell_threads, code_version

    rows = []
    for runner, fields, meta, path in cheapest_cells(profile, per_runner, max_s, runners):
        module, fn_name = SWEEP_CELLS[runner]
        fn = getattr(importlib.import_module(module), fn_name)
        row = {"runner": runner, "cell": path.stem, "version shipped": meta.get("version"),
               "version now": code_version(fn)}
        types = {t.__name__: t for t in (fn.cell_type if isinstance(fn.cell_type, tuple) else (fn.cell_type,))}
        try:
            cell = types[meta["cell_type"]].from_mapping(fields)
        except (KeyError, ValueError) as err:
            row.update(seconds=0.0, differences=[f"a cell of another shape ({type(err).__name__}: {err}): shipped by "
                                                 "other code; compute and ship the profile again"])
            rows.append(row)
            continue
        shipped = from_jsonable(json.loads(path.read_text())["result"])
        start = time.perf_counter()
        with cell_threads():
            value = fn(cell)
        row.update(seconds=time.perf_counter() - start, differences=differences(shipped, from_jsonable(to_jsonable(value))))
        rows.append(row)
    return rows
