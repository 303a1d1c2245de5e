"""Command line: run any chapter's experiment without Jupyter, fetch data, execute notebooks.

    python -m augworth run data --profile full --set seed=3      # fill the results cache
    python -m augworth run data --profile full --export data/results/full
    python -m augworth data fetch fashion_mnist mnist
    python -m augworth notebooks --profile quick                 # execute chapters for the book
    python -m augworth notebooks data --set n_per_class=4
    python -m augworth replicate --profile quick                 # the chapters on disjoint seeds
    python -m augworth gpu --minutes 8 --out data/results/full   # the prepared run on a GPU machine
    python -m augworth params [data] [--profile smoke]           # parameters and their defaults
    python -m augworth plan --profile full [--tflops 20]         # models, images, FLOPs, minutes
    python -m augworth worth --data my_images/ --augment 'crop(2)+flip' --minutes 4 [--ood]
                                                                 # your augmentation on your data: a report
    python -m augworth sweep --set n_train=[500,2000] --set augment=[none,crop+flip] \
        --set seed=[0,1] --set epochs=5 --executor process --workers 4   # a training grid

Executors for sweeps: inline (default), process (local pool; several models share one GPU),
submitit-local, slurm (AUGWORTH_SLURM='{slurm_partition: gpu, gpus_per_node: 1}').
"""

from __future__ import annotations

import argparse
import signal
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
    from .experiments.training import train_cell

    _executor_env(args)
    values = config.parse_overrides(args.set)
    grid = {k: v for k, v in values.items() if isinstance(v, list) and k not in ("checkpoints", "class_augment")}
    base = {k: v for k, v in values.items() if k not in grid}
    # every cell is validated before the first one trains
    cells = [TrainCell.from_mapping(c) for c in expand_grid(grid or {"seed": [base.pop("seed", 0)]}, base)]
    res = run_sweep(train_cell, cells, name="train_cell")
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
        try:
            print(f"{name}: {fetch(name)}")
        except ValueError as err:  # not a data set that can be fetched
            raise config.ConfigError(str(err)) from None


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


def _cmd_reproduce(args) -> None:
    from . import shipping
    from .experiments import plan

    names = args.names or None
    shipped = shipping.shipped_dir(args.profile) / shipping.RECORDS
    if not shipped.is_dir():
        raise config.ConfigError(f"nothing is shipped for the profile '{args.profile}' ({shipped} does not exist): "
                                 "reproduce compares with shipped results")
    table = plan.profile_table(args.profile, names)
    here = plan.sustained_tflops()
    total, models = float(table["TFLOP"].iloc[-1]), int(table["models"].iloc[-1])
    for _, later in plan.later_tables(args.profile, names):  # computed too: the pages decide their claims with them
        total, models = total + float(later["TFLOP"].iloc[-1]), models + int(later["models"].iloc[-1])
    print(f"[augworth] reproduce {args.profile} ({', '.join(names) if names else 'every chapter'}, with their later "
          f"registrations): "
          f"{models} models, {total:,.1f} TFLOP: about {plan.minutes(total, here * 2):.0f} min "
          f"on this machine's 2 cores (make plan: training and evaluation only); finished cells are kept in "
          f"build/reproduce/{args.profile}, so an interrupted run resumes",
          file=sys.stderr, flush=True)
    from .pipeline import reproduce

    reproduced = reproduce(args.profile, names)
    shipping.print_comparison(shipping.compare(shipped, reproduced, names))


def _cmd_ship(args) -> None:
    from . import paths, shipping

    cache = Path(args.cache or paths.cache_root() / "results")
    records = Path(args.records or paths.CHAPTERS / "_records")
    import json

    notes = json.loads(Path(args.notes).read_text()) if args.notes else None
    prov = shipping.ship(args.profile, cache, records, only_read=args.only_read, notes=notes,
                         spot_since=args.spot_since)
    print(f"shipped {sum(prov['entries'].values())} results and {len(prov['records'])} claim records into "
          f"{shipping.shipped_dir(args.profile).relative_to(paths.ROOT)} ({prov['bytes'] / 1e6:.1f} MB), computed "
          f"{prov['computed']['first']} to {prov['computed']['last']} on {prov['machine']['cpu']} (reference step "
          f"{prov['machine']['reference_step_ms']} ms)")


