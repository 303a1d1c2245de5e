import os

import pytest

from augworth.experiments.cache import ResultsCache
from augworth.experiments.sweep import echo_cell, expand_grid, run_sweep


def test_expand_grid_is_the_product_over_base():
    cells = expand_grid({"n": [1, 2], "aug": ["none", "flip"]}, base={"epochs": 3})
    assert cells == [{"epochs": 3, "n": 1, "aug": "none"}, {"epochs": 3, "n": 1, "aug": "flip"},
                     {"epochs": 3, "n": 2, "aug": "none"}, {"epochs": 3, "n": 2, "aug": "flip"}]
    with pytest.raises(ValueError, match="grid entry 'n' must be a non-empty list"):
        expand_grid({"n": []})
    with pytest.raises(ValueError, match="grid entry 'aug' must be a non-empty list"):
        expand_grid({"aug": "none"})


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    cache = ResultsCache(tmp_path, read_only=[])
    cells = expand_grid({"x": list(range(6))})
    calls = []

    def dies_at_4(cell):
        if cell["x"] == 4:
            raise KeyboardInterrupt("Ctrl-C during cell 4")
        calls.append(cell["x"])
        return {"square": cell["x"] ** 2}

    with pytest.raises(KeyboardInterrupt):
        run_sweep(dies_at_4, cells, name="t", version=1, cache=cache)
    assert calls == [0, 1, 2, 3]

    def counting(cell):
        calls.append(cell["x"])
        return {"square": cell["x"] ** 2}

    res = run_sweep(counting, cells, name="t", version=1, cache=cache)
    assert calls == [0, 1, 2, 3, 4, 5]  # only the missing cells ran again
    assert res.cached == 4 and res.computed == 2
    assert [r["square"] for r in res.results] == [x * x for x in range(6)]
    again = run_sweep(counting, cells, name="t", version=1, cache=cache)
    assert again.computed == 0 and calls == [0, 1, 2, 3, 4, 5]
    bumped = run_sweep(counting, cells[:2], name="t", version=2, cache=cache)
    assert bumped.computed == 2  # a new version recomputes


@pytest.mark.parametrize("executor", ["process", "submitit-local"])
def test_parallel_executors_share_the_cache_and_resume(tmp_path, executor):
    cache = ResultsCache(tmp_path / "cache", read_only=[])
    markers = tmp_path / "markers"
    markers.mkdir()
    cells = expand_grid({"x": [1, 2, 3]}, base={"marker_dir": str(markers)})
    run_sweep(echo_cell, cells[:1], name="e", version=1, cache=cache)  # one cell done before
    res = run_sweep(echo_cell, cells, name="e", version=1, executor=executor, workers=2, cache=cache,
                    log_folder=tmp_path / "logs")
    assert [r["square"] for r in res.results] == [1, 4, 9]
    assert res.cached == 1 and res.computed == 2
    assert len(list(markers.iterdir())) == 3  # 1 inline + 2 in workers: nothing computed twice
    assert all(r["pid"] != os.getpid() for r in res.results[1:])  # really in other processes
    assert all(m.get("wall_s") is not None for m in res.meta)


def test_bad_executor_is_named():
    with pytest.raises(ValueError, match=r"unknown executor 'ray' \(AUGWORTH_EXECUTOR or --executor\): known are inline, process, packed"):
        run_sweep(echo_cell, [{"x": 1}], name="e", version=1, executor="ray")


def test_compute_seconds_count_cached_cells_at_what_they_cost(tmp_path):
    import time

    cache = ResultsCache(tmp_path, read_only=[])
    cells = expand_grid({"x": [0, 1]})

    def slow(cell):
        time.sleep(0.05)
        return {"square": cell["x"] ** 2}

    first = run_sweep(slow, cells, name="c", version=1, cache=cache)
    again = run_sweep(slow, cells, name="c", version=1, cache=cache)
    assert first.compute_s >= 0.1 and again.computed == 0
    assert again.compute_s == pytest.approx(first.compute_s)  # from the stored cells' own wall times


def test_a_training_cell_is_the_same_inline_and_in_the_process_pool(tmp_path):
    """A cell's result depends only on its key: the same numbers whichever executor computed it
    (every cell trains on sweep.CELL_THREADS threads), even when the caller runs more threads."""
    import torch

    from augworth.experiments.training import TRAIN_CELL_VERSION, train_cell

    cell = {"n_train": 256, "epochs": 2, "width": 4, "val_size": 200, "augment": "crop(1)+flip", "seed": 3,
            "device": "cpu"}
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        inline = run_sweep(train_cell, [cell], name="t", version=TRAIN_CELL_VERSION, executor="inline",
                           cache=ResultsCache(tmp_path / "a", read_only=[])).results[0]
        assert torch.get_num_threads() == 2  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    pooled = run_sweep(train_cell, [cell, {**cell, "seed": 4}], name="t", version=TRAIN_CELL_VERSION,
                       executor="process", workers=2, cache=ResultsCache(tmp_path / "b", read_only=[])).results[0]
    assert inline["test_acc"] == pooled["test_acc"] and inline["test_loss"] == pooled["test_loss"]
    assert inline["history"]["train_loss"].tolist() == pooled["history"]["train_loss"].tolist()
