"""Every folder the project reads or writes, in one place.

The data root and the cache root can be moved with environment variables, so a cluster user
can point them at shared or scratch storage without touching code:

- ``AUGWORTH_DATA``: where data sets live (default ``<repo>/data/raw``).
- ``AUGWORTH_CACHE``: where computed results are cached (default ``<repo>/.cache``).
- ``AUGWORTH_RESULTS``: the shipped results read after the cache (default ``<repo>/data/results``).

The repository root is found from this file's location (editable install) and falls back to
the current directory for a non-editable install.
"""

from __future__ import annotations

import os
from pathlib import Path


def _find_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "notebooks").is_dir():
            return parent
    return Path.cwd()


ROOT: Path = _find_root()
NOTEBOOKS: Path = ROOT / "notebooks"          # jupytext py:percent chapter sources
REPORTS: Path = ROOT / "reports"              # jupytext sources of reports on a user's data (worth)
PARAMS: Path = ROOT / "params"                # params/<profile>/<notebook>.yaml
BOOK: Path = ROOT / "book"                    # Jupyter Book sources
CHAPTERS: Path = BOOK / "chapters"            # executed notebooks (generated, git-ignored)
# the shipped results, computed once and committed (data/results/<profile>/); AUGWORTH_RESULTS moves
# them (make reproduce points it at an empty folder, so that nothing is read from them)
COMMITTED_RESULTS: Path = Path(os.environ.get("AUGWORTH_RESULTS") or ROOT / "data" / "results")
DEBIAN_FASHION_MNIST: Path = Path("/usr/share/datasets/fashion-mnist")


SUMMARY = ("scorecard",)  # pages built from the other chapters' records: executed last


def notebook_names() -> list[str]:
    """The book's notebooks in execution order: the chapters, then the summary pages."""
    names = sorted(p.stem for p in NOTEBOOKS.glob("*.py"))
    return [n for n in names if n not in SUMMARY] + [n for n in names if n in SUMMARY]


def chapter_names() -> list[str]:
    """The notebooks that compute (every one but the summary pages)."""
    return [n for n in notebook_names() if n not in SUMMARY]


def replication_dir(profile: str) -> Path:
    """Executed chapters (and their claim records, in ``_records``) of the replication run: the
    same chapters on a disjoint set of seeds (``make replicate``); generated, git-ignored."""
    return ROOT / "build" / "replication" / profile


class FolderError(OSError):
    """A folder the project must write cannot be used; the message names the variable that set it."""


def _folder(var: str, default: Path) -> Path:
    folder = Path(os.environ.get(var, default)).expanduser()
    blocked = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), None)
    if blocked is not None:
        raise FolderError(f"{var}={folder} cannot be a folder: {blocked} is a file. Point {var} at a folder "
                          f"(or unset it for the default {default})")
    return folder


def writable(folder: Path, var: str) -> Path:
    """``folder``, created if needed; a folder that cannot be written raises :class:`FolderError`
    naming ``var``."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise FolderError(f"{var}={folder} is not a writable folder ({err.strerror}): point {var} at a folder "
                          f"you can write, e.g. {var}=$HOME/augworth-{var.split('_')[-1].lower()}") from None
    return folder


def data_root() -> Path:
    """Folder that holds the data sets, in torchvision's on-disk layout (``AUGWORTH_DATA``)."""
    return _folder("AUGWORTH_DATA", ROOT / "data" / "raw")


def cache_root() -> Path:
    """Folder of the results cache (``AUGWORTH_CACHE``; safe to delete: everything in it can
    be recomputed)."""
    return _folder("AUGWORTH_CACHE", ROOT / ".cache")


def files_under(folder: Path) -> list[Path]:
    """Every file under ``folder``, following symbolic links to folders and files (a folder
    reached twice, through a link cycle, is read once), sorted."""
    found, seen = [], set()
    for top, dirs, files in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        found.extend(Path(top) / f for f in files if os.path.isfile(os.path.join(top, f)))
    return sorted(found)
