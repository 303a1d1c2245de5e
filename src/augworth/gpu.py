"""The prepared GPU run: ``python -m augworth gpu --minutes N`` (``make gpu``).

For a short loan of a machine with one GPU (no Jupyter needed, ``PYTHONPATH=src`` is enough):

1. CUDA smoke checks: one model trains on the GPU, and K packed models give what K separate runs
   give (fp32, a few steps);
2. the packed-training benchmark: images/s (and TFLOP/s) of K = 1, 8, 32, 128 small models
   trained as one program against one model at a time, and what the profile's counted FLOPs
   (``python -m augworth plan``) take at the best of those rates; then ``make bench``'s time to
   92% test accuracy (:mod:`augworth.speed`: the naive loop with today's recipe against the
   engine with today's, the new and the fast recipe, each at its best run length; at most a fifth of the
   minutes);
3. as many full-profile cells as fit in the time left, chapter by chapter in priority order,
   each sweep with the ``inline`` executor (the packed one fails on CUDA under bf16 autocast; see run). Every finished cell is stored the moment it is done;
   when the deadline passes, the sweep stops before its next cell.

Everything new is copied to ``--out`` (default ``data/results/full``) in the results cache's
layout, with ``gpu-run-<time>.json`` beside it: GPU, torch, commit, wall time, the benchmark and
what each chapter completed. Cells written there are found by later runs (committed results are
read-only cache folders), so several short GPU runs together complete the publication run; the
book switches a chapter to the full profile only when its runner's result is there, i.e. when the
chapter is complete.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from . import paths, runtime

#: Chapters in the order their full results are most wanted (the claims that need GPU scale
#: first: C1-C4's power-law worth, B1's per-class tests with 6 seeds, then A4, C5, A1-A3).
PRIORITY = ("exchange_rate", "class_level", "saliency", "flatness", "sample_complexity", "data")


def smoke(device) -> dict:
    """A model learns on the device, and packed training matches separate runs there."""
    import torch

    from .config import TrainConfig
    from .data import load_dataset
    from .train import fit
    from .train import loop
    from .train.packed import fit_packed

    ds = load_dataset("fashion_mnist", device=device)
    x, y = ds.train_x[:16384], ds.train_y[:16384]
    cfg = TrainConfig(width=16 if device.type == "cuda" else 8, epochs=2, batch_size=256, augment="crop(2)+flip", seed=0)
    res = fit(cfg, x, y, 10, {"test": (ds.test_x[:2000], ds.test_y[:2000])}, device=device)
    cfgs = [TrainConfig(width=8, steps=4, batch_size=64, augment="noise(0.02)", seed=s, amp="off") for s in range(4)]
    data = [(ds.train_x[i * 600 : i * 600 + 512], ds.train_y[i * 600 : i * 600 + 512]) for i in range(4)]
    packed = fit_packed(cfgs, data, 10, None, device=device)
    old, loop.MEMORY_FORMAT = loop.MEMORY_FORMAT, torch.contiguous_format
    try:
        alone = [fit(c, xx, yy, 10, None, device=device) for c, (xx, yy) in zip(cfgs, data)]
    finally:
        loop.MEMORY_FORMAT = old
    rel = max(float((a - b).abs().max() / a.abs().max().clamp_min(1e-12))
              for p, q in zip(packed, alone)
              for a, b in zip(q.model.state_dict().values(), p.model.state_dict().values()) if a.is_floating_point())
    out = {"test_acc_2_epochs": res.final["test"]["accuracy"], "packed_vs_separate_max_rel_diff": rel,
           "ok": res.final["test"]["accuracy"] > 0.7 and rel < 1e-2}
    return out


def bench_packed(device, ks=(1, 8, 32, 128), steps: int = 30, width: int = 8, batch: int = 128) -> list[dict]:
    """Steady images/s of K packed fast CNNs (width ``width``, ``batch`` images each) against
    one model trained alone (same model, steps and batch), after ``steps`` warm-up steps."""
    import torch

    from .config import TrainConfig
    from .data import load_dataset
    from .train import fit
    from .train.packed import fit_packed

    ds = load_dataset("fashion_mnist", device=device)
    n = batch * 8
    data = ds.train_x[:n], ds.train_y[:n]

    def rate(k: int) -> float:
        times = []
        for total in (steps, 2 * steps):
            cfgs = [TrainConfig(width=width, steps=total, batch_size=batch, augment="crop(2)+flip", seed=s)
                    for s in range(max(k, 1))]
            t0 = time.perf_counter()
            if k == 0:
                fit(cfgs[0], *data, 10, None, device=device)
            else:
                fit_packed(cfgs, [data] * k, 10, None, device=device)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - t0)
        return max(k, 1) * steps * batch / max(times[1] - times[0], 1e-9)

    from .experiments.plan import TRAIN_PASSES, forward_flops

    train_flops = TRAIN_PASSES * forward_flops("fast_cnn", width, *runtime.REFERENCE_INPUT)  # per training image
    alone = rate(0)
    rows = [{"models": "1 alone (train loop)", "images/s": alone, "x one model": 1.0, "TFLOP/s": alone * train_flops / 1e12}]
    for k in ks:
        r = rate(k)
        rows.append({"models": f"{k} packed", "images/s": r, "x one model": r / alone, "TFLOP/s": r * train_flops / 1e12})
    return rows


def plan_at(profile: str, tflops: float) -> dict:
    """The profile's counted TFLOPs (:mod:`augworth.experiments.plan`) and the minutes they take
    at ``tflops`` sustained (the packed benchmark's best rate, at its small width: an estimate)."""
    from .experiments import plan

    table = plan.profile_table(profile)
    total = float(table["TFLOP"].iloc[-1])
    return {"profile": profile, "TFLOP": total, "at TFLOP/s": tflops, "minutes": plan.minutes(total, tflops),
            "by chapter": {r["chapter"]: round(float(r["TFLOP"]), 3) for _, r in table.iterrows()}}


def _snapshot(root: Path) -> set[Path]:
    return {p for p in root.rglob("*.json")} if root.is_dir() else set()


def _parallel(minutes: float, out: Path, profile: str, chapters, start: float) -> dict:
    """Each chapter in its own process on the same GPU (small models leave a GPU idle between
    kernel launches; several processes fill it), each with the deadline of the whole run."""
    import subprocess

    left = max(0.1, minutes - (time.time() - start) / 60)
    procs = {name: subprocess.Popen([sys.executable, "-m", "augworth", "gpu", "--minutes", f"{left:.2f}", "--out",
                                     str(out), "--profile", profile, "--chapters", name, "--no-bench", "--no-smoke"],
                                    env={**os.environ, "AUGWORTH_GPU_REPORT": "0"})
             for name in chapters}
    return {name: f"exit {proc.wait()}" for name, proc in procs.items()}


def time_to_target(device, target: float = 0.92, width: int = 32, deadline: float | None = None) -> list[dict]:
    """``make bench``'s time to target on this device (:mod:`augworth.speed`): the naive loop with
    today's recipe and the engine with today's, the new and the fast recipe, each at its best run length
    (from one epoch, x1.41 apart), fast CNN of ``width``, batch 128, seed 2. Printed and returned."""
    from dataclasses import asdict

    from . import speed
    from .data import load_dataset

    ds = load_dataset("fashion_mnist", device=device)
    rows = speed.time_to_target("fast_cnn", width, ds, device, target, 128, 0.1,
                                speed.TARGET_RECIPES, seeds=(2,), deadline=deadline)
    for r in rows:
        print(f"[augworth gpu] time to {target:.0%}, {r.contender}: "
              + (f"{r.seconds:.1f} s ({r.epochs:g} epochs)" if r.seconds else f"not reached ({r.accuracy:.4f})"),
              file=sys.stderr, flush=True)
    ratio = speed.speed_up(rows, "engine, new recipe")
    return [{**asdict(r), "target": target, "width": width} for r in rows] + [{"engine (new recipe) vs naive": ratio}]


def run(minutes: float, out: Path, profile: str = "full", chapters=PRIORITY, bench: bool = True,
        smoke_checks: bool = True, parallel: bool = False) -> dict:
    """The whole prepared run (see the module doc); returns (and writes) its report. ``parallel``:
    every chapter in a process of its own (see :func:`_parallel`)."""
    from .config import load_params
    from .experiments import registry
    from .experiments.sweep import DeadlineReached

    start = time.time()
    deadline = start + 60 * minutes
    device = runtime.resolve_device("auto")
    if device.type == "cuda":
        # vmap (packed training, the loss landscape) cannot query channels_last batch norm on CUDA
        import torch

        from .train import loop

        loop.MEMORY_FORMAT = torch.contiguous_format
    report = {"provenance": runtime.provenance(device), "minutes": minutes, "profile": profile, "chapters": {}}
    print(f"[augworth gpu] {runtime.device_name(device)}, torch {report['provenance']['torch']}, "
          f"{minutes:g} minutes", file=sys.stderr, flush=True)
    if smoke_checks:
        report["smoke"] = smoke(device)
        print(f"[augworth gpu] smoke: {report['smoke']}", file=sys.stderr, flush=True)
    if bench:
        report["bench_packed"] = bench_packed(device) if device.type == "cuda" else bench_packed(device, ks=(1, 4))
        for row in report["bench_packed"]:
            print(f"[augworth gpu] {row['models']:>22}: {row['images/s']:,.0f} images/s "
                  f"({row['x one model']:.1f}x one model, {row['TFLOP/s']:.3g} TFLOP/s)", file=sys.stderr, flush=True)
        best = max(r["TFLOP/s"] for r in report["bench_packed"])
        report["plan"] = plan_at(profile, best)
        print(f"[augworth gpu] the {profile} profile counts {report['plan']['TFLOP']:,.0f} TFLOP: "
              f"{report['plan']['minutes']:.1f} min at the best packed rate ({best:.3g} TFLOP/s)", file=sys.stderr,
              flush=True)
        if device.type == "cuda":  # at most a fifth of the run's minutes
            report["time_to_target"] = time_to_target(device, deadline=start + 12 * minutes)
    if parallel:
        report["chapters"] = _parallel(minutes, out, profile, chapters, start)
        report["wall_s"] = time.time() - start
        out.mkdir(parents=True, exist_ok=True)
        (out / f"gpu-run-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(start))}.json").write_text(
            json.dumps(report, indent=1, default=str))
        return report
    cache_dir = paths.cache_root() / "results"
    before = _snapshot(cache_dir)
    # inline: on CUDA with bf16 autocast (amp "auto") the packed trainer fails (batch norm's running
    # statistics stay float32 under vmap) and its smoke check differs from separate runs; packing
    # comes back when that is fixed (it changes packed.py, and so the code version of every cell)
    os.environ.setdefault("AUGWORTH_EXECUTOR", "inline")
    os.environ["AUGWORTH_DEADLINE"] = str(deadline)
    try:
        for name in chapters:
            if time.time() > deadline:
                report["chapters"][name] = "not started (time)"
                continue
            t0 = time.time()
            try:
                registry.run(name, load_params(name, profile), export_dir=out)
                report["chapters"][name] = f"complete ({time.time() - t0:.0f} s)"
            except DeadlineReached:
                report["chapters"][name] = f"partial: the deadline passed after {time.time() - t0:.0f} s"
            print(f"[augworth gpu] {name}: {report['chapters'][name]}", file=sys.stderr, flush=True)
    finally:
        os.environ.pop("AUGWORTH_DEADLINE", None)
        new = sorted(_snapshot(cache_dir) - before)
        for f in new:  # finished cells (and runner results) join the committed results
            target = out / f.relative_to(cache_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, target)
        report["files_written"] = len(new)
        report["wall_s"] = time.time() - start
        out.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(start))
        if os.environ.get("AUGWORTH_GPU_REPORT") != "0":  # a chapter process of a parallel run: its parent reports
            (out / f"gpu-run-{stamp}.json").write_text(json.dumps(report, indent=1, default=str))
        else:
            (out / f"gpu-run-{stamp}-{'-'.join(chapters)}.json").write_text(json.dumps(report, indent=1, default=str))
    return report


