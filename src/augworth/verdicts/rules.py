"""How a measured effect becomes a verdict, and the checks that gate it.

A claim's verdict function (one per claim, in the chapter's module beside this one) computes
the effect and its interval over seeds and lists the checks its verdict depends on
(convergence, held-out fit, an identified asymptote, the regime the claim needs, enough
seeds). :func:`conclude` then applies the rule: the label from :func:`decide` (or
:func:`decide_within`) stands only if every check passed; otherwise the verdict is
*inconclusive* and the failed checks are its reasons. For an inconclusive verdict with a known
per-seed spread, :func:`augworth.metrics.stats.seeds_needed` says how many seeds would decide it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..claims import LABELS, Check, Decision  # one home: the records are decisions with provenance
from ..metrics.stats import MIN_SEEDS, seeds_needed


def decide(effect: float, interval: tuple[float, float] | None, threshold: float, direction: str,
           margin: float = 0.0) -> str:
    """The label for a claim that the effect is ``direction`` (">=" or "<=") ``threshold``.

    Supported only if the whole interval lies strictly on the claimed side of the threshold; not
    supported if it lies wholly on the other side of ``threshold + margin`` (">=";
    ``threshold - margin`` for "<="): ``margin`` is the claim's equivalence margin, the smallest
    effect that would matter, so that "no effect" (an interval around 0, inside the margin) is
    decided as not supported -- the second of two one-sided tests; inconclusive otherwise (or
    when not identified: NaN). Without an interval (an exact check, no sampling error) the
    effect itself is compared.
    """
    if margin < 0:
        raise ValueError(f"margin = {margin}: an equivalence margin is 0 or positive")
    if direction not in (">=", "<="):
        raise ValueError(f"direction must be '>=' or '<=', got {direction!r}")
    lo, hi = interval if interval is not None else (effect, effect)
    if any(isinstance(v, float) and math.isnan(v) for v in (effect, lo, hi)):
        return "inconclusive"
    if lo > hi:
        raise ValueError(f"interval ({lo}, {hi}) has its low end above its high end")
    # strict: an interval that touches the threshold contains it, and never supports the claim
    if direction == ">=":
        return "supported" if lo > threshold else "not supported" if hi < threshold + margin else "inconclusive"
    return "supported" if hi < threshold else "not supported" if lo > threshold - margin else "inconclusive"


def decide_within(effect: float, interval: tuple[float, float], low: float, high: float) -> str:
    """The label for a claim that the effect lies within [low, high]."""
    lo, hi = interval
    if any(math.isnan(float(v)) for v in (effect, lo, hi)):
        return "inconclusive"
    if low <= lo and hi <= high:
        return "supported"
    if hi < low or lo > high:
        return "not supported"
    return "inconclusive"


def nearest_decision(effect: float, threshold: float, margin: float, direction: str = ">=") -> float:
    """The bound a power calculation should aim at for an undecided claim with an equivalence
    margin: the one farther from the effect (its interval may reach nearer to it), i.e. the
    threshold when the effect lies past the middle of the margin, else the margin's end."""
    end = threshold + margin if direction == ">=" else threshold - margin
    middle = (threshold + end) / 2
    past = effect > middle if direction == ">=" else effect < middle
    return threshold if past else end


#: The convergence check's interval: 90% two-sided, i.e. two one-sided tests at 5% that the
#: change from the budget to twice the budget lies inside the tolerance.
CONVERGENCE_LEVEL = 0.90


#: A convergence gate's sides: "two-sided" (the change lies inside +-tolerance) or one side only --
#: "up" (shown not to rise by the tolerance: what could overturn a "not supported" of a ">=" claim)
#: or "down" (shown not to fall by it: what could overturn a "supported").
SIDES = ("two-sided", "up", "down")


def convergence_check(before: Mapping[int, float], after: Mapping[int, float], tolerance: float, what: str,
                      factor: int = 2, side: str = "two-sided") -> Check:
    """Has the budget converged, judged over seeds? ``before``/``after``: {seed: the metric} at the
    budget and at ``factor`` times it (the same seeds, subsets and draws). Passes when the 90%
    t interval of the paired change lies inside [-tolerance, +tolerance] (equivalence by two
    one-sided tests at 5%: a budget that still moves the metric by the tolerance passes at most
    5% of the time); fails otherwise, saying whether the change is significant or only not yet
    bounded (too few seeds for the tolerance). ``side`` "up" or "down" (see :data:`SIDES`) reads one
    end of the same interval only: the change is shown (one-sided, 5%) not to rise, or not to
    fall, by the tolerance or more; a movement the other way passes."""
    from ..metrics.stats import paired, t_interval

    if side not in SIDES:
        raise ValueError(f"side = {side!r}: a convergence gate is one of {', '.join(SIDES)}")
    seeds = sorted(set(before) & set(after))
    if len(seeds) < 2:
        return Check("converged", False, f"{what}: {len(seeds)} seed(s) with a {factor}x-budget run; the check "
                                         f"needs at least 2")
    return change_check(t_interval(paired(after, before), level=CONVERGENCE_LEVEL), tolerance, what, factor, side)


