import numpy as np
import pytest
import torch

from augworth.config import ConfigError, TrainCell, TrainConfig
from augworth.experiments.training import train_cell
from augworth.metrics import accuracy, confusion_matrix, per_class_accuracy
from augworth.train import lr_at

TINY = {"n_train": 512, "val_size": 1000, "epochs": 10, "width": 8, "batch_size": 64, "device": "cpu"}


def test_confusion_and_per_class_accuracy_by_hand():
    target = torch.tensor([0, 0, 0, 1, 1, 2])
    pred = torch.tensor([0, 1, 0, 1, 2, 2])
    cm = confusion_matrix(pred, target, 3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    np.testing.assert_allclose(per_class_accuracy(cm).numpy(), [2 / 3, 1 / 2, 1.0])
    assert accuracy(cm) == pytest.approx(4 / 6)
    assert torch.isnan(per_class_accuracy(confusion_matrix(pred, target, 4))[3])  # a class with no examples


def test_learning_rate_schedule():
    total, peak = 100, 0.1
    lrs = [lr_at(s, total, peak, 0.1) for s in range(total)]
    assert lrs[0] == pytest.approx(0.01) and lrs[9] == pytest.approx(0.1)  # 10 warm-up steps
    assert lrs[10] == pytest.approx(0.1) and lrs[55] == pytest.approx(0.05, rel=0.05)
    assert lrs[-1] < 0.001 and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))


def test_tiny_model_learns_on_512_images():
    r = train_cell(TrainCell.from_mapping(TINY))
    h = r["history"]
    assert h.train_loss.iloc[-1] < 0.7 * h.train_loss.iloc[0]
    assert r["val_acc"] > 0.45 and r["test_acc"] > 0.45  # chance is 0.10
    assert r["test_confusion"].sum() == 10000 and r["val_confusion"].sum() == 1000
    np.testing.assert_allclose(r["test_per_class"], np.diag(r["test_confusion"]) / 1000)


def test_training_is_deterministic_on_cpu():
    a = train_cell(TrainCell.from_mapping(dict(TINY, epochs=2)))
    b = train_cell(TrainCell.from_mapping(dict(TINY, epochs=2)))
    assert a["history"].train_loss.tolist() == b["history"].train_loss.tolist()
    assert a["val_loss"] == b["val_loss"] and np.array_equal(a["test_confusion"], b["test_confusion"])
    c = train_cell(TrainCell.from_mapping(dict(TINY, epochs=2, seed=1)))
    assert c["history"].train_loss.tolist() != a["history"].train_loss.tolist()


def test_fixed_step_budget_and_checkpoints(tmp_path):
    from augworth.data import load_dataset
    from augworth.train import fit

    ds = load_dataset("fashion_mnist")
    cfg = TrainConfig(steps=7, batch_size=32, width=4, checkpoints=(1, 2), augment="flip")
    r = fit(cfg, ds.train_x[:100], ds.train_y[:100], 10, checkpoint_dir=tmp_path)
    assert r.history[-1]["step"] == 7 and len(r.history) == 3  # 3 steps per epoch: 3 + 3 + 1
    saved = sorted(p.name for p in tmp_path.iterdir())
    assert saved == ["epoch0001.pt", "epoch0002.pt"]
    state = torch.load(tmp_path / "epoch0002.pt")
    assert state["step"] == 6 and state["config"]["steps"] == 7


def test_bad_training_input_is_refused_with_a_clear_message():
    with pytest.raises(ConfigError, match="parameter 'batch_size'.* = 0 is out of range"):
        train_cell(TrainCell.from_mapping(dict(TINY, batch_size=0)))
    with pytest.raises(ConfigError, match="parameter 'n_train' = 60000 is larger than the 59000 training images"):
        train_cell(TrainCell.from_mapping(dict(TINY, n_train=60000)))
    with pytest.raises(ConfigError, match="unknown parameter 'widht'.*Did you mean 'width'"):
        train_cell(TrainCell.from_mapping(dict(TINY, widht=8)))