def _cmd_gpu(args) -> None:
    from . import gpu

    if args.registration is not None:
        # the cells stay in this machine's results cache too (make confirm here reads them); the copy
        # is what travels to the machine that ships them (into its cache's results folder)
        out = args.out if args.out != Path("data/results/full") else Path("build/gpu") / f"registration-{args.registration}"
        gpu.registration(args.registration, args.minutes, out, args.profile if args.profile != "full" else "book",
                         workers=args.workers or 15)
        return
    gpu.run(args.minutes, args.out, args.profile, tuple(args.chapters or gpu.PRIORITY), bench=not args.no_bench,
            smoke_checks=not args.no_smoke, parallel=args.parallel)


def _plan_table(table, workers: int, tflops: float | None = None, here: float | None = None):
    """``table`` (:func:`augworth.experiments.plan.profile_table`) with minutes here (at ``here``
    TFLOP/s; measured when None) and on the reference machine."""
    from . import runtime
    from .experiments import plan

    here = plan.sustained_tflops() * workers if here is None else here
    table["min here"] = [plan.minutes(t, here) for t in table["TFLOP"]]
    reference = plan.sustained_tflops(runtime.REFERENCE_STEP_MS) * workers
    table["min ref"] = [plan.minutes(t, reference) for t in table["TFLOP"]]
    if tflops:
        table[f"min at {tflops:g} TFLOP/s"] = [plan.minutes(t, tflops) for t in table["TFLOP"]]
    return table.to_string(index=False, float_format=lambda v: f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}")


def _cmd_confirm(args) -> None:
    """Compute a later registration's confirmatory results (params/<profile>/registration-<n>.yaml)."""
    from . import prereg
    from .experiments import plan, run
    from .experiments.sweep import parallelism

    _executor_env(args)
    regs = {r.number: r for r in prereg.later(args.profile)}
    if args.registration not in regs:
        raise config.ConfigError(f"--registration {args.registration}: params/{args.profile} has no registration-"
                                 f"{args.registration}.yaml (later registrations there: "
                                 f"{', '.join(map(str, regs)) or 'none'})")
    reg = regs[args.registration]
    _, workers = parallelism()
    print(f"# registration {reg.number} ({reg.file}, registered {reg.registered}): {', '.join(reg.claims)}; "
          f"what it costs first ('min here' at this CPU's rate, {workers} processes):")
    print(_plan_table(plan.profile_table(args.profile, list(reg.chapters), overrides=reg.chapters, gates=reg.gates),
                      workers))
    for chapter, over in reg.chapters.items():
        p = config.load_params(chapter, args.profile, over)
        result = run(chapter, p)
        print(result.provenance())
        from .experiments import b4_longer

        if chapter == "class_level" and b4_longer.gated(reg.gates):
            n = b4_longer.train(p, result.value)  # B4's own gate: its policy at twice the epochs
            print(f"# B4's policy with more epochs: {n} runs (train_cell)")


def _cmd_plan(args) -> None:
    from . import runtime
    from .experiments import plan
    from .experiments.sweep import parallelism

    _, workers = parallelism()
    here = plan.sustained_tflops() * workers
    print(f"# {args.profile} profile: the models each chapter trains, the images they train and are evaluated on, "
          f"and their FLOPs (a training image = 3 forward passes; work besides training and evaluating models is not "
          f"counted: see augworth.experiments.plan)")
    print(f"# 'min here': at this CPU's rate on the reference step ({here * 1e3:.1f} GFLOP/s with {workers} processes, "
          f"the width-8 fast CNN; wider models run more FLOP/s, so for them it is an upper bound); 'min ref': the "
          f"same on the reference machine (reference step {runtime.REFERENCE_STEP_MS} ms), what budgets are set in")
    print(_plan_table(plan.profile_table(args.profile, args.names or None), workers, args.tflops, here))
    for reg, later in plan.later_tables(args.profile, args.names or None):
        print(f"# registration {reg.number} ({reg.file}): {', '.join(reg.claims)} again, computed on its own "
              f"(make confirm REG={reg.number})")
        print(_plan_table(later, workers, args.tflops, here))


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


NAMED_DATA = ("fashion_mnist", "mnist", "cifar10", "cifar100")

