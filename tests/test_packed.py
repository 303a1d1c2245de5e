"""Packed training (K models in one vmapped program) equals K separate runs of the training
loop, on the CPU, before any GPU sees it."""

import pytest
import torch

from augworth.config import TrainConfig
from augworth.data import load_dataset
from augworth.train import fit
from augworth.train.packed import fit_packed, pack_key


@pytest.fixture(scope="module")
def fmnist():
    return load_dataset("fashion_mnist", device="cpu")


def test_packed_models_equal_separate_runs(fmnist, monkeypatch):
    """Three models with their own seeds, subset sizes and augmentations (per-image draws,
    class-conditional policy, BatchNorm statistics) trained packed and one at a time. The packed
    program is contiguous, so the separate runs are too: channels_last alone moves the weights by
    ~0.2% after one step (max-pool ties break another way). Grouped and single convolutions round
    differently (~1e-6 relative per step); a rounding difference that flips a max-pool choice is
    then amplified by training (measured: one of three models 4% apart after 12 steps). Exact
    ties come from uniform backgrounds, so every model here draws a little noise (no exact ties),
    and the comparison runs 4 steps, where each model agrees to 1e-4 of each tensor's largest
    entry."""
    from augworth.train import loop

    monkeypatch.setattr(loop, "MEMORY_FORMAT", torch.contiguous_format)
    ds = fmnist
    cfgs = [TrainConfig(model="fast_cnn", width=4, steps=4, batch_size=64, augment=aug, seed=seed, **extra)
            for aug, seed, extra in (("crop(1)+flip+noise(0.02)", 3, {}), ("noise(0.02)", 7, {}),
                                     ("noise(0.1)", 11, {"class_augment": ("2=flip+noise(0.02)",)}))]
    data = [(ds.train_x[i * 500 : i * 500 + n], ds.train_y[i * 500 : i * 500 + n]) for i, n in enumerate((256, 320, 200))]
    test = {"test": (ds.test_x[:1000], ds.test_y[:1000])}
    packed = fit_packed(cfgs, data, 10, test, device="cpu")
    for cfg, (x, y), res in zip(cfgs, data, packed):
        alone = fit(cfg, x, y, 10, test, device="cpu")
        for (name, a), b in zip(alone.model.state_dict().items(), res.model.state_dict().values()):
            if a.is_floating_point():
                assert (a - b).abs().max() <= 1e-4 * a.abs().max().clamp_min(1e-12), name
            else:
                assert torch.equal(a, b), name  # BatchNorm's num_batches_tracked
        assert res.final["test"]["loss"] == pytest.approx(alone.final["test"]["loss"], rel=1e-4)
        assert res.final["test"]["per_class_accuracy"].tolist() == pytest.approx(
            alone.final["test"]["per_class_accuracy"].tolist(), abs=0.01)
        assert abs(res.final["test"]["accuracy"] - alone.final["test"]["accuracy"]) <= 0.002
        assert [h["step"] for h in res.history] == [h["step"] for h in alone.history]
        assert [h["train_loss"] for h in res.history] == pytest.approx([h["train_loss"] for h in alone.history],
                                                                        rel=1e-4)


def test_incompatible_cells_are_refused():
    a, b = TrainConfig(steps=10, width=4), TrainConfig(steps=20, width=4)
    assert pack_key(a, 500) != pack_key(b, 500) and pack_key(a, 500) == pack_key(TrainConfig(steps=10, width=4,
                                                                                               seed=3), 900)
    x = torch.zeros(128, 1, 28, 28, dtype=torch.uint8)
    y = torch.arange(128) % 10
    with pytest.raises(ValueError, match="not compatible"):
        fit_packed([a, b], [(x, y), (x, y)], 10)


def test_packed_executor_groups_compatible_cells_and_stores_each(tmp_path):
    """The packed sweep executor trains compatible cells as one program and caches every cell;
    a rerun computes nothing; incompatible cells form their own groups."""
    from augworth.experiments.cache import ResultsCache
    from augworth.experiments.sweep import run_sweep
    from augworth.config import TrainCell
    from augworth.experiments.training import train_cell

    base = {"n_train": 200, "steps": 3, "batch_size": 32, "width": 4, "val_size": 200, "device": "cpu"}
    cells = [TrainCell.from_mapping(c) for c in
             [{**base, "augment": "noise(0.05)", "seed": s} for s in (0, 1, 2)] + [{**base, "steps": 4, "seed": 5}]]
    cache = ResultsCache(tmp_path, read_only=[])
    res = run_sweep(train_cell, cells, name="t", executor="packed", cache=cache)
    assert res.computed == 4 and [m.get("packed", 1) for m in res.meta] == [3, 3, 3, 1]
    assert all(0 <= r["test_acc"] <= 1 for r in res.results) and len({r["test_acc"] for r in res.results[:3]}) > 1
    again = run_sweep(train_cell, cells, name="t", executor="packed", cache=cache)
    assert again.computed == 0 and again.results[1]["test_acc"] == res.results[1]["test_acc"]
