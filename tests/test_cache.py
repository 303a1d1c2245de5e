import dataclasses
import json
import os
import types

import numpy as np
import pandas as pd
import pytest

from augworth.config import Params, param
from augworth import io as atomic_io
from augworth.experiments import registry as runner_mod
from augworth.experiments.cache import ResultsCache, cache_key, from_jsonable, to_jsonable


@dataclasses.dataclass(frozen=True)
class ToyParams(Params):
    notebook = "toy"
    x: int = param(2, "input", range=(0, 100))
    device: str = param("cpu", "device")


CALLS = []


@pytest.fixture
def toy_runner():
    """Register a toy runner that counts its calls; unregister afterwards."""
    CALLS.clear()

    def toy(p, device):
        CALLS.append(p.x)
        return {"square": p.x**2, "vec": np.arange(p.x, dtype=np.float32)}

    runner_mod.runner("toy", version=1, params=ToyParams)(toy)
    yield
    runner_mod.RUNNERS.pop("toy")


def test_roundtrip_of_arrays_frames_and_scalars():
    value = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": np.float32(1.5), "t": (1, 2),
             "df": pd.DataFrame({"k": [1, 2], "v": [0.5, 0.25]}), "none": None}
    back = from_jsonable(json.loads(json.dumps(to_jsonable(value))))
    assert back["a"].dtype == np.int16 and back["a"].shape == (2, 3)
    np.testing.assert_array_equal(back["a"], value["a"])
    assert back["b"] == 1.5 and back["t"] == [1, 2] and back["none"] is None
    pd.testing.assert_frame_equal(back["df"], value["df"])
    with pytest.raises(TypeError, match="cannot store a set"):
        to_jsonable({1, 2})


def test_key_depends_on_runner_version_and_params_only():
    k = cache_key("r", 1, {"a": 1, "b": [1, 2]})
    assert k == cache_key("r", 1, {"b": [1, 2], "a": 1})  # order of keys does not matter
    assert k != cache_key("r", 2, {"a": 1, "b": [1, 2]})
    assert k != cache_key("r", 1, {"a": 2, "b": [1, 2]})
    assert k != cache_key("s", 1, {"a": 1, "b": [1, 2]})


def test_miss_then_hit(tmp_path, toy_runner):
    c = ResultsCache(tmp_path, read_only=[])
    first = runner_mod.run("toy", ToyParams(x=3), cache=c)
    second = runner_mod.run("toy", ToyParams(x=3), cache=c)
    assert CALLS == [3]  # computed once
    assert first.meta["source"] == "computed" and second.meta["source"] == "cache"
    assert second["square"] == 9 and second["vec"].dtype == np.float32
    np.testing.assert_array_equal(first["vec"], second["vec"])
    assert first.meta["key"] == second.meta["key"]
    runner_mod.run("toy", ToyParams(x=3), cache=c, force=True)
    assert CALLS == [3, 3]


def test_invalidation_by_params_and_version(tmp_path, toy_runner):
    c = ResultsCache(tmp_path, read_only=[])
    runner_mod.run("toy", ToyParams(x=3), cache=c)
    runner_mod.run("toy", ToyParams(x=4), cache=c)
    assert CALLS == [3, 4]
    old = runner_mod.RUNNERS["toy"]
    runner_mod.RUNNERS["toy"] = dataclasses.replace(old, version=2)
    runner_mod.run("toy", ToyParams(x=3), cache=c)
    assert CALLS == [3, 4, 3]


def test_crash_mid_write_leaves_no_entry_and_rerun_resumes(tmp_path, toy_runner, monkeypatch):
    c = ResultsCache(tmp_path, read_only=[])

    class Killed(BaseException):  # like a SIGKILL-ed process: no except Exception catches it
        pass

    def dying_replace(src, dst):
        raise Killed("killed between write and rename")

    fake_os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    fake_os.replace = dying_replace
    monkeypatch.setattr(atomic_io, "os", fake_os)  # only the atomic writer sees the dying rename
    with pytest.raises(Killed):
        runner_mod.run("toy", ToyParams(x=5), cache=c)
    monkeypatch.setattr(atomic_io, "os", os)
    assert list(tmp_path.rglob("*.json")) == [] and list(tmp_path.rglob("*.part")) == []
    res = runner_mod.run("toy", ToyParams(x=5), cache=c)
    assert res.meta["source"] == "computed" and CALLS == [5, 5]
    assert runner_mod.run("toy", ToyParams(x=5), cache=c).meta["source"] == "cache"


