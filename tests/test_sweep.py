import os

import pytest

import dataclasses

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

    from augworth.config import TrainCell
    from augworth.experiments.training import train_cell

    cell = TrainCell.from_mapping({"n_train": 256, "epochs": 2, "width": 4, "val_size": 200, "augment": "crop(1)+flip",
                                   "seed": 3, "device": "cpu"})
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        inline = run_sweep(train_cell, [cell], name="t", executor="inline",
                           cache=ResultsCache(tmp_path / "a", read_only=[])).results[0]
        assert torch.get_num_threads() == 2  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    pooled = run_sweep(train_cell, [cell, dataclasses.replace(cell, seed=4)], name="t",
                       executor="process", workers=2, cache=ResultsCache(tmp_path / "b", read_only=[])).results[0]
    assert inline["test_acc"] == pooled["test_acc"] and inline["test_loss"] == pooled["test_loss"]
    assert inline["history"]["train_loss"].tolist() == pooled["history"]["train_loss"].tolist()


_MALLOC_PROBE = """
import hashlib, json, sys, tempfile
import torch
from augworth import runtime
from augworth.experiments.cache import ResultsCache
from augworth.experiments.sweep import run_sweep
from augworth.config import TrainCell
from augworth.experiments.training import train_cell
from augworth.models import build_model

cell = TrainCell.from_mapping({"n_train": 256, "epochs": 2, "width": 4, "val_size": 200, "augment": "crop(1)+flip",
                               "seed": 3, "device": "cpu"})
with tempfile.TemporaryDirectory() as tmp:
    r = run_sweep(train_cell, [cell], name="t", executor="inline",
                  cache=ResultsCache(tmp, read_only=[])).results[0]
torch.manual_seed(0)
model = build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=16).eval()
with torch.no_grad():  # 4,096 images: activations of 205 MB, far above glibc's 32 MiB mmap limit
    logits = model(torch.rand(4096, 1, 28, 28))
print(json.dumps({"applied": runtime.keep_freed_memory(), "test_loss": r["test_loss"],
                  "train_loss": r["history"]["train_loss"].tolist(),
                  "logits": hashlib.sha256(logits.numpy().tobytes()).hexdigest()}))
"""


def test_keeping_freed_memory_changes_no_number():
    """runtime.keep_freed_memory (malloc keeps freed blocks; every cell computes with it) leaves
    every bit of a training cell and of a large forward pass as glibc's default malloc gives."""
    import json
    import os
    import subprocess
    import sys

    def probe(mode: str) -> dict:
        env = {**os.environ, "AUGWORTH_MALLOC": mode}
        out = subprocess.run([sys.executable, "-c", _MALLOC_PROBE], env=env, capture_output=True, text=True,
                             check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    kept, default = probe("keep"), probe("default")
    assert default["applied"] is False
    if sys.platform.startswith("linux") and kept["applied"] is False:
        pytest.skip("not glibc: mallopt unavailable")
    assert kept["applied"] is True
    assert {k: v for k, v in kept.items() if k != "applied"} == {k: v for k, v in default.items() if k != "applied"}