def complete_seeds(cells, stored) -> tuple[list[int], list[int]]:
    """(seeds whose every cell is stored, seeds with some but not all stored), each sorted.
    ``stored``: whether one cell is stored."""
    by: dict[int, list[bool]] = {}
    for cell in cells:
        by.setdefault(int(cell.seed), []).append(bool(stored(cell)))
    return sorted(s for s, v in by.items() if all(v)), sorted(s for s, v in by.items() if any(v) and not all(v))


#: The sweep that computes each chapter's cells (its stored runner name; the cell function is
#: :data:`augworth.shipping.SWEEP_CELLS`'s): the chapters a GPU registration run can train.
CHAPTER_SWEEPS = {"class_level": "train_cell", "saliency": "saliency_cell",
                  "sample_complexity": "sample_complexity_cell", "flatness": "flatness_cell",
                  "exchange_rate": "exchange_cell"}


def registration_cells(chapter: str, p) -> list:
    """The cells a registration's chapter computes before any choice it makes (class_level: its
    first stage and the convergence runs; B4's policies, trained only for a class hurt on
    validation, are left to ``make confirm``; the other chapters: every cell of their sweep)."""
    import importlib

    from .config import ConfigError

    if chapter not in CHAPTER_SWEEPS:
        raise ConfigError(f"make gpu REG=: chapter {chapter!r} computes no sweep of cells; a GPU registration run "
                          f"trains {', '.join(CHAPTER_SWEEPS)}")
    module = importlib.import_module(f"augworth.experiments.{chapter}")
    if hasattr(module, "stage1_and_convergence"):
        return [c for _, _, c in module.stage1_and_convergence(p)]
    return [c[1] if isinstance(c, tuple) else c for c in module.cells(p)]


