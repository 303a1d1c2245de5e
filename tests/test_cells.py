"""Cells: the unit of computation, keyed by exactly what its function reads.

A cell type declares the chapter fields its function reads on top of the training cell's (the
training road's inputs); this test runs each chapter's cell function on a tiny cell and records
which fields it reads: every declared field must be read (a field that is not widens the cell's
key: results would be split, or recomputed, for a change that cannot change them)."""

import dataclasses

import pytest

from augworth.config import ConfigError, TrainCell, load_params
from augworth.experiments import cells as C
from augworth.experiments import exchange_rate, flatness, saliency, sample_complexity
from augworth.experiments.sweep import run_sweep

TINY_TRAINING = {"n_train": 256, "epochs": 1, "steps": 0, "batch_size": 32, "width": 4, "val_size": 200}


def _recorded(cell):
    """A copy of ``cell`` that records the names of the fields read from it (after construction)."""
    cls = type(cell)
    names = {f.name for f in dataclasses.fields(cls)}
    seen: set = set()
    recording = [False]  # not while the copy is built and checked

    class Recording(cls):
        def __getattribute__(self, name):
            if recording[0] and name in names:
                seen.add(name)
            return object.__getattribute__(self, name)

    Recording.__name__ = cls.__name__
    rec = Recording(**{f: getattr(cell, f) for f in names})
    recording[0] = True
    return rec, seen


def _tiny(p, **fields):
    return dataclasses.replace(p, **fields)


CASES = {
    "flatness": lambda: flatness.cells(_tiny(load_params("flatness", "smoke"), hessian_images=16, power_iters=2,
                                              probes=1, directions=1, bisections=1, grid=3,
                                              noise_passes=1))[0],
    "saliency": lambda: saliency.cells(_tiny(load_params("saliency", "smoke"), n_images=2, n_mc=16))[0],
    "exchange": lambda: dataclasses.replace(exchange_rate.cells(_tiny(load_params("exchange_rate", "smoke"),
                                                                      ood_images=20))[0][1],
                                            corruptions=()),  # read all the same: the clean subset only
    "sample_complexity main": lambda: sample_complexity.cells(_tiny(
        load_params("sample_complexity", "smoke"), augmentations=("crop(1)", "rrc(0.5)", "noise(0.05)"), n_images=1, n_max=16,
        grad_n_max=8, n_ref=64, lin_n=20, k_values=(1,), quad_nodes=3, quad_nodes_rrc=2))[0],
    "sample_complexity seed": lambda: sample_complexity.cells(_tiny(
        load_params("sample_complexity", "smoke"), augmentations=("crop(1)", "rrc(0.5)", "noise(0.05)"), n_images=1,
        n_ref=64, quad_nodes=3, quad_nodes_rrc=2, verdict_seeds=(5,)))[1],
}
FUNCTIONS = {"flatness": flatness.flatness_cell, "saliency": saliency.saliency_cell,
             "exchange": exchange_rate.exchange_cell, "sample_complexity main": sample_complexity.chapter_cell,
             "sample_complexity seed": sample_complexity.chapter_cell}


@pytest.mark.parametrize("case", list(CASES))
def test_a_cell_reads_every_field_it_declares(case):
    cell = CASES[case]()
    small = dataclasses.replace(cell, **{k: v for k, v in TINY_TRAINING.items()
                                         if k != "epochs" or cell.steps == 0})
    if isinstance(small, TrainCell) and small.checkpoints:
        small = dataclasses.replace(small, checkpoints=(1,))
    rec, seen = _recorded(small)
    FUNCTIONS[case](rec)
    declared = {f.name for f in dataclasses.fields(type(cell))} - {f.name for f in dataclasses.fields(TrainCell)}
    assert declared, f"{case}: a cell type with no fields of its own"
    assert declared <= seen, f"{case}: declared but never read: {sorted(declared - seen)}"


def test_a_cell_carries_no_field_of_its_chapter_it_does_not_declare():
    p = load_params("sample_complexity", "smoke")
    seed_cell = sample_complexity.cells(p)[1]
    assert not hasattr(seed_cell, "k_values") and not hasattr(seed_cell, "ridge")  # the main cell's only
    with pytest.raises(TypeError, match="has no field"):
        C.make_cell(sample_complexity.SeedCell, p, ridge=0.1)
    with pytest.raises(ConfigError, match="parameter 'n_images'"):
        C.make_cell(sample_complexity.SeedCell, p, n_images=0)  # validated once, where it is built


def test_the_sweep_refuses_a_cell_of_another_type(tmp_path):
    from augworth.experiments.cache import ResultsCache
    from augworth.experiments.training import train_cell

    cell = flatness.cells(load_params("flatness", "smoke"))[0]  # a FlatnessCell is a TrainCell, and more
    with pytest.raises(TypeError, match="computes cells of type TrainCell, got FlatnessCell"):
        run_sweep(train_cell, [cell], name="t", cache=ResultsCache(tmp_path, read_only=[]))
    with pytest.raises(TypeError, match="got dict"):
        run_sweep(train_cell, [{"n_train": 64}], name="t", cache=ResultsCache(tmp_path, read_only=[]))


def test_a_cells_key_holds_its_fields_and_its_codes_version(tmp_path, monkeypatch):
    """The key changes with any field and with the version of the code; a chapter field the cell
    does not read is not in it."""
    from augworth.experiments import sweep
    from augworth.experiments.cache import ResultsCache, cache_key
    from augworth.experiments.cells import cell_fields

    p = load_params("sample_complexity", "smoke")
    seed_cell = sample_complexity.cells(p)[1]
    other_ridge = sample_complexity.cells(dataclasses.replace(p, ridge=0.5))[1]
    assert cell_fields(seed_cell) == cell_fields(other_ridge)  # ridge is the main cell's, not a seed cell's
    calls = []

    def echo(cell):
        calls.append(cell)
        return {"n": cell.n_train}

    echo.cell_type = TrainCell
    cache = ResultsCache(tmp_path, read_only=[])
    cell = TrainCell.from_mapping({"n_train": 64})
    run_sweep(echo, [cell], name="echo", cache=cache)
    run_sweep(echo, [cell], name="echo", cache=cache)
    assert len(calls) == 1  # stored
    run_sweep(echo, [dataclasses.replace(cell, n_train=65)], name="echo", cache=cache)
    assert len(calls) == 2  # another field: another key
    monkeypatch.setattr(sweep, "code_version", lambda fn: "edited")
    run_sweep(echo, [cell], name="echo", cache=cache)
    assert len(calls) == 3  # the same fields, other code: computed again
    assert cache_key("echo", "edited", cell_fields(cell)) != cache_key("echo", "v", cell_fields(cell))


def test_cell_types_pickle_by_reference_whatever_python_sets_as_their_module():
    """Python 3.12's make_dataclass names its caller (cells.py) as a new class's module; the
    registry gives each cell type its runner module back, so worker processes can unpickle it."""
    import pickle

    from augworth.experiments import exchange_rate, registry

    cls = exchange_rate.ExchangeCell
    cls.__module__ = "augworth.experiments.cells"  # what make_dataclass does from Python 3.12 on
    try:
        registry._home_cell_types(exchange_rate.__name__)
        assert cls.__module__ == exchange_rate.__name__
        cell = C.make_cell(cls, load_params("exchange_rate", "smoke"), n_train=60, augment="none", seed=0)
        assert pickle.loads(pickle.dumps(cell)) == cell
    finally:
        cls.__module__ = exchange_rate.__name__
