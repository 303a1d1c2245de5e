"""The cost planner counts what the runners train: FLOPs of the fast CNN by hand, images per
model by fit's rules, evaluation images from the sets the exchange cells really build."""

import pytest

from augworth.config import TrainCell, load_params
from augworth.experiments import plan


def test_fast_cnn_forward_flops_match_a_hand_count():
    # width 8, 28x28 grey, 10 classes: multiply-accumulates of every convolution and the head
    w = 8
    macs = (28 * 28 * w * 1 * 9            # stem, 1 -> w at 28x28
            + 28 * 28 * w * w * 9          # group 1 conv1 at 28x28 (then pooled to 14x14)
            + 14 * 14 * w * w * 9          # group 1 conv2
            + 14 * 14 * 2 * w * w * 9      # group 2 conv1 at 14x14 (then 7x7)
            + 7 * 7 * 2 * w * 2 * w * 9    # group 2 conv2
            + 7 * 7 * 4 * w * 2 * w * 9    # group 3 conv1 at 7x7 (then 3x3)
            + 3 * 3 * 4 * w * 4 * w * 9    # group 3 conv2
            + 4 * w * 10)                  # linear head
    assert plan.forward_flops("fast_cnn", w, 1, 28, 10) == 2 * macs


@pytest.mark.parametrize("cell, images", [
    ({"n_train": 1000, "epochs": 3, "batch_size": 128}, 3 * 7 * 128),    # 1000 // 128 = 7 full batches an epoch
    ({"n_train": 30, "steps": 300, "batch_size": 64}, 300 * 30),          # the batch is capped at n
    ({"n_train": 125, "steps": 0, "epochs": 2, "batch_size": 64, "fixed_copies": 4}, 2 * (500 // 64) * 64),
])
def test_training_images_follow_fits_rules(cell, images):
    assert plan.train_images(TrainCell.from_mapping({"dataset": "fashion_mnist", **cell})) == images


def test_exchange_models_and_evaluation_images_are_the_cells_sets():
    from augworth.experiments.exchange_rate import _eval_sets, cells

    p = load_params("exchange_rate", "smoke")
    todo = cells(p)
    models = plan.chapter_models("exchange_rate", p, test_images=10_000)
    assert len(models) == len(todo) and {kind for kind, _ in todo} >= {"main", "invariant", "fixed"}
    for (_, cell), model in zip(todo, models):
        assert model.cell == cell  # the plan counts the runner's own cells
        assert model.eval_images == 10_000 + sum(len(y) for _, y in _eval_sets(cell).values())
        assert model.passes == (2 if cell.invariance == "flip-average" else 1)


def test_profile_table_totals_and_minutes():
    table = plan.profile_table("smoke", ["class_level", "flatness"])
    assert list(table.chapter) == ["class_level", "flatness", "total"]
    assert table["TFLOP"].iloc[-1] == pytest.approx(table["TFLOP"].iloc[:-1].sum())
    assert plan.minutes(120.0, 2.0) == 1.0


def test_a_seed_costs_a_share_of_its_chapter():
    """The minutes one seed of a chapter costs (what the scorecard prices "N more seeds" with):
    the models of its costliest seed, at the reference rate the profile's minutes use."""
    from augworth import runtime

    table = plan.profile_table("smoke", ["flatness"])
    whole = plan.minutes(table["TFLOP"].iloc[0], plan.sustained_tflops(runtime.REFERENCE_STEP_MS) * 2)
    one = plan.seed_minutes("flatness", "smoke")
    seeds = len(plan.load_params("flatness", "smoke").seeds)
    assert 0 < one <= whole and one * seeds >= whole * (1 - 1e-9)  # the costliest seed, at least the average
    assert plan.profile_minutes("smoke") >= whole


def test_gpu_report_gives_the_profile_minutes_at_the_benchmark_rate():
    from augworth import gpu

    out = gpu.plan_at("smoke", tflops=0.5)
    assert out["minutes"] == pytest.approx(out["TFLOP"] / 0.5 / 60) and out["TFLOP"] > 0


def test_plan_command_prints_every_chapter(capsys):
    from augworth.__main__ import main

    main(["plan", "--profile", "smoke", "--tflops", "2"])
    out = capsys.readouterr().out
    assert "min at 2 TFLOP/s" in out and all(name in out for name in ("exchange_rate", "class_level", "total"))


def test_class_levels_second_stage_is_counted_only_when_its_choice_is_not_known(tmp_path, monkeypatch):
    """B4's policies train only for a class hurt on the choice seeds' validation split: with those
    models stored and no class hurt, the plan counts no second stage; with one hurt, or a model
    missing, the most the runner may train."""
    import numpy as np

    from augworth.experiments import class_level as cl
    from augworth.experiments.cache import ResultsCache, cache_key
    from augworth.experiments.cells import cell_fields
    from augworth.experiments.sweep import code_version
    from augworth.experiments.training import train_cell

    monkeypatch.setenv("AUGWORTH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("augworth.paths.COMMITTED_RESULTS", tmp_path / "results")
    p = load_params("class_level", "book", {"scales": [0.08], "convergence_seeds": []})
    assert plan.stored_second_stage(cl, p) is None  # nothing stored: the upper bound
    cache, version = ResultsCache(), code_version(train_cell)

    def store(drop):
        rng = np.random.default_rng(0)
        for strength, cell in cl.stage1_cells(p):
            if cell.seed in p.choice_seeds:
                acc = 0.9 + 0.001 * rng.standard_normal(10)
                if strength != "none":  # rrc(0.08): better on average, class 3 down by ``drop``
                    acc += 0.03
                    acc[3] -= drop
                cache.put("train_cell", cache_key("train_cell", version, cell_fields(cell)),
                          {"val_per_class": acc}, {"runner": "train_cell"})

    store(0.0)
    assert plan.stored_second_stage(cl, p) == []
    models = plan.chapter_models("class_level", p, 10000)
    assert len(models) == len(cl.stage1_cells(p)) < len(cl.cells(p))
    store(0.13)  # class 3 hurt by 10 points at s* = rrc(0.08) on every choice seed
    assert plan.stored_second_stage(cl, p) is None
