"""Training hyper-parameters shared by every chapter that trains models.

Defaults follow the reference recipe of Geiping et al. (2023), paper C: SGD with Nesterov
momentum 0.9, peak learning rate 0.1, weight decay 5e-4, batch 128, linear warm-up then cosine
decay. Chapter parameter classes inherit these fields; sweeps vary them per cell.
"""

from __future__ import annotations

from dataclasses import dataclass

from .augment_specs import parse_augment
from .base import ConfigError, Params, param
from .chapters import DataSource

#: Must match ``augworth.models.MODELS`` (a test checks).
MODEL_NAMES = ("fast_cnn", "resnet18", "linear", "random_features")


@dataclass(frozen=True)
class TrainConfig(Params):
    """One training run's hyper-parameters (units in the help texts)."""

    model: str = param("fast_cnn", "architecture", choices=MODEL_NAMES)
    width: int = param(32, "base width: channels of the first stage (random features: features)", range=(1, 4096))
    epochs: int = param(10, "passes over the training subset (ignored when steps > 0)", unit="epochs", range=(1, 100000))
    steps: int = param(0, "fixed optimiser-step budget whatever the subset size; 0: use epochs",
                       unit="steps", range=(0, 10**8))
    batch_size: int = param(128, "images per optimiser step", unit="images", range=(1, 65536))
    lr: float = param(0.1, "peak learning rate (SGD)", range=(0.0, 10.0))
    momentum: float = param(0.9, "SGD momentum", range=(0.0, 0.999))
    nesterov: bool = param(True, "Nesterov momentum")
    weight_decay: float = param(5e-4, "L2 weight decay (coupled, as in SGD)", range=(0.0, 1.0))
    warmup_frac: float = param(0.0333, "fraction of all steps with linear learning-rate warm-up "
                               "(paper C: 2k of 60k steps), then cosine decay to 0", range=(0.0, 1.0))
    decay: str = param("cosine", "learning-rate decay after the warm-up, to 0 at the last step: cosine or linear",
                       choices=("cosine", "linear"))
    stem: str = param("conv", "first layer of the fast CNN: conv (a learned 3x3 convolution) or whiten (a frozen "
                      "2x2 patch-whitening convolution fitted to the un-augmented training images, airbench's)",
                      choices=("conv", "whiten"))
    dirac_init: bool = param(False, "initialise the fast CNN's convolutions as the identity (Dirac) on their "
                             "first input channels, plus the default random part on the others")
    bn_bias_lr: float = param(1.0, "learning-rate multiplier of the BatchNorm biases", range=(0.0, 1000.0))
    bn_scale: str = param("learned", "BatchNorm scales: learned, or fixed at 1", choices=("learned", "fixed"))
    label_smoothing: float = param(0.0, "label smoothing of the cross-entropy", range=(0.0, 0.99))
    augment: str = param("crop(2)+flip", "training augmentation, drawn per image per step: stages joined by +, "
                         "e.g. none, crop(2)+flip, rrc(0.08), rotate(15), noise(0.1), trivialaugment")
    class_augment: tuple[str, ...] = param((), "class-conditional policies, each CLASS=SPEC (class index), e.g. "
                                           "['6=none', '2=crop(1)']: images of those classes are augmented with "
                                           "their own spec, all others with 'augment'")
    fixed_copies: int = param(0, "0: a fresh draw of the augmentation for every image at every step; k > 0: k "
                              "augmented copies of each image drawn once before training (a fixed data set of "
                              "k*n images; 'epochs' then count passes over it)", range=(0, 1024))
    invariance: str = param("none", "make the model exactly invariant to the horizontal flip, in training and at "
                            "test: flip-average (logits of x and flip(x) averaged) or flip-canonical (orbit "
                            "mapping to a canonical member)", choices=("none", "flip-average", "flip-canonical"))
    tta_flip: bool = param(False, "evaluate on the average of the logits of x and its flip")
    amp: str = param("auto", "mixed precision: auto (bf16 autocast on CUDA only), off, bf16", choices=("auto", "off", "bf16"))
    compile: bool = param(False, "torch.compile the model (CUDA; first steps include compilation)")
    eval_every: int = param(0, "evaluate the validation split every this many epochs; 0: at the end only",
                            unit="epochs", range=(0, 100000))
    checkpoints: tuple[int, ...] = param((), "epochs after which to save the weights", unit="epochs", range=(1, None))
    seed: int = param(0, "seed of initialisation, subset, shuffling and augmentation", range=(0, 2**31 - 1))

    def check(self) -> None:
        super().check()
        try:
            parse_augment(self.augment)
        except ConfigError as err:
            self.fail("augment", f"is not a valid augmentation: {err}")
        try:
            class_policies(self.class_augment)
        except ValueError as err:
            self.fail("class_augment", str(err))
        if self.model != "fast_cnn":
            for name, default in (("stem", "conv"), ("dirac_init", False)):
                if getattr(self, name) != default:
                    self.fail(name, f"applies to the fast CNN only (model = {self.model!r})")


def class_policies(entries) -> dict[str, tuple[int, ...]]:
    """Parse ``class_augment`` entries ("CLASS=SPEC") into {spec: classes}; a class may appear once."""
    by_spec: dict[str, list[int]] = {}
    seen: set[int] = set()
    for entry in entries:
        cls, sep, spec = str(entry).partition("=")
        if not sep or not cls.strip().isdigit():
            raise ValueError(f"entry {entry!r} is not CLASS=SPEC with a class index, e.g. '6=none'")
        c = int(cls)
        if c in seen:
            raise ValueError(f"class {c} is given more than one policy")
        seen.add(c)
        spec = spec.strip()
        try:
            parse_augment(spec)
        except ConfigError as err:
            raise ValueError(f"entry {entry!r} holds an invalid augmentation: {err}") from None
        by_spec.setdefault(spec, []).append(c)
    return {k: tuple(v) for k, v in by_spec.items()}


@dataclass(frozen=True)
class TrainCell(DataSource, TrainConfig):
    """One cell of a training sweep: a data set, a training subset and the hyper-parameters."""

    notebook = "train cell"
    n_train: int = param(2000, "training-subset size (class balanced, nested in n for a seed)",
                         unit="images", range=(2, None))
    evaluate_val: bool = param(True, "evaluate the final model on the validation split too (cells that read no "
                               "validation numbers skip it)")
