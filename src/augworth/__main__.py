"""Command line: run any chapter's experiment without Jupyter, fetch data, execute notebooks.

    python -m augworth run data --profile full --set seed=3      # fill the results cache
    python -m augworth run data --profile full --export data/results/full
    python -m augworth data fetch fashion_mnist mnist
    python -m augworth notebooks --profile quick                 # execute chapters for the book
    python -m augworth notebooks data --set n_per_class=4
    python -m augworth params [data] [--profile smoke]           # parameters and their defaults
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import config


def _cmd_run(args) -> None:
    from .experiments import run

    params = config.load_params(args.name, args.profile, config.parse_overrides(args.set))
    result = run(args.name, params, force=args.force, export_dir=args.export)
    print(result.provenance())
    for key, value in result.value.items():
        shape = getattr(value, "shape", None)
        print(f"  {key}: {'array ' + str(tuple(shape)) if shape is not None else repr(value)[:100]}")


def _cmd_data(args) -> None:
    from .data import fetch

    for name in args.names:
        print(f"{name}: {fetch(name)}")


def _cmd_notebooks(args) -> None:
    from .pipeline import execute_all, notebook_names

    overrides = config.parse_overrides(args.set)
    if overrides and len(args.names) != 1:
        raise config.ConfigError("--set overrides apply to one notebook: name exactly one "
                                 "(e.g. make nb NAME=data P=\"seed=1\")")
    names = [n for n in (args.names or None) or notebook_names() if n not in args.skip]
    execute_all(names, args.profile, overrides, args.out, args.force)


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


def main(argv: list[str] | None = None) -> int:
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
    p.set_defaults(fn=_cmd_run)

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
    p.set_defaults(fn=_cmd_notebooks)

    p = sub.add_parser("params", help="list notebooks' parameters with each profile's values")
    p.add_argument("names", nargs="*")
    p.set_defaults(fn=_cmd_params)

    args = parser.parse_args(argv)
    try:
        args.fn(args)
    except config.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:  # includes DataNotFoundError, whose message says what to do
        print(f"error: {err}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
