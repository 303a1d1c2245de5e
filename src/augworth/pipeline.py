"""Executing the chapters for the book: jupytext source -> papermill -> executed notebook.

Each notebook is re-executed only when its *inputs* changed: the key of an executed notebook
hashes its source, its resolved parameters (profile file + overrides) and the source of the whole
``augworth`` package, so a change in imported code re-executes it even though no cell changed.
(Runners have their own results cache, so re-executing after an unrelated change is cheap.)

Parameters are validated before any notebook starts; an executed notebook that holds an error
output fails the run (papermill raises on the failing cell already; this is a second guard).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import paths
from .config import ConfigError, load_params
from .io import atomic_write_text

KERNEL = "python3"  # pinned: kernel-name drift breaks papermill
SUMMARY, notebook_names = paths.SUMMARY, paths.notebook_names  # summaries: executed last, keyed on the records too


def records_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def committed_full(name: str) -> bool:
    """True when data/results/full holds this notebook's runner result for the full profile's
    parameters (made on a GPU): the book then shows it instead of computing a smaller profile."""
    from .experiments.cache import cache_key
    from .experiments.registry import RUNNERS

    if name not in RUNNERS or not (paths.PARAMS / "full" / f"{name}.yaml").is_file():
        return False
    params = load_params(name, "full").to_dict()
    key = cache_key(name, RUNNERS[name].version, params)
    return (paths.COMMITTED_RESULTS / "full" / name / f"{key}.json").is_file()


def package_hash() -> str:
    h = hashlib.sha256()
    pkg = Path(__file__).resolve().parent
    for f in sorted(pkg.rglob("*.py")):
        h.update(str(f.relative_to(pkg)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def notebook_key(name: str, profile: str, params: dict[str, Any], records: Path | None = None) -> str:
    h = hashlib.sha256()
    h.update((paths.NOTEBOOKS / f"{name}.py").read_bytes())
    h.update(json.dumps({"profile": profile, "params": params}, sort_keys=True).encode())
    h.update(package_hash().encode())
    shipped = paths.COMMITTED_RESULTS / profile / "PROVENANCE.json"  # results shipped again: the pages read them
    if shipped.is_file():
        h.update(shipped.read_bytes())
    if name in SUMMARY and records is not None:
        h.update(records_hash(records).encode())
        h.update(records_hash(paths.replication_dir(profile) / "_records").encode())
    return h.hexdigest()[:24]


SEED_FIELDS = ("seed", "seeds", "verdict_seeds", "invariance_seeds")  # every parameter that names training seeds


def shifted_seeds(name: str, profile: str, offset: int) -> dict[str, Any]:
    """Overrides that move every seed parameter of a chapter by ``offset`` (a disjoint seed set
    when the offset exceeds the largest seed in use)."""
    values = load_params(name, profile).to_dict()
    out: dict[str, Any] = {}
    for k in SEED_FIELDS:
        if k in values:
            v = values[k]
            out[k] = [s + offset for s in v] if isinstance(v, list) else v + offset
    return out


def disjoint_offset(profile: str, names: list[str] | None = None) -> int:
    """The smallest seed offset that makes every chapter's seeds disjoint from the ones it uses
    now: one more than the largest seed any chapter of ``profile`` names."""
    largest = -1
    for name in [n for n in (names or notebook_names()) if n not in SUMMARY]:
        values = load_params(name, profile).to_dict()
        for k in SEED_FIELDS:
            v = values.get(k)
            seeds = v if isinstance(v, list) else [] if v is None else [v]
            largest = max([largest, *seeds])
    return largest + 1


def replicate(profile: str, offset: int | None = None, names: list[str] | None = None) -> list[Outcome]:
    """Execute the chapters again with every seed moved by ``offset`` (default: the smallest
    offset that makes every seed set disjoint, :func:`disjoint_offset`) into
    :func:`paths.replication_dir`; the scorecard then shows both verdicts side by side."""
    names = [n for n in (names or notebook_names()) if n not in SUMMARY]
    offset = disjoint_offset(profile) if offset is None else offset  # over ALL chapters: a partial rerun matches
    out_dir = paths.replication_dir(profile)
    outcomes, speed = [], _Speed(profile)
    for name in names:
        overrides = shifted_seeds(name, profile, offset)
        print(f"[augworth] replication of {name} ({profile}, seeds moved by {offset}) ...", file=sys.stderr, flush=True)
        outcome = execute(name, profile, overrides, out_dir)
        print(f"[augworth] replication of {name}: {outcome.status} ({outcome.seconds:.1f} s)", file=sys.stderr,
              flush=True)
        outcomes.append(speed.after(outcome))
    speed.summary(outcomes)
    return outcomes


class _Tail:
    """Prints the lines a notebook's kernel appends to a progress file (the sweeps' cells done
    and ETA) to this process's stderr while the notebook executes."""

    def __init__(self, name: str):
        import threading

        fd, path = tempfile.mkstemp(prefix=f"augworth-{name}-", suffix=".progress")
        os.close(fd)
        self.path, self.name = Path(path), name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with open(self.path) as fh:
            while True:
                line = fh.readline()
                if line:
                    print(f"[augworth]   {self.name}: {line.rstrip()}", file=sys.stderr, flush=True)
                elif self._stop.is_set():
                    return
                else:
                    time.sleep(0.5)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)


