"""Bad input and faults: each fails with a one-line message that names the culprit, writes
nothing partial, and heals where it can (issue: reliability)."""

import dataclasses
import json
import math
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from augworth import config, paths
from augworth.config import ConfigError, TrainCell, TrainConfig
from augworth.experiments.cache import ResultsCache
from augworth.experiments.sweep import echo_cell, expand_grid, run_sweep


def _float_fields(cls):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if tp is float or typing.get_args(tp)[:1] == (float,):
            yield f.name, tp is not float


PARAM_CLASSES = sorted({*config.NOTEBOOK_PARAMS.values(), TrainConfig, TrainCell}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", PARAM_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_every_float_parameter_refuses_non_finite_values(cls, bad):
    for name, is_tuple in _float_fields(cls):
        with pytest.raises(ConfigError, match=f"parameter '{name}'.*is not a finite number"):
            cls(**{name: (bad,) if is_tuple else bad})


def test_yaml_booleans_become_their_word_for_string_choices():
    assert TrainConfig(amp=False).amp == "off"  # --set amp=off: YAML reads off as false
    with pytest.raises(ConfigError, match="parameter 'model'"):
        TrainConfig(model=False)  # no such word among the models: still an error


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "binary", "wrong-shape", "other-key"])
def test_a_damaged_cache_entry_is_moved_aside_and_recomputed(tmp_path, damage):
    cache = ResultsCache(tmp_path, read_only=[])
    cells = expand_grid({"x": [2, 3]})
    run_sweep(echo_cell, cells, name="e", version=1, cache=cache)
    victim = sorted((tmp_path / "e").glob("*.json"))[0]
    text = victim.read_text()
    victim.write_bytes({"truncated": text[: len(text) // 2].encode(), "garbage": b"{not json",
                        "empty": b"", "binary": b"\xff\xfe\x00\x81",
                        "wrong-shape": json.dumps({"format": 1, "meta": {}}).encode(),
                        "other-key": json.dumps({"format": 1, "meta": {"key": "x" * 24}, "result": {}}).encode()}[damage])
    with pytest.warns(UserWarning, match=r"results-cache entry .*damaged.*moved aside"):
        again = run_sweep(echo_cell, cells, name="e", version=1, cache=cache)
    assert again.computed == 1 and [r["square"] for r in again.results] == [4, 9]  # correct results
    assert victim.is_file() and victim.with_name(victim.name + ".corrupt").is_file()
    assert run_sweep(echo_cell, cells, name="e", version=1, cache=cache).computed == 0  # healed


def test_cache_entries_are_group_readable(tmp_path):
    old = os.umask(0o002)
    try:
        path = ResultsCache(tmp_path, read_only=[]).put("r", "k" * 24, {"a": 1}, {"key": "k" * 24})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o664


def test_overrides_through_make_never_reach_a_shell(tmp_path):
    """Quotes, semicolons and $(...) in P= are data: the run stops at validation, naming the
    value, and nothing they spell is executed."""
    marker = tmp_path / "pwned"
    p = f"n_per_class='3; touch {marker}' seeds=$(touch {marker}) x=\"`touch {marker}`\""
    env = {**os.environ, "P": p}
    done = subprocess.run([sys.executable, "-m", "augworth", "notebooks", "data", "--profile", "smoke",
                           "--set-from-env", "P"], capture_output=True, text=True, env=env, cwd=paths.ROOT)
    assert done.returncode == 2 and not marker.exists()
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    one = subprocess.run([sys.executable, "-m", "augworth", "notebooks", "data", "--profile", "smoke",
                          "--set-from-env", "P"], capture_output=True, text=True, cwd=paths.ROOT,
                         env={**os.environ, "P": f"n_per_class='3; touch {marker}'"})
    assert one.returncode == 2 and "parameter 'n_per_class'" in one.stderr and "3; touch" in one.stderr
    assert "the command line" in one.stderr and not marker.exists()
    make = subprocess.run(["make", "-s", "-n", "nb", "NAME=data", f"P={p}"], capture_output=True, text=True,
                          cwd=paths.ROOT)  # what make would run: P's text appears in no command
    assert str(marker) not in make.stdout and not marker.exists()


def test_ctrl_c_says_what_is_kept_and_exits_130(monkeypatch, capsys):
    from augworth import __main__ as cli

    def interrupted(args):  # two cells finish, then Ctrl-C
        run_sweep(echo_cell, expand_grid({"x": [1, 2]}), name="e", version=1)
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_params", interrupted)
    assert cli.main(["params"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted: 2 results stored") and "resume" in err and len(err.strip().splitlines()) == 1


def test_image_folder_needs_two_matching_classes(tmp_path):
    from fakes import image_folder

    from augworth.data import load_dataset

    one = image_folder(tmp_path / "one", classes=("ant",))
    with pytest.raises(ValueError, match="1 class folder.*at least 2"):
        load_dataset("imagefolder", data_path=str(one), image_size=16)
    two = image_folder(tmp_path / "two", classes=("ant", "bee"))
    (two / "val" / "bee").rename(two / "val" / "wasp")
    with pytest.raises(ValueError, match=r"different classes \(only in train: \['bee'\]; only in val: \['wasp'\]\)"):
        load_dataset("imagefolder", data_path=str(two), image_size=16)


def test_changed_user_data_changes_the_cache_key(tmp_path):
    """The key of a result on a user's folder follows the folder's contents, not its path."""
    from fakes import image_folder

    from augworth.experiments import cache as c

    folder = image_folder(tmp_path / "data", classes=("ant", "bee"))
    params = {"dataset": "imagefolder", "data_path": str(folder), "n_train": 4}
    before = c.cache_key("train_cell", 2, params)
    assert c.cache_key("train_cell", 2, params) == before
    (folder / "train" / "wasp").mkdir()
    (folder / "train" / "wasp" / "0.png").write_bytes((folder / "train" / "ant").glob("*").__next__().read_bytes())
    c.data_fingerprint.cache_clear()
    assert c.cache_key("train_cell", 2, params) != before
    assert c.cache_key("train_cell", 2, {"dataset": "fashion_mnist", "data_path": None}) == \
        c.cache_key("train_cell", 2, {"dataset": "fashion_mnist", "data_path": None})


def _cli(*args, env=None):
    """The command line in a subprocess; asserts that a run that fails wrote nothing into the
    results cache or the book's chapters (a marker file and the files newer than it)."""
    import time

    watched = [Path(os.environ["AUGWORTH_CACHE"]), paths.CHAPTERS]
    since = time.time()
    time.sleep(0.01)
    done = subprocess.run([sys.executable, "-m", "augworth", *args], capture_output=True, text=True,
                          cwd=paths.ROOT, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        newer = [p for d in watched if d.is_dir() for p in d.rglob("*") if p.is_file() and p.stat().st_mtime > since]
        assert newer == [], f"a failed run wrote {newer}"
    return done


def test_a_device_that_is_not_here_names_where_it_was_asked_for():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    from augworth import runtime

    with pytest.raises(ConfigError, match="parameter 'device' = 'cuda' asks for CUDA, which is not available"):
        runtime.resolve_device("cuda")
    done = _cli("run", "data", "--profile", "smoke", env={"AUGWORTH_DEVICE": "cuda:1"})
    assert done.returncode == 2 and "environment variable AUGWORTH_DEVICE = 'cuda:1'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("var", ["AUGWORTH_DATA", "AUGWORTH_CACHE"])
def test_an_unusable_folder_variable_is_named(tmp_path, var):
    (tmp_path / "a-file").write_text("x")
    marker = tmp_path / "marker"
    marker.touch()
    done = _cli("run", "data", "--profile", "smoke", "--force", env={var: str(tmp_path / "a-file" / "sub")})
    assert done.returncode == 3 and f"{var}=" in done.stderr and "is a file" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    newer = [p for p in tmp_path.rglob("*") if p.stat().st_mtime > marker.stat().st_mtime]
    assert newer == []  # nothing partial written


def test_data_chapter_sizes_larger_than_the_data_name_the_parameter():
    done = _cli("run", "data", "--profile", "smoke", "--set", "subset_sizes=[100,99999]")
    assert done.returncode == 2 and "parameter 'subset_sizes'" in done.stderr and "99999" in done.stderr
    done = _cli("run", "data", "--profile", "smoke", "--set", "val_size=70000")
    assert done.returncode == 2 and "parameter 'val_size'" in done.stderr


@pytest.mark.parametrize("var,value", [("AUGWORTH_WORKERS", "abc"), ("AUGWORTH_WORKERS", "0"), ("AUGWORTH_PACK", "x"),
                                       ("AUGWORTH_EXECUTOR", "ray")])
def test_bad_executor_variables_are_named(var, value):
    done = _cli("sweep", "--set", "n_train=100", "--set", "epochs=1", "--set", "width=4",
                env={var: value, **({"AUGWORTH_EXECUTOR": "packed"} if var == "AUGWORTH_PACK" else {})})
    assert done.returncode == 2 and var in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