def cell_function(chapter: str):
    """(stored runner name, cell function) of ``chapter``'s sweep."""
    import importlib

    from .shipping import SWEEP_CELLS

    name = CHAPTER_SWEEPS[chapter]
    module, attr = SWEEP_CELLS[name]
    return name, getattr(importlib.import_module(module), attr)


def registration(number: int, minutes: float, out: Path, profile: str = "book", workers: int = 15) -> dict:
    """A later registration's cells on this machine's GPU (``make gpu REG=N``), seed by seed.

    The cells are submitted in seed order to ``workers`` processes sharing the device (the engine's
    bf16 autocast on CUDA). When ``minutes`` pass, the workers are stopped; a seed whose cells are
    not all stored then loses those this run trained, so that ``make confirm REG=N`` trains each
    remaining seed whole, on one machine. Only its confirmatory seeds are trained here: the seeds
    it chooses on (``choice_seeds``) are read where they were trained. The stored cells of
    complete seeds are copied to ``out`` (the results cache's layout) with
    ``gpu-registration-<n>-<time>.json``: the device, the seeds finished and the wall time."""
    from concurrent.futures import TimeoutError as FuturesTimeout
    from concurrent.futures import as_completed

    from . import prereg
    from .config import ConfigError, load_params
    from .experiments.cache import ResultsCache, cache_key
    from .experiments.cells import cell_fields
    from .experiments.sweep import _compute_cell, _process_pool, code_version

    start = time.time()
    regs = {r.number: r for r in prereg.later(profile)}
    if number not in regs:
        raise ConfigError(f"REG={number}: params/{profile} has no registration-{number}.yaml (later registrations "
                          f"there: {', '.join(map(str, regs)) or 'none'})")
    reg = regs[number]
    device = runtime.resolve_device("auto")
    cache = ResultsCache()
    root = cache.root
    report = {"provenance": runtime.provenance(device), "registration": reg.file, "minutes": minutes,
              "workers": workers, "chapters": {}}
    for chapter, over in reg.chapters.items():
        # its confirmatory seeds only: the seeds it chooses on are read from where they were trained
        mine = set(reg.seeds(chapter))
        name, fn = cell_function(chapter)
        version = code_version(fn)
        cells = sorted((c for c in registration_cells(chapter, load_params(chapter, profile, over)) if c.seed in mine),
                       key=lambda c: c.seed)  # seed by seed: a stop leaves whole seeds behind it
        key = {id(c): cache_key(name, version, cell_fields(c)) for c in cells}
        todo = [c for c in cells if cache.get(name, key[id(c)]) is None]
        print(f"[augworth gpu] registration {number}, {chapter}: {len(todo)} of {len(cells)} cells to train on "
              f"{runtime.device_name(device)} with {workers} processes", file=sys.stderr, flush=True)
        done, stopped = 0, False
        if todo:
            try:
                with _process_pool(workers) as pool:
                    futures = [pool.submit(_compute_cell, fn, name, version, c, str(root)) for c in todo]
                    left = max(1.0, start + 60 * minutes - time.time())
                    for fut in as_completed(futures, timeout=left):
                        fut.result()
                        done += 1
                        if done % 10 == 0:
                            print(f"[augworth gpu] {done}/{len(todo)} cells, {time.time() - start:.0f} s",
                                  file=sys.stderr, flush=True)
            except FuturesTimeout:
                stopped = True
        whole, partial = complete_seeds(cells, lambda c: cache.get(name, key[id(c)]) is not None)
        for cell in todo:  # a seed this run did not finish is trained again whole, elsewhere
            if int(cell.seed) in partial:
                (root / name / f"{key[id(cell)]}.json").unlink(missing_ok=True)
        copied = 0
        for cell in cells:
            src = root / name / f"{key[id(cell)]}.json"
            if int(cell.seed) in whole and src.exists():
                (out / name).mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, out / name / src.name)
                copied += 1
        new = sorted({int(c.seed) for c in todo} & set(whole))
        report["chapters"][chapter] = {"cells": len(cells), "trained": done, "stopped_by_time": stopped,
                                       "seeds_complete_here": new, "seeds_left": sorted({int(c.seed) for c in todo}
                                                                                         - set(whole)),
                                       "files": copied}
        print(f"[augworth gpu] {chapter}: seeds finished here {new}; left for make confirm "
              f"{report['chapters'][chapter]['seeds_left']}", file=sys.stderr, flush=True)
    report["wall_s"] = time.time() - start
    out.mkdir(parents=True, exist_ok=True)
    (out / f"gpu-registration-{number}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(start))}.json").write_text(
        json.dumps(report, indent=1, default=str))
    return report
