"""The scorecard's figure: every claim's effect and interval against its threshold."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from ..metrics.stats import LEVEL
from ..verdicts import COLOURS as VERDICT_COLOURS
from ..verdicts import level_text

CLAIMED_SHADE = "#029e73"


def _bounds(claimed) -> list[float]:
    return [] if claimed is None else [float(v) for v in claimed[1:]]


def claims_figure(records: dict, order=None):
    """One thin panel per claim, each on its own scale (the effects are in different units):
    the measured effect with its interval (95%, or the wider level a row names; colour: the verdict), the threshold (dashed) and
    the side of it the claim needs (shaded). A claim without a number is listed as such."""
    order = [c for c in (order or records) if c in records]
    fig, axes = plt.subplots(len(order), 1, figsize=(7.2, 0.52 * len(order) + 0.9), squeeze=False)
    for ax, cid in zip(axes[:, 0], order):
        r = records[cid]
        colour = VERDICT_COLOURS[r.verdict]
        ax.set_yticks([])
        for spine in ("left", "right", "top"):
            ax.spines[spine].set_visible(False)
        ax.text(-0.02, 0.5, cid, transform=ax.transAxes, ha="right", va="center", fontsize=9, fontweight="bold")
        if r.interval is not None and abs(r.level - LEVEL) > 1e-12:  # a wider interval (a multiplicity correction)
            ax.text(-0.02, 0.0, f"{level_text(r.level)} CI", transform=ax.transAxes, ha="right", va="center",
                    fontsize=6.5, color="0.35")
        ax.text(1.02, 0.5, r.verdict + ("\n(gated)" if r.reasons else ""), transform=ax.transAxes, ha="left", va="center", fontsize=8, color=colour)
        values = [v for v in [r.measured, *(r.interval or ()), *_bounds(r.claimed)] if v is not None and math.isfinite(v)]
        if not math.isfinite(r.measured) or not values:
            ax.set_xticks([])
            ax.text(0.5, 0.5, "no number (" + "; ".join(r.reasons)[:70] + ")", transform=ax.transAxes, ha="center",
                    va="center", fontsize=8, color="0.4")
            continue
        lo, hi = min(values), max(values)
        log = lo > 0 and hi / lo > 30
        if log:
            span = math.log10(hi / lo) or 1.0
            left, right = lo / 10 ** (0.15 * span), hi * 10 ** (0.15 * span)
            ax.set_xscale("log")
        else:
            pad = 0.15 * ((hi - lo) or abs(hi) or 1.0)
            left, right = lo - pad, hi + pad
        ax.set_xlim(left, right)
        b = _bounds(r.claimed)
        if r.claimed is not None:
            kind = r.claimed[0]
            span = (b[0], right) if kind == ">=" else (left, b[0]) if kind == "<=" else (b[0], b[1])
            ax.axvspan(*span, color=CLAIMED_SHADE, alpha=0.12, lw=0)
            for t in b:
                ax.axvline(t, color="0.25", lw=1, ls="--")
        if r.interval is not None and all(math.isfinite(v) for v in r.interval):
            ax.plot(r.interval, [0, 0], color=colour, lw=2.5, solid_capstyle="butt")
        ax.plot([r.measured], [0], "o", color=colour, ms=6)
        ax.set_ylim(-1, 1)
        ax.tick_params(axis="x", labelsize=8, pad=1)
        ax.grid(False)
    fig.suptitle("Every claim's effect (dot: measured, bar: 95% CI unless its row names another; colour: verdict)\n"
                 "against its threshold (dashed) and the side the claim needs (shaded); each row on its own scale and units",
                 fontsize=10, y=0.995)
    fig.tight_layout(h_pad=0.3)
    return fig


def decision_cost_figure(costs, profile_minutes: float):
    """What deciding each undecided claim would cost (:func:`augworth.verdicts.decision_costs`):
    a bar of minutes on two reference cores where seeds alone would decide it (log scale), the
    whole registered profile's minutes as a dashed line; a claim that needs a longer budget first,
    or fails a check neither seeds nor steps fix, is named as such instead of a bar."""
    fig, ax = plt.subplots(figsize=(7.2, 0.34 * len(costs) + 1.2))
    y = list(range(len(costs)))[::-1]
    priced = costs.minutes.notna()
    top = max([profile_minutes, *costs.minutes[priced]]) * 4
    for yi, (_, row) in zip(y, costs.iterrows()):
        if row.kind == "seeds":
            ax.barh(yi, row.minutes, color="#6b6b6b", height=0.6)
            ax.text(row.minutes * 1.08, yi, f"~{row.seeds:.0f} seeds, {row.minutes:,.0f} min"
                    + (" (or a longer budget)" if "longer budget" in row["to decide"] else ""), va="center", fontsize=8)
        else:
            why = {"budget": "a longer budget first", "regime": "a check seeds and steps do not fix",
                   "unsized": "more seeds (unsized)"}[row.kind]
            ax.text(1.2, yi, why, va="center", fontsize=8, color=VERDICT_COLOURS["not supported"])
    ax.axvline(profile_minutes, color="#333", ls="--", lw=1)
    ax.text(profile_minutes * 1.05, len(costs) - 0.4, f"the whole profile: {profile_minutes:,.0f} min", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(1, top)
    ax.set_ylim(-0.7, len(costs) - 0.1)
    ax.set_yticks(y, [f"{c} (alone: {a})" if a else c for c, a in zip(costs.claim, costs["effect alone"])], fontsize=8)
    ax.set_xlabel("minutes on two cores of the reference machine (log)")
    ax.set_title("What seeds alone would cost to decide each undecided claim, at the registered budgets", fontsize=9)
    for spine in ("right", "top"):
        ax.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig
