"""The parameters of each notebook (one dataclass per chapter, registered by notebook name).

Defaults here are the package's, not any profile's: ``params/<profile>/<notebook>.yaml`` sets
each profile's values over them (``python -m augworth params`` lists both), and command-line
``key=value`` pairs override both.
"""

from __future__ import annotations

from dataclasses import dataclass

from .augment_specs import parse_augment
from .base import ConfigError, Params, param

DATASETS = ("fashion_mnist", "mnist", "cifar10", "cifar100", "imagefolder")
MIN_IMAGE_SIZE = 8  # the smallest side the models' three 2x poolings can take
DEFAULT_IMAGE_SIZE = 64  # side length of a user's images unless image_size says otherwise
#: The corruptions of the out-of-distribution test sets (augworth.data.corruptions implements them)
CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "blur", "contrast", "pixelate", "jpeg", "brightness")
NOTEBOOK_PARAMS: dict[str, type[Params]] = {}


def register(cls: type[Params]) -> type[Params]:
    NOTEBOOK_PARAMS[cls.notebook] = cls
    return cls


@dataclass(frozen=True)
class DataSource(Params):
    """Fields every chapter that loads data shares."""

    dataset: str = param("fashion_mnist", "data set", choices=DATASETS)
    data_path: str | None = param(
        None, "image folder (dataset=imagefolder only): <path>/<class>/<image>, or train/ and val/ (or test/) "
        "holding class folders"
    )
    image_size: int = param(
        DEFAULT_IMAGE_SIZE, "side length images are resized to (dataset=imagefolder only); 0: keep their own size (one size for "
        "all)", unit="px", range=(0, 512)
    )
    val_size: int = param(
        5000, "class-balanced validation images carved from train (fixed, seed-independent)",
        unit="images", range=(0, None),
    )
    device: str = param("auto", "compute device: auto (CUDA when present), cpu, cuda, cuda:N, mps")

    def check_specs(self, name: str) -> None:
        """Fail naming field ``name`` (a spec or a list of specs) if any augmentation is invalid."""
        value = getattr(self, name)
        for spec in value if isinstance(value, tuple) else (value,):
            try:
                parse_augment(spec)
            except ConfigError as err:
                self.fail(name, f"holds an invalid augmentation: {err}")

    def check(self) -> None:
        super().check()
        if self.dataset == "imagefolder" and not self.data_path:
            self.fail("data_path", "must name a folder when dataset is 'imagefolder'")
        if 0 < self.image_size < MIN_IMAGE_SIZE:
            self.fail("image_size", f"is too small for the models: 0 (keep the images' size) or at least "
                                    f"{MIN_IMAGE_SIZE} pixels")
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda", "mps") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            self.fail("device", "is not a device: use auto, cpu, cuda, cuda:N or mps")


@dataclass(frozen=True)
class Converging(DataSource):
    """Fields of a chapter whose verdicts read trained models: the convergence runs (each model of
    ``convergence_seeds`` trained again with ``convergence_factors`` times its budget, everything
    else equal), from which a verdict's convergence check is the paired change over those seeds."""

    convergence_seeds: tuple[int, ...] = param(
        (), "seeds whose models are trained again with more steps (the convergence check over seeds; empty: none)",
        range=(0, 2**31 - 1))
    convergence_factors: tuple[int, ...] = param(
        (2,), "multiples of the training budget the convergence runs train for (the check reads the first)",
        range=(2, 64))

    def trained_seeds(self) -> tuple[int, ...]:
        """The seeds the chapter trains models for (``seeds``, unless a chapter says otherwise)."""
        return tuple(getattr(self, "seeds", ()))

    def check(self) -> None:
        super().check()
        stray = sorted(set(self.convergence_seeds) - set(self.trained_seeds()))
        if stray:
            self.fail("convergence_seeds", f"holds seeds {stray} the chapter trains no model for "
                                           f"({list(self.trained_seeds())})")


