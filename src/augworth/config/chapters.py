"""The parameters of each notebook (one dataclass per chapter, registered by notebook name).

Defaults here are the ``quick`` profile's; ``params/<profile>/<notebook>.yaml`` overrides them
per profile and command-line ``key=value`` pairs override both.
"""

from __future__ import annotations

from dataclasses import dataclass

from .base import Params, param

DATASETS = ("fashion_mnist", "mnist", "cifar10", "cifar100", "imagefolder")
NOTEBOOK_PARAMS: dict[str, type[Params]] = {}


def register(cls: type[Params]) -> type[Params]:
    NOTEBOOK_PARAMS[cls.notebook] = cls
    return cls


@dataclass(frozen=True)
class DataSource(Params):
    """Fields every chapter that loads data shares."""

    dataset: str = param("fashion_mnist", "data set", choices=DATASETS)
    data_path: str | None = param(
        None, "folder with train/ and val/ class folders (dataset=imagefolder only)"
    )
    image_size: int = param(
        64, "side length images are resized to (dataset=imagefolder only)", unit="px", range=(8, 512)
    )
    val_size: int = param(
        5000, "class-balanced validation images carved from train (fixed, seed-independent)",
        unit="images", range=(0, None),
    )
    device: str = param("auto", "compute device: auto (CUDA when present), cpu, cuda, cuda:N, mps")

    def check(self) -> None:
        super().check()
        if self.dataset == "imagefolder" and not self.data_path:
            self.fail("data_path", "must name a folder when dataset is 'imagefolder'")
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            self.fail("device", "is not a device: use auto, cpu, cuda, cuda:N or mps")


@register
@dataclass(frozen=True)
class DataParams(DataSource):
    """The `data` chapter: what the data set looks like and how subsets are drawn."""

    notebook = "data"
    n_per_class: int = param(8, "example images per class in the grid", unit="images", range=(1, 32))
    subset_sizes: tuple[int, ...] = param(
        (1000, 4000, 16000), "training-subset sizes to draw and check", unit="images", range=(1, None)
    )
    seeds: tuple[int, ...] = param((0, 1, 2), "seeds of the subsets", range=(0, 2**31 - 1))

    def check(self) -> None:
        super().check()
        if not self.seeds:
            self.fail("seeds", "is empty: give at least one seed")
        if not self.subset_sizes:
            self.fail("subset_sizes", "is empty: give at least one size")
