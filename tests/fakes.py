"""Small fake data sets written in the real on-disk formats (IDX, CIFAR pickles + tar.gz,
ImageFolder), for testing the loaders without the real data."""

from __future__ import annotations

import pickle
import tarfile
from pathlib import Path

import numpy as np

from augworth.data.formats import write_idx
from augworth.data.sources import IDX_FILES


def idx_set(folder: Path, n_train: int = 60, n_test: int = 20, gz: bool = True, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        IDX_FILES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        IDX_FILES[1]: (np.arange(n_train) % 10).astype(np.uint8),
        IDX_FILES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        IDX_FILES[3]: (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, arr in arrays.items():
        write_idx(folder / (f"{name}.gz" if gz else name), arr)
    return arrays


def cifar_archive(root: Path, kind: str = "cifar10", per_batch: int = 20, seed: int = 0) -> dict:
    """Write ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` like the originals."""
    rng = np.random.default_rng(seed)
    staging = root / "_staging"
    if kind == "cifar10":
        folder, archive, label_key = "cifar-10-batches-py", "cifar-10-python.tar.gz", b"labels"
        names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        meta_name, meta = "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)]}
        k = 10
    else:
        folder, archive, label_key = "cifar-100-python", "cifar-100-python.tar.gz", b"fine_labels"
        names = ["train", "test"]
        meta_name = "meta"
        meta = {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
                b"coarse_label_names": [f"g{i}".encode() for i in range(20)]}
        k = 100
    (staging / folder).mkdir(parents=True, exist_ok=True)
    written = {}
    for name in names:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, k, per_batch))
        batch = {b"data": data, label_key: labels, b"batch_label": name.encode()}
        if kind == "cifar100":
            batch[b"coarse_labels"] = [y // 5 for y in labels]
        with open(staging / folder / name, "wb") as fh:
            pickle.dump(batch, fh)
        written[name] = (data, labels)
    with open(staging / folder / meta_name, "wb") as fh:
        pickle.dump(meta, fh)
    with tarfile.open(root / archive, "w:gz") as tar:
        tar.add(staging / folder, arcname=folder)
    import shutil

    shutil.rmtree(staging)
    return written


def image_folder(root: Path, classes=("ant", "bee"), per_class: int = 3, size=(40, 30)) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for c in classes:
            d = root / split / c
            d.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
                Image.fromarray(arr).save(d / f"img{i}.png")
    return root


def png_folder(root: Path, images: np.ndarray, labels, classes, sizes=None) -> Path:
    """Write uint8 images (N, C, H, W) as PNG files in ImageFolder layout, root/<class>/<i>.png
    (C = 1: greyscale files). ``sizes``: optional (width, height) per image to resize it to
    first (a folder of mixed sizes)."""
    from PIL import Image

    for i, (x, y) in enumerate(zip(images, labels)):
        d = root / classes[int(y)]
        d.mkdir(parents=True, exist_ok=True)
        arr = np.ascontiguousarray(x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0))
        im = Image.fromarray(arr)
        if sizes is not None:
            im = im.resize(tuple(sizes[i]))
        im.save(d / f"{i:05d}.png")
    return root


def fashion_png_folder(root: Path, per_class: int = 30, classes=None) -> Path:
    """``per_class`` Fashion-MNIST training images of each class as 28x28 greyscale PNGs."""
    from augworth.data import load_dataset

    ds = load_dataset("fashion_mnist")
    names = classes or [c.replace("/", "-") for c in ds.classes]
    y = ds.train_y.numpy()
    idx = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(len(names))])
    return png_folder(root, ds.train_x[idx].numpy(), y[idx], names)


def rgb_png_folder(root: Path, per_class: int = 30, size: int = 32, classes=("disc", "ring", "bar")) -> Path:
    """A small RGB task that is not trivial: a faint disc, ring or bar (the class) of a random
    colour at a random place, on strong noise."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:size, :size]
    images, labels = [], []
    for c in range(len(classes)):
        for _ in range(per_class):
            cy, cx = rng.uniform(size * 0.25, size * 0.75, 2)
            r = np.hypot(yy - cy, xx - cx)
            radius = size / 7
            mask = [r < radius, np.abs(r - radius) < 1.2, (np.abs(yy - cy) < 1.5) & (np.abs(xx - cx) < radius)][c % 3]
            img = rng.integers(0, 200, (3, size, size)).astype(float)
            img[:, mask] += rng.uniform(20, 60, 3)[:, None]
            images.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(c)
    return png_folder(root, np.stack(images), labels, list(classes))