@register
@dataclass(frozen=True)
class DataParams(DataSource):
    """The `data` chapter: what the data set looks like and how subsets are drawn."""

    notebook = "data"
    n_per_class: int = param(8, "example images per class in the grid", unit="images", range=(1, 32))
    subset_sizes: tuple[int, ...] = param(
        (1000, 4000, 16000), "training-subset sizes to draw and check", unit="images", of="train", range=(1, None)
    )
    seeds: tuple[int, ...] = param((0, 1, 2), "seeds of the subsets", range=(0, 2**31 - 1))

    def check(self) -> None:
        super().check()
        if not self.seeds:
            self.fail("seeds", "is empty: give at least one seed")
        if not self.subset_sizes:
            self.fail("subset_sizes", "is empty: give at least one size")


@register
@dataclass(frozen=True)
class SampleComplexityParams(Converging):
    """The `sample_complexity` chapter (paper A, A1-A3): how many augmented draws a Monte Carlo
    estimate of the loss and of its gradient needs, against the closed form."""

    notebook = "sample_complexity"
    augmentations: tuple[str, ...] = param(
        ("crop(1)", "crop(3)", "flip(0.5)", "crop(2)+flip", "rotate(10)", "rotate(30)", "rrc(0.5)", "rrc(0.08)",
         "brightness(0.1)", "brightness(0.4)", "contrast(0.2)", "contrast(0.6)", "blur(0.3,1.0,5)",
         "blur(0.5,2.0,5)", "noise(0.05)", "noise(0.2)"),
        "linear augmentations to measure (each family at two strengths)")
    n_images: int = param(12, "test images per augmentation", unit="images", of="test", range=(1, 10000))
    n_max: int = param(1024, "largest number of Monte Carlo draws of the loss per image", unit="draws",
                       range=(8, 10**6))
    grad_n_max: int = param(128, "largest number of Monte Carlo draws of the weight gradient per image",
                            unit="draws", range=(8, 10**6))
    n_ref: int = param(4096, "draws of the Monte Carlo reference where no closed form exists (noise on the CNN)",
                       unit="draws", range=(64, 10**7))
    quad_nodes: int = param(64, "Gauss-Legendre nodes per continuous parameter (rotation, blur; brightness and "
                            "contrast for a network's loss)", range=(3, 1024))
    quad_nodes_rrc: int = param(6, "Gauss-Legendre nodes per parameter of the random-resized crop "
                                "(4-D: nodes^4 / 2 views)", range=(2, 16))
    n_train: int = param(4000, "training images of the CNN", unit="images", of="train", range=(100, None))
    epochs: int = param(8, "training epochs of the CNN", unit="epochs", range=(1, 1000))
    width: int = param(16, "width of the fast CNN", range=(4, 512))
    train_augment: str = param("crop(2)+flip", "augmentation the CNN is trained with")
    ridge: float = param(1e-3, "ridge penalty of the linear least-squares classifiers (per image)", range=(0.0, 10.0))
    lin_n: int = param(1000, "training images of the no-sampling experiment", unit="images", of="train",
                       range=(10, None))
    lin_augment: str = param("crop(2)+flip", "augmentation of the no-sampling experiment (linear)")
    k_values: tuple[int, ...] = param((1, 2, 4, 8, 16, 32, 64, 128, 256),
                                      "sampled augmentations per image to compare with the closed form", range=(1, 10**5))
    seed: int = param(0, "seed of the subsets, the training and the draws", range=(0, 2**31 - 1))
    verdict_seeds: tuple[int, ...] = param((1, 2, 3, 4), "more CNN seeds for the A2/A3 verdicts (each its own subset, "
                                           "initialisation and draws; only the verdicts' numbers are measured on them)",
                                           range=(0, 2**31 - 1))
    images_per_seed: bool = param(False, "each seed measures its own draw of n_images test images (else every seed "
                                         "measures the main seed's: the interval is then conditional on them)")

    def trained_seeds(self) -> tuple[int, ...]:
        return (self.seed, *self.verdict_seeds)

    def check(self) -> None:
        super().check()
        from .augment_specs import is_linear

        if self.seed in self.verdict_seeds:
            self.fail("verdict_seeds", f"holds the main seed {self.seed}: the verdicts' seeds must differ")
        for name in ("train_augment", "lin_augment", "augmentations"):
            self.check_specs(name)
        if not is_linear(self.lin_augment):
            self.fail("lin_augment", "must be linear in the pixels (it needs closed-form moments)")
        for spec in self.augmentations:
            if not is_linear(spec):
                self.fail("augmentations", f"holds {spec!r}, which has no closed-form moments (not linear)")


