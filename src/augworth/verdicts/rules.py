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
from collections.abc import Iterable, Sequence

from ..claims import LABELS, Check, Decision  # one home: the records are decisions with provenance
from ..metrics.stats import MIN_SEEDS, seeds_needed


def decide(effect: float, interval: tuple[float, float] | None, threshold: float, direction: str) -> str:
    """The label for a claim that the effect is ``direction`` (">=" or "<=") ``threshold``.

    Supported only if the whole interval lies strictly on the claimed side of the threshold; not
    supported if it lies wholly on the other side; inconclusive when it contains the threshold
    (or is not identified: NaN). Without an interval (an exact check, no sampling error) the
    effect itself is compared.
    """
    if direction not in (">=", "<="):
        raise ValueError(f"direction must be '>=' or '<=', got {direction!r}")
    lo, hi = interval if interval is not None else (effect, effect)
    if any(isinstance(v, float) and math.isnan(v) for v in (effect, lo, hi)):
        return "inconclusive"
    if lo > hi:
        raise ValueError(f"interval ({lo}, {hi}) has its low end above its high end")
    # strict: an interval that touches the threshold contains it, and never supports the claim
    if direction == ">=":
        return "supported" if lo > threshold else "not supported" if hi < threshold else "inconclusive"
    return "supported" if hi < threshold else "not supported" if lo > threshold else "inconclusive"


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


def seed_check(n: int) -> Check:
    """The rule on few seeds: a verdict from fewer than MIN_SEEDS seeds is inconclusive."""
    return Check("seeds", n >= MIN_SEEDS, f"{n} seed{'s' if n != 1 else ''} (a verdict needs at least {MIN_SEEDS})")


def conclude(claim: str, label: str, measured: float, interval, rule: str, summary: str, *,
             checks: Iterable[Check] = (), seeds: Sequence[int] = (), n_seeds: int | None = None,
             sd: float | None = None, threshold: float | None = None, level: float = 0.95,
             power_effect: float | None = None, needed: int | None = None,
             claimed: tuple | None = None) -> Decision:
    """Gate ``label`` by ``checks`` (plus the seed-count rule when ``n_seeds`` is given, the
    seeds the interval is over); an inconclusive result gets the seeds a power calculation needs
    from the per-seed ``sd`` and the ``threshold`` it is judged against (``power_effect``: the
    effect on the scale of ``sd`` and ``threshold`` when ``measured`` is shown on another, e.g.
    draws against log10 draws). Seeds are only estimated when the interval is what leaves the
    verdict open: a failed check other than the seed count is not fixed by more seeds, unless the
    caller knows better (``needed``, e.g. seeds for a regime check that is itself a test).
    ``claimed``: where the claim puts the effect, on the scale of ``measured`` -- (">=", t),
    ("<=", t) or ("within", lo, hi); by default (">=", threshold) when the threshold is on that
    scale (no ``power_effect``). The scorecard draws every claim's effect against it."""
    if label not in LABELS:
        raise ValueError(f"verdict '{label}' is not one of {', '.join(LABELS)}")
    checks = tuple(checks) + ((seed_check(n_seeds),) if n_seeds is not None else ())
    verdict = "inconclusive" if any(not c.passed for c in checks) else label
    other_failed = any(not c.passed and c.name != "seeds" for c in checks)
    if needed is None and verdict == "inconclusive" and not other_failed and sd is not None and threshold is not None:
        needed = seeds_needed(measured if power_effect is None else power_effect, sd, threshold, level=level)
    if claimed is None and threshold is not None and power_effect is None:
        claimed = (">=", float(threshold))
    if claimed is not None and (claimed[0] not in (">=", "<=", "within") or len(claimed) != (3 if claimed[0] == "within"
                                                                                             else 2)):
        raise ValueError(f"claimed = {claimed!r}: use ('>=', t), ('<=', t) or ('within', lo, hi)")
    iv = None if interval is None else (float(interval[0]), float(interval[1]))
    claimed = None if claimed is None else (claimed[0], *(float(v) for v in claimed[1:]))
    return Decision(claim, verdict, float(measured), iv, rule, summary, checks, tuple(int(s) for s in seeds), needed,
                    n_seeds, claimed)
