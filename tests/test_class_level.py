"""Per-class statistics of paper B (B1-B4) on synthetic data with known answers, the label
structure (fine-grained groups, CIFAR-100 superclasses, ImageNet-ReaL)."""

import json

import numpy as np
import pytest

from augworth.config import ClassLevelParams, ConfigError
from augworth.data.labels import CIFAR100_FINE_TO_COARSE, FINE_GROUPS, group_of, load_real_labels, real_labels_for
from augworth.analysis import class_level as cla
from augworth.experiments import class_level as cl
from augworth.metrics import classwise


def test_holm_by_hand():
    # sorted: 0.01*3 = 0.03; 0.03*2 = 0.06; 0.04*1 = 0.04 -> monotone: 0.06
    np.testing.assert_allclose(classwise.holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])
    np.testing.assert_allclose(classwise.holm([0.5, 0.9]), [1.0, 1.0])


def _sweep(drop: float, seeds: int = 5, noise: float = 0.01, seed: int = 0):
    """3 strengths, 4 classes: 'mild' is best on average; class 2 is best at 'none' and loses
    ``drop`` at 'mild'; seeds add independent noise."""
    rng = np.random.default_rng(seed)
    base = {"none": [0.80, 0.80, 0.90, 0.80], "mild": [0.86, 0.86, 0.90 - drop, 0.86], "strong": [0.83, 0.83, 0.70, 0.83]}
    return {s: np.asarray(v) + noise * rng.standard_normal((seeds, 4)) for s, v in base.items()}


def test_a_planted_class_drop_is_found():
    out = classwise.class_drops(_sweep(drop=0.10))
    rows = {r["class"]: r for r in out["classes"]}
    assert out["optimum"] == "mild"
    assert rows[2]["hurt"] and rows[2]["best_strength"] == "none"
    assert rows[2]["drop"] == pytest.approx(0.10, abs=0.02) and rows[2]["drop_lo"] > 0.05
    assert not any(rows[c]["hurt"] for c in (0, 1, 3))


def test_no_drop_is_found_when_there_is_none():
    out = classwise.class_drops(_sweep(drop=0.0, noise=0.01))
    assert out["optimum"] == "mild"
    assert not any(r["hurt"] for r in out["classes"])
    # and over many noise draws the family-wise error stays near alpha
    false = sum(any(r["hurt"] for r in classwise.class_drops(_sweep(0.0, seed=s))["classes"]) for s in range(40))
    assert false <= 6


def test_group_forgiven_accuracy_and_confusion_flow_by_hand():
    conf = np.array([[6, 3, 1], [2, 8, 0], [0, 0, 10]])
    np.testing.assert_allclose(classwise.group_forgiven_accuracy(conf, [(0, 1)]), [0.9, 1.0, 1.0])
    np.testing.assert_allclose(classwise.group_forgiven_accuracy(conf, []), [0.6, 0.8, 1.0])
    np.testing.assert_allclose(classwise.confusion_flow(conf, 0), [0.6, 0.3, 0.1])
    np.testing.assert_allclose(classwise.confusion_flow(conf[None], 1, [0])[0], [0.2])


def test_fine_grained_groups_and_cifar100_superclasses():
    assert FINE_GROUPS["fashion_mnist"] == ((0, 2, 4, 6),)
    assert group_of("fashion_mnist", 6) == (0, 2, 4, 6) and group_of("fashion_mnist", 1) == (1,)
    groups = FINE_GROUPS["cifar100"]
    assert len(groups) == 20 and all(len(g) == 5 for g in groups)
    assert sorted(c for g in groups for c in g) == list(range(100))
    # spot checks from the data set's own meta data: apple (0) is fruit and vegetables (4),
    # aquarium fish (1) fish (1), maple tree (47) trees (17), tractor (89) vehicles 2 (19)
    assert [CIFAR100_FINE_TO_COARSE[i] for i in (0, 1, 47, 89)] == [4, 1, 17, 19]