@register
@dataclass(frozen=True)
class ScorecardParams(Params):
    """The `scorecard` page: every registered claim's verdict, from the chapters' records."""

    notebook = "scorecard"


@register
@dataclass(frozen=True)
class SaliencyParams(Converging):
    """The `saliency` chapter (paper A, A4): does training with an augmentation move the saliency
    into the low-variance eigenspace of the augmentation's covariance, away from edges?"""

    notebook = "saliency"
    augmentations: tuple[str, ...] = param(("none", "crop(1)", "crop(3)", "flip", "noise(0.1)", "noise(0.3)"),
                                           "training augmentations (each a model per seed)")
    probe: str = param("crop(2)", "augmentation whose covariance Sigma(x) the saliency is measured against")
    seeds: tuple[int, ...] = param((0, 1), "seeds (a model per augmentation and seed)", range=(0, 2**31 - 1))
    n_train: int = param(3000, "training images per model", unit="images", of="train", range=(100, None))
    epochs: int = param(6, "training epochs", unit="epochs", range=(1, 1000))
    checkpoints: tuple[int, ...] = param((1, 2, 4, 6), "epochs at which the saliency is measured", unit="epochs",
                                         range=(1, None))
    width: int = param(16, "width of the fast CNN", range=(4, 512))
    n_images: int = param(64, "test images the saliency is measured on", unit="images", of="test", range=(1, 10000))
    top_k: int = param(8, "size of the top/bottom eigenspaces", range=(1, 4096))
    edge_quantile: float = param(0.8, "pixels above this quantile of the Sobel magnitude are edges", range=(0.0, 0.99))
    n_mc: int = param(256, "draws of the probe augmentation for the measured Var[L]", unit="draws", range=(16, 10**6))

    def check(self) -> None:
        super().check()
        from .augment_specs import is_linear

        self.check_specs("augmentations")
        self.check_specs("probe")
        if not is_linear(self.probe) or "noise" in self.probe:
            self.fail("probe", "must be linear and anisotropic (noise has Sigma = s^2 I: every direction alike)")
        if max(self.checkpoints) > self.epochs:
            self.fail("checkpoints", f"holds an epoch after the last one ({self.epochs})")


@register
@dataclass(frozen=True)
class FlatnessParams(Converging):
    """The `flatness` chapter (paper C, C5): does augmentation add gradient noise and flatten the
    loss landscape?"""

    notebook = "flatness"
    augmentations: tuple[str, ...] = param(("none", "crop(1)+flip", "crop(2)+flip"), "training augmentations")
    seeds: tuple[int, ...] = param((0, 1), "seeds (a model per augmentation and seed)", range=(0, 2**31 - 1))
    n_train: int = param(800, "training images per model (the flatness loss is over all of them)",
                         unit="images", of="train", range=(100, None))
    epochs: int = param(12, "training epochs", unit="epochs", range=(1, 1000))
    width: int = param(16, "width of the fast CNN", range=(4, 512))
    directions: int = param(5, "random filter-normalised directions per model", range=(1, 1000))
    step: float = param(0.1, "step along a direction (paper C: 0.1)", range=(1e-4, 10.0))
    threshold: float = param(1.0, "absolute cross-entropy threshold (paper C: 1.0 nat)", unit="nat", range=(0.01, 100.0))
    bisections: int = param(4, "bisection steps refining the crossing between the last two steps", range=(0, 50))
    hessian_images: int = param(512, "fixed training sample for the Hessian (paper pitfall: >= 4096 in full)",
                                unit="images", range=(16, None))
    power_iters: int = param(10, "power-iteration steps for the top Hessian eigenvalue", range=(2, 1000))
    power_tol: float = param(1e-3, "relative change at which power iteration stops", range=(0.0, 1.0))
    probes: int = param(6, "Rademacher probes of Hutchinson's trace estimator", range=(1, 10000))
    noise_augment: str = param("crop(2)+flip", "augmentation whose gradient noise is compared across modes")
    noise_passes: int = param(2, "passes over the training subset for the gradient-noise estimates", range=(1, 100))
    grid: int = param(7, "points per axis of the 2-D loss slice over [-1, 1]", range=(3, 201))

    def check(self) -> None:
        super().check()
        self.check_specs("augmentations")
        self.check_specs("noise_augment")
        if self.hessian_images > self.n_train:
            self.fail("hessian_images", f"exceeds n_train={self.n_train}")


