"""The claims the book tests (the registry), and the verdict records their chapters write.

The verdicts themselves are computed in :mod:`augworth.verdicts` (one module per chapter, one
function per claim, with the checks that gate each verdict); :func:`augworth.verdicts.publish`
writes them here as records. Records are JSON files (one per claim) in the records folder
(``AUGWORTH_RECORDS``; the book pipeline points it next to the executed notebooks), and the
scorecard page is built from them.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path

from . import paths

LABELS = ("supported", "not supported", "inconclusive")


@dataclass(frozen=True)
class Claim:
    id: str
    paper: str
    statement: str
    paper_number: str   # what the paper reports, as the paper says it
    notebook: str       # the chapter that tests it
    metric: str         # what we measure, and the rule that turns it into a verdict


PAPER_A = "Balestriero, Misra & LeCun (2022)"
PAPER_B = "Kirichenko et al. (NeurIPS 2023)"
PAPER_C = "Geiping et al. (ICLR 2023)"

# Paper A's numbers that A3 reads: its "common DAs" (the usual training recipes) and "tens of
# thousands of samples"
COMMON = ("crop(2)+flip", "rrc(0.08)")
PAPER_N = 10_000
CLAIMS: dict[str, Claim] = {c.id: c for c in [
    Claim("A1", PAPER_A, "For a DA linear in the pixels, the mean and covariance of the augmented image are exact "
          "in closed form.", "exact", "sample_complexity",
          "largest |z| of the closed-form mean against a Monte Carlo over all pixels of the exact families; "
          "supported if below 5"),
    Claim("A2", PAPER_A, "The loss's moments under DA: exact for a linear model; second order (delta method) for a "
          "network: Var[L] ~ g^T Sigma g.", "exact / second order", "sample_complexity",
          "ratio of the delta-method Var[L] to the truth for the CNN, per augmentation family: t CI over seeds of "
          "the per-seed median image (log scale, Bonferroni over the families); supported if every family's CI "
          "lies inside [0.5, 2], not supported if one lies wholly outside"),
    Claim("A3", PAPER_A, "Common DAs need tens of thousands of augmented samples for the loss to be estimated "
          "correctly.", "tens of thousands (>= 10,000)", "sample_complexity",
          "draws for a 1%-accurate per-image loss of the trained CNN under crop(2)+flip, median image per seed, 95% t CI "
          "over seeds (log scale); supported if the CI lies above 10,000, not supported if below"),
    Claim("A4", PAPER_A, "Training with a DA moves the saliency into the low-variance eigenspace of the DA "
          "covariance: away from edges, toward texture.", "qualitative", "saliency",
          "relative variance rho = g^T Sigma g / (||g||^2 tr Sigma / d) under a translation, no-DA models minus "
          "translation-trained models, images averaged per seed, paired 95% t CI over seeds; supported if above 0"),
    Claim("B1", PAPER_B, "The random-resized-crop strength that maximises average accuracy lowers individual "
          "classes' accuracy.", "up to 20% per class (ImageNet; barn spider 68% -> 46%)", "class_level",
          "classes whose test accuracy at the average-optimal scale is below their own best scale, one-sided paired "
          "t tests over seeds, Holm-corrected at alpha; supported if at least one class is hurt, not supported if the "
          "largest drop's 95% CI lies below 1 point; vacuous (inconclusive) unless the best crop beats no augmentation "
          "on average (paired CI above 0)"),
    Claim("B2", PAPER_B, "The affected classes are ambiguous or fine-grained: with better labels many drops vanish.",
          "many drops vanish with ImageNet-ReaL labels", "class_level",
          "share of the affected classes' summed drop that vanishes when confusions inside a fine-grained group are "
          "forgiven, 95% jackknife-t CI over seeds; supported if above 0.5"),
    Claim("B3", PAPER_B, "Augmentation strength moves a hurt class's errors toward one specific partner class.",
          "qualitative", "class_level",
          "pair (class, partner) chosen on validation; change of the pair's bias (share a->b minus b->a) on test "
          "from the weakest to the strongest crop, 95% CI over seeds; supported if above 0"),
    Claim("B4", PAPER_B, "Class-conditional augmentation (a weaker crop for the hurt classes) recovers their accuracy "
          "without losing average accuracy.", "recovers the hurt classes at equal average accuracy", "class_level",
          "hurt classes and policy chosen on validation; test accuracy gain of the hurt classes (CI above 0) and "
          "change of the average (CI above -tolerance), 95% CIs over seeds; supported if both, not supported if "
          "either interval lies wholly on the wrong side"),
    Claim("C1", PAPER_C, "Augmentations are worth extra samples, TrivialAugment the most: about 100k extra at a 50k "
          "base (2x); flips and crops less.", "v(50k) ~ 100k for TrivialAugment (CINIC-10)", "exchange_rate",
          "worth v(n)/n of TrivialAugment at the largest size, against a power law fitted to the no-augmentation "
          "error, 95% jackknife-t CI over seeds; supported if above 1 (worth more than the data it augments); "
          "inconclusive unless the largest-n runs converged and the fit predicts a held-out size"),
    Claim("C2", PAPER_C, "Out of distribution, augmentations inconsistent with the data are worth more than any "
          "amount of extra in-distribution data.", "the exchange rate diverges", "exchange_rate",
          "corrupted test error: the reference power law's asymptote b minus the strong augmentation's error at the "
          "largest size, 95% jackknife-t CI over seeds; supported if above 0 (below any error extra data reaches); "
          "inconclusive whatever the interval when the fitted b sits at its bound 0 (not identified by the sizes)"),
    Claim("C3", PAPER_C, "A model made invariant to a transform (flip-orbit averaging) is worth less than training "
          "with that augmentation, on small and medium data.", "invariance < augmentation", "exchange_rate",
          "test error of the flip-invariant model without augmentation minus that of a plain model trained with "
          "flips, averaged over the tested sizes, paired 95% t CI over seeds; supported if above 0"),
    Claim("C4", PAPER_C, "A fixed set of k augmented copies made once is worth less than fresh augmentation each "
          "step.", "fixed < fresh for every k tested", "exchange_rate",
          "test error with the largest k of fixed copies minus with fresh draws (same n, steps, seeds), paired "
          "95% t CI over seeds; supported if above 0; every k is shown beside"),
    Claim("C5", PAPER_C, "DA adds stochasticity to the gradient and flattens the loss landscape; gradient noise: "
          "random > same-batch > fixed augmentation.", "flatter; random > same-batch > fixed", "flatness",
          "filter-normalised step alpha to paper C's absolute threshold (training loss 1 nat), crop+flip minus no "
          "augmentation, directions averaged per seed, paired 95% t CI over seeds; supported if above 0, not "
          "supported if below the margin 0.04; the relative threshold (L0 + 1), the weight-space distance, the "
          "Hessian's top eigenvalue and the noise ordering are reported beside"),
]}


#: Equivalence margins of the claims whose threshold is 0: the smallest effect that would matter,
#: on the scale of the claim's measured effect. An interval wholly below it decides "not
#: supported" (no effect, or one too small to matter). Registered in
#: params/book/preregistration.yaml (a test keeps the two equal).
MARGINS = {
    "A4": 0.2,     # relative variance rho, none minus translation (rho ~2.3 without augmentation: ~10%)
    "B3": 0.02,    # change of the pair's bias (share of a class's test images)
    "C3": 0.005,   # test error (half a point)
    "C4": 0.005,   # test error (half a point)
    "C5": 0.04,    # filter-normalised step alpha to the threshold (alpha ~0.45 without augmentation: ~10%)
}
#: Convergence tolerance of test accuracy: more steps (2x the budget) must not move it by more
#: than this (a contrast claim checks its own effect, at its margin, beside it).
ACCURACY_TOL = 0.005
#: Convergence tolerance of B2's share (the part of a class's drop that vanishes when in-group
#: confusions are forgiven, 0-1): twice the budget must not move it by this much toward 0.5
#: (registration 9; the share moved +0.11 and +0.09 on registrations 8's and 5's seeds).
SHARE_TOL = 0.1
#: Convergence tolerance of B4's gain (the hurt classes' test accuracy under their own policy minus
#: under the uniform rrc(s*), 0-1): twice the budget must not move it by this much toward 0 -- B1's
#: margin, the size of drop B4 sets out to recover (registration 10). B4's other half, the
#: average's change, reads the chapter's ``avg_tolerance``.
GAIN_TOL = 0.01


@dataclass(frozen=True)
class Check:
    """One condition a verdict depends on; ``detail`` says what was found (shown when it fails)."""

    name: str
    passed: bool
    detail: str
    #: What would make a failed check pass: "seeds" (more seeds at this budget: ``seeds`` of them,
    #: when a power calculation can say), "budget" (a longer budget: the change is at least the
    #: tolerance), "seeds or budget" (a significant change inside the tolerance: ``seeds`` would
    #: show it inside, a longer budget may make it smaller), or None (neither: the regime the claim
    #: needs, a fit that failed)
    fix: str | None = None
    seeds: int | None = None

    def __post_init__(self):
        if self.fix not in FIXES:
            raise ValueError(f"check '{self.name}': fix = {self.fix!r}, allowed: {', '.join(map(repr, FIXES))}")

    def as_dict(self) -> dict:
        out = {"name": self.name, "passed": bool(self.passed), "detail": self.detail}
        return out | ({"fix": self.fix} if self.fix else {}) | ({"seeds": int(self.seeds)} if self.seeds else {})


#: What can make a failed check pass (:attr:`Check.fix`)
FIXES = (None, "seeds", "budget", "seeds or budget")


@dataclass(frozen=True)
class Decision:
    """A claim's verdict with its effect, interval, rule, checks and seed counts (what the verdict
    layer decides; :class:`Record` adds where the numbers came from)."""

    claim: str
    verdict: str
    measured: float
    interval: tuple[float, float] | None
    rule: str                 # the rule and its threshold, in words ("> 10,000 draws")
    summary: str              # one sentence with the numbers
    checks: tuple[Check, ...] = ()   # the checks the verdict depends on
    seeds: tuple[int, ...] = ()      # the training seeds it reads
    seeds_needed: int | None = None  # inconclusive: seeds a power calculation says would decide it
    n_seeds: int | None = None       # training seeds the verdict's interval is over (None: not seed-based)
    claimed: tuple | None = None     # where the claim puts the effect: (">=", t), ("<=", t), ("within", lo, hi)
    effect_seeds: int | None = None  # the effect's interval undecided: seeds it needs, whatever the checks say
    ungated: str | None = None       # the label the effect alone gives, before the checks gate it
    level: float = 0.95              # the interval's coverage (a multiplicity correction makes it wider than 95%)

    @property
    def reasons(self) -> list[str]:
        """Why a gated verdict is inconclusive: the details of its failed checks."""
        return [c.detail for c in self.checks if not c.passed]


@dataclass(frozen=True, kw_only=True)
class Record(Decision):
    """One claim's decision with everything needed to trust it: where its numbers came from."""

    profile: str
    dataset: str
    device: str
    wall_s: float
    package_version: str
    git_commit: str
    source: str               # computed / cache / committed:<profile>
    stage: str = "exploratory"  # confirmatory: read on a pre-registered profile's confirmatory seeds
    exploratory: dict | None = None  # confirmatory records: the same rule on the exploratory seeds
    deviations: tuple = ()    # changes to the registered rule after confirmatory results existed
    registration: int = 1     # which registration of the profile decided it (prereg.later: 2, 3, ...)
    earlier: dict | None = None  # a later registration's record: the earlier registration's verdict, beside
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))

    def __post_init__(self):
        if self.claim not in CLAIMS:
            raise ValueError(f"record for unknown claim '{self.claim}': registered claims are {', '.join(CLAIMS)}")
        if self.stage not in ("confirmatory", "exploratory"):
            raise ValueError(f"record for {self.claim}: stage '{self.stage}' is not confirmatory or exploratory")
        if self.verdict not in LABELS:
            raise ValueError(f"verdict '{self.verdict}' is not one of {', '.join(LABELS)}")
        if not 0 < self.level < 1:
            raise ValueError(f"record for {self.claim}: interval level {self.level!r} is not between 0 and 1")
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.name not in ("interval", "n_seeds", "seeds_needed", "claimed", "exploratory",
                                                         "effect_seeds", "ungated", "earlier"):
                raise ValueError(f"record for {self.claim} is missing the field '{f.name}'")
            if isinstance(value, str) and not value.strip():
                raise ValueError(f"record for {self.claim} has an empty field '{f.name}'")

    @property
    def seeds_text(self) -> str:
        return ", ".join(map(str, self.seeds)) or "-"


def records_dir() -> Path:
    return Path(os.environ.get("AUGWORTH_RECORDS", paths.ROOT / "build" / "records"))


def record(decision: Decision, *, result, profile: str, dataset: str, stage: str = "exploratory",
           exploratory: dict | None = None, deviations: tuple = (), registration: int = 1,
           earlier: dict | None = None) -> Record:
    """Validate and write a decision as its claim's record (atomically); returns it. ``result``
    is the :class:`augworth.experiments.Result` the numbers came from (its provenance is copied);
    ``stage``, ``exploratory``, ``deviations``, ``registration`` and ``earlier``: see
    :func:`augworth.verdicts.publish`."""
    from .io import atomic_write_text

    m = result.meta
    rec = Record(**{f.name: getattr(decision, f.name) for f in fields(Decision)}, profile=profile, dataset=dataset,
                 device=m.get("device_name", "?"), wall_s=result.cost_s, package_version=m.get("augworth", "?"),
                 git_commit=m.get("git_commit", "?"), source=m.get("source", "?"), stage=stage,
                 exploratory=exploratory, deviations=tuple(deviations), registration=registration,
                 earlier=earlier)
    data = asdict(rec) | {"checks": [c.as_dict() for c in rec.checks]}  # a check's fix only where it has one
    atomic_write_text(records_dir() / f"{decision.claim}.json", json.dumps(data, indent=1))
    return rec


def load_records(folder: Path | None = None) -> dict[str, Record]:
    folder = Path(folder or records_dir())
    out = {}
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(f.read_text())
            if data.get("interval") is not None:
                data["interval"] = tuple(data["interval"])
            data["checks"] = tuple(Check(**c) for c in data.get("checks", ()))
            data["seeds"] = tuple(data.get("seeds", ()))
            if data.get("claimed") is not None:
                data["claimed"] = tuple(data["claimed"])
            data["deviations"] = tuple(data.get("deviations", ()))
            out[data["claim"]] = Record(**data)
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as err:
            import warnings

            warnings.warn(f"claim record {f} is damaged ({type(err).__name__}: {err}): left out; re-execute its "
                          f"chapter (make nb NAME=<chapter>) to write it again", stacklevel=2)
    return out