def change_check(d, tolerance: float, what: str, factor: int, side: str = "two-sided") -> Check:
    """:func:`convergence_check` from the change's 90% interval ``d`` (an
    :class:`augworth.metrics.stats.Interval` over seeds: a paired t interval, or a jackknife-t one
    for a metric that is not a mean, such as B2's share)."""
    if side not in SIDES:
        raise ValueError(f"side = {side!r}: a convergence gate is one of {', '.join(SIDES)}")
    if not (math.isfinite(d.lo) and math.isfinite(d.hi)):
        return Check("converged", False, f"{what}: the change with {factor}x the budget has no interval ({d.n} "
                                         f"seeds): not shown")
    if side != "two-sided":
        return _one_sided(d, tolerance, what, factor, side == "up")
    inside = -tolerance < d.lo and d.hi < tolerance
    text = (f"{what}: {d.estimate:+.4g} with {factor}x the budget (90% CI {d.lo:+.4g} to {d.hi:+.4g}, "
            f"{d.n} seeds), tolerance +-{tolerance:.3g}")
    if inside:
        return Check("converged", True, text + ": converged")
    significant = d.lo > 0 or d.hi < 0
    edge = tolerance if d.estimate >= 0 else -tolerance  # the nearer end of the tolerance
    n = seeds_needed(d.estimate, d.sd, edge, level=CONVERGENCE_LEVEL) if abs(d.estimate) < tolerance else None
    if n is None:  # the observed change is the tolerance or more: seeds alone would not show it inside
        return Check("converged", False, text + (": still moving: the change is significant and at least the "
                                                 "tolerance (a longer budget would decide it)" if significant else
                                                 ": not shown: the change is at least the tolerance (a longer "
                                                 "budget, or more seeds)"), fix="budget")
    moving = "still moving, inside the tolerance; " if significant else ""
    return Check("converged", False, text + f": not shown: {moving}the interval reaches past the tolerance (~{n} "
                                            f"seeds with a {factor}x-budget run would show it at the observed "
                                            f"change, 80% power" + (", or a longer budget)" if significant else ")"),
                 fix="seeds or budget" if significant else "seeds", seeds=n)


def _one_sided(d, tolerance: float, what: str, factor: int, up: bool) -> Check:
    """:func:`convergence_check` on one side, from the paired change's 90% interval ``d``: "up"
    passes when its upper end lies below +tolerance, "down" when its lower end lies above
    -tolerance."""
    edge = tolerance if up else -tolerance
    end = d.hi if up else d.lo
    text = (f"{what}: {d.estimate:+.4g} with {factor}x the budget (90% CI {d.lo:+.4g} to {d.hi:+.4g}, {d.n} seeds), "
            f"one-sided: shown not to {'rise' if up else 'fall'} by {tolerance:.3g} or more (the direction that "
            f"could overturn the verdict)")
    if (end < edge) if up else (end > edge):
        return Check("converged", True, text + ": converged on that side")
    beyond = d.estimate >= tolerance if up else d.estimate <= -tolerance
    if beyond:
        significant = d.lo > 0 if up else d.hi < 0
        return Check("converged", False, text + (": still moving toward the boundary: the change is significant and at "
                                                 "least the tolerance (a longer budget would decide it)" if significant else
                                                 ": not shown: the change is at least the tolerance (a longer "
                                                 "budget, or more seeds)"), fix="budget")
    n = seeds_needed(d.estimate, d.sd, edge, level=CONVERGENCE_LEVEL)
    return Check("converged", False, text + f": not shown: the interval reaches the tolerance (~{n} seeds with a "
                                            f"{factor}x-budget run would show it at the observed change, 80% power)",
                 fix="seeds", seeds=n)


def threatening_side(label: str, direction: str = ">=") -> str:
    """The side of a convergence gate toward the claim's boundary: what could overturn ``label``
    for a claim that the effect is ``direction`` its threshold ("up" or "down"; "two-sided" for an
    undecided label, which no movement overturns)."""
    rise = {"not supported": "up", "supported": "down"}.get(label)
    if rise is None:
        return "two-sided"
    return rise if direction == ">=" else {"up": "down", "down": "up"}[rise]