@register
@dataclass(frozen=True)
class ClassLevelParams(Converging):
    """The `class_level` chapter (paper B, B1-B4): the random-resized-crop strength that is best
    on average, the classes it hurts, why, and a class-conditional fix."""

    notebook = "class_level"
    scales: tuple[float, ...] = param((0.08, 0.25, 0.5, 0.75, 1.0),
                                      "minimum area scales s of the random-resized crop rrc(s) (area ~ U(s, 1))",
                                      range=(0.01, 1.0))
    include_none: bool = param(True, "also train without augmentation (a point of the sweep)")
    seeds: tuple[int, ...] = param((0, 1, 2), "seeds, paired across strengths (subset, initialisation, draws)",
                                   range=(0, 2**31 - 1))
    n_train: int = param(2000, "training images per model", unit="images", of="train", range=(100, None))
    epochs: int = param(15, "training epochs", unit="epochs", range=(1, 1000))
    width: int = param(16, "width of the fast CNN", range=(4, 512))
    choice_seeds: tuple[int, ...] = param(
        (), "seeds whose validation accuracies choose s*, the hurt classes and the B4 policy (the exploratory "
        "seeds; empty: every seed); the verdicts test on the other seeds", range=(0, 2**31 - 1))
    alpha: float = param(0.05, "family-wise error rate of the per-class tests (Holm)", range=(0.0001, 0.5))
    min_drop: float = param(0.02, "validation drop (accuracy, 0-1) from which a class gets its own policy (B4), "
                            "when the drop is also significant over seeds (Holm, alpha)",
                            range=(0.0, 1.0))
    conditional: str = param("own-best", "B4 policy of the hurt classes: their own best strength on validation, "
                             "or no augmentation", choices=("own-best", "none"))
    avg_tolerance: float = param(0.005, "B4: largest loss of average accuracy that still counts as 'without "
                                 "losing average accuracy'", range=(0.0, 0.1))

    def check(self) -> None:
        super().check()
        if len(self.seeds) < 2:
            self.fail("seeds", "needs at least 2 seeds: the per-class tests are paired over seeds")
        if self.choice_seeds and (len(self.choice_seeds) < 2 or set(self.choice_seeds) - set(self.seeds)):
            self.fail("choice_seeds", "must be empty or at least 2 of 'seeds'")
        if len(set(self.scales)) != len(self.scales):
            self.fail("scales", "holds a scale twice")
        if len(self.scales) + self.include_none < 2:
            self.fail("scales", "needs at least two strengths to compare (with include_none)")


