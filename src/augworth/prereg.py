"""The pre-registration of a confirmatory profile (``params/<profile>/preregistration.yaml``),
read for the verdict layer: which seeds are exploratory and which confirmatory per chapter, and
the deviations recorded since it was committed. A profile without the file has no confirmatory
seeds: all its verdicts are exploratory.

Nothing here trains or is part of a cell's key: an edit never makes a stored result stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import yaml

from . import paths

FILE = "preregistration.yaml"


@dataclass(frozen=True)
class Registration:
    profile: str
    registered: str                       # the date it was committed
    exploratory: tuple[int, ...]          # seeds the choices and the power calculation may look at
    confirmatory: dict[str, tuple[int, ...]]  # chapter (or chapter_suffix) -> its confirmatory seeds
    claims: dict[str, dict]               # claim -> its registered rule, threshold, margin, convergence
    deviations: tuple[dict, ...]          # {date, claim(s), what, why}, added after confirmatory results existed
    #: chapter -> parameter overrides of the exploratory pilot at longer budgets run after the
    #: confirmatory one (``longer_budgets``): it changes no rule or verdict, it sizes a next registration
    longer: dict[str, dict] = field(default_factory=dict)
    longer_seeds: tuple[int, ...] = ()   # the seeds that pilot trains

    def longer_budget(self, chapter: str) -> dict | None:
        """The overrides of ``chapter``'s longer-budget pilot, or None."""
        return self.longer.get(chapter)

    def confirmatory_seeds(self, chapter: str) -> tuple[int, ...]:
        """Every confirmatory seed of ``chapter`` (the union of its sets: exchange_rate's C3 has its own)."""
        seeds: set[int] = set()
        for name, s in self.confirmatory.items():
            if name == chapter or name.startswith(chapter + "_"):
                seeds |= set(s)
        return tuple(sorted(seeds))

    def deviations_for(self, claim: str) -> list[dict]:
        """The deviations that name ``claim`` (or all claims: ``claims: all``)."""
        return _naming(self.deviations, claim)


def _naming(deviations, claim: str) -> list[dict]:
    """The deviations whose ``claims`` (or ``claim``; absent: all) name ``claim`` or ``all``."""
    out = []
    for d in deviations:
        named = d.get("claims", d.get("claim", "all"))
        named = [named] if isinstance(named, str) else list(named)
        if "all" in named or claim in named:
            out.append(d)
    return out


@lru_cache(maxsize=None)
def load(profile: str) -> Registration | None:
    """The profile's registration, or None when it has none (an exploratory profile)."""
    f = paths.PARAMS / profile / FILE
    if not f.is_file():
        return None
    raw = yaml.safe_load(f.read_text())
    bad = [k for k in ("exploratory", "confirmatory", "claims") if k not in raw]
    if bad:
        raise ValueError(f"{f}: the pre-registration lacks {', '.join(bad)}")
    return Registration(profile=profile, registered=str(raw.get("registered", "?")),
                        exploratory=tuple(int(s) for s in raw["exploratory"]["seeds"]),
                        confirmatory={k: tuple(int(s) for s in v) for k, v in raw["confirmatory"]["seeds"].items()},
                        claims=dict(raw["claims"]), deviations=tuple(raw.get("deviations") or ()),
                        longer=dict((raw.get("longer_budgets") or {}).get("chapters") or {}),
                        longer_seeds=tuple(int(s) for s in (raw.get("longer_budgets") or {}).get("seeds") or ()))


LATER = "registration-*.yaml"

#: The claims whose registration may name what their verdict and convergence gate read
#: (``shown``): A2 reads one of many augmentation families, and which is farthest from the band
#: may differ between seed sets; B1 reads one class's drop, and which class drops most may too;
#: B2 explains one class's drop instead of the classes found affected on the test seeds. A
#: registration names it before its seeds run (B1, B2: a class chosen on exploratory seeds).
SHOWN_CLAIMS = frozenset({"A2", "B1", "B2"})

#: The convergence gates a later registration may give a claim besides the two-sided default
#: (:func:`augworth.verdicts.rules.convergence_check`): "toward the claim's boundary" reads the
#: claim's own metric on the side that could overturn the verdict the rule gives (a "not
#: supported" of a ">=" claim is threatened by a rise, a "supported" by a fall) and shows the
#: test-accuracy changes beside it, not gating.
GATES = ("toward the claim's boundary",)

#: What a later registration may change in how a claim reads its numbers, named in the claim's
#: rule (``rules.<claim>.<key>``), before its seeds run. C1 ``held_out``: the reference size whose
#: prediction by the fit without it gates C1 (default: the largest size, an extrapolation; an
#: interior size beside the equivalent size C1 reads tests the fit where it is read). C2
#: ``refuted_by: measured reference``: a "not supported" may also come from measured sizes alone
#: -- the reference's corrupted error at its largest size below the strong augmentation's (paired
#: t interval wholly below 0): that much clean data beats it, so its worth out of distribution is
#: finite, whatever the fitted asymptote says.
READINGS = {"C1": {"held_out": int}, "C2": {"refuted_by": ("measured reference",)}}