#: The make variable that feeds each option (the Makefile hands its variables over as these).
MAKE_VARIABLES = {"--profile": "PROFILE", "--seed-offset": "OFFSET", "--minutes": "MINUTES", "--tflops": "TFLOPS",
                  "--data": "DATA", "--augment": "AUG", "--baseline": "BASELINE"}


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error said in one line; under make (``AUGWORTH_FROM_MAKE``) the
    option is named by the make variable the user set (``OFFSET='x'``, not ``--seed-offset``)."""

    def error(self, message: str):  # type: ignore[override]
        import os
        import re

        if os.environ.get("AUGWORTH_FROM_MAKE"):
            def to_make(m):
                var = MAKE_VARIABLES.get(m.group(1))
                return f"make variable {var} (passed as {m.group(1)})" if var else m.group(0)

            message = re.sub(r"argument (--[a-z-]+)(?:/-\w)?", to_make, message)
        print(f"error: {message} (usage: {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _worth_request(args) -> "config.WorthParams":
    """The user's WorthParams from the command line (design fields left unset are chosen later)."""
    values = config.parse_overrides(args.set + _env_overrides(args.set_from_env))
    data, augment = args.data, args.augment
    if not data:
        raise config.ConfigError("worth needs --data: a folder of images (<path>/<class>/<image>, or train/ and val/ "
                                 "holding class folders) or a data set name (" + ", ".join(NAMED_DATA) + ")")
    if not augment:
        raise config.ConfigError("worth needs --augment: the augmentation to measure, e.g. --augment 'crop(2)+flip'")
    given = {"dataset", "data_path", "augment"}
    if data in NAMED_DATA:
        values.update(dataset=data, data_path=None)
    else:
        values.update(dataset="imagefolder", data_path=str(Path(data).expanduser().resolve()))
    values["augment"] = augment
    for key in ("baseline", "minutes", "steps", "model", "width"):
        if getattr(args, key) not in (None, ""):
            values[key] = getattr(args, key)
            given.add(key)
    for key in ("sizes", "seeds"):
        raw = getattr(args, key)
        if raw:
            try:
                values[key] = [int(v) for v in raw.replace(" ", "").split(",") if v]
            except ValueError:
                raise config.ConfigError(f"--{key} = {raw!r} is not a comma-separated list of integers, "
                                         "e.g. 40,80,160,320") from None
            given.add(key)
    if args.resize is not None:
        values["image_size"] = args.resize
        given.add("image_size")
    if args.ood:
        values["ood"] = True
    config.WorthParams.check_names(values, "the command line")
    try:
        return config.WorthParams.from_mapping(values, source="the command line")
    except config.ConfigError as err:
        raise config.as_given(err, given) from None


def report_folder(name: str, request: "config.WorthParams") -> str:
    """The report's folder name: readable (data, augmentation, baseline, cut to 48 characters)
    and unique (a hash of every input of the request: two requests never share a folder)."""
    import hashlib
    import json
    import re

    readable = re.sub(r"[^A-Za-z0-9.=-]+", "_", f"{name}-{request.augment}-vs-{request.baseline}").strip("_")[:48]
    digest = hashlib.sha256(json.dumps(request.to_dict(), sort_keys=True).encode()).hexdigest()[:8]
    return f"{readable}-{digest}"


def _with_progress_lines(compute):
    """``compute()``, its sweeps' progress (cells done, ETA) printed as lines on stderr when
    stderr is not a terminal (a file, a CI log: no bar is drawn there)."""
    import os

    if sys.stderr.isatty() or os.environ.get("AUGWORTH_PROGRESS_FILE"):
        return compute()
    from .pipeline import progress_lines

    with progress_lines("worth"):
        return compute()


