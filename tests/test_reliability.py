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


WRONG_SHAPES = {
    "truncated": None, "garbage": b"{not json", "empty": b"", "binary": b"\xff\xfe\x00\x81",
    "a-list": b"[1, 2]", "no-result": {"meta": {}},
    "fields-of-nothing": {"meta": {}, "result": {"foo": 1}},  # valid JSON, the wrong fields: crashed every run
    "meta-not-a-dict": {"meta": [1], "result": {"square": 4}},
    "other-key": {"meta": {"key": "x" * 24, "runner": "e"}, "result": {}},
    "other-runner": "runner",
    "edited-result": "result",
    "result-renamed": "rename",
}


@pytest.mark.parametrize("damage", list(WRONG_SHAPES))
def test_a_damaged_cache_entry_is_moved_aside_and_recomputed(tmp_path, damage):
    from augworth.experiments.cache import FORMAT

    cache = ResultsCache(tmp_path, read_only=[])
    cells = expand_grid({"x": [2, 3]})
    run_sweep(echo_cell, cells, name="e", version=1, cache=cache)
    victim = sorted((tmp_path / "e").glob("*.json"))[0]
    text, entry, bad = victim.read_text(), json.loads(victim.read_text()), WRONG_SHAPES[damage]
    if bad == "runner":
        entry["meta"]["runner"] = "other"
    elif bad == "result":
        entry["result"]["square"] += 1
    elif bad == "rename":
        entry["result"] = {"foo": v for v in entry["result"].values()}
    elif isinstance(bad, dict):
        entry = {"format": FORMAT, **bad}
    victim.write_bytes(text[: len(text) // 2].encode() if bad is None else bad if isinstance(bad, bytes)
                       else json.dumps(entry).encode())
    with pytest.warns(UserWarning, match=r"results-cache entry .*damaged.*moved aside"):
        again = run_sweep(echo_cell, cells, name="e", version=1, cache=cache)
    assert again.computed == 1 and [r["square"] for r in again.results] == [4, 9]  # correct results
    assert victim.is_file() and victim.with_name(victim.name + ".corrupt").is_file()
    assert run_sweep(echo_cell, cells, name="e", version=1, cache=cache).computed == 0  # healed


def test_an_entry_of_an_older_layout_is_recomputed_quietly(tmp_path, recwarn):
    """The issue's entry, {"format":1,"meta":{},"result":{"foo":1}}: an older layout is a miss."""
    cache = ResultsCache(tmp_path, read_only=[])
    cells = expand_grid({"x": [2]})
    run_sweep(echo_cell, cells, name="e", version=1, cache=cache)
    victim = next((tmp_path / "e").glob("*.json"))
    victim.write_text(json.dumps({"format": 1, "meta": {}, "result": {"foo": 1}}))
    again = run_sweep(echo_cell, cells, name="e", version=1, cache=cache)
    assert again.computed == 1 and again.results[0]["square"] == 4
    assert json.loads(victim.read_text())["result"]["square"] == 4  # overwritten by the recomputed result


def test_a_damaged_entry_never_crashes_a_chapter_run():
    """`python -m augworth run data` over an entry of the wrong fields: one warning, recomputed."""
    done = _cli("run", "data", "--profile", "smoke")
    assert done.returncode == 0, done.stderr
    entry = next(Path(os.environ["AUGWORTH_CACHE"]).rglob("data/*.json"))
    from augworth.experiments.cache import FORMAT

    entry.write_text(json.dumps({"format": FORMAT, "meta": {}, "result": {"foo": 1}}))
    done = _cli("run", "data", "--profile", "smoke")
    assert done.returncode == 0 and "damaged" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert entry.with_name(entry.name + ".corrupt").is_file()


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


# -- every file the package reads names itself when it is broken ---------------------------------

def _one_line_naming(err: Exception, path: Path, *words: str) -> None:
    text = str(err)
    assert "\n" not in text and str(path) in text, text
    for w in words:
        assert w in text, text


def test_a_truncated_cifar_archive_names_itself_and_extracts_nothing(tmp_path):
    from fakes import cifar_archive

    from augworth.data import load_dataset
    from augworth.io import BrokenFileError

    cifar_archive(tmp_path, "cifar10")
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(BrokenFileError) as err:
        load_dataset("cifar10", root=tmp_path)
    _one_line_naming(err.value, archive, "truncated", "nothing was extracted", "download it again")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar-10-python.tar.gz"]  # nothing half-extracted
    with pytest.raises(BrokenFileError, match="truncated"):  # and the second try says the same
        load_dataset("cifar10", root=tmp_path)


def test_a_half_extracted_cifar_folder_is_extracted_again_or_named(tmp_path):
    from fakes import cifar_archive

    from augworth.data import load_dataset
    from augworth.io import BrokenFileError

    cifar_archive(tmp_path, "cifar10")
    load_dataset("cifar10", root=tmp_path)
    folder = tmp_path / "cifar-10-batches-py"
    (folder / "batches.meta").unlink()  # what an interrupted extraction of an older version left
    assert len(load_dataset("cifar10", root=tmp_path).classes) == 10  # the archive is there: extracted again
    (folder / "data_batch_3").unlink()
    (tmp_path / "cifar-10-python.tar.gz").unlink()
    with pytest.raises(BrokenFileError) as err:
        load_dataset("cifar10", root=tmp_path)
    _one_line_naming(err.value, folder, "data_batch_3", "cifar-10-python.tar.gz")


def test_a_damaged_cifar_batch_names_itself(tmp_path):
    from fakes import cifar_archive

    from augworth.data import load_dataset
    from augworth.io import BrokenFileError

    cifar_archive(tmp_path, "cifar10")
    load_dataset("cifar10", root=tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:100])
    with pytest.raises(BrokenFileError) as err:
        load_dataset("cifar10", root=tmp_path)
    _one_line_naming(err.value, batch, "truncated", "cifar-10-python.tar.gz")


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
@pytest.mark.parametrize("cut", [0.5, 0.001], ids=["half", "header"])
def test_a_truncated_idx_file_names_itself(tmp_path, gz, cut):
    from fakes import idx_set

    from augworth.data import load_dataset
    from augworth.io import BrokenFileError

    raw = tmp_path / "FashionMNIST" / "raw"
    idx_set(raw, gz=gz)
    victim = raw / ("train-images-idx3-ubyte" + (".gz" if gz else ""))
    victim.write_bytes(victim.read_bytes()[: max(3, int(victim.stat().st_size * cut))])
    with pytest.raises(BrokenFileError) as err:
        load_dataset("fashion_mnist", root=tmp_path)
    _one_line_naming(err.value, victim, "python -m augworth data fetch fashion_mnist")


