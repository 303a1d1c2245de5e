"""Training-engine benchmark: throughput and time to a target test accuracy on Fashion-MNIST,
the engine versus a naive baseline measured in the same run. Prints a table (`make bench`).

Engine: the data set on the device as uint8, crop+flip drawn per image in batch on the device,
bf16 autocast + channels_last on CUDA (optionally torch.compile).
Naive baseline: the same model and optimiser, torchvision per-image transforms (RandomCrop with
padding, RandomHorizontalFlip, ToTensor, Normalize) in a DataLoader (shuffle, pinned memory on
CUDA), fp32, batches copied to the device every step. On the CPU the loader uses no worker
processes: with two cores, workers would take the cores the model trains on.

Throughput is measured on steady-state steps (a warm-up epoch -- and compilation -- is timed
separately). Time to target is each contender at its best (augworth.speed): the shortest whole
run, its schedule decaying to zero at its end, that reaches the target accuracy.

Usage: python benchmarks/train_bench.py [--models fast_cnn:16,resnet18:16] [--target 0.85]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import threading
import time

import torch

from augworth import runtime
from augworth.config import TrainConfig
from augworth.data import load_dataset
from augworth.models import build_model, count_parameters
from augworth.speed import FAST_RECIPE, NEW_RECIPE, TARGET_RECIPES, naive_model, naive_step, speed_up, time_to_target
from augworth.train import fit, lr_at
# Defaults per device kind; every number with its unit.
HYP = {
    "cpu": {
        "models": "fast_cnn:16,resnet18:16",  # name:width
        "steps": 20,              # optimiser steps timed for throughput (after as many warm-up steps)
        "target": 0.85,           # test accuracy to reach (fraction)
        "target_seeds": 2,        # seeds (2, 3, ...: not the recipes' pilot's 0, 1) each run length is trained with
        "target_models": "fast_cnn",  # models that also run time-to-target (slow on a CPU)
        "batch_size": 128,        # images per step
        "lr": 0.1,                # peak learning rate
        "compile": False,
    },
    "cuda": {
        "models": "fast_cnn:64,resnet18:64",
        "steps": 100,
        "target": 0.93,
        "target_seeds": 2,
        "target_models": "fast_cnn,resnet18",
        "batch_size": 256,
        "lr": 0.2,
        "compile": True,
    },
}


def naive_throughput(name, width, ds, device, hyp):
    """The baseline loop's steady images/s: `steps` warm-up steps, then `steps` timed ones."""
    model, loader, opt, _ = naive_model(name, width, ds, device, hyp["batch_size"], hyp["lr"], seed=0)
    steps = hyp["steps"]
    for step, (xb, yb) in enumerate(loader):
        if step == steps:  # warm-up done: time the next `steps` steps
            if device.type == "cuda":
                torch.cuda.synchronize()
            t_steady = time.perf_counter()
        naive_step(model, opt, xb, yb, device, lr_at(step, 2 * steps, hyp["lr"], 0.0333))
        if step + 1 == 2 * steps:
            if device.type == "cuda":
                torch.cuda.synchronize()
            return steps * hyp["batch_size"] / (time.perf_counter() - t_steady)
    raise ValueError(f"--steps {steps}: the training set has fewer than {2 * steps} batches")


def engine_throughput(name, width, ds, device, hyp, recipe=None):
    """Two epochs of `steps` steps each: the first is warm-up (and compilation), the second timed.
    ``recipe``: TrainConfig fields (the fast recipe's whitening stem makes a step cheaper)."""
    n = hyp["steps"] * hyp["batch_size"]
    cfg = TrainConfig(**{"model": name, "width": width, "steps": 2 * hyp["steps"], "batch_size": hyp["batch_size"],
                         "lr": hyp["lr"], "augment": "crop+flip", "compile": hyp["compile"], **(recipe or {})})
    res = fit(cfg, ds.train_x[:n], ds.train_y[:n], 10, device=device)
    warm, steady = res.history[0]["seconds"], res.history[1]["seconds"]
    return n / steady, warm - steady


def layout_throughput(name, width, ds, device, hyp):
    """The engine's steady images/s with channels_last (the default) and with the contiguous
    layout: (channels_last, contiguous)."""
    from augworth.train import loop

    rates = []
    longer = {**hyp, "steps": 4 * hyp["steps"]}  # 20 steps were too few: warm-up noise decided the ratio
    for fmt in (torch.channels_last, torch.contiguous_format):
        old, loop.MEMORY_FORMAT = loop.MEMORY_FORMAT, fmt
        try:
            rates.append(engine_throughput(name, width, ds, device, longer)[0])
        finally:
            loop.MEMORY_FORMAT = old
    return tuple(rates)


