"""Data sets as whole uint8 tensors (N, C, H, W), moved to the GPU in one piece when present.

Small image data sets fit in device memory many times over (Fashion-MNIST: 47 MB as uint8), so
training indexes batches on the device and augments them there, with no DataLoader.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from .. import paths
from . import formats, sources

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass(frozen=True)
class ImageDataset:
    """A labelled image data set with its official train/test split."""

    name: str
    classes: tuple[str, ...]
    train_x: torch.Tensor  # uint8 (N, C, H, W)
    train_y: torch.Tensor  # int64 (N,)
    test_x: torch.Tensor   # uint8 (M, C, H, W)
    test_y: torch.Tensor   # int64 (M,)

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.dtype != torch.uint8 or x.ndim != 4:
                raise ValueError(f"{self.name} {split} images must be uint8 (N, C, H, W), got {x.dtype} {tuple(x.shape)}")
            if len(x) != len(y):
                raise ValueError(f"{self.name} {split}: {len(x)} images but {len(y)} labels")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
                raise ValueError(f"{self.name} {split}: labels outside [0, {len(self.classes)})")

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    def to(self, device) -> "ImageDataset":
        return replace(self, train_x=self.train_x.to(device), train_y=self.train_y.to(device),
                       test_x=self.test_x.to(device), test_y=self.test_y.to(device))


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(x))
    if x.ndim == 3:
        x = x.unsqueeze(1)
    return x, torch.from_numpy(np.asarray(y, dtype=np.int64))


def _idx_pair(raw: Path, prefix: str, fix: str) -> tuple[np.ndarray, np.ndarray]:
    def pick(stem: str) -> Path:
        plain = raw / stem
        return plain if plain.is_file() else raw / f"{stem}.gz"

    return (formats.read_idx(pick(f"{prefix}-images-idx3-ubyte"), fix),
            formats.read_idx(pick(f"{prefix}-labels-idx1-ubyte"), fix))


def _load_idx_dataset(name: str, raw: Path, classes: list[str]) -> ImageDataset:
    fix = f"delete it and run `python -m augworth data fetch {name}` to get a good copy"
    tx, ty = _tensors(*_idx_pair(raw, "train", fix))
    vx, vy = _tensors(*_idx_pair(raw, "t10k", fix))
    for split, x, y in (("train", tx, ty), ("t10k", vx, vy)):
        if len(x) != len(y):
            raise formats.BrokenFileError(f"{raw}: the {split} images ({len(x)}) and labels ({len(y)}) differ in "
                                          f"number: {fix.replace('delete it', 'delete the folder')}")
    return ImageDataset(name, tuple(classes), tx, ty, vx, vy)


def _load_cifar(name: str, folder: Path) -> ImageDataset:
    fix = formats.CIFAR_FIX.format(folder=folder, archive=sources.CIFAR[name][2])
    if name == "cifar10":
        train = [f"data_batch_{i}" for i in range(1, 6)]
        test, label_key = ["test_batch"], "labels"
        classes = formats.read_cifar_meta(folder / "batches.meta", "label_names", fix)
    else:
        train, test, label_key = ["train"], ["test"], "fine_labels"
        classes = formats.read_cifar_meta(folder / "meta", "fine_label_names", fix)
    tx, ty = _tensors(*formats.read_cifar(folder, train, label_key, fix))
    vx, vy = _tensors(*formats.read_cifar(folder, test, label_key, fix))
    return ImageDataset(name, tuple(classes), tx, ty, vx, vy)


FOLDER_TEST_FRACTION = 0.25  # share of each class held out as the test set of a one-split image folder
FOLDER_TEST_SEED = 20_221_116  # fixed forever, like the validation split's seed

LAYOUTS = ("a folder of class folders, <path>/<class>/<image> (a quarter of each class is held out as the test set)",
           "a folder with train/ and val/ (or test/), each holding the same class folders")


def _class_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _not_a_data_set(path: Path, why: str) -> FileNotFoundError:
    from torchvision.datasets.folder import IMG_EXTENSIONS

    return FileNotFoundError(f"{path} is not an image data set ({why}). Accepted are a data set name (fashion_mnist, "
                             f"mnist, cifar10, cifar100) or an image folder: " + "; or ".join(LAYOUTS)
                             + f". Image files: {' '.join(sorted(IMG_EXTENSIONS))}")


def _check_classes(path: Path, classes: list[str]) -> None:
    if len(classes) < 2:
        raise ValueError(f"image folder {path} has {len(classes)} class folder(s) "
                         f"({', '.join(classes) or 'none'}): a classifier needs at least 2")


def _holdout(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """A fixed boolean test mask: ``fraction`` of each class (at least 1 of a class of 2 or more)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        k = max(1, round(fraction * len(idx))) if len(idx) >= 2 else 0
        test[rng.permutation(idx)[:k]] = True
    return test


