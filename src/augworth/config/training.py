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
    label_smoothing: float = param(0.0, "label smoothing of the cross-entropy", range=(0.0, 0.99))
    augment: str = param("crop(2)+flip", "training augmentation, drawn per image per step: stages joined by +, "
                         "e.g. none, crop(2)+flip, rrc(0.08), rotate(15), noise(0.1), trivialaugment")
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


@dataclass(frozen=True)
class TrainCell(DataSource, TrainConfig):
    """One cell of a training sweep: a data set, a training subset and the hyper-parameters."""

    notebook = "train cell"
    n_train: int = param(2000, "training-subset size (class balanced, nested in n for a seed)",
                         unit="images", range=(2, None))
