"""The one atomic writer: a file is either its old self or the whole new one, never half.

Everything the project writes that a later run reads (cache entries, claim records, executed
notebooks, checkpoints, data copies, corrupted test sets) goes through :func:`atomic_write`: a
temporary file in the same folder, fsync, then ``os.replace``; an interruption leaves no partial
file behind, and the file gets the permissions ``open`` would give it (the umask), so a
group-shared cache stays shared.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

class BrokenFileError(OSError):
    """A file the package reads is broken (truncated, not what its name says): the message names
    the file, what is wrong with it and how to get a good copy."""


class WriteError(OSError):
    """A file could not be written (a full disk, a read-only one): the message names the file,
    the reason and what to do."""


_NO_ROOM = {errno.ENOSPC, errno.EDQUOT}
_NO_WRITE = {errno.EROFS, errno.EACCES, errno.EPERM}
_UNFINISHED: set[str] = set()  # temporary files of writes in flight in this process


def discard_unfinished() -> None:
    """Remove the temporary files of writes still in flight (a process stopping mid-write calls
    this before it leaves: see :mod:`augworth.lifecycle`)."""
    for tmp in list(_UNFINISHED):
        Path(tmp).unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` by calling ``write(binary file object)``, atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as err:
        raise _named(err, path) from None
    _UNFINISHED.add(tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _named(err, path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        _UNFINISHED.discard(tmp)
    return path


def _named(err: OSError, path: Path) -> OSError:
    """A :class:`WriteError` that says which file, why and what to do (other errors unchanged)."""
    if err.errno in (errno.EEXIST, errno.ENOTDIR):
        todo = "a file stands where a folder must be: move it away"
    elif err.errno in _NO_ROOM:
        todo = "free space on that disk, or move the folder elsewhere"
    elif err.errno in _NO_WRITE:
        todo = "the disk or folder is read-only: move the folder to one you can write"
    else:
        return err
    named = WriteError(f"cannot write {path}: {err.strerror}; {todo} (the results cache: AUGWORTH_CACHE, the data "
                       "sets: AUGWORTH_DATA); nothing partial was kept")
    named.errno = err.errno
    return named


def atomic_write_text(path: Path, text: str) -> Path:
    """:func:`atomic_write` of a text (UTF-8)."""
    return atomic_write(path, lambda fh: fh.write(text.encode()))


#: A shipped file over this many bytes is committed gzip-compressed (``<name>.gz``) and unpacked
#: beside it on first use (:func:`unpack_gzipped`): git repositories flag files over 5 MB.
PACK_BYTES = 4_000_000
#: The list of a shipped folder's unpacked copies (kept out of git: the ``.gz`` is what is committed)
UNPACKED_LIST = ".gitignore"


def unpack_gzipped(folder: Path) -> list[Path]:
    """Beside every ``<name>.gz`` under ``folder``, write ``<name>`` (atomically) when it is missing
    or older than the ``.gz``; returns what it wrote. A folder that cannot be written is left as
    it is (its readers then find no entry and say so)."""
    import gzip

    written = []
    for gz in sorted(Path(folder).rglob("*.gz")) if Path(folder).is_dir() else []:
        target = gz.with_suffix("")
        if target.exists() and target.stat().st_mtime >= gz.stat().st_mtime:
            continue
        try:
            atomic_write(target, lambda fh, gz=gz: fh.write(gzip.decompress(gz.read_bytes())))
        except OSError:
            continue
        written.append(target)
    return written