def test_a_truncated_write_is_never_visible(tmp_path):
    """A crash while the temporary file is half written leaves the old entry intact."""
    c = ResultsCache(tmp_path, read_only=[])
    c.put("r", "k", {"v": 1}, {"runner": "r"})

    class Boom(Exception):
        pass

    big = {"v": np.zeros(10)}
    real_fdopen = os.fdopen

    class HalfFile:
        """Writes half of what it is given, then dies."""

        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            self.fh.write(text[: len(text) // 2])
            raise Boom

    fake_os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    fake_os.fdopen = lambda fd, mode: HalfFile(real_fdopen(fd, mode))
    atomic_io.os = fake_os
    try:
        with pytest.raises(Boom):
            c.put("r", "k", big, {"runner": "r"})
    finally:
        atomic_io.os = os
    assert list(tmp_path.rglob("*.part")) == []
    assert c.get("r", "k")[0] == {"v": 1}


def test_committed_results_are_read_and_exported(tmp_path, toy_runner):
    committed = tmp_path / "results" / "full"
    local = ResultsCache(tmp_path / "cache", read_only=[])
    runner_mod.run("toy", ToyParams(x=6), cache=local, export_dir=committed)
    assert len(list(committed.rglob("*.json"))) == 1
    fresh = ResultsCache(tmp_path / "other-cache", read_only=[committed])
    res = runner_mod.run("toy", ToyParams(x=6), cache=fresh)
    assert res.meta["source"] == "committed:full" and CALLS == [6]
    assert res.meta["torch"] and res.meta["git_commit"] and res.meta["wall_s"] >= 0


def test_unknown_runner_lists_known_ones():
    from augworth.config import ConfigError

    with pytest.raises(ConfigError, match="unknown runner 'nope': known runners are .*data"):
        runner_mod.get_runner("nope")


def test_stored_results_keep_their_key_order(tmp_path):
    c = ResultsCache(tmp_path, read_only=[])
    c.put("r", "k", {"zeta": 1, "alpha": {"train": 1, "test": 2}}, {"runner": "r"})
    value, _ = c.get("r", "k")
    assert list(value) == ["zeta", "alpha"] and list(value["alpha"]) == ["train", "test"]


def test_code_hash_follows_the_runner_imports(tmp_path, monkeypatch):
    from augworth.experiments import versions as registry

    deps = registry.hashed_modules("augworth.experiments.data_overview")
    assert {"augworth.data.subsets", "augworth.data.sources", "augworth.runtime"} <= deps
    assert "augworth.train.loop" not in deps and "augworth.plotting" not in deps  # not imported: no effect
    before = registry.code_hash("augworth.experiments.data_overview")
    real = registry._module_file

    def patched(module):  # pretend subsets.py changed
        path = real(module)
        if module == "augworth.data.subsets":
            fake = tmp_path / "subsets.py"
            fake.write_text(path.read_text() + "\n# changed\n")
            return fake
        return path

    monkeypatch.setattr(registry, "_module_file", patched)
    registry.code_hash.cache_clear()
    assert registry.code_hash("augworth.experiments.data_overview") != before
    registry.code_hash.cache_clear()


def test_no_runner_or_cell_depends_on_the_analysis_layer():
    """An edit of an analysis module never makes a stored result stale, nor a cell's key change:
    no runner imports the analysis layer (nor the verdicts, plots or notebooks' helpers)."""
    import augworth.experiments  # noqa: F401  registers the runners
    from augworth.experiments import registry, versions
    from augworth.shipping import SWEEP_CELLS

    modules = {r.fn.__module__ for r in registry.RUNNERS.values()} | {m for m, _ in SWEEP_CELLS.values()}
    for module in modules:
        deps = versions.hashed_modules(module)
        above = sorted(d for d in deps if d.split(".")[1] in ("analysis", "verdicts", "plotting", "report", "pipeline"))
        assert not above, f"{module} computes through {above}"


def test_pipeline_prefers_committed_full_results(tmp_path, monkeypatch):
    """When data/results/full holds a runner's result for the full profile's parameters, the
    book uses it (a GPU run committed) instead of computing a smaller profile."""
    from augworth import config, paths, pipeline
    from augworth.experiments.registry import RUNNERS

    monkeypatch.setattr(paths, "COMMITTED_RESULTS", tmp_path)
    assert not pipeline.committed_full("data")
    key = cache_key("data", RUNNERS["data"].version, config.load_params("data", "full").to_dict())
    ResultsCache(tmp_path / "full", read_only=[]).put("data", key, {"x": 1}, {"runner": "data"})
    assert pipeline.committed_full("data")
    assert not pipeline.committed_full("scorecard")  # no runner: nothing to prefer