@contextmanager
def environment(values: dict[str, str]):
    """The body runs with these environment variables set (for this process and what it
    starts); what was there before is restored afterwards."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def progress_lines(name: str):
    """The progress lines (:func:`augworth.runtime.report`: cells done, ETA) written in the body
    -- by this process or a kernel it starts -- printed on this process's stderr."""
    tail = _Tail(name)
    try:
        with environment({"AUGWORTH_PROGRESS_FILE": str(tail.path)}):
            yield
    finally:
        tail.stop()


class NotebookFailed(RuntimeError):
    """A chapter's cell raised: the message names the notebook, the exception and the saved log."""


@dataclass
class Outcome:
    name: str
    status: str  # "executed" or "up to date"
    seconds: float
    path: Path
    results: str = ""  # its runner's stored result: "current", "stale", "missing" (computed), "" (no runner)


def _errors(nb) -> list[str]:
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append(f"{out.get('ename')}: {out.get('evalue')}")
    return found


def run_notebook(source: Path, parameters: dict[str, Any], records: Path | None = None):
    """Execute a jupytext notebook with papermill (``parameters`` injected) and return the
    executed notebook. The kernel's progress lines stream to this terminal; verdict records go
    to ``records``; a failing cell raises :class:`NotebookFailed` naming it, with the executed
    notebook saved under build/failed/."""
    import jupytext
    import nbformat
    import papermill

    name = source.stem
    nb = jupytext.read(source)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    settings = {"AUGWORTH_PROGRESS": "0",  # bars in executed notebooks would be noise in the book
                "AUGWORTH_PARENT_PID": str(os.getpid())}  # the kernel stops when this process does (lifecycle)
    if records is not None:
        settings["AUGWORTH_RECORDS"] = str(records.resolve())  # verdict records, read by the scorecard
    with progress_lines(name), environment(settings), tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"{name}.ipynb"
        nbformat.write(nb, src)
        try:
            return papermill.execute_notebook(
                str(src), str(Path(tmp) / "out.ipynb"), parameters=parameters,
                kernel_name=KERNEL, cwd=str(paths.ROOT), progress_bar=sys.stderr.isatty(),
                execution_timeout=None, report_mode=False,
            )
        except papermill.PapermillExecutionError as err:
            log = paths.ROOT / "build" / "failed" / f"{name}.ipynb"
            log.parent.mkdir(parents=True, exist_ok=True)
            if (Path(tmp) / "out.ipynb").is_file():
                log.write_bytes((Path(tmp) / "out.ipynb").read_bytes())
            where = log.relative_to(paths.ROOT) if log.is_file() else "(no log)"
            raise NotebookFailed(f"notebook '{name}' failed in cell {err.exec_count}: {err.ename}: {err.evalue} "
                                 f"(the executed notebook with the full traceback: {where})") from None


