"""The scorecard's figure: every claim's effect and interval against its threshold."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from ..verdicts import COLOURS as VERDICT_COLOURS

CLAIMED_SHADE = "#029e73"


def _bounds(claimed) -> list[float]:
    return [] if claimed is None else [float(v) for v in claimed[1:]]


def claims_figure(records: dict, order=None):
    """One thin panel per claim, each on its own scale (the effects are in different units):
    the measured effect with its 95% interval (colour: the verdict), the threshold (dashed) and
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
    fig.suptitle("Every claim's effect (dot: measured, bar: 95% CI; colour: verdict) against its threshold\n"
                 "(dashed) and the side the claim needs (shaded); each row on its own scale and units",
                 fontsize=10, y=0.995)
    fig.tight_layout(h_pad=0.3)
    return fig