def _load_image_folder(path: Path, image_size: int) -> ImageDataset:
    """An image folder in either layout of :data:`LAYOUTS`; ``image_size`` 0 keeps the images' size."""
    path = Path(path).expanduser()
    if not path.is_dir():
        raise _not_a_data_set(path, "no such folder")
    test_dir = next((path / d for d in ("val", "test") if (path / d).is_dir()), None)
    if (path / "train").is_dir() and test_dir is not None:
        train_classes = _class_dirs(path / "train")
        test_classes = _class_dirs(test_dir)
        _check_classes(path / "train", train_classes)
        if train_classes != test_classes:
            raise ValueError(f"image folder {path}: train/ and {test_dir.name}/ hold different classes "
                             f"(only in train: {sorted(set(train_classes) - set(test_classes))}; only in "
                             f"{test_dir.name}: {sorted(set(test_classes) - set(train_classes))})")
        tx, ty, classes = formats.read_image_folder(path / "train", image_size, train_classes)
        vx, vy, _ = formats.read_image_folder(test_dir, image_size, classes)
    else:
        classes = _class_dirs(path)
        if (path / "train").is_dir():
            raise _not_a_data_set(path, "it has train/ but no val/ or test/ beside it")
        files = formats.image_files(path, classes) if classes else []
        if not files:
            raise _not_a_data_set(path, "no class folders with images in it")
        _check_classes(path, [c for i, c in enumerate(classes) if any(y == i for _, y in files)])
        x, y, classes = formats.read_image_folder(path, image_size, classes, files=files)
        test = _holdout(y, FOLDER_TEST_FRACTION, FOLDER_TEST_SEED)
        tx, ty, vx, vy = x[~test], y[~test], x[test], y[test]
    tx, ty = _tensors(tx, ty)
    vx, vy = _tensors(vx, vy)
    return ImageDataset(f"imagefolder:{path.name}", tuple(classes), tx, ty, vx, vy)


def load_dataset(name: str = "fashion_mnist", *, root: Path | None = None, device=None,
                 data_path: str | Path | None = None, image_size: int = 64) -> ImageDataset:
    """Load a data set whole as uint8 tensors, fetching it first if needed.

    ``name``: fashion_mnist (default), mnist, cifar10, cifar100, or imagefolder (with
    ``data_path``, an image folder in one of the :data:`LAYOUTS`, resized to ``image_size``, or
    kept at its own size with 0).
    """
    root = Path(root or paths.data_root())
    if name == "fashion_mnist":
        ds = _load_idx_dataset(name, sources.fetch_fashion_mnist(root), FASHION_MNIST_CLASSES)
    elif name == "mnist":
        ds = _load_idx_dataset(name, sources.fetch_mnist(root), [str(i) for i in range(10)])
    elif name in ("cifar10", "cifar100"):
        ds = _load_cifar(name, sources.fetch_cifar(name, root))
    elif name == "imagefolder":
        if data_path is None:
            raise ValueError("dataset 'imagefolder' needs data_path: " + "; or ".join(LAYOUTS))
        ds = _load_image_folder(Path(data_path), image_size)
    else:
        raise ValueError(f"unknown data set '{name}': known are fashion_mnist, mnist, cifar10, "
                         f"cifar100, imagefolder")
    return ds.to(device) if device is not None else ds


def load_from_params(p, device=None) -> ImageDataset:
    """Load the data set a :class:`augworth.config.DataSource` names."""
    return load_dataset(p.dataset, device=device, data_path=p.data_path, image_size=p.image_size)