class GpuSampler:
    """Samples nvidia-smi's GPU utilisation every 100 ms in the background."""

    def __enter__(self):
        self.proc = subprocess.Popen(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                                      "-lms", "100"], stdout=subprocess.PIPE, text=True)
        self.samples: list[float] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.samples.append(float(line.strip().split(",")[0]))
            except ValueError:
                pass

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else float("nan")


def sweep_utilisation(workers: int, cells: int) -> tuple[float, float]:
    """GPU busy fraction and wall time of a `cells`-cell sweep of small models with `workers` processes."""
    import os
    import tempfile

    from augworth.experiments.cache import ResultsCache
    from augworth.experiments.sweep import expand_grid, run_sweep
    from augworth.config import TrainCell
    from augworth.experiments.training import train_cell

    grid = [TrainCell.from_mapping(c) for c in
            expand_grid({"seed": list(range(cells))}, base={"n_train": 4000, "epochs": 5, "width": 32, "val_size": 5000})]
    with tempfile.TemporaryDirectory() as tmp, GpuSampler() as gpu:
        start = time.perf_counter()
        run_sweep(train_cell, grid, name=f"bench{workers}", executor="process" if workers > 1 else "inline",
                  workers=workers, cache=ResultsCache(tmp, read_only=[]))
        wall = time.perf_counter() - start
    return gpu.mean, wall


def exchange_cells_per_minute(cells: int = 8, workers: int = 2) -> float:
    """Cells per minute of the quick profile's exchange grid (its first ``cells`` main cells),
    computed as `make book` computes them (process pool, one thread per cell)."""
    import tempfile

    from augworth.config import load_params
    from augworth.experiments.cache import ResultsCache
    from augworth.experiments.exchange_rate import cells as exchange_cells
    from augworth.experiments.exchange_rate import exchange_cell
    from augworth.experiments.sweep import run_sweep

    grid = [c for kind, c in exchange_cells(load_params("exchange_rate", "quick")) if kind == "main"][:cells]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run_sweep(exchange_cell, grid, name="bench_exchange", executor="process", workers=workers,
                  cache=ResultsCache(tmp, read_only=[]))
        return 60 * cells / (time.perf_counter() - start)


_EVAL_PROBE = """
import sys, time, torch
from augworth import runtime
from augworth.data import load_dataset
from augworth.models import build_model
from augworth.train import evaluate
runtime.keep_freed_memory()
torch.set_num_threads(1)
ds = load_dataset("fashion_mnist")
model = build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=int(sys.argv[1]))
model = model.to(memory_format=torch.channels_last)
mean, std = torch.tensor(0.29), torch.tensor(0.35)
evaluate(model, ds.test_x[:2048], ds.test_y[:2048], 10, mean, std)
start = time.perf_counter()
for _ in range(3):
    evaluate(model, ds.test_x, ds.test_y, 10, mean, std)
print(3 * len(ds.test_y) / (time.perf_counter() - start))
"""


def evaluation_throughput(width: int = 16) -> tuple[float, float]:
    """Test-set images/s of evaluate() (batch 1,024, one thread) with malloc keeping freed memory
    (runtime.keep_freed_memory, what every cell computes with) and with glibc's default, each in
    a fresh process: (kept, default)."""
    import os
    import subprocess
    import sys

    rates = []
    for mode in ("keep", "default"):
        out = subprocess.run([sys.executable, "-c", _EVAL_PROBE, str(width)], capture_output=True, text=True, check=True,
                             env={**os.environ, "AUGWORTH_MALLOC": mode})
        rates.append(float(out.stdout.strip().splitlines()[-1]))
    return rates[0], rates[1]


