import pytest
import torch

from augworth import augment, config, models
from augworth.augment import random_crop, random_flip


def test_name_lists_agree_between_config_and_implementations():
    assert config.MODEL_NAMES == tuple(models.MODELS)
    assert config.AUGMENT_NAMES == augment.POLICIES


@pytest.mark.parametrize("name", list(models.MODELS))
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_models_map_images_to_logits(name, channels, size):
    m = models.build_model(name, in_channels=channels, num_classes=7, image_size=size, width=8, seed=0)
    out = m(torch.randn(5, channels, size, size))
    assert out.shape == (5, 7) and torch.isfinite(out).all()


def test_seeded_models_are_identical_and_leave_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = models.build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=4, seed=5)
    after = torch.rand(1)
    b = models.build_model("fast_cnn", in_channels=1, num_classes=10, image_size=28, width=4, seed=5)
    assert torch.equal(before, after)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_resnet18_has_the_standard_size():
    m = models.build_model("resnet18", in_channels=3, num_classes=10, image_size=32, width=64)
    assert models.count_parameters(m) == 11_173_962  # the CIFAR ResNet-18 of the literature


def test_unknown_model_lists_known_ones():
    with pytest.raises(ValueError, match="unknown model 'vgg': known models are fast_cnn, resnet18"):
        models.build_model("vgg", in_channels=1, num_classes=10, image_size=28, width=8)
    with pytest.raises(config.ConfigError, match="parameter 'model'.* = 'vgg' is not allowed: .*'fast_cnn'"):
        config.TrainConfig(model="vgg")
    with pytest.raises(ValueError, match="unknown augmentation 'mixup'"):
        augment.make_policy("mixup")


def test_crop_matches_a_hand_computed_shift_and_differs_per_image():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.uint8).reshape(2, 1, 4, 4)
    gen = torch.Generator().manual_seed(0)
    out = random_crop(x, gen, padding=1)
    off = torch.randint(0, 3, (2, 2), generator=torch.Generator().manual_seed(0))  # the same draw
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(2):
        dy, dx = int(off[0, i]), int(off[1, i])
        assert torch.equal(out[i], padded[i, :, dy : dy + 4, dx : dx + 4])
    # over many images the offsets take all 9 positions, each about 1/9 of the time
    big = torch.zeros(9000, 1, 5, 5, dtype=torch.uint8)
    big[:, :, 2, 2] = 1  # a dot in the centre: where it lands tells the offset
    moved = random_crop(big, torch.Generator().manual_seed(1), padding=1)
    pos = moved.flatten(1).argmax(1)
    counts = torch.bincount(pos, minlength=25)[counts_idx := torch.tensor([6, 7, 8, 11, 12, 13, 16, 17, 18])]
    assert counts.sum() == 9000 and (counts - 1000).abs().max() < 120  # ~4 sigma of a binomial


def test_flip_probability_and_per_image_independence():
    x = torch.arange(4, dtype=torch.float32).reshape(1, 1, 1, 4).repeat(10000, 1, 1, 1)
    out = random_flip(x, torch.Generator().manual_seed(0), p=0.3)
    flipped = (out[:, 0, 0, 0] == 3).float()
    assert abs(flipped.mean().item() - 0.3) < 0.02
    assert torch.equal(out[flipped.bool()][0, 0, 0], torch.tensor([3.0, 2, 1, 0]))
    with pytest.raises(ValueError, match=r"p=1.5 is outside \[0, 1\]"):
        random_flip(x, torch.Generator(), p=1.5)
    with pytest.raises(ValueError, match="must be smaller than the image"):
        random_crop(x, torch.Generator(), padding=4)