def gate_side(gate: str, label: str, claim: str, direction: str = ">=") -> str:
    """The side a claim's convergence check reads under a registration's ``gate``: "two-sided",
    or under the gate toward the claim's boundary (:data:`augworth.prereg.GATES`) the side that
    could overturn ``label`` (:func:`threatening_side`). Refuses any other gate, naming ``claim``."""
    from ..prereg import GATES

    if gate not in ("two-sided", *GATES):
        raise ValueError(f"gate = {gate!r}: {claim}'s convergence gate is 'two-sided' or "
                         + " or ".join(repr(g) for g in GATES))
    return "two-sided" if gate == "two-sided" else threatening_side(label, direction)


def chapter_gates(gates: Mapping[str, str] | None, claims: tuple[str, ...], allowed: tuple[str, ...]) -> dict[str, str]:
    """A registration's convergence gates for one chapter's ``claims``: each claim's gate
    ("two-sided" unless the registration names one). Refuses a gate on a claim of this chapter
    outside ``allowed`` (those whose own metric a one-sided gate can read); gates of other
    chapters' claims (a registration may span chapters) are left to those chapters."""
    gates = gates or {}
    bad = sorted(set(gates) & (set(claims) - set(allowed)))
    if bad:
        names = allowed[0] if len(allowed) == 1 else f"{', '.join(allowed[:-1])} and {allowed[-1]}"
        raise ValueError(f"gates name {', '.join(bad)}: of this chapter's claims only {names} may "
                         "have a convergence gate other than two-sided")
    return {c: gates.get(c, "two-sided") for c in claims}


def first_factor_runs(r: dict, p) -> list[dict]:
    """A runner's convergence runs (rows with their ``epochs``) trained for the profile's first
    factor: the budget a verdict's convergence check compares with."""
    return [c for c in r.get("convergence", ()) if c["epochs"] == p.epochs * p.convergence_factors[0]]


def contrast_convergence(base: Mapping[str, Mapping[int, float]], more: Mapping[str, Mapping[int, float]],
                         arm: str, reference: str, tolerance: float, what: str, factor: int = 2,
                         side: str = "two-sided") -> Check:
    """:func:`convergence_check` of a paired contrast, ``arm`` minus ``reference`` per seed, from
    {arm: {seed: value}} at the budget (``base``) and with ``factor`` x it (``more``); ``side`` as there."""
    def contrast(x):
        a, b = x.get(arm, {}), x.get(reference, {})
        return {s: a[s] - b[s] for s in set(a) & set(b)}

    return convergence_check(contrast(base), contrast(more), tolerance, what, factor, side)


def accuracy_convergence(cells, longer, arms, factor: int = 2) -> list[Check]:
    """:func:`convergence_check` of each arm's test accuracy (rows with ``augment``, ``seed`` and
    ``test_acc``), within the accuracy tolerance."""
    from ..claims import ACCURACY_TOL

    def acc(rows, a):
        return {c["seed"]: c["test_acc"] for c in rows if c["augment"] == a}

    return [convergence_check(acc(cells, a), acc(longer, a), ACCURACY_TOL, f"test accuracy of {a}", factor)
            for a in arms]


def seed_check(n: int) -> Check:
    """The rule on few seeds: a verdict from fewer than MIN_SEEDS seeds is inconclusive."""
    return Check("seeds", n >= MIN_SEEDS, f"{n} seed{'s' if n != 1 else ''} (a verdict needs at least {MIN_SEEDS})",
                 fix=None if n >= MIN_SEEDS else "seeds", seeds=None if n >= MIN_SEEDS else MIN_SEEDS)


