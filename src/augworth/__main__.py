"""Command line: run any chapter's experiment without Jupyter, fetch data, execute notebooks.

    python -m augworth run data --profile full --set seed=3      # fill the results cache
    python -m augworth run data --profile full --export data/results/full
    python -m augworth data fetch fashion_mnist mnist
    python -m augworth notebooks --profile quick                 # execute chapters for the book
    python -m augworth notebooks data --set n_per_class=4
    python -m augworth replicate --profile quick --seed-offset 5   # the chapters on disjoint seeds
    python -m augworth gpu --minutes 8 --out data/results/full   # the prepared run on a GPU machine
    python -m augworth params [data] [--profile smoke]           # parameters and their defaults
    python -m augworth sweep --set n_train=[500,2000] --set augment=[none,crop+flip] \
        --set seed=[0,1] --set epochs=5 --executor process --workers 4   # a training grid

Executors for sweeps: inline (default), process (local pool; several models share one GPU),
submitit-local, slurm (AUGWORTH_SLURM='{slurm_partition: gpu, gpus_per_node: 1}').
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import config


def _cmd_run(args) -> None:
    from .experiments import run

    _executor_env(args)
    params = config.load_params(args.name, args.profile, config.parse_overrides(args.set))
    result = run(args.name, params, force=args.force, export_dir=args.export)
    print(result.provenance())
    for key, value in result.value.items():
        shape = getattr(value, "shape", None)
        print(f"  {key}: {'array ' + str(tuple(shape)) if shape is not None else repr(value)[:100]}")


def _executor_env(args) -> None:
    """Executor choices travel by environment so they never enter a result's cache key."""
    import os

    if getattr(args, "executor", None):
        os.environ["AUGWORTH_EXECUTOR"] = args.executor
    if getattr(args, "workers", None):
        os.environ["AUGWORTH_WORKERS"] = str(args.workers)


