"""Cells, the unit of computation: one model trained and measured, keyed by exactly what it reads.

A cell is a frozen dataclass (:class:`augworth.config.TrainCell` or a type made by
:func:`cell_type` on top of it) holding exactly the fields its cell function reads, validated
once, when :func:`make_cell` builds it from a chapter's parameters. Its cache key is the cell
function's name, every field of the cell (defaults resolved) and the version of the code that
computes it (:func:`augworth.experiments.versions.code_hash`): a cell never carries a field
its function does not read, so a chapter parameter the cell ignores never splits its cache, and
changed code never returns an old number.

Each chapter's runner module exposes ``cells(p)``: the cells its runner computes (for a runner
with a second stage, the most it may compute), read by the runner and by ``make plan`` alike.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from ..config import Params, TrainCell

#: Training fields a chapter's parameters share with its training cells: a chapter that declares
#: one of these trains every model with that value (its cells may still override it, e.g. the
#: exchange chapter's longer convergence runs).
SHARED_TRAIN_FIELDS = ("dataset", "data_path", "image_size", "val_size", "device", "model", "n_train", "epochs",
                       "steps", "batch_size", "width", "checkpoints")


def cell_type(name: str, module: str, chapter: type[Params], fields: tuple[str, ...],
              extra: dict[str, tuple[type, Any]] | None = None, base: type[Params] = TrainCell,
              methods: dict[str, Callable] | None = None) -> type:
    """A cell type: ``base``'s fields, the chapter fields ``fields`` (type, default, help and
    range copied from ``chapter``, their one declaration) and ``extra`` fields the chapter does not
    have ({name: (type, ``param(...)``)}). ``module`` must be the module that assigns it to
    ``name`` (cells are pickled to worker processes by reference)."""
    declared = {f.name: f for f in dataclasses.fields(chapter)}
    specs = []
    for f in fields:
        src = declared[f]
        copy = dataclasses.field(default=src.default, default_factory=src.default_factory, metadata=src.metadata)
        specs.append((f, src.type, copy))
    for f, (tp, fld) in (extra or {}).items():
        specs.append((f, tp, fld))
    namespace = {"__module__": module, "CHAPTER_FIELDS": tuple(fields), **(methods or {})}
    return dataclasses.make_dataclass(name, specs, bases=(base,), frozen=True, namespace=namespace)


def make_cell(cls: type[Params], p: Params | None = None, **fields: Any):
    """THE builder of cells: a ``cls`` whose fields come from ``fields`` when given there, else
    from the chapter parameters ``p`` (the shared training fields it declares and the cell type's
    chapter fields), else the field's default. Validated once, here: a bad value names its field."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {unknown}: a cell carries only what its function reads")
    values = {}
    if p is not None:
        for f in (*SHARED_TRAIN_FIELDS, *getattr(cls, "CHAPTER_FIELDS", ())):
            if f in names and hasattr(p, f):
                values[f] = getattr(p, f)
    values.update(fields)
    return cls.from_mapping(values)


def cell_fields(cell: Any) -> dict:
    """The fields that key a cell: all of a typed cell's (defaults resolved), or a plain dict."""
    return cell.to_dict() if isinstance(cell, Params) else dict(cell)


def evaluated_images(cell: TrainCell, test_images: int) -> int:
    """Images a cell's model is evaluated on at the end: the test set, the validation split when
    the cell evaluates it, and any extra sets its type names (``extra_eval_images``)."""
    extra = cell.extra_eval_images() if hasattr(cell, "extra_eval_images") else 0
    return test_images + (cell.val_size if cell.evaluate_val else 0) + extra


def longer(cell, factor: int, **fields: Any):
    """The same cell trained for ``factor`` times its budget (its steps, else its epochs), with
    ``fields`` changed too: a convergence run."""
    budget = {"steps": cell.steps * factor} if cell.steps else {"epochs": cell.epochs * factor}
    return dataclasses.replace(cell, **budget, **fields)


def convergence_cells(p: Params, main: list, **fields: Any) -> list[tuple[int, int, Any]]:
    """(factor, i, cell): every cell ``main[i]`` whose seed is one of ``p.convergence_seeds``,
    trained again for each of ``p.convergence_factors`` times its budget (see :func:`longer`)."""
    seeds = set(getattr(p, "convergence_seeds", ()))
    return [(k, i, longer(c, k, **fields)) for k in getattr(p, "convergence_factors", ()) for i, c in enumerate(main)
            if c.seed in seeds]