@pytest.mark.parametrize("damage", ["truncated", "not-an-image", "empty"])
def test_an_image_that_does_not_decode_names_itself(tmp_path, damage):
    from fakes import image_folder

    from augworth.data import load_dataset
    from augworth.io import BrokenFileError

    folder = image_folder(tmp_path / "data", classes=("ant", "bee"))
    victim = folder / "train" / "bee" / "img1.png"
    data = victim.read_bytes()
    victim.write_bytes({"truncated": data[: len(data) // 2], "not-an-image": b"hello", "empty": b""}[damage])
    with pytest.raises(BrokenFileError) as err:
        load_dataset("imagefolder", data_path=str(folder), image_size=16)
    _one_line_naming(err.value, victim, "does not decode", "remove it or replace it")
    with pytest.raises(BrokenFileError):  # at the images' own size too
        load_dataset("imagefolder", data_path=str(folder), image_size=0)


def test_a_broken_data_file_is_one_line_from_the_command_line(tmp_path):
    from fakes import image_folder

    folder = image_folder(tmp_path / "data", classes=("ant", "bee"), per_class=6)
    (folder / "train" / "ant" / "img0.png").write_bytes(b"oops")
    done = _cli("worth", "--data", str(folder), "--augment", "flip", "--no-report", "--out", str(tmp_path / "r"))
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "img0.png does not decode" in lines[-1] and "Traceback" not in done.stderr


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EROFS"])
def test_a_full_or_read_only_disk_names_the_file_and_keeps_nothing(tmp_path, monkeypatch, errno_name):
    import errno

    from augworth import io

    def fail(fd):
        raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))

    monkeypatch.setattr(io.os, "fsync", fail)
    cache = ResultsCache(tmp_path / "cache", read_only=[])
    with pytest.raises(io.WriteError) as err:
        cache.put("r", "k" * 24, {"a": 1}, {})
    text = str(err.value)
    assert str(tmp_path / "cache" / "r") in text and "AUGWORTH_CACHE" in text and "\n" not in text
    assert ("free space" if errno_name == "ENOSPC" else "read-only") in text
    assert [p.name for p in (tmp_path / "cache" / "r").iterdir()] == []  # no temporary file left


def test_a_full_disk_is_one_line_from_the_command_line(tmp_path):
    """The results cache on a full disk: a chapter run fails with one line naming the file."""
    script = ("import errno, os, sys\nfrom augworth import io\n"
              "def full(fd): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n"
              "io.os.fsync = full\nfrom augworth.__main__ import main\nsys.exit(main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", script, "run", "data", "--profile", "smoke"], capture_output=True,
                          text=True, cwd=paths.ROOT, env={**os.environ, "AUGWORTH_CACHE": str(tmp_path / "cache")})
    assert done.returncode == 3 and done.stderr.startswith("error: cannot write"), done.stderr
    assert "No space left on device" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