def main() -> None:
    device = runtime.resolve_device("auto")
    hyp = dict(HYP["cuda" if device.type == "cuda" else "cpu"])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for k, v in hyp.items():
        ap.add_argument(f"--{k.replace('_', '-')}", type=type(v) if not isinstance(v, bool) else
                        (lambda s: s.lower() in ("1", "true", "yes")), default=v)
    ap.add_argument("--sweep-cells", type=int, default=20, help="cells of the GPU-busy sweep (CUDA only)")
    ap.add_argument("--json", help="also write the rows as JSON here")
    args = ap.parse_args()
    hyp.update({k: getattr(args, k) for k in hyp})
    ds = load_dataset("fashion_mnist", device=device)
    print(f"# Training benchmark: Fashion-MNIST, {runtime.device_name(device)}, torch {torch.__version__}, "
          f"commit {runtime.git_commit()[:12]}, {time.strftime('%Y-%m-%d')}")
    print(f"# batch {hyp['batch_size']}, lr {hyp['lr']}, crop(2 px)+flip, compile={hyp['compile']}, "
          f"{platform.python_version()}")
    step_ms = runtime.reference_step_ms()
    print(f"# this CPU's reference step (fast_cnn w8, batch 64, one thread): {step_ms:.1f} ms; "
          f"{runtime.REFERENCE_STEP_MS} ms on the 2-core Zen 3 the targets were set on "
          f"(this machine: {runtime.REFERENCE_STEP_MS / step_ms:.2f}x its speed)", flush=True)
    rows, reached = [], {}
    for spec in hyp["models"].split(","):
        name, width = spec.split(":")
        width = int(width)
        params = count_parameters(build_model(name, in_channels=1, num_classes=10, image_size=28, width=width))
        eng_rate, warm = engine_throughput(name, width, ds, device, hyp)
        naive_rate = naive_throughput(name, width, ds, device, hyp)
        cl_rate, contiguous_rate = layout_throughput(name, width, ds, device, hyp)
        row = {"model": f"{name} w{width}", "params": params, "engine img/s": eng_rate, "naive img/s": naive_rate,
               "speed-up": eng_rate / naive_rate, "channels_last / contiguous": cl_rate / contiguous_rate,
               "warm-up s": warm}
        if name == "fast_cnn":
            longer = {**hyp, "steps": 4 * hyp["steps"]}
            row["engine img/s, fast recipe / today's"] = (engine_throughput(name, width, ds, device, longer, FAST_RECIPE)[0]
                                                          / engine_throughput(name, width, ds, device, longer)[0])
        if name in hyp["target_models"].split(","):
            # today's recipe is lr 0.1 at batch 128 on every device (the recipes' lr is absolute)
            reached[row["model"]] = time_to_target(name, width, ds, device, hyp["target"], 128, 0.1,
                                                   TARGET_RECIPES, seeds=tuple(range(2, 2 + hyp["target_seeds"])),
                                                   compile=hyp["compile"])
        rows.append(row)
        print(f"# done: {row['model']}", flush=True)
    from augworth.gpu import bench_packed

    for r in bench_packed(device, ks=(1, 8, 32, 128) if device.type == "cuda" else (1, 4)):
        rows.append({"model": f"fast_cnn w8, {r['models']}", "engine img/s": r["images/s"],
                     "x one model": r["x one model"]})
    if device.type != "cuda":
        kept, default = evaluation_throughput()
        rows.append({"model": "fast_cnn w16, evaluation (batch 1024)", "malloc kept img/s": kept,
                     "malloc default img/s": default, "kept / default": kept / default})
        rows.append({"model": "quick exchange grid (2 processes)", "cells/min": exchange_cells_per_minute()})
    if device.type == "cuda":
        for workers in (1, 4):
            util, wall = sweep_utilisation(workers, args.sweep_cells)
            rows.append({"model": f"sweep of {args.sweep_cells} fast_cnn w32 (n=4000, 5 ep), {workers} proc",
                         "GPU busy %": util, "wall s": wall})
    keys = list(dict.fromkeys(k for r in rows for k in r))
    def fmt(v) -> str:
        if v is None:
            return "not reached"
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
        return f"{v:,}" if isinstance(v, int) else str(v)

    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(fmt(r.get(k, "")) if k in r else "" for k in keys) + " |")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    if device.type != "cuda":
        from recipe_bench import steps_to_convergence_rows

        print("\n# steps to convergence (test accuracy changes < 0.5 points from S to 2S steps, 3 seeds; "
              "benchmarks/recipe_bench.py, cached)")
        print(steps_to_convergence_rows().to_string(index=False))
    if reached:
        print(f"\n# time to {hyp['target']:.0%} test accuracy, each at its best: the shortest run (its schedule "
              f"decays to 0 at its end) whose final accuracy, mean over seeds 2-{1 + hyp['target_seeds']}, "
              "reaches it; wall time of one run, set-up and final evaluation included; new recipe: "
              + ", ".join(f"{k}={v}" for k, v in NEW_RECIPE.items()) + "; fast recipe: "
              + ", ".join(f"{k}={v}" for k, v in FAST_RECIPE.items()))
        print("| model | contender | run (epochs) | steps | s to target | final acc | runs tried | naive / this |")
        print("|---|---|---|---|---|---|---|---|")
        for model, result in reached.items():
            for r in result:
                ratio = speed_up(result, r.contender)
                print(f"| {model} | {r.contender} | {fmt(r.epochs)} | {fmt(r.steps)} | {fmt(r.seconds)} | "
                      f"{r.accuracy:.4f} | {r.tried} | {fmt(ratio)} |")
    first = next(r for r in rows if "speed-up" in r)
    print(f"engine vs naive: {first['speed-up']:.2f}x")
    result = next(iter(reached.values()), None)
    ratio = speed_up(result, "engine, new recipe") if result else None
    print(f"engine vs naive, time to target: {f'{ratio:.2f}x' if ratio else 'target not reached by both'}")

if __name__ == "__main__":
    main()
