"""augworth: what is a data augmentation worth? Running code that re-tests three papers' claims.

Layers (each imports only those above it): ``paths``, ``config``, ``runtime`` -> ``data``,
``augment``, ``models`` -> ``train`` -> ``metrics`` -> ``experiments`` -> ``verdicts`` (with
the ``claims`` registry) -> ``plotting``; ``pipeline`` executes the notebooks for the book, and
``__main__`` is the command line.
"""

__version__ = "0.1.0"
