import pytest
import torch

from augworth import augment, config, models


def test_name_lists_agree_between_config_and_implementations():
    assert config.MODEL_NAMES == tuple(models.MODELS)
    assert set(config.LINEAR_FAMILIES) == set(augment.STAGES)


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
    with pytest.raises(config.ConfigError, match="unknown augmentation 'mixup'"):
        augment.build("mixup")