def _cmd_sweep(args) -> None:
    import pandas as pd

    from .config import TrainCell
    from .experiments.sweep import expand_grid, print_summary, run_sweep
    from .experiments.training import TRAIN_CELL_VERSION, train_cell

    _executor_env(args)
    values = config.parse_overrides(args.set)
    grid = {k: v for k, v in values.items() if isinstance(v, list) and k != "checkpoints"}
    base = {k: v for k, v in values.items() if k not in grid}
    cells = expand_grid(grid or {"seed": [base.pop("seed", 0)]}, base)
    for cell in cells:  # every cell is validated before the first one trains
        TrainCell.from_mapping(cell)
    res = run_sweep(train_cell, cells, name="train_cell", version=TRAIN_CELL_VERSION)
    print_summary(res)
    table = pd.DataFrame(res.rows())
    shown = [c for c in table.columns if c in grid] + ["val_acc", "test_acc", "train_seconds", "images_per_s"]
    print(table[shown].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


def _cmd_data(args) -> None:
    from .data import fetch

    for name in args.names:
        print(f"{name}: {fetch(name)}")


def _env_overrides(var: str | None) -> list[str]:
    """key=value pairs from an environment variable (make's P=), split like a shell would split
    them but never run by one."""
    import os
    import shlex

    if not var:
        return []
    try:
        return shlex.split(os.environ.get(var, ""))
    except ValueError as err:
        raise config.ConfigError(f"{var}={os.environ.get(var)!r} cannot be split into key=value pairs: {err}") from None


def _cmd_notebooks(args) -> None:
    from .pipeline import execute_all, notebook_names

    overrides = config.parse_overrides(args.set + _env_overrides(args.set_from_env))
    if overrides and len(args.names) != 1:
        raise config.ConfigError("--set overrides apply to one notebook: name exactly one "
                                 "(e.g. make nb NAME=data P=\"seed=1\")")
    names = [n for n in (args.names or None) or notebook_names() if n not in args.skip]
    execute_all(names, args.profile, overrides, args.out, args.force)


def _cmd_replicate(args) -> None:
    from .pipeline import replicate

    replicate(args.profile, args.seed_offset, args.names or None)


def _cmd_gpu(args) -> None:
    from . import gpu

    gpu.run(args.minutes, args.out, args.profile, tuple(args.chapters or gpu.PRIORITY), bench=not args.no_bench)


def _cmd_params(args) -> None:
    names = args.names or sorted(config.NOTEBOOK_PARAMS)
    for name in names:
        cls = config.params_class(name)
        print(f"\n{name}: {(cls.__doc__ or '').strip().splitlines()[0]}")
        profiles = {p: config.profile_values(name, p) for p in config.PROFILES
                    if (config.paths.PARAMS / p / f"{name}.yaml").is_file()}
        for row in cls.describe():
            unit = f" [{row['unit']}]" if row["unit"] else ""
            values = "  ".join(f"{p}={profiles[p].get(row['name'], row['default'])}" for p in profiles)
            print(f"  {row['name']:<14} {values}")
            print(f"  {'':<14} {row['help']}{unit}; {row['allowed']}")


def _stored_since(start: float) -> int:
    """Results-cache entries written since ``start`` (what an interrupted run kept)."""
    from . import paths

    try:
        root = paths.cache_root() / "results"
        return sum(1 for f in root.rglob("*.json") if f.stat().st_mtime >= start) if root.is_dir() else 0
    except OSError:
        return 0


def main(argv: list[str] | None = None) -> int:
    from .experiments.sweep import EXECUTORS

    parser = argparse.ArgumentParser(prog="python -m augworth", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--profile", default=config.DEFAULT_PROFILE, choices=list(config.PROFILES))
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a parameter (repeatable); VALUE is YAML: 3, 0.5, true, [1,2]")

    p = sub.add_parser("run", help="run a chapter's experiment (results are cached)")
    p.add_argument("name")
    common(p)
    p.add_argument("--force", action="store_true", help="recompute even if a result is stored")
    p.add_argument("--export", type=Path, help="also write the result here (e.g. data/results/full)")
    p.add_argument("--executor", choices=list(EXECUTORS), help="how sweeps inside the runner compute their cells")
    p.add_argument("--workers", type=int, help="processes for the process executor")
    p.set_defaults(fn=_cmd_run)

    p = sub.add_parser("sweep", help="train a grid of models (list values are grid axes); cached, resumable")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a training-cell parameter; a list value ([a,b]) makes it a grid axis")
    p.add_argument("--executor", choices=list(EXECUTORS))
    p.add_argument("--workers", type=int, help="processes for the process executor")
    p.add_argument("--csv", type=Path, help="also write the table here")
    p.set_defaults(fn=_cmd_sweep)

    p = sub.add_parser("data", help="data sets")
    dsub = p.add_subparsers(dest="action", required=True)
    f = dsub.add_parser("fetch", help="make sure data sets are on disk")
    f.add_argument("names", nargs="*", default=["fashion_mnist"])
    f.set_defaults(fn=_cmd_data)

    p = sub.add_parser("notebooks", help="execute chapters with papermill for the book")
    p.add_argument("names", nargs="*")
    common(p)
    p.add_argument("--force", action="store_true", help="re-execute even if up to date")
    p.add_argument("--out", type=Path, help="folder for executed notebooks (default book/chapters)")
    p.add_argument("--skip", action="append", default=[], metavar="NAME", help="leave this notebook out")
    p.add_argument("--set-from-env", metavar="VAR", help="also read KEY=VALUE overrides from this environment "
                   "variable (split with shell rules, never run by a shell): make nb passes P this way")
    p.set_defaults(fn=_cmd_notebooks)

    p = sub.add_parser("replicate", help="re-execute the chapters on a disjoint seed set (the scorecard shows both)")
    p.add_argument("names", nargs="*")
    p.add_argument("--profile", default=config.DEFAULT_PROFILE, choices=list(config.PROFILES))
    p.add_argument("--seed-offset", type=int, default=5, help="added to every seed (default 5: seeds 5-9 for 0-4)")
    p.set_defaults(fn=_cmd_replicate)

    p = sub.add_parser("gpu", help="the prepared GPU run: CUDA smoke checks, packed benchmark, full-profile cells "
                                   "in priority order until the minutes are spent")
    p.add_argument("--minutes", type=float, default=8.0, help="time budget for everything (default 8)")
    p.add_argument("--out", type=Path, default=Path("data/results/full"), help="where finished results go")
    p.add_argument("--profile", default="full", choices=list(config.PROFILES))
    p.add_argument("--chapters", nargs="*", help="chapters in priority order (default: gpu.PRIORITY)")
    p.add_argument("--no-bench", action="store_true", help="skip the packed benchmark")
    p.set_defaults(fn=_cmd_gpu)

    p = sub.add_parser("params", help="list notebooks' parameters with each profile's values")
    p.add_argument("names", nargs="*")
    p.set_defaults(fn=_cmd_params)

    args = parser.parse_args(argv)
    import time

    from .paths import FolderError
    from .pipeline import NotebookFailed

    started = time.time()

    try:
        args.fn(args)
    except config.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except NotebookFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted: {_stored_since(started)} results stored in the results cache by this run (every finished "
              "cell); run the same command again to resume", file=sys.stderr)
        return 130
    except (FileNotFoundError, FolderError) as err:  # DataNotFoundError and FolderError say what to do
        print(f"error: {err}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
