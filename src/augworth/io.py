"""The one atomic writer: a file is either its old self or the whole new one, never half.

Everything the project writes that a later run reads (cache entries, claim records, executed
notebooks, checkpoints, data copies, corrupted test sets) goes through :func:`atomic_write`: a
temporary file in the same folder, fsync, then ``os.replace``; an interruption leaves no partial
file behind, and the file gets the permissions ``open`` would give it (the umask), so a
group-shared cache stays shared.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` by calling ``write(binary file object)``, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """:func:`atomic_write` of a text (UTF-8)."""
    return atomic_write(path, lambda fh: fh.write(text.encode()))