# -- results on user data are keyed by what the files are; report folders never collide ----------

def test_class_folders_that_are_links_are_read_and_fingerprinted_through(tmp_path):
    """Deleting half of a linked class's images changes the key (it used to fingerprint 0 files
    and answer from the cache with the old counts)."""
    from fakes import image_folder

    from augworth.data import load_dataset
    from augworth.experiments import cache as c

    real = image_folder(tmp_path / "real", classes=("ant", "bee"), per_class=4)
    linked = tmp_path / "linked"
    (linked / "train").mkdir(parents=True)
    for split in ("train", "val"):
        for cls in ("ant", "bee"):
            (linked / split).mkdir(exist_ok=True)
            (linked / split / cls).symlink_to(real / split / cls, target_is_directory=True)
    (real / "val" / "ant" / "loop").symlink_to(linked / "val" / "ant", target_is_directory=True)  # read once
    ds = load_dataset("imagefolder", data_path=str(linked), image_size=16)
    assert len(ds.train_y) == 8 and len(ds.test_y) == 8
    params = {"dataset": "imagefolder", "data_path": str(linked)}
    c.data_fingerprint.cache_clear()
    before = c.cache_key("train_cell", 2, params)
    for img in sorted((real / "train" / "bee").glob("*.png"))[:2]:
        img.unlink()
    c.data_fingerprint.cache_clear()
    assert c.cache_key("train_cell", 2, params) != before
    assert len(load_dataset("imagefolder", data_path=str(linked), image_size=16).train_y) == 6


def test_report_folders_never_collide():
    from augworth import __main__ as cli

    def folder(data, augment="crop(2)+flip", **more):
        request = config.WorthParams.from_mapping({"dataset": "imagefolder", "data_path": f"/d/{data}",
                                                   "augment": augment, **more})
        return cli.report_folder(data, request)

    long = "a-rather-long-folder-name-of-someones-own-images-2026"
    names = [folder(long, "crop(2)+flip"), folder(long, "trivialaugment"), folder("my data"), folder("my_data"),
             folder("my_data", minutes=2.0)]
    assert len(set(names)) == len(names), names
    assert folder("my_data") == folder("my_data")  # the same command resumes in its folder
    assert all(len(n) <= 57 for n in names) and folder("x").startswith("x-crop_2_flip-vs-none-")


@pytest.mark.parametrize("chapter,override,name", [
    ("exchange_rate", "sizes=[40,60,80,99999]", "sizes"),
    ("class_level", "n_train=70000", "n_train"),
    ("exchange_rate", "ood_images=20000", "ood_images"),
    ("sample_complexity", "lin_n=60000", "lin_n"),
    ("flatness", "val_size=60000", "val_size"),
])
def test_a_chapter_checks_its_sizes_against_the_data_before_training(chapter, override, name):
    from augworth.experiments import run

    p = config.load_params(chapter, "smoke", config.parse_overrides([override]))
    with pytest.raises(ConfigError, match=rf"parameter '{name}' of notebook '{chapter}' .*(training|test) images"):
        run(chapter, p)
    cache = Path(os.environ["AUGWORTH_CACHE"])
    assert [f for f in cache.rglob("*") if f.is_file()] == []  # nothing trained, nothing stored