@register
@dataclass(frozen=True)
class ExchangeRateParams(DataSource):
    """The `exchange_rate` chapter (paper C, C1-C4): what augmentations are worth in samples, in
    and out of distribution; invariance versus augmentation; fixed versus fresh views."""

    notebook = "exchange_rate"
    sizes: tuple[int, ...] = param((250, 500, 1000, 2000, 4000), "training-set sizes n (class balanced, nested)",
                                   unit="images", of="train", range=(20, None))
    augmentations: tuple[str, ...] = param(
        ("none", "flip", "crop(2)", "crop(2)+flip", "trivialaugment", "randaugment", "noise(0.4)"),
        "training augmentations; the first must be 'none' (the reference curve)")
    strong: str = param("noise(0.4)", "the strong augmentation that makes images unlike the data (C2)")
    seeds: tuple[int, ...] = param((0, 1, 2), "seeds (a fixed subset per seed and size)", range=(0, 2**31 - 1))
    steps: int = param(400, "optimiser steps per model, whatever n (paper C: a fixed budget)", unit="steps",
                       range=(10, 10**7))
    batch_size: int = param(128, "images per optimiser step", unit="images", range=(1, 65536))
    width: int = param(8, "width of the fast CNN", range=(4, 512))
    convergence_factor: int = param(2, "the largest-n runs (first seed) are repeated with this many times the "
                                    "steps, to check they had converged; 1: no check", range=(1, 16))
    convergence_seeds: tuple[int, ...] = param(
        (), "seeds whose convergence runs are trained: the largest-n runs, C3's largest size and C4's largest k "
        "(empty: the largest-n runs of the first seed only)", range=(0, 2**31 - 1))
    reference_sizes: tuple[int, ...] = param(
        (), "more sizes trained without augmentation only, beyond 'sizes': the reference curve then reaches the "
        "equivalent sizes a worth above 1 needs (read by interpolation, not extrapolation)", unit="images",
        of="train", range=(20, None))
    corruptions: tuple[str, ...] = param(
        CORRUPTIONS, "corruptions of the out-of-distribution test sets (5 severities each)", choices=CORRUPTIONS)
    ood_images: int = param(1000, "test images per corrupted test set (class balanced, same for every set)",
                            unit="images", of="test", range=(10, None))
    invariance: str = param("flip-average", "flip-invariant model of C3", choices=("flip-average", "flip-canonical"))
    invariance_augments: tuple[str, ...] = param(("none", "flip"), "training augmentations of the invariant model "
                                                 "(C3 reads 'none'; 'flip' shows what flips add to a model that is "
                                                 "already invariant to them)", choices=("none", "flip"))
    invariance_sizes: tuple[int, ...] = param((), "sizes for C3 (empty: all sizes)", unit="images", of="train",
                                              range=(20, None))
    invariance_seeds: tuple[int, ...] = param((), "seeds for C3 (empty: seeds); C3 reads only its own cells (and "
                                              "plain models with flips at its sizes, trained for seeds not in "
                                              "'seeds'), so seeds here buy its power without the whole grid",
                                              range=(0, 2**31 - 1))
    fixed_augment: str = param("crop(2)+flip", "augmentation of the fixed-versus-fresh comparison (C4); must be "
                               "one of 'augmentations'")
    fixed_copies: tuple[int, ...] = param((1, 2, 4, 8, 16), "numbers k of augmented copies made once (C4)",
                                          range=(1, 1024))
    fixed_sizes: tuple[int, ...] = param((500, 2000), "sizes for C4 (each must be one of 'sizes')", unit="images",
                                         of="train",
                                         range=(20, None))
    convergence_tol: float = param(0.005, "C1/C2 gate: largest change of the largest-n test error with "
                                   "convergence_factor x the steps for the runs to count as converged",
                                   range=(0.0, 1.0))
    holdout_tol: float = param(0.01, "C1/C2 gate: largest error of the reference fit's prediction at the held-out "
                               "largest size", range=(0.0, 1.0))

    def check(self) -> None:
        super().check()
        self.check_specs("augmentations")
        self.check_specs("strong")
        self.check_specs("fixed_augment")
        if not self.augmentations or self.augmentations[0] != "none":
            self.fail("augmentations", "must start with 'none' (the reference curve)")
        if len(set(self.sizes)) < 4:
            self.fail("sizes", "needs at least 4 distinct sizes (a 3-parameter power law and a held-out size)")
        if len(self.seeds) < 2:
            self.fail("seeds", "needs at least 2 seeds (intervals are over seeds)")
        for name in ("strong", "fixed_augment"):
            if getattr(self, name) not in self.augmentations:
                self.fail(name, f"must be one of 'augmentations' {list(self.augmentations)}")
        if "none" not in self.invariance_augments:
            self.fail("invariance_augments", "must hold 'none' (the invariant model C3 reads)")
        if any(n <= max(self.sizes) for n in self.reference_sizes):
            self.fail("reference_sizes", f"must lie above the largest of 'sizes' ({max(self.sizes)})")
        for s in self.fixed_sizes + self.invariance_sizes:
            if s not in self.sizes:
                self.fail("fixed_sizes" if s in self.fixed_sizes else "invariance_sizes", f"holds {s}, not in 'sizes'")
