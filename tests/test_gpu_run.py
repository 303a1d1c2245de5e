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


def test_complete_seeds_splits_whole_seeds_from_partial_ones():
    from types import SimpleNamespace as C

    cells = [C(seed=s, i=i) for s in (600, 601, 602) for i in range(4)]
    stored = {(600, 0), (600, 1), (600, 2), (600, 3), (601, 0)}
    assert gpu.complete_seeds(cells, lambda c: (c.seed, c.i) in stored) == ([600], [601])


def test_a_gpu_registration_trains_its_confirmatory_seeds_whole_and_refuses_other_cells():
    """Registration 6 (B3 on the GPU): the first stage and the 160-epoch runs of its seeds, 4 models
    each; its choice seeds are not among them (they are read where they were trained)."""
    from augworth import config, prereg

    reg = {r.number: r for r in prereg.later("book")}[6]
    p = config.load_params("class_level", "book", reg.chapters["class_level"])
    mine = set(reg.seeds("class_level"))
    cells = [c for c in gpu.registration_cells("class_level", p) if c.seed in mine]
    assert len(cells) == 4 * len(mine) == 184
    assert sorted({(c.augment, c.epochs) for c in cells}) == [("none", 80), ("none", 160), ("rrc(0.08)", 80),
                                                              ("rrc(0.08)", 160)]
    with pytest.raises(config.ConfigError, match="chapter 'data' computes no sweep.*class_level, saliency"):
        gpu.registration_cells("data", config.load_params("data", "smoke"))


def test_a_gpu_registration_runs_any_chapters_sweep_seed_by_seed(tmp_path, monkeypatch):
    """make gpu REG=N trains every chapter's sweep, not only class_level's (A4 and A3 need more
    seeds than the CPUs here give): a saliency registration (smoke) trains its seeds whole, main
    and convergence cells, and copies them under the sweep's own name beside its report."""
    from augworth import config, prereg

    later = prereg.LaterRegistration("smoke", 2, "d", ("A4",), {"saliency": {"seeds": [7, 8],
                                                                            "convergence_seeds": [8]}}, {})
    monkeypatch.setattr(prereg, "later", lambda profile: (later,) if profile == "smoke" else ())
    report = gpu.registration(2, 5.0, tmp_path / "out", profile="smoke", workers=1)
    ch = report["chapters"]["saliency"]
    assert ch["seeds_complete_here"] == [7, 8] and ch["seeds_left"] == [] and not ch["stopped_by_time"]
    p = config.load_params("saliency", "smoke", later.chapters["saliency"])
    assert ch["cells"] == ch["trained"] == ch["files"] == 2 * len(p.augmentations) + len(p.augmentations)
    assert len(list((tmp_path / "out" / "saliency_cell").glob("*.json"))) == ch["files"]
    assert len(list((tmp_path / "out").glob("gpu-registration-2-*.json"))) == 1
    again = gpu.registration(2, 5.0, tmp_path / "again", profile="smoke", workers=1)  # stored: nothing to train
    assert again["chapters"]["saliency"]["trained"] == 0 and again["chapters"]["saliency"]["files"] == ch["files"]


def test_a_registration_that_is_not_there_is_named(tmp_path):
    from augworth import config

    with pytest.raises(config.ConfigError, match="REG=99.*registration-99"):
        gpu.registration(99, 0.1, tmp_path)
