"""The version of the code that computes a result: a hash of the source of the modules it runs.

A result (a chapter's or a cell's) depends on the source of its function's module, of what that
imports (transitively, read statically with ``ast``), and of what runs around every computation
(:data:`_AROUND_EVERY_RUNNER`) -- not on bookkeeping (:data:`_NOT_COMPUTING`: parameter
declarations, the claims registry, where folders are, how files are written, how a run stops)
nor on the analysis layer, which no runner imports. Cells carry this version in their cache key;
chapters' results carry it in their meta (a changed one is shown as stale).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def _module_file(module: str) -> Path | None:
    path = _PACKAGE.joinpath(*module.split(".")[1:])
    for cand in (path.with_suffix(".py"), path / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(module: str) -> set[str]:
    """augworth modules that ``module`` imports (read statically: relative and absolute)."""
    import ast

    path = _module_file(module)
    if path is None:
        return set()
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and not (node.module or "").startswith("augworth"):
                continue
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found.add(target)
            found.update(f"{target}.{a.name}" for a in node.names)  # "from . import x" imports a module
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("augworth"))
    return {m for m in found if _module_file(m) is not None}


# Modules that cannot change a result: parameter declarations (results are keyed on the
# resolved values), the claims registry, this bookkeeping, the package's version string, where
# folders are, how files are written and how a run stops.
_NOT_COMPUTING = {"augworth", "augworth.config", "augworth.config.chapters", "augworth.claims",
                  "augworth.experiments.registry", "augworth.experiments.versions", "augworth.paths", "augworth.io",
                  "augworth.lifecycle"}


#: Modules every runner computes through whatever it imports: run() seeds and sets the threads
#: with runtime, and sweeps compute their cells through sweep.
_AROUND_EVERY_RUNNER = ("augworth.runtime", "augworth.experiments.sweep")


def hashed_modules(module: str) -> set[str]:
    """The modules whose source a result of ``module``'s runner depends on: it, what it imports
    transitively, and what runs around every runner -- not bookkeeping (:data:`_NOT_COMPUTING`),
    nor what bookkeeping alone imports."""
    seen, todo = set(), [module, *_AROUND_EVERY_RUNNER]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            if m not in _NOT_COMPUTING:
                todo.extend(_imports(m) - seen)
    return seen - _NOT_COMPUTING


@functools.lru_cache(maxsize=None)
def code_hash(module: str) -> str:
    """Hash of the source of :func:`hashed_modules`. A stored result whose hash differs was
    computed by other code: its chapter says it is stale."""
    h = hashlib.sha256()
    for m in sorted(hashed_modules(module)):
        h.update(m.encode() + _module_file(m).read_bytes())
    return h.hexdigest()[:16]
