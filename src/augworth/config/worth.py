"""Parameters of ``worth``: what one augmentation is worth on a user's own data.

Unset design fields (``sizes``, ``steps``, ``seeds``: empty or 0) are chosen by
:func:`augworth.experiments.worth_design.choose_design` from the data set's size and the time budget
``minutes``; the resolved parameters (every field set) are what the results are keyed on.
"""

from __future__ import annotations

from dataclasses import dataclass

from .augment_specs import parse_augment
from .base import ConfigError, param
from .chapters import CORRUPTIONS, DataSource
from .training import MODEL_NAMES


@dataclass(frozen=True)
class WorthParams(DataSource):
    """`worth`: an augmentation against a baseline on one data set: worth in samples, per-class
    effects, closed-form moments of its linear stages, and (optionally) worth out of distribution."""

    notebook = "worth"
    image_size: int = param(0, "side length images are resized to (shorter side, then a centre crop); 0: keep "
                            "their own size (one size for all)", unit="px", range=(0, 512))
    val_size: int = param(0, "class-balanced validation images carved from train (not used by worth)",
                          unit="images", range=(0, None))
    augment: str = param("crop(2)+flip", "the augmentation to measure (a spec, e.g. crop(2)+flip, rrc(0.5), "
                         "trivialaugment), or several separated by commas (crop(2), flip, trivialaugment): each "
                         "against the same baseline, subsets and seeds, ranked by worth")
    baseline: str = param("none", "the policy it is measured against (its power law is the reference curve)")
    minutes: float = param(4.0, "time budget for training everything: chooses sizes, steps and seeds that are not "
                           "given", unit="min", range=(0.05, 100000.0), finite=True)
    sizes: tuple[int, ...] = param((), "training-set sizes n (class balanced, nested); empty: chosen (4 sizes up "
                                   "to the smallest class)", unit="images", range=(2, None))
    steps: int = param(0, "optimiser steps per model whatever n (a fixed budget); 0: chosen from minutes",
                       unit="steps", range=(0, 10**7))
    seeds: tuple[int, ...] = param((), "seeds (a subset, initialisation and draws each, paired across the two "
                                   "policies); empty: 3 to 8, chosen from minutes", range=(0, 2**31 - 1))
    batch_size: int = param(64, "images per optimiser step (smaller subsets use all their images)", unit="images",
                            range=(1, 65536))
    model: str = param("fast_cnn", "architecture", choices=MODEL_NAMES)
    width: int = param(16, "base width of the model", range=(1, 4096))
    convergence_factor: int = param(2, "the largest-n runs of the first seeds are repeated with this many times the "
                                    "steps; 1: no check (the verdict is then inconclusive)", range=(1, 16))
    convergence_runs: int = param(3, "the first this many seeds repeat their largest-n runs with "
                                  "convergence_factor x the steps (the convergence check over seeds; the design's "
                                  "pilot sets it)", range=(1, 64))
    convergence_tol: float = param(0.005, "largest change of the largest-n test error with more steps for the runs "
                                   "to count as converged (at least 2 test images' worth)", range=(0.0, 1.0))
    holdout_tol: float = param(0.01, "largest error of the baseline fit's prediction at the held-out largest size "
                               "(at least 2 test images' worth)", range=(0.0, 1.0))
    alpha: float = param(0.05, "family-wise error rate of the per-class tests (Holm)", range=(0.0001, 0.5))
    ood: bool = param(False, "also measure worth on corrupted copies of the test set (the corruption suite)")
    corruptions: tuple[str, ...] = param(CORRUPTIONS, "corruptions of the out-of-distribution test sets (5 "
                                         "severities each)", choices=CORRUPTIONS)
    ood_images: int = param(1000, "test images per corrupted test set (at most the test set)", unit="images",
                            range=(10, None))
    moments: bool = param(True, "closed-form mean and variance of the augmentation's linear stages, and the draws "
                          "a 1%-accurate loss estimate needs on the trained model")
    moment_images: int = param(3, "test images of the closed-form section", unit="images", range=(1, 64))
    quad_nodes: int = param(32, "Gauss-Legendre nodes per continuous parameter (rotation, blur, brightness, "
                            "contrast)", range=(3, 1024))
    quad_nodes_rrc: int = param(6, "Gauss-Legendre nodes per parameter of the random-resized crop", range=(2, 16))
    n_ref: int = param(4096, "draws of the Monte Carlo reference where the spec adds noise", unit="draws",
                       range=(64, 10**7))

    @property
    def augments(self) -> tuple[str, ...]:
        """The augmentations measured: ``augment`` split at its top-level commas (a comma inside a
        stage's arguments, rotate(10, 0.5), stays)."""
        return split_policies(self.augment)

    @property
    def policies(self) -> tuple[str, ...]:
        """The baseline, then every augmentation measured against it."""
        return (self.baseline, *self.augments)

    def check(self) -> None:
        super().check()
        augments = self.augments
        if not augments:
            self.fail("augment", "is empty: give an augmentation, e.g. crop(2)+flip, or several separated by commas")
        for spec in augments:
            try:
                parse_augment(spec)
            except ConfigError as err:
                self.fail("augment", f"holds an invalid augmentation: {err}")
        self.check_specs("baseline")
        same = [a for a in augments if a.replace(" ", "") == self.baseline.replace(" ", "")]
        if same:
            self.fail("baseline", f"is an augmentation measured against it ({same[0]!r}): measure it against another "
                                  "policy")
        squeezed = [a.replace(" ", "") for a in augments]
        twice = sorted({a for a in squeezed if squeezed.count(a) > 1})
        if twice:
            self.fail("augment", f"names {twice[0]!r} twice: each augmentation once")
        if self.sizes and len(set(self.sizes)) < 4:
            self.fail("sizes", "needs at least 4 distinct sizes (a 3-parameter power law and a held-out size)")
        if len(set(self.seeds)) != len(self.seeds):
            self.fail("seeds", "holds a seed twice")

    @property
    def resolved(self) -> bool:
        """True when every design field is set (what the runner needs)."""
        return bool(self.sizes) and self.steps > 0 and bool(self.seeds)


def split_policies(text: str) -> tuple[str, ...]:
    """``text`` split at the commas outside parentheses, each part stripped (empty parts left out)."""
    parts, depth, cur = [], 0, []
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return tuple(p.strip() for p in parts if p.strip())