def execute(name: str, profile: str, overrides: dict[str, Any] | None = None,
            out_dir: Path | None = None, force: bool = False) -> Outcome:
    """Execute one chapter unless an up-to-date executed copy exists in ``out_dir``."""
    import nbformat

    from . import experiments  # noqa: F401  (registers the runners, for committed_full)

    if name not in notebook_names():
        raise ConfigError(f"unknown notebook '{name}': notebooks are {', '.join(notebook_names())}")
    if profile != "full" and not overrides and committed_full(name):
        print(f"[augworth] {name}: committed full-profile results exist (data/results/full): "
              f"using them instead of the {profile} profile", file=sys.stderr)
        profile = "full"
    params = load_params(name, profile, overrides).to_dict()
    out_dir = Path(out_dir or paths.CHAPTERS)
    records = out_dir / "_records"
    target = out_dir / f"{name}.ipynb"
    key = notebook_key(name, profile, params, records)
    from .shipping import status

    results = status(name, profile, overrides)
    if target.is_file() and not force:
        try:
            old = nbformat.read(target, as_version=4).metadata.get("augworth", {})
        except Exception as err:  # noqa: BLE001 -- any damage (JSON, schema): execute it again
            print(f"[augworth] {target} is damaged ({type(err).__name__}): executing {name} again", file=sys.stderr)
            old = {}
        if old.get("key") == key:
            return Outcome(name, "up to date", 0.0, target, results)

    if results == "missing":
        print(f"[augworth] {name}: no stored result for these parameters: computing it here (what it costs: "
              f"python -m augworth plan {name} --profile {profile})", file=sys.stderr,
              flush=True)
    start = time.perf_counter()
    executed = run_notebook(paths.NOTEBOOKS / f"{name}.py", {"profile": profile, "params": params}, records)
    seconds = time.perf_counter() - start
    errors = _errors(executed)
    if errors:
        raise RuntimeError(f"notebook '{name}' produced error output: {errors}")
    for cell in executed.cells:  # the book shows results, not papermill's plumbing
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags:
            tags.append("remove-cell")
        elif "parameters" in tags:
            tags.append("hide-input")
    executed.metadata["augworth"] = {"key": key, "profile": profile, "params": params,
                                     "seconds": round(seconds, 1)}
    atomic_write_text(target, nbformat.writes(executed))
    return Outcome(name, "executed", seconds, target, results)


def _title(name: str) -> str:
    for line in (paths.NOTEBOOKS / f"{name}.py").read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return name


def write_stubs(out_dir: Path | None = None) -> list[str]:
    """A short page for every chapter not executed yet (so the book builds with whatever ran,
    and says how to run the rest); a chapter's stub goes when the chapter is executed."""
    out_dir = Path(out_dir or paths.CHAPTERS)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in notebook_names():
        stub = out_dir / f"{name}.md"
        if (out_dir / f"{name}.ipynb").is_file():
            stub.unlink(missing_ok=True)
            continue
        atomic_write_text(stub, f"# {_title(name)}\n\nThis chapter has not been executed in this copy of the "
                                f"book. Run it (and the scorecard) with\n\n```bash\nmake nb NAME={name}\n```\n\n"
                                f"or every chapter with `make book`.\n")
        written.append(name)
    return written


def execute_all(names: list[str] | None, profile: str, overrides: dict[str, Any] | None = None,
                out_dir: Path | None = None, force: bool = False) -> list[Outcome]:
    names = names or notebook_names()
    # Validate every notebook's parameters before running any of them.
    for name in names:
        if name not in notebook_names():
            raise ConfigError(f"unknown notebook '{name}': notebooks are {', '.join(notebook_names())}")
        load_params(name, profile, overrides)
    outcomes, speed = [], _Speed(profile)
    for name in names:
        print(f"[augworth] {name} ({profile}) ...", file=sys.stderr, flush=True)
        outcome = execute(name, profile, overrides, out_dir, force)
        print(f"[augworth] {name}: {outcome.status} ({outcome.seconds:.1f} s)", file=sys.stderr, flush=True)
        outcomes.append(speed.after(outcome))
    write_stubs(out_dir)
    speed.summary(outcomes)
    stale = [o.name for o in outcomes if o.results == "stale"]
    if stale:
        print(f"[augworth] stale: {', '.join(stale)}: the code that computed their stored results has changed since "
              f"(each page says so). To refresh: make reproduce NAME=<chapter> PROFILE={profile} recomputes one here "
              f"and compares it with what is shipped; python -m augworth ship --profile {profile} ships a run",
              file=sys.stderr, flush=True)
    return outcomes


class _Speed:
    """The machine's reference step (:func:`augworth.runtime.reference_step_ms`), probed after
    every executed notebook (a shared machine's speed drifts), so that the run's time can be
    told as it would be on the machine the quick profile is sized on (not for the smoke
    profile: the tests' seconds say nothing of the book's)."""

    def __init__(self, profile: str):
        self.probes: list[float] = []
        self.enabled = profile != "smoke"

    def after(self, outcome: "Outcome") -> "Outcome":
        if self.enabled and outcome.status == "executed" and outcome.results == "missing":  # it computed
            from . import runtime

            self.probes.append(runtime.reference_step_ms())
        return outcome

    def summary(self, outcomes: list["Outcome"]) -> None:
        import statistics

        from . import runtime

        seconds = sum(o.seconds for o in outcomes if o.status == "executed")
        if self.probes:
            note = runtime.machine_note(seconds, statistics.median(self.probes))
            print(f"[augworth] notebooks executed: {note}", file=sys.stderr, flush=True)


def reproduce_dir(profile: str) -> Path:
    """Where ``make reproduce`` keeps its executed chapters, records and results cache
    (generated, git-ignored)."""
    return paths.ROOT / "build" / "reproduce" / profile


def reproduce(profile: str, names: list[str] | None = None) -> Path:
    """Execute the chapters of ``profile`` from scratch into :func:`reproduce_dir`: a results
    cache of its own, the shipped results hidden (``AUGWORTH_RESULTS`` points at an empty
    folder), so every number is computed on this machine. Finished cells are kept there: an
    interrupted reproduction resumes. The profile's later registrations of those chapters
    (:func:`augworth.prereg.later`) are computed first, so that the pages decide their claims as the
    shipped ones did. Returns the folder of its claim records (compare them with the shipped ones:
    :func:`augworth.shipping.compare`)."""
    from . import config, prereg
    from .experiments.registry import run

    chapters = [n for n in (names or paths.chapter_names()) if n not in SUMMARY]
    out = reproduce_dir(profile)
    hidden = out / "no-shipped-results"
    hidden.mkdir(parents=True, exist_ok=True)
    shipped_root = paths.COMMITTED_RESULTS
    paths.COMMITTED_RESULTS = hidden  # for this process; AUGWORTH_RESULTS for the kernels
    try:
        with environment({"AUGWORTH_CACHE": str(out / "cache"), "AUGWORTH_RESULTS": str(hidden)}):
            for reg in prereg.later(profile):
                for chapter, over in reg.chapters.items():
                    if chapter in chapters:
                        print(f"[augworth] {chapter}: registration {reg.number} ({reg.file})", file=sys.stderr, flush=True)
                        run(chapter, config.load_params(chapter, profile, over))
            execute_all(chapters, profile, out_dir=out)
    finally:
        paths.COMMITTED_RESULTS = shipped_root
    return out / "_records"
