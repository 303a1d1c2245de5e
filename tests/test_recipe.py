"""The training recipe's levers (decay shape, Dirac init, BatchNorm bias learning rate and fixed
scales, a whitening stem) and the convergence measure that judges them."""

import math

import numpy as np
import pytest
import torch

from augworth.config import ConfigError, TrainCell, TrainConfig
from augworth.metrics.convergence import doublings, steps_to_converge
from augworth.models import build_model
from augworth.models.fast_cnn import Whiten
from augworth.train import lr_at
from augworth.train.loop import param_groups


def test_linear_decay_reaches_zero_and_cosine_is_unchanged():
    total, peak = 100, 0.1
    lin = [lr_at(s, total, peak, 0.1, "linear") for s in range(total)]
    assert lin[9] == pytest.approx(peak) and lin[10] == pytest.approx(peak)  # end of warm-up, start of decay
    assert all(a >= b for a, b in zip(lin[10:], lin[11:])) and lin[-1] == pytest.approx(peak / 90)
    # today's schedule, as before the decay option existed
    assert lr_at(55, total, peak, 0.1) == pytest.approx(peak * 0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert lr_at(55, total, peak, 0.1) == lr_at(55, total, peak, 0.1, "cosine")


def test_todays_recipe_has_one_group_in_the_models_parameter_order():
    model = build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=4, seed=0)
    groups = param_groups(model, TrainConfig())
    assert len(groups) == 1 and groups[0]["lr_mult"] == 1.0
    assert [id(p) for p in groups[0]["params"]] == [id(p) for p in model.parameters()]


def test_batchnorm_biases_get_their_multiplier_and_fixed_scales_never_move():
    model = build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=4, seed=0)
    groups = param_groups(model, TrainConfig(bn_bias_lr=64.0, bn_scale="fixed"))
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert [g["lr_mult"] for g in groups] == [1.0, 64.0]
    assert {id(p) for p in groups[1]["params"]} == {id(m.bias) for m in norms}
    assert all(not m.weight.requires_grad for m in norms)
    assert all(id(m.weight) not in {id(p) for g in groups for p in g["params"]} for m in norms)


def test_dirac_init_passes_the_first_channels_through_each_convolution():
    model = build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=4, seed=0, dirac_init=True)
    conv = model.groups[0].conv2  # 4 -> 4 channels
    x = torch.randn(2, 4, 7, 7)
    assert torch.allclose(conv(x), x, atol=1e-6)
    wide = model.groups[1].conv1  # 4 -> 8: identity on the first 4 outputs, random on the rest
    y = wide(x)
    assert torch.allclose(y[:, :4], x, atol=1e-6) and not torch.allclose(y[:, 4:], torch.zeros_like(y[:, 4:]))


def test_the_whitening_stem_whitens_the_training_patches():
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(64, 1, 12, 12, generator=gen)
    x = base + 0.8 * torch.roll(base, 1, dims=3)  # neighbouring pixels correlated
    w = Whiten(1, eps=1e-6)
    w.fit(x)
    out = w(x)[:, :4].permute(0, 2, 3, 1).reshape(-1, 4).double()  # the 4 whitened patch coordinates
    cov = out.T @ out / len(out)
    assert torch.allclose(cov, torch.eye(4, dtype=cov.dtype), atol=1e-3)
    assert torch.equal(w(x)[:, 4:], -w(x)[:, :4]) and not w.conv.weight.requires_grad


def test_recipe_options_name_themselves():
    with pytest.raises(ConfigError, match="parameter 'stem'.*fast CNN only"):
        TrainConfig(model="resnet18", stem="whiten")
    with pytest.raises(ConfigError, match="parameter 'decay'"):
        TrainConfig(decay="step")


def test_a_whitened_dirac_model_trains_through_the_one_road():
    from augworth.experiments.training import train_cell

    cell = TrainCell.from_mapping({"n_train": 256, "steps": 20, "batch_size": 64, "width": 4, "val_size": 200,
                                   "device": "cpu", "augment": "none", "stem": "whiten", "dirac_init": True,
                                   "decay": "linear", "bn_bias_lr": 64.0, "bn_scale": "fixed"})
    r = train_cell(cell)
    assert 0.2 < r["test_acc"] <= 1.0  # it learns (chance: 0.1)


def test_steps_to_converge_reads_the_paired_doubling():
    # accuracy rises 4 points per doubling up to 400 steps, then 0.2 +- noise: converged at 400
    rng = np.random.default_rng(0)
    level = {100: 0.80, 200: 0.84, 400: 0.88, 800: 0.882, 1600: 0.883}
    by = {s: {seed: v + 0.001 * rng.standard_normal() for seed in range(5)} for s, v in level.items()}
    d = doublings(by)
    assert [x.steps for x in d] == [100, 200, 400, 800]
    assert d[0].change.estimate == pytest.approx(0.04, abs=0.003) and d[0].change.n == 5
    assert steps_to_converge(by, 0.005) == 400
    assert steps_to_converge({s: v for s, v in by.items() if s <= 400}, 0.005) is None  # never within
