"""augworth: what is a data augmentation worth? Running code that re-tests three papers' claims.

Layers (each imports only those above it): ``paths``, ``config``, ``runtime`` -> ``data``,
``augment``, ``models`` -> ``train`` -> ``metrics`` -> ``experiments`` -> ``verdicts`` (with
the ``claims`` registry) -> ``plotting``; ``pipeline`` executes the notebooks for the book, and
``__main__`` is the command line.
"""

__version__ = "0.1.0"

import os as _os

if _os.environ.get("AUGWORTH_PARENT_PID"):  # a notebook's kernel (or a pool worker): stop when the run does
    from .lifecycle import follow_from_environment as _follow

    _follow()

# shipped results over 5 MB are committed gzip-compressed: unpack them beside (cheap when done)
from . import io as _io
from . import paths as _paths

_io.unpack_gzipped(_paths.COMMITTED_RESULTS)
