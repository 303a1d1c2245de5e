"""Readers for the on-disk formats torchvision uses, returning uint8 arrays.

Written here rather than borrowed from torchvision's dataset classes because those verify MD5
sums of the original archives, and the copies available offline (Debian's Fashion-MNIST) and the
small fake archives the tests write have other checksums. The formats themselves are the real ones.
"""

from __future__ import annotations

import gzip
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

from ..io import BrokenFileError

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path, fix: str = "replace it with a good copy") -> np.ndarray:
    """Read an IDX file (MNIST / Fashion-MNIST), plain or gzipped; a broken one raises
    :class:`BrokenFileError` naming it and ending with ``fix`` (how to get a good copy)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise BrokenFileError(f"{path} is truncated or not gzip ({type(err).__name__}: {err}): {fix}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise BrokenFileError(f"{path} is not an IDX file (bad magic number): {fix}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise BrokenFileError(f"{path} is truncated inside its header: {fix}")
    dims = struct.unpack(f">{ndim}i", raw[4 : 4 + 4 * ndim])
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    body = len(raw) - 4 - 4 * ndim
    if body % dtype.itemsize or body // dtype.itemsize != int(np.prod(dims)):
        raise BrokenFileError(f"{path}: its header says {dims} values but it holds {body // dtype.itemsize} "
                              f"(truncated?): {fix}")
    data = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    return data.reshape(dims).astype(dtype.newbyteorder("="))  # a writable, native-order copy


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzipped when the name ends in .gz). Used by tests and fetchers."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(header + array.tobytes())


CIFAR_FIX = ("delete the folder {folder} and put the original archive ({archive}, from "
             "https://www.cs.toronto.edu/~kriz/cifar.html) beside it: it is extracted again")


def _unpickle(path: Path, fix: str) -> dict:
    try:
        with open(path, "rb") as fh:
            batch = pickle.load(fh, encoding="bytes")
    except FileNotFoundError:
        raise BrokenFileError(f"{path} is missing: {fix}") from None
    except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError, IndexError) as err:
        raise BrokenFileError(f"{path} is truncated or not a CIFAR batch ({type(err).__name__}: {err}): {fix}") from None
    if not isinstance(batch, dict):
        raise BrokenFileError(f"{path} holds a {type(batch).__name__}, not a CIFAR batch: {fix}")
    return batch


def _key(d: dict, name: str):
    return d[name.encode()] if name.encode() in d else d[name]


def read_cifar(folder: Path, files: list[str], label_key: str, fix: str = "replace it with a good copy"
               ) -> tuple[np.ndarray, np.ndarray]:
    """Read CIFAR python-pickle batches: images (N, 3, 32, 32) uint8 and labels (N,) int64; a
    broken batch raises :class:`BrokenFileError` naming it and ending with ``fix``."""
    xs, ys = [], []
    for name in files:
        batch = _unpickle(folder / name, fix)
        try:
            x = np.asarray(_key(batch, "data"), dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(_key(batch, label_key), dtype=np.int64)
        except (KeyError, ValueError, TypeError) as err:
            raise BrokenFileError(f"{folder / name} is not a CIFAR batch ({type(err).__name__}: {err}): {fix}") from None
        if len(x) != len(y):
            raise BrokenFileError(f"{folder / name} holds {len(x)} images but {len(y)} labels: {fix}")
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def read_cifar_meta(path: Path, key: str, fix: str = "replace it with a good copy") -> list[str]:
    try:
        names = _key(_unpickle(path, fix), key)
    except KeyError:
        raise BrokenFileError(f"{path} has no {key}: {fix}") from None
    return [n.decode() if isinstance(n, bytes) else n for n in names]


GRAY_MODES = ("1", "L", "I", "I;16", "F")  # PIL modes of one-channel images


class MixedSizesError(ValueError):
    """Images of an image folder differ in size and no common size was asked for."""


def image_files(folder: Path, classes: list[str]) -> list[tuple[Path, int]]:
    """(file, class index) of every image under ``folder/<class>/`` (any depth, through symbolic
    links), sorted."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    from .. import paths

    files: list[tuple[Path, int]] = []
    for idx, cls in enumerate(classes):
        for p in paths.files_under(Path(folder) / cls):  # symbolic links followed, as the cache's fingerprint does
            if p.suffix.lower() in IMG_EXTENSIONS:
                files.append((p, idx))
    return files


def _common_size(files: list[Path]) -> tuple[int, int]:
    """The (width, height) every image has; :class:`MixedSizesError` when they differ."""
    from collections import Counter

    sizes: Counter = Counter()
    example: dict = {}
    for p in files:
        with _open_image(p) as im:  # reads the header only
            sizes[im.size] += 1
            example.setdefault(im.size, p)
    if len(sizes) > 1:
        found = ", ".join(f"{w}x{h}: {k} images (e.g. {example[(w, h)].name})" for (w, h), k in sizes.most_common(4))
        raise MixedSizesError(f"the images are of {len(sizes)} sizes ({found}{', ...' if len(sizes) > 4 else ''}): "
                              "give a common size to resize them to (image_size=N, for `worth`: --resize N; the "
                              "shorter side becomes N, then a centre crop)")
    return next(iter(sizes))


def _open_image(path: Path, load: bool = False):
    """``PIL.Image.open`` (decoded whole with ``load``); an image that does not decode raises
    :class:`BrokenFileError` naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        im = Image.open(path)
        if load:
            im.load()
        return im
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        why = "no image format PIL knows" if isinstance(err, UnidentifiedImageError) else f"{type(err).__name__}: {err}"
        raise BrokenFileError(f"{path} does not decode as an image ({why}): remove it or replace it with a good "
                              "copy") from None


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
        with _open_image(p) as im:
            modes.add(im.mode)
    gray = modes <= set(GRAY_MODES)
    out = np.empty((len(files), 1 if gray else 3, h0, w0), dtype=np.uint8)
    for i, (p, _) in enumerate(files):
        with _open_image(p, load=True) as im:
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
