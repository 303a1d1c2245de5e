import dataclasses

import pytest

from augworth import config
from augworth.config import ConfigError, DataParams, Params, param


def test_every_notebook_has_valid_params_in_every_profile():
    for name in config.NOTEBOOK_PARAMS:
        for profile in config.PROFILES:
            p = config.load_params(name, profile)
            assert isinstance(p, config.params_class(name))


def test_profiles_differ_and_overrides_win():
    smoke, quick = config.load_params("data", "smoke"), config.load_params("data", "quick")
    assert smoke.subset_sizes != quick.subset_sizes
    p = config.load_params("data", "quick", {"seeds": [7], "n_per_class": 2})
    assert p.seeds == (7,) and p.n_per_class == 2 and p.subset_sizes == quick.subset_sizes


def test_unknown_parameter_names_it_and_suggests():
    with pytest.raises(ConfigError) as err:
        config.load_params("data", "quick", {"seed": 3})
    msg = str(err.value)
    assert "unknown parameter 'seed'" in msg and "Did you mean 'seeds'" in msg
    assert "the command line: P= / --set" in msg and "data.yaml" not in msg  # where it really came from


def test_out_of_range_names_parameter_value_and_range():
    with pytest.raises(ConfigError) as err:
        DataParams(n_per_class=100)
    msg = str(err.value)
    assert msg == ("parameter 'n_per_class' of notebook 'data' = 100 is out of range: "
                   "allowed is an integer, in [1, 32]")


def test_wrong_type_and_bad_choice():
    with pytest.raises(ConfigError, match=r"parameter 'val_size' .* = 'many' has the wrong type: allowed is an integer"):
        DataParams(val_size="many")
    with pytest.raises(ConfigError, match=r"'n_per_class' .* = 2\.5 has the wrong type"):
        DataParams(n_per_class=2.5)
    with pytest.raises(ConfigError, match=r"parameter 'dataset' .* = 'imagenet' is not allowed: .*'fashion_mnist'"):
        DataParams(dataset="imagenet")
    with pytest.raises(ConfigError, match=r"'seeds' .* = \[0, -1\] is out of range"):
        DataParams(seeds=[0, -1])
    with pytest.raises(ConfigError, match="has the wrong type"):
        DataParams(seeds=True)  # a bool is not an int, and not a list of them


def test_cross_field_checks():
    with pytest.raises(ConfigError, match="'data_path' .* must name a folder when dataset is 'imagefolder'"):
        DataParams(dataset="imagefolder")
    with pytest.raises(ConfigError, match="'device' .* = 'gpu' is not a device"):
        DataParams(device="gpu")
    assert DataParams(device="cuda:1").device == "cuda:1"


def test_coercion_is_lossless():
    p = DataParams(n_per_class=4.0, subset_sizes=[10, 20])
    assert p.n_per_class == 4 and isinstance(p.n_per_class, int)
    assert p.subset_sizes == (10, 20)
    assert p.to_dict()["subset_sizes"] == [10, 20]


def test_parse_overrides_yaml_values():
    assert config.parse_overrides(["a=3", "b=0.5", "c=true", "d=[1,2]", "e=cifar10", "f=null"]) == {
        "a": 3, "b": 0.5, "c": True, "d": [1, 2], "e": "cifar10", "f": None}
    with pytest.raises(ConfigError, match="not of the form key=value"):
        config.parse_overrides(["seeds"])


def test_unknown_profile_and_notebook():
    with pytest.raises(ConfigError, match="unknown profile 'huge': allowed profiles are smoke, quick, book, full"):
        config.load_params("data", "huge")
    with pytest.raises(ConfigError, match="unknown notebook 'nope'"):
        config.load_params("nope")