def test_worth_errors_name_the_option_the_user_gave(tmp_path):
    done = _cli("worth", "--data", "fashion_mnist", "--augment", "crop(2)", "--resize", "1", "--no-report",
                "--out", str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith("error: --resize = 1 is too small"), done.stderr
    done = _cli("worth", "--data", "fashion_mnist", "--augment", "foo(3)", "--no-report", "--out", str(tmp_path))
    assert done.returncode == 2 and done.stderr.startswith("error: --augment (make: AUG) = 'foo(3)'"), done.stderr


def test_a_comma_inside_a_spec_shows_the_quoting_that_works():
    with pytest.raises(ConfigError, match=r"""split it into \['rrc\(0.5', '1.0\)', 'flip'\].*augments=\["rrc\(0.5,1.0\)", flip\]"""):
        config.parse_overrides(["augments=[rrc(0.5,1.0), flip]"])
    assert config.parse_overrides(['augments=["rrc(0.5,1.0)", flip]']) == {"augments": ["rrc(0.5,1.0)", "flip"]}
    with pytest.raises(ConfigError, match="not valid YAML.*quote each spec"):
        config.parse_overrides(["augments=[rrc(0.5"])


def test_make_names_its_own_variable_in_a_usage_error():
    done = _cli("replicate", "--seed-offset", "x", env={"AUGWORTH_FROM_MAKE": "1"})
    assert done.returncode == 2 and done.stderr.startswith("error: make variable OFFSET (passed as --seed-offset)")
    assert len(done.stderr.strip().splitlines()) == 1


# -- more bad inputs: each one line, naming the culprit -----------------------------------------

@pytest.mark.parametrize("args,env,expect", [
    (("sweep", "--set", "n_train=100", "--set", "epochs=1", "--set", "width=4"), {"AUGWORTH_DEADLINE": "abc"},
     "AUGWORTH_DEADLINE = 'abc' must be a Unix time"),
    (("sweep", "--set", "n_train=100", "--set", "epochs=1", "--set", "width=4"),
     {"AUGWORTH_EXECUTOR": "slurm", "AUGWORTH_SLURM": "{a: ["}, "AUGWORTH_SLURM = '{a: [' must be a YAML mapping"),
    (("data", "fetch", "foo"), {}, "data set 'foo' cannot be fetched"),
    (("run", "data", "--profile", "smoke", "--set", "seeds="), {}, "parameter 'seeds' of notebook 'data' = None"),
    (("plan", "--profile", "nope"), {}, "argument --profile: invalid choice: 'nope'"),
], ids=["deadline", "slurm", "fetch", "empty-list", "profile"])
def test_more_bad_inputs_are_one_named_line(args, env, expect):
    done = _cli(*args, env=env)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and expect in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_file_where_the_cache_needs_a_folder_is_named():
    runner_dir = Path(os.environ["AUGWORTH_CACHE"]) / "results" / "data"
    runner_dir.parent.mkdir(parents=True, exist_ok=True)
    runner_dir.write_text("")
    done = _cli("run", "data", "--profile", "smoke")
    assert done.returncode == 3 and "a file stands where a folder must be" in done.stderr, done.stderr
    assert str(runner_dir) in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_broken_profile_file_names_its_line(tmp_path, monkeypatch):
    (tmp_path / "smoke").mkdir()
    (tmp_path / "smoke" / "data.yaml").write_text("seeds: [0, 1]\nval_size: [1,\n")
    monkeypatch.setattr(paths, "PARAMS", tmp_path)
    with pytest.raises(ConfigError, match=r"params/smoke/data.yaml is not valid YAML \(line 3, column 1\).*git checkout"):
        config.load_params("data", "smoke")


def test_damaged_bookkeeping_files_heal(tmp_path):
    """A damaged claim record is left out with a warning; a damaged executed notebook is
    executed again (neither crashes a run)."""
    from augworth import claims, pipeline

    (tmp_path / "A1.json").write_text('{"claim": "A1", "verd')
    with pytest.warns(UserWarning, match=r"claim record .*A1.json is damaged.*make nb"):
        assert claims.load_records(tmp_path) == {}
    (tmp_path / "data.ipynb").write_text('{"cells": [')
    assert pipeline.execute("data", "smoke", out_dir=tmp_path).status == "executed"
    assert pipeline.execute("data", "smoke", out_dir=tmp_path).status == "up to date"