def _cmd_worth(args) -> None:
    import json
    import os
    import time

    from . import paths
    from .experiments import run
    from .experiments import worth_design as W
    from .io import atomic_write_text

    if "AUGWORTH_EXECUTOR" not in os.environ:  # one single-threaded process per core (cells train on one thread)
        os.environ["AUGWORTH_EXECUTOR"] = "process"
        os.environ.setdefault("AUGWORTH_WORKERS", str(min(8, os.cpu_count() or 1)))
    _executor_env(args)
    request = _worth_request(args)
    name = request.data_path and Path(request.data_path).name or request.dataset
    out = Path(args.out or paths.ROOT / "build" / "worth" / report_folder(name, request))
    saved = out / "design.json"
    start = time.perf_counter()
    previous, p = None, None
    if saved.is_file() and not args.redesign:
        try:
            previous = json.loads(saved.read_text())
            p, _ = config.WorthParams.from_mapping(previous["resolved"]), previous["line"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as err:
            print(f"[augworth] worth: {saved} is damaged ({type(err).__name__}); choosing the design again",
                  file=sys.stderr)
            previous = None
    if previous is not None and previous.get("request") == request.to_dict():
        print(f"[augworth] worth: the design of the earlier run in {out} (to choose again: --redesign)\n"
              f"[augworth]   {previous['line']}", file=sys.stderr)
    else:
        print(f"[augworth] worth: reading {request.data_path or request.dataset} and timing a few steps; then, unless "
              "--steps is given, a convergence pilot on the largest size chooses the steps ...",
              file=sys.stderr, flush=True)
        p, design, facts = _with_progress_lines(lambda: W.resolve(request))
        print(f"[augworth]   {facts.name}: {len(facts.classes)} classes, {sum(facts.per_class):,} training and "
              f"{facts.n_test:,} test images of {'x'.join(map(str, facts.image_shape))}\n[augworth]   {design.line()}",
              file=sys.stderr, flush=True)
        atomic_write_text(saved, json.dumps({"request": request.to_dict(), "resolved": p.to_dict(),
                                             "line": design.line(), "predicted_s": design.predicted_s}, indent=1))
    result = _with_progress_lines(lambda: run("worth", p))
    if args.no_report:
        print(f"[augworth] worth: computed in {time.perf_counter() - start:.0f} s (no report: --no-report)",
              file=sys.stderr)
        return
    from . import report

    page, seconds = report.make("worth", p.to_dict(), out, f"{p.augment} on {name}")
    total = time.perf_counter() - start
    print(f"[augworth] worth: {total:.0f} s in all (training {result.meta.get('wall_s', 0):.0f} s, report {seconds:.0f} s)"
          f"\nThe report: {page}", file=sys.stderr)


def _stored_since(start: float) -> int:
    """Results-cache entries written since ``start`` (what an interrupted run kept)."""
    from . import paths

    try:
        root = paths.cache_root() / "results"
        return sum(1 for f in root.rglob("*.json") if f.stat().st_mtime >= start) if root.is_dir() else 0
    except OSError:
        return 0


def _stopped_line(signum: int, started: float) -> str:
    """The one line a stopped run prints: what it kept and how to resume."""
    how = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    return (f"{how}: {_stored_since(started)} results stored in the results cache by this run (every finished cell); "
            "run the same command again to resume")


def main(argv: list[str] | None = None) -> int:
    from .experiments.sweep import EXECUTORS

    parser = _Parser(prog="python -m augworth", description=__doc__,
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
    p.add_argument("--seed-offset", type=int, help="added to every seed (default: one more than the largest seed in "
                                                   "use, so every seed set is disjoint: 5 for seeds 0-4)")
    p.set_defaults(fn=_cmd_replicate)

    p = sub.add_parser("reproduce", help="recompute the shipped results here (a cache of its own), then compare "
                                         "the verdicts claim by claim")
    p.add_argument("names", nargs="*", help="chapters (default: all)")
    p.add_argument("--profile", default=config.DEFAULT_PROFILE, choices=list(config.PROFILES))
    p.set_defaults(fn=_cmd_reproduce)

    p = sub.add_parser("ship", help="copy a finished run's results and claim records into data/results/<profile> "
                                    "with their provenance (the results the book is built from)")
    p.add_argument("--profile", default=config.DEFAULT_PROFILE, choices=list(config.PROFILES))
    p.add_argument("--cache", type=Path, help="the results cache the run filled (default: AUGWORTH_CACHE's results)")
    p.add_argument("--records", type=Path, help="its claim records (default: book/chapters/_records)")
    p.add_argument("--only-read", action="store_true",
                   help="ship only what the notebooks read (each chapter's result) and the spot check's cells")
    p.add_argument("--notes", type=Path, help="a JSON object of more provenance, kept in PROVENANCE.json")
    p.add_argument("--spot-since", help="with --only-read: the spot check's cells among those created at or after "
                                        "this time ('YYYY-MM-DD HH:MM UTC'), e.g. those computed on CPUs")
    p.set_defaults(fn=_cmd_ship)

    p = sub.add_parser("gpu", help="the prepared GPU run: CUDA smoke checks, packed benchmark, full-profile cells "
                                   "in priority order until the minutes are spent")
    p.add_argument("--minutes", type=float, default=8.0, help="time budget for everything (default 8)")
    p.add_argument("--out", type=Path, default=Path("data/results/full"), help="where finished results go")
    p.add_argument("--profile", default="full", choices=list(config.PROFILES))
    p.add_argument("--chapters", nargs="*", help="chapters in priority order (default: gpu.PRIORITY)")
    p.add_argument("--no-bench", action="store_true", help="skip the packed benchmark")
    p.add_argument("--no-smoke", action="store_true", help="skip the CUDA smoke checks")
    p.add_argument("--parallel", action="store_true", help="every chapter in a process of its own, on the same GPU")
    p.add_argument("--registration", type=int, metavar="N",
                   help="instead: train registration N's cells (params/<profile>/registration-N.yaml; profile book "
                        "unless named) seed by seed until the minutes pass; make confirm REG=N trains what is left")
    p.add_argument("--workers", type=int, help="with --registration: processes sharing the GPU (default 15)")
    p.set_defaults(fn=_cmd_gpu)

    p = sub.add_parser("worth", help="what YOUR augmentation is worth on YOUR data: trains, measures, writes a report",
                       description="Measure an augmentation against a baseline on your data: worth in samples, "
                                   "per-class effects, closed-form moments, optionally out of distribution; writes "
                                   "report.html (self-contained) and report.ipynb. Sizes, steps and seeds not given "
                                   "are chosen from the data and --minutes. Every trained model is cached: rerun the "
                                   "same command to resume after Ctrl-C.")
    p.add_argument("--data", help="an image folder (<path>/<class>/<image>, or train/ and val/ or test/ holding class "
                                  "folders) or a data set name: " + ", ".join(NAMED_DATA) + " (make: DATA=)")
    p.add_argument("--augment", help="the augmentation, e.g. 'crop(2)+flip', 'rrc(0.5)', trivialaugment, or several "
                                    "separated by commas, ranked in one report (make: AUG=)")
    p.add_argument("--baseline", help="the policy to measure it against (default none; make: BASELINE=)")
    p.add_argument("--minutes", type=float, help="time budget for the training (default 4)")
    p.add_argument("--sizes", help="training-set sizes, e.g. 40,80,160,320 (default: chosen)")
    p.add_argument("--steps", type=int, help="optimiser steps per model (default: chosen)")
    p.add_argument("--seeds", help="seeds, e.g. 0,1,2,3,4 (default: chosen, 3 to 8)")
    p.add_argument("--resize", type=int, help="resize every image (shorter side, then a centre crop) to this size; "
                                              "needed when the images differ in size")
    p.add_argument("--model", help="architecture (default fast_cnn)")
    p.add_argument("--width", type=int, help="base width of the model (default 16)")
    p.add_argument("--ood", action="store_true", help="also measure worth on the corruption suite")
    p.add_argument("--out", type=Path, help="folder of the report (default build/worth/<data>-<augment>-vs-<baseline>-<hash of "
                                              "the inputs>)")
    p.add_argument("--redesign", action="store_true", help="choose the design again (default: reuse the folder's)")
    p.add_argument("--no-report", action="store_true", help="train and cache only")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any other parameter (repeatable)")
    p.add_argument("--set-from-env", metavar="VAR", help="also read KEY=VALUE pairs from this environment variable")
    p.add_argument("--executor", choices=list(EXECUTORS))
    p.add_argument("--workers", type=int, help="processes for the process executor (default: one per core, <= 8)")
    p.set_defaults(fn=_cmd_worth)

    p = sub.add_parser("confirm", help="compute a later registration's confirmatory results "
                       "(params/<profile>/registration-<n>.yaml): prints its cost, then runs (cached, resumable)")
    p.add_argument("--profile", default="book", choices=list(config.PROFILES))
    p.add_argument("--registration", type=int, required=True, help="its number (registration-<n>.yaml)")
    p.add_argument("--executor", choices=list(EXECUTORS), help="how sweeps inside the runner compute their cells")
    p.add_argument("--workers", type=int, help="processes for the process executor")
    p.set_defaults(fn=_cmd_confirm)

    p = sub.add_parser("plan", help="what a profile costs before it runs: models, images and FLOPs per chapter")
    p.add_argument("names", nargs="*")
    p.add_argument("--profile", default=config.DEFAULT_PROFILE, choices=list(config.PROFILES))
    p.add_argument("--tflops", type=float, help="also give minutes at this sustained rate (TFLOP/s), e.g. a GPU's "
                                                "measured packed-training rate")
    p.set_defaults(fn=_cmd_plan)

    p = sub.add_parser("params", help="list notebooks' parameters with each profile's values")
    p.add_argument("names", nargs="*")
    p.set_defaults(fn=_cmd_params)

    import time

    started = time.time()
    if argv is None:  # the command itself (not a call from Python): Ctrl-C, SIGTERM, SIGHUP stop the whole run
        from . import lifecycle

        lifecycle.handle_signals(lambda signum: _stopped_line(signum, started))
    args = parser.parse_args(argv)

    from .io import BrokenFileError, WriteError
    from .paths import FolderError
    from .pipeline import NotebookFailed

    try:
        args.fn(args)
    except config.ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except NotebookFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_stopped_line(signal.SIGINT, started), file=sys.stderr)
        return 130
    except (FileNotFoundError, FolderError, WriteError, BrokenFileError) as err:  # DataNotFoundError and FolderError say what to do
        print(f"error: {err}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