def test_real_labels_loader_and_accuracy_on_a_synthetic_case(tmp_path):
    path = tmp_path / "real.json"
    path.write_text(json.dumps([[0], [1, 2], [], [2], [0, 1]]))
    labels = load_real_labels(path)
    assert labels["ILSVRC2012_val_00000002.JPEG"] == [1, 2] and len(labels) == 5
    files = [f"val/n0/ILSVRC2012_val_0000000{i}.JPEG" for i in (1, 2, 3, 4, 5)]
    sets = real_labels_for(files, labels)
    original = [0, 1, 1, 2, 0]  # the single original label of each image
    pred = [0, 2, 1, 1, 1]
    r = classwise.real_accuracy(pred, sets, original, num_classes=3)
    # image 3 has no valid label: excluded; hits by ReaL: [T, T, -, F, T] -> 3/4
    assert r["excluded"] == 1 and r["real_accuracy"] == pytest.approx(0.75)
    assert r["original_accuracy"] == pytest.approx(0.25)  # only image 1 matches its original label
    np.testing.assert_allclose(r["per_class_real"], [1.0, 1.0, 0.0])  # class 0: images 1, 5; class 1: image 2
    with pytest.raises(KeyError, match="not an ImageNet validation file"):
        real_labels_for(["foo.jpg"], labels)


def test_choice_on_validation_and_b4_table():
    val = _sweep(drop=0.10)
    choice = cl.choose_on_validation(val, min_drop=0.02, conditional="own-best")
    assert choice == {"optimum": "mild", "hurt": {2: "none"}}
    assert cl.choose_on_validation(val, 0.02, "none")["hurt"] == {2: "none"}
    assert cl.choose_on_validation(val, 0.5, "own-best")["hurt"] == {}
    # a validation drop as large but within the seeds' noise chooses nothing (the choice must replicate)
    noisy = _sweep(drop=0.03, noise=0.06, seed=0)
    mean = {s: v.mean(0) for s, v in noisy.items()}
    assert max(mean[s][2] for s in noisy) - mean["mild"][2] >= 0.02
    assert cl.choose_on_validation(noisy, 0.02, "own-best")["hurt"] == {}
    # B4 table: the conditional runs recover class 2 at an equal average
    cells = [{"strength": "mild", "seed": s, "test_per_class": [0.86, 0.86, 0.80, 0.86], "test_acc": 0.845}
             for s in range(3)]
    b4 = [{"seed": s, "test_per_class": [0.86, 0.86, 0.88, 0.86], "test_acc": 0.865} for s in range(3)]
    r = {"cells": cells, "b4": {"class": {"policy": {"2": "none"}, "runs": b4}}, "choice": {"optimum": "mild"}}
    t, info = cla.b4_table(r, "class")
    assert cla.b4_table(r, "group")[1] == {}  # that scope was not run: nothing to show
    assert info["hurt"] == [2] and info["gain"].estimate == pytest.approx(0.08)
    assert info["avg_diff"].estimate == pytest.approx(0.02) and len(t) == 3
    # group scope: the hurt class's fine-grained partners share its policy (one strength for all)
    val = {s: np.tile(v, (1, 3))[:, :10] for s, v in _sweep(drop=0.10).items()}  # 10 classes
    policy = cl.group_policy(val, {"optimum": "mild", "hurt": {2: "none"}}, "fashion_mnist", "own-best")
    assert set(policy) == {0, 2, 4, 6} and len(set(policy.values())) == 1


def test_pair_bias_and_its_change():
    # class 0 sends 10% -> 30% of its images to class 1 as the crop gets stronger; 1 -> 0 stays 5%
    def cm(ab):
        return np.array([[100 - ab, ab], [5, 95]])
    conf = {"none": np.stack([cm(10)] * 3), "0.5": np.stack([cm(20)] * 3), "0.08": np.stack([cm(30)] * 3)}
    t = cla.pair_bias(conf, 0, 1)
    assert t[t.strength == "0.08"].bias.iloc[0] == pytest.approx(0.30 - 0.05)
    mean, lo, hi = cla.b3_effect(conf, 0, 1)
    assert mean == pytest.approx(0.20) and lo == pytest.approx(0.20)


def test_class_level_params_errors():
    with pytest.raises(ConfigError, match="parameter 'seeds'.*at least 2 seeds"):
        ClassLevelParams(seeds=(0,))
    with pytest.raises(ConfigError, match="parameter 'scales'.*out of range"):
        ClassLevelParams(scales=(0.0, 0.5))
    assert cl.strengths(ClassLevelParams(scales=(0.08, 1.0, 0.5))) == ["none", "1", "0.5", "0.08"]
    assert cl.spec_of("0.08") == "rrc(0.08)" and cl.spec_of("none") == "none"


