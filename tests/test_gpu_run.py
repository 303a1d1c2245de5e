"""The prepared GPU run works end to end on the CPU (smoke profile), and a deadline stops a
sweep before its next cell with every finished cell kept."""

import json
import time

import pytest

from augworth import gpu
from augworth.experiments.cache import ResultsCache
from augworth.experiments.sweep import DeadlineReached, echo_cell, expand_grid, run_sweep


def test_deadline_stops_a_sweep_and_keeps_finished_cells(tmp_path, monkeypatch):
    cache = ResultsCache(tmp_path, read_only=[])
    cells = expand_grid({"x": [1, 2, 3]})
    run_sweep(echo_cell, cells[:1], name="e", version=1, cache=cache)
    monkeypatch.setenv("AUGWORTH_DEADLINE", str(time.time() - 1))
    with pytest.raises(DeadlineReached, match="finished cells are stored"):
        run_sweep(echo_cell, cells, name="e", version=1, cache=cache)
    monkeypatch.delenv("AUGWORTH_DEADLINE")
    assert run_sweep(echo_cell, cells, name="e", version=1, cache=cache).cached == 1


def test_gpu_run_on_the_cpu_writes_results_with_provenance(tmp_path):
    report = gpu.run(5.0, tmp_path / "full", profile="smoke", chapters=("data", "exchange_rate"), bench=False)
    assert report["smoke"]["ok"] and report["chapters"]["data"].startswith("complete")
    assert report["chapters"]["exchange_rate"].startswith("complete")
    assert list((tmp_path / "full" / "exchange_cell").glob("*.json"))  # the cells, for later runs
    assert list((tmp_path / "full" / "exchange_rate").glob("*.json"))  # the chapter, complete
    (written,) = (tmp_path / "full").glob("gpu-run-*.json")
    prov = json.loads(written.read_text())["provenance"]
    assert {"torch", "git_commit", "device_name"} <= set(prov)


def test_packed_benchmark_rows():
    import torch

    rows = gpu.bench_packed(torch.device("cpu"), ks=(2,), steps=2, width=4, batch=32)
    assert [r["models"] for r in rows] == ["1 alone (train loop)", "2 packed"]
    assert all(r["images/s"] > 0 for r in rows) and rows[0]["x one model"] == 1.0