def test_float_params_accept_ints_and_reject_strings():
    @dataclasses.dataclass(frozen=True)
    class P(Params):
        notebook = "t"
        lr: float = param(0.1, "learning rate", range=(0, 10))
        name: str = param("x", "a name", choices=("x", "y"))

    assert P(lr=1).lr == 1.0 and isinstance(P(lr=1).lr, float)
    with pytest.raises(ConfigError, match="'lr' of notebook 't' = '0.1' has the wrong type: allowed is a number"):
        P(lr="0.1")
    with pytest.raises(ConfigError, match=r"'lr' .* = 11 is out of range: allowed is a number, in \[0, 10\]"):
        P(lr=11)


def test_sizes_by_profile_lists_image_counts():
    rows = config.sizes_by_profile()
    got = {(r["profile"], r["parameter"]): r["value"] for r in rows if r["notebook"] == "data"}
    assert got[("smoke", "subset_sizes")] == config.load_params("data", "smoke").to_dict()["subset_sizes"]
    assert ("full", "val_size") in got


def test_replication_moves_every_seed_to_a_disjoint_set():
    from augworth import pipeline

    k = pipeline.disjoint_offset("quick")
    quick = config.load_params("class_level", "quick").seeds
    moved = pipeline.shifted_seeds("class_level", "quick", k)
    assert moved == {"seeds": [s + k for s in quick]} and not set(moved["seeds"]) & set(quick)
    sc = pipeline.shifted_seeds("sample_complexity", "quick", k)
    p = config.load_params("sample_complexity", "quick")
    assert sc == {"seed": p.seed + k, "verdict_seeds": [s + k for s in p.verdict_seeds]}
    config.load_params("sample_complexity", "quick", sc)  # still valid: the main seed is not a verdict seed


def test_the_default_replication_offset_makes_every_chapter_disjoint():
    from augworth import pipeline

    for profile in ("smoke", "quick"):
        offset = pipeline.disjoint_offset(profile)
        for name in pipeline.notebook_names():
            if name in pipeline.SUMMARY:
                continue
            now = config.load_params(name, profile).to_dict()
            moved = pipeline.shifted_seeds(name, profile, offset)
            for k, v in moved.items():
                new = set(v) if isinstance(v, list) else {v}
                every = {s for f in pipeline.SEED_FIELDS if f in now
                         for s in (now[f] if isinstance(now[f], list) else [now[f]])}
                assert not new & every, (profile, name, k)
        assert pipeline.disjoint_offset(profile) == 1 + max(
            s for n in pipeline.notebook_names() if n not in pipeline.SUMMARY
            for f in pipeline.SEED_FIELDS if f in config.load_params(n, profile).to_dict()
            for s in (lambda v: v if isinstance(v, list) else [v])(config.load_params(n, profile).to_dict()[f]))


def test_replicating_one_chapter_moves_its_seeds_as_far_as_replicating_all(monkeypatch):
    """A partial rerun (``replicate class_level``) must land on the seeds the full one used."""
    from pathlib import Path

    from augworth import pipeline

    seen = {}

    def fake_execute(name, profile, overrides, out_dir):
        seen[name] = overrides
        return pipeline.Outcome(name, "executed", 0.0, Path(out_dir) / f"{name}.ipynb")

    monkeypatch.setattr(pipeline, "execute", fake_execute)
    pipeline.replicate("quick", None, ["class_level"])
    one = seen["class_level"]["seeds"]
    pipeline.replicate("quick", None)
    assert seen["class_level"]["seeds"] == one
    assert min(one) == pipeline.disjoint_offset("quick") + min(config.load_params("class_level", "quick").seeds)


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_profile_yamls_hold_overrides_only(profile):
    """A profile's YAML states only what differs from the package's defaults, so the defaults in
    config/chapters.py are read in one place and a profile's file says what the profile changes."""
    import yaml

    from augworth import paths

    for name, cls in config.NOTEBOOK_PARAMS.items():
        f = paths.PARAMS / profile / f"{name}.yaml"
        given = yaml.safe_load(f.read_text()) or {} if f.is_file() else {}
        resolved, defaults = config.load_params(name, profile).to_dict(), cls().to_dict()
        restated = sorted(k for k in given if resolved[k] == defaults[k])
        assert not restated, f"{f} restates the defaults of {restated}"