def test_class_level_runs_on_a_fake_cifar10(tmp_path, monkeypatch):
    """The chapter's runner and analysis on CIFAR-10's real on-disk format (3 x 32 x 32, its own
    fine-grained pairs): the code path a user with CIFAR takes."""
    from augworth.experiments import run

    from fakes import cifar_archive

    cifar_archive(tmp_path, "cifar10", per_batch=60)
    monkeypatch.setenv("AUGWORTH_DATA", str(tmp_path))
    p = ClassLevelParams(dataset="cifar10", val_size=100, scales=(0.5,), seeds=(0, 1), n_train=100, epochs=1,
                         width=4, min_drop=0.0, device="cpu")
    r = run("class_level", p).value
    assert r["strengths"] == ["none", "0.5"] and len(r["cells"]) == 4
    assert np.asarray(r["cells"][0]["test_confusion"]).shape == (10, 10)
    a = cla.analyse(r, "cifar10")
    assert a["groups"] == ((3, 5), (1, 9)) and len(a["b1"]) == 10


def test_b3_pair_is_chosen_on_validation_and_oriented():
    # on validation, class 1 sends more and more of its images to class 0 as the crop gets stronger
    def cm(x):
        return np.array([[90, 5, 5], [x, 100 - x - 2, 2], [3, 3, 94]])
    cells = [{"strength": s, "seed": seed, "val_confusion": cm(x)}
             for s, x in (("none", 5), ("0.5", 15), ("0.08", 30)) for seed in (0, 1)]
    r = {"strengths": ["none", "0.5", "0.08"], "cells": cells, "choice": {"optimum": "0.5", "hurt": {"1": "none"}}}
    assert cla.b3_pair(r) == (1, 0)
    r["choice"]["hurt"] = {}  # no hurt class: every pair is a candidate, same answer
    assert cla.b3_pair(r) == (1, 0)


def test_b4_longer_cells_are_the_runners_cells_trained_longer(tmp_path):
    """B4's own convergence runs (experiments.b4_longer) are the very cells the runner trained for
    the read scope at the budget, at twice the epochs, on the convergence seeds it tests on; read
    back from the cache without computing."""
    from augworth.experiments import b4_longer
    from augworth.experiments.cache import ResultsCache, cache_key
    from augworth.experiments.cells import cell_fields, longer
    from augworth.experiments.sweep import code_version
    from augworth.experiments.training import train_cell

    p = ClassLevelParams.from_mapping({"seeds": [0, 1, 10, 11, 12], "choice_seeds": [0, 1],
                                       "convergence_seeds": [1, 10, 11]})
    value = {"choice_seeds": [0, 1], "choice": {"optimum": "1", "hurt": {"2": "rrc(0.08)"}},
             "b4": {"class": {"policy": {"2": "rrc(0.08)"}, "runs": []},
                    "group": {"policy": {"6": "rrc(0.08)", "0": "rrc(0.08)", "4": "rrc(0.08)", "2": "rrc(0.08)"},
                              "runs": []}}}
    todo = b4_longer.longer_cells(p, value)
    assert [(k, c.seed) for k, c in todo] == [(2, 10), (2, 11)]  # not the choice seed 1
    runner = cl.b4_cells(p, "rrc(1)", ["0=rrc(0.08)", "2=rrc(0.08)", "4=rrc(0.08)", "6=rrc(0.08)"])
    assert todo[0][1] == longer(next(c for c in runner if c.seed == 10), 2) and todo[0][1].epochs == 2 * p.epochs
    assert b4_longer.longer_cells(p, {**value, "b4": {}}) == []
    cache = ResultsCache(tmp_path, read_only=[])
    assert b4_longer.stored_runs(p, value, cache)["runs"] == []
    cell = todo[1][1]
    cache.put("train_cell", cache_key("train_cell", code_version(train_cell), cell_fields(cell)),
              {"test_acc": 0.9, "test_per_class": [0.9] * 10, "val_acc": 0.9, "val_per_class": [0.9] * 10},
              {"runner": "train_cell"})
    got = b4_longer.stored_runs(p, value, cache)
    assert got["scope"] == "group" and got["expected"] == [10, 11]
    assert [(r["seed"], r["factor"], r["test_acc"]) for r in got["runs"]] == [(11, 2, 0.9)]
