"""Label structure beyond one label per image: groups of fine-grained classes and ImageNet-ReaL
multi-labels (paper B, B2).

- :data:`FINE_GROUPS`: per data set, groups of classes that are ambiguous or fine-grained
  variants of one another. Fashion-MNIST: the four upper-body garments; CIFAR-10: cat/dog and
  automobile/truck; CIFAR-100: its 20 superclasses (the data set's own coarse labels).
- :func:`load_real_labels`: the ImageNet-ReaL label sets (Beyer et al. 2020), read from the
  JSON file that ships inside the ``timm`` package (or from a path), keyed by validation file
  name: ``ILSVRC2012_val_00000001.JPEG`` is entry 0. About 3,500 entries are empty (no valid
  label); :func:`augworth.metrics.classwise.real_accuracy` leaves them out.
"""

from __future__ import annotations

import json
from pathlib import Path

#: CIFAR-100 fine label (alphabetical index, as in the archive) -> coarse label (superclass).
CIFAR100_FINE_TO_COARSE = (
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
    6, 11, 5, 10, 7, 6, 13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
    5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
    10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
    16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
)
CIFAR100_SUPERCLASSES = (
    "aquatic mammals", "fish", "flowers", "food containers", "fruit and vegetables", "household electrical devices",
    "household furniture", "insects", "large carnivores", "large man-made outdoor things",
    "large natural outdoor scenes", "large omnivores and herbivores", "medium mammals", "non-insect invertebrates",
    "people", "reptiles", "small mammals", "trees", "vehicles 1", "vehicles 2",
)


def _superclass_groups() -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(f for f, c in enumerate(CIFAR100_FINE_TO_COARSE) if c == k) for k in range(20))


FINE_GROUPS: dict[str, tuple[tuple[int, ...], ...]] = {
    "fashion_mnist": ((0, 2, 4, 6),),     # T-shirt/top, pullover, coat, shirt
    "mnist": (),
    "cifar10": ((3, 5), (1, 9)),          # cat/dog, automobile/truck
    "cifar100": _superclass_groups(),
    "imagefolder": (),                    # ImageNet: use the ReaL labels instead
}


def group_of(dataset: str, cls: int) -> tuple[int, ...]:
    """The fine-grained group holding class ``cls`` (or just the class itself)."""
    for g in FINE_GROUPS.get(dataset, ()):
        if cls in g:
            return g
    return (cls,)


def _timm_real_json() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the ImageNet-ReaL labels ship inside the 'timm' package: pip install timm, "
                                "or pass the path of real.json (github.com/google-research/reassessed-imagenet)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "_info" / "imagenet_real_labels.json"
    if not path.exists():
        raise FileNotFoundError(f"this timm version has no {path.name} in timm/data/_info: pass the path of real.json")
    return path


def load_real_labels(path: str | Path | None = None) -> dict[str, list[int]]:
    """{validation file name: ReaL label set} from the JSON list (entry i is image i + 1)."""
    data = json.loads(Path(path or _timm_real_json()).read_text())
    if not isinstance(data, list) or not all(isinstance(v, list) for v in data):
        raise ValueError("the ReaL labels file must hold a JSON list of label lists, one per validation image")
    return {f"ILSVRC2012_val_{i + 1:08d}.JPEG": [int(x) for x in labels] for i, labels in enumerate(data)}


def real_labels_for(files, labels: dict[str, list[int]]) -> list[list[int]]:
    """The ReaL label sets of the given validation files (paths or names), in their order."""
    out = []
    for f in files:
        name = Path(str(f)).name
        if name not in labels:
            raise KeyError(f"{name} is not an ImageNet validation file name (ILSVRC2012_val_XXXXXXXX.JPEG)")
        out.append(labels[name])
    return out