def conclude(claim: str, label: str, measured: float, interval, rule: str, summary: str, *,
             checks: Iterable[Check] = (), seeds: Sequence[int] = (), n_seeds: int | None = None,
             sd: float | None = None, threshold: float | None = None, level: float = 0.95,
             power_effect: float | None = None, needed: int | None = None,
             claimed: tuple | None = None, interval_level: float | None = None) -> Decision:
    """Gate ``label`` by ``checks`` (plus the seed-count rule when ``n_seeds`` is given, the
    seeds the interval is over); an inconclusive result gets the seeds a power calculation needs
    from the per-seed ``sd`` and the ``threshold`` it is judged against (``power_effect``: the
    effect on the scale of ``sd`` and ``threshold`` when ``measured`` is shown on another, e.g.
    draws against log10 draws). Seeds are only estimated when the interval is what leaves the
    verdict open: a failed check other than the seed count is not fixed by more seeds, unless the
    caller knows better (``needed``, e.g. seeds for a regime check that is itself a test).
    ``claimed``: where the claim puts the effect, on the scale of ``measured`` -- (">=", t),
    ("<=", t) or ("within", lo, hi); by default (">=", threshold) when the threshold is on that
    scale (no ``power_effect``). The scorecard draws every claim's effect against it.
    ``level``: the power calculation's, and the interval's coverage unless ``interval_level``
    says otherwise (B1: a 95% interval, its power at Holm's strictest level); the decision keeps
    the interval's, and the page labels the interval with it."""
    if label not in LABELS:
        raise ValueError(f"verdict '{label}' is not one of {', '.join(LABELS)}")
    checks = tuple(checks) + ((seed_check(n_seeds),) if n_seeds is not None else ())
    verdict = "inconclusive" if any(not c.passed for c in checks) else label
    other_failed = any(not c.passed and c.name != "seeds" for c in checks)
    power = None
    if "inconclusive" in (label, verdict) and sd is not None and threshold is not None:
        power = seeds_needed(measured if power_effect is None else power_effect, sd, threshold, level=level)
    effect_seeds = (power if needed is None else needed) if label == "inconclusive" else None
    if needed is None and verdict == "inconclusive" and not other_failed:
        needed = power
    if claimed is None and threshold is not None and power_effect is None:
        claimed = (">=", float(threshold))
    if claimed is not None and (claimed[0] not in (">=", "<=", "within") or len(claimed) != (3 if claimed[0] == "within"
                                                                                             else 2)):
        raise ValueError(f"claimed = {claimed!r}: use ('>=', t), ('<=', t) or ('within', lo, hi)")
    iv = None if interval is None else (float(interval[0]), float(interval[1]))
    claimed = None if claimed is None else (claimed[0], *(float(v) for v in claimed[1:]))
    return Decision(claim, verdict, float(measured), iv, rule, summary, checks, tuple(int(s) for s in seeds), needed,
                    n_seeds, claimed, effect_seeds, label,
                    float(level if interval_level is None else interval_level))


@dataclass(frozen=True)
class ToDecide:
    """What would decide an inconclusive verdict at its budget (:func:`to_decide`)."""

    seeds: int | None = None    # seeds, each with its convergence run, that a power calculation says would decide it
    budget: tuple[str, ...] = ()  # what moved by its tolerance or more: a longer budget must come first
    moving: tuple[str, ...] = ()  # what still moves inside its tolerance: a longer budget may be cheaper than seeds
    other: tuple[str, ...] = ()   # failed checks that neither seeds nor steps fix (the regime, a fit)
    unsized: bool = False       # the effect is undecided and no spread sizes the seeds it needs

    @property
    def kind(self) -> str:
        """The first obstacle: "regime" (no seeds or steps fix it), "budget", "seeds" or "unsized"."""
        return "regime" if self.other else "budget" if self.budget else "seeds" if self.seeds else "unsized"

    def text(self) -> str:
        parts = []
        if self.other:
            parts.append("a check that neither seeds nor steps fix: " + "; ".join(self.other))
        if self.budget:
            parts.append("a budget of more than 2x the registered one (with 2x, " + "; ".join(self.budget)
                         + " moved by its tolerance or more)")
        if self.seeds:
            parts.append(f"~{self.seeds} seeds, each with a 2x-budget run"
                         + (" (at the spread seen at this budget)" if parts else "")
                         + (f", or a longer budget ({'; '.join(self.moving)} still moving inside its tolerance)"
                            if self.moving and not parts else ""))
        elif self.unsized and not self.other:
            parts.append("more seeds (no spread to size them)")
        return "; and ".join(parts) if parts else "-"


def _what(c: Check) -> str:
    """A failed check's subject: a convergence check's metric (before its first colon), else its name."""
    return c.detail.split(":", 1)[0] if c.name == "converged" else c.name


def to_decide(d: Decision) -> ToDecide | None:
    """What an inconclusive verdict needs to be decided, from its failed checks (their ``fix``)
    and its effect (``effect_seeds``, ``ungated``): the largest number of seeds any of them asks
    for, the checks a longer budget must pass first, and those neither fixes; None when decided."""
    if d.verdict != "inconclusive":
        return None
    failed = [c for c in d.checks if not c.passed]
    asks = [c.seeds for c in failed if c.fix in ("seeds", "seeds or budget") and c.seeds] + (
        [d.effect_seeds] if d.effect_seeds else [])
    return ToDecide(seeds=max(asks) if asks else None,
                    budget=tuple(_what(c) for c in failed if c.fix == "budget"),
                    moving=tuple(_what(c) for c in failed if c.fix == "seeds or budget"),
                    other=tuple(_what(c) for c in failed if c.fix is None),
                    unsized=d.ungated == "inconclusive" and not d.effect_seeds)