@dataclass(frozen=True)
class LaterRegistration:
    """A later registration of a profile (``params/<profile>/registration-<n>.yaml``): some claims
    registered again, under the first registration's rules, at new budgets on fresh seeds. Once
    its confirmatory result is stored, the book's verdict of those claims is this registration's;
    the earlier one is shown beside it."""

    profile: str
    number: int
    registered: str                 # the date it was committed
    claims: tuple[str, ...]         # the claims it decides again
    chapters: dict[str, dict]       # chapter -> parameter overrides (seeds, convergence seeds, budget)
    rules: dict[str, dict]          # claim -> its rule, threshold, margin, convergence (as registered)
    deviations: tuple[dict, ...] = ()
    file: str = ""
    gates: dict[str, str] = field(default_factory=dict)  # claim -> its convergence gate (GATES), when not two-sided
    shown: dict[str, str] = field(default_factory=dict)  # claim -> the family its gate reads, named in advance (A2)
    readings: dict[str, dict] = field(default_factory=dict)  # claim -> how it reads its numbers (READINGS)

    def seeds(self, chapter: str) -> tuple[int, ...]:
        """The confirmatory seeds this registration trains for ``chapter``: its seeds (with the main
        ``seed`` of a chapter that has one) less the ``choice_seeds`` a chapter chooses on and never
        tests on (class_level's exploratory seeds, trained again so that the choice is made as the
        first registration made it)."""
        over = self.chapters.get(chapter) or {}
        choice = set(self.choice_seeds(chapter))
        main = [over["seed"]] if "seed" in over else []  # a chapter with a main seed beside verdict_seeds
        return tuple(sorted({int(s) for s in [*main, *over.get("seeds", over.get("verdict_seeds", ()))]} - choice))

    def choice_seeds(self, chapter: str) -> tuple[int, ...]:
        """The seeds ``chapter`` chooses on (never tests on) under this registration; () if none."""
        return tuple(sorted(int(s) for s in (self.chapters.get(chapter) or {}).get("choice_seeds", ())))

    def deviations_for(self, claim: str) -> list[dict]:
        """The deviations that name ``claim`` (or all claims), as the first registration reads them."""
        return _naming(self.deviations, claim)


@lru_cache(maxsize=None)
def later(profile: str) -> tuple[LaterRegistration, ...]:
    """The profile's later registrations, by number (none: an empty tuple)."""
    out = []
    for f in sorted((paths.PARAMS / profile).glob(LATER)):
        raw = yaml.safe_load(f.read_text()) or {}
        bad = [k for k in ("number", "claims", "confirmatory", "rules") if k not in raw]
        if bad:
            raise ValueError(f"{f}: the registration lacks {', '.join(bad)}")
        chapters = {k: dict(v) for k, v in raw["confirmatory"].items() if isinstance(v, dict)}
        if not chapters:
            raise ValueError(f"{f}: `confirmatory` names no chapter (chapter: {{seeds: [...], ...}})")
        rules = {k: v for k, v in raw["rules"].items() if isinstance(v, dict)}
        gates = {k: str(v["gate"]) for k, v in rules.items() if v.get("gate") not in (None, "two-sided")}
        shown = {k: str(v["shown"]) for k, v in rules.items() if v.get("shown")}
        if set(shown) - SHOWN_CLAIMS:
            named = sorted(SHOWN_CLAIMS)
            raise ValueError(f"{f}: rules.{sorted(set(shown) - SHOWN_CLAIMS)[0]}.shown: only "
                             f"{', '.join(named[:-1])} and {named[-1]} may name what its verdict and gate read")
        readings = _readings(f, rules)
        for claim, gate in gates.items():
            if gate not in GATES:
                raise ValueError(f"{f}: rules.{claim}.gate = {gate!r}; a registered convergence gate is one of "
                                 f"{', '.join(repr(g) for g in ('two-sided', *GATES))}")
        out.append(LaterRegistration(profile=profile, number=int(raw["number"]), registered=str(raw.get("registered", "?")),
                                     claims=tuple(raw["claims"]), chapters=chapters,
                                     rules=rules, deviations=tuple(raw.get("deviations") or ()),
                                     file=f"params/{profile}/{f.name}", gates=gates, shown=shown,
                                     readings=readings))
    numbers = [r.number for r in out]
    if len(set(numbers)) != len(numbers) or 1 in numbers:
        raise ValueError(f"params/{profile}: later registrations must have distinct numbers above 1, got {numbers}")
    return tuple(sorted(out, key=lambda r: r.number))


def _readings(f, rules: dict) -> dict[str, dict]:
    """The registration's :data:`READINGS` per claim, checked: a value of the wrong kind is refused,
    naming the file, the key and what is allowed."""
    out: dict[str, dict] = {}
    for claim, allowed in READINGS.items():
        for key, kind in allowed.items():
            if key not in (rules.get(claim) or {}):
                continue
            value = rules[claim][key]
            if kind is int:
                ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
            else:
                ok = value in kind
            if not ok:
                what = "a positive size (images)" if kind is int else " or ".join(repr(k) for k in kind)
                raise ValueError(f"{f}: rules.{claim}.{key} = {value!r}; allowed: {what}")
            out.setdefault(claim, {})[key] = value
    return out


def later_for(profile: str, chapter: str) -> tuple[LaterRegistration, ...]:
    """The later registrations that train ``chapter``, by number."""
    return tuple(r for r in later(profile) if chapter in r.chapters)
