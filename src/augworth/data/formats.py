"""Readers for the on-disk formats torchvision uses, returning uint8 arrays.

Written here rather than borrowed from torchvision's dataset classes because those verify MD5
sums of the original archives, and the copies available offline (Debian's Fashion-MNIST) and the
small fake archives the tests write have other checksums. The formats themselves are the real ones.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (MNIST / Fashion-MNIST), plain or gzipped."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path.name} is not an IDX file (bad magic number)")
    ndim = raw[3]
    dims = struct.unpack(f">{ndim}i", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path.name}: header says {dims} but holds {data.size} values (truncated?)")
    return data.reshape(dims).astype(dtype.newbyteorder("="))  # a writable, native-order copy


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzipped when the name ends in .gz). Used by tests and fetchers."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(header + array.tobytes())


def _unpickle(path: Path) -> dict:
    with open(path, "rb") as fh:
        return pickle.load(fh, encoding="bytes")


def _key(d: dict, name: str):
    return d[name.encode()] if name.encode() in d else d[name]


def read_cifar(folder: Path, files: list[str], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Read CIFAR python-pickle batches: images (N, 3, 32, 32) uint8 and labels (N,) int64."""
    xs, ys = [], []
    for name in files:
        batch = _unpickle(folder / name)
        xs.append(np.asarray(_key(batch, "data"), dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(_key(batch, label_key), dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def read_cifar_meta(path: Path, key: str) -> list[str]:
    names = _key(_unpickle(path), key)
    return [n.decode() if isinstance(n, bytes) else n for n in names]


GRAY_MODES = ("1", "L", "I", "I;16", "F")  # PIL modes of one-channel images


class MixedSizesError(ValueError):
    """Images of an image folder differ in size and no common size was asked for."""


def image_files(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """(file, class index) of every image under ``folder/<class>/`` (any depth), sorted."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    files: list[tuple[Path, int]] = []
    for idx, cls in enumerate(classes):
        for p in sorted((Path(folder) / cls).rglob("*")):
            if p.suffix.lower() in IMG_EXTENSIONS:
                files.append((p, idx))
    return files


def _common_size(files: list[Path]) -> tuple[int, int]:
    """The (width, height) every image has; :class:`MixedSizesError` when they differ."""
    from collections import Counter

    from PIL import Image

    sizes: Counter = Counter()
    example: dict = {}
    for p in files:
        with Image.open(p) as im:  # reads the header only
            sizes[im.size] += 1
            example.setdefault(im.size, p)
    if len(sizes) > 1:
        found = ", ".join(f"{w}x{h}: {k} images (e.g. {example[(w, h)].name})" for (w, h), k in sizes.most_common(4))
        raise MixedSizesError(f"the images are of {len(sizes)} sizes ({found}{', ...' if len(sizes) > 4 else ''}): "
                              "give a common size to resize them to (image_size=N, for `worth`: --resize N; the "
                              "shorter side becomes N, then a centre crop)")
    return next(iter(sizes))


def read_image_folder(folder: Path, image_size: int, classes: list[str] | None = None, files=None):
    """Read an ImageFolder tree (``folder/<class>/<image>``) into uint8 (N, C, S, S).

    With ``image_size`` > 0 each image is resized so its shorter side is ``image_size`` and
    centre-cropped; with 0 the images keep their own size, which must be one size for all
    (else :class:`MixedSizesError`). C is 1 when every image is one-channel (greyscale), else 3
    (RGB). Returns the images, the labels, and the class names (sorted folder names, as
    torchvision orders them). ``files``: (path, label) pairs already listed.
    """
    from PIL import Image

    classes = classes or sorted(p.name for p in Path(folder).iterdir() if p.is_dir())
    files = files if files is not None else image_files(folder, classes)
    if not files:
        raise FileNotFoundError(f"no images found under {folder} (expected {folder}/<class>/<image>)")
    if image_size:
        w0 = h0 = image_size
    else:
        w0, h0 = _common_size([p for p, _ in files])
    modes = set()
    for p, _ in files:
        with Image.open(p) as im:
            modes.add(im.mode)
    gray = modes <= set(GRAY_MODES)
    out = np.empty((len(files), 1 if gray else 3, h0, w0), dtype=np.uint8)
    for i, (p, _) in enumerate(files):
        with Image.open(p) as im:
            im = im.convert("L" if gray else "RGB")
            if image_size:
                w, h = im.size
                scale = image_size / min(w, h)
                im = im.resize((max(image_size, round(w * scale)), max(image_size, round(h * scale))),
                               Image.BILINEAR)
                w, h = im.size
                left, top = (w - image_size) // 2, (h - image_size) // 2
                im = im.crop((left, top, left + image_size, top + image_size))
            arr = np.asarray(im, dtype=np.uint8)
            out[i] = arr[None] if gray else arr.transpose(2, 0, 1)
    labels = np.array([y for _, y in files], dtype=np.int64)
    return out, labels, classes
