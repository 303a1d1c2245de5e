"""Figures of the `worth` report (a user's augmentation on a user's data); the error curves,
the worth panels and the corruption heat map are the exchange chapter's."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import augment_colour

FINDING_COLOURS = {"helped": "#029e73", "hurt": "#d55e00", "no clear effect": "0.45"}


def class_effects(classes: pd.DataFrame, augment: str, baseline: str, n: int):
    """Per class: accuracy with the augmentation minus with the baseline (points), mean over
    seeds with its t interval, coloured by the Holm-corrected finding."""
    t = classes.sort_values("effect")
    fig, ax = plt.subplots(figsize=(6.4, 0.32 * len(t) + 1.3))
    y = np.arange(len(t))
    for i, (_, r) in enumerate(t.iterrows()):
        c = FINDING_COLOURS[r.finding]
        lo, hi = (r.lo, r.hi) if np.isfinite(r.lo) else (r.effect, r.effect)
        ax.plot([100 * lo, 100 * hi], [i, i], color=c, lw=2)
        ax.plot(100 * r.effect, i, "o", color=c, ms=5)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, [f"{r['name']} ({r.test_images})" for _, r in t.iterrows()], fontsize=9)
    ax.set_xlabel(f"accuracy change, points ({augment} minus {baseline}, n = {n:,})")
    ax.set_title("Per class: mean over seeds, 95% t interval; colour: Holm-corrected finding\n"
                 "(green helped, red hurt, grey no clear effect; in brackets: test images)", fontsize=10)
    fig.tight_layout()
    return fig


def ranking(table: pd.DataFrame, verdicts: dict, baseline: str, n: int):
    """The augmentations ranked by worth: v/n at the largest size with its jackknife interval
    (left; an undefined worth as an arrow at the right edge) and the paired test-error change
    with its t interval (right), one row per augmentation, coloured by the worth verdict."""
    from ..verdicts import COLOURS

    t = table.iloc[::-1].reset_index(drop=True)  # the best at the top
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(8.4, 0.45 * len(t) + 1.6), sharey=True)
    finite = t["v/n high"][np.isfinite(t["v/n high"])]
    right = float(max(finite.max() if len(finite) else 1.0, 1.0)) * 1.1
    for i, r in t.iterrows():
        c = COLOURS[verdicts[r.augment]["worth"].verdict]
        if r.status == "undefined":
            a1.annotate("", xy=(right, i), xytext=(right * 0.8, i), arrowprops={"arrowstyle": "->", "color": c})
        elif np.isfinite(r["v/n"]):
            lo, hi = (r["v/n low"], r["v/n high"]) if np.isfinite(r["v/n low"]) else (r["v/n"], r["v/n"])
            a1.plot([lo, hi], [i, i], color=c, lw=2)
            a1.plot(r["v/n"], i, "o", color=c, ms=6, mfc="white" if r.status == "extrapolated" else c)
        c2 = COLOURS[verdicts[r.augment]["error"].verdict]
        a2.plot([100 * r["error low"], 100 * r["error high"]], [i, i], color=c2, lw=2)
        a2.plot(100 * r["error change"], i, "o", color=c2, ms=6)
    a1.axvline(0, color="0.3", lw=0.8)
    a2.axvline(0, color="0.3", lw=0.8)
    finite_lo = t["v/n low"][np.isfinite(t["v/n low"])]
    a1.set_xlim(min(float(finite_lo.min()) if len(finite_lo) else 0.0, 0.0) - 0.1 * right, right * 1.05)
    a1.set_ylim(-0.6, len(t) - 0.4)
    a1.set_yticks(np.arange(len(t)), list(t.augment), fontsize=9)
    a1.set_xlabel(f"worth v/n at n = {n:,} (extra {baseline} samples per sample)")
    a2.set_xlabel(f"test error change, points (minus {baseline})")
    fig.suptitle("Augmentations ranked by worth, best at the top\n(95% intervals; colour: verdict; open: "
                 "extrapolated; arrow: below the baseline's asymptote)", fontsize=10)
    fig.tight_layout()
    return fig


def class_costs(per_policy: dict, names) -> pd.DataFrame:
    """Per class and augmentation: the accuracy change in points with a mark where Holm finds it
    hurt (-) or helped (+): the per-class costs of each, side by side."""
    cols = {}
    for aug, t in per_policy.items():
        c = t["classes"].set_index("class")
        mark = c.finding.map({"hurt": " (-)", "helped": " (+)", "no clear effect": ""})
        cols[aug] = [f"{100 * c.effect[k]:+.1f}{mark[k]}" for k in range(len(names))]
    return pd.DataFrame(cols, index=list(names))


def confusion_flow(flows: pd.DataFrame, class_name: str, n: int):
    """Where the test images of one class go (share predicted as each class), per policy."""
    policies = list(dict.fromkeys(flows.policy))
    names = list(dict.fromkeys(flows.to_name))
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(names) + 1.4))
    width = 0.8 / len(policies)
    for j, pol in enumerate(policies):
        g = flows[flows.policy == pol].set_index("to_name").loc[names]
        ax.barh(np.arange(len(names)) + (j - (len(policies) - 1) / 2) * width, 100 * g.share, height=width,
                color=augment_colour(pol), label=pol)
    ax.set_yticks(np.arange(len(names)), names, fontsize=9)
    ax.invert_yaxis()
    ax.set_xlabel(f"share of the test images of '{class_name}' predicted as each class (%), n = {n:,}")
    ax.set_title(f"Confusion flow of '{class_name}' (the class the augmentation helps least), mean over seeds",
                 fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def _show(ax, img: np.ndarray, cmap=None, vmin=None, vmax=None):
    if img.shape[0] == 1:
        im = ax.imshow(img[0], cmap=cmap or "gray_r", vmin=vmin, vmax=vmax)
    elif cmap is not None:  # one map of a colour image: the channels' mean
        im = ax.imshow(img.mean(0), cmap=cmap, vmin=vmin, vmax=vmax)
    else:
        im = ax.imshow(np.clip(np.transpose(img, (1, 2, 0)), 0, 1))
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def moment_maps(moments: dict, class_names):
    """Each shown test image, the augmentation's closed-form mean and standard deviation per
    pixel, and the Monte Carlo standard deviation that checks it (same colour scale)."""
    maps = moments["maps"]
    fig, axes = plt.subplots(len(maps), 4, figsize=(7.2, 1.9 * len(maps) + 0.5), squeeze=False)
    for row, m in zip(axes, maps):
        _show(row[0], m["image"], vmin=0, vmax=1)
        row[0].set_title(class_names[m["label"]], fontsize=9)
        _show(row[1], m["mean"], vmin=0, vmax=1)
        top = float(max(m["std"].max(), m["mc_std"].max(), 1e-9))
        _show(row[2], m["std"], cmap="magma", vmin=0, vmax=top)
        _show(row[3], m["mc_std"], cmap="magma", vmin=0, vmax=top)
        row[1].set_title(f"closed-form mean (max |z| {m['max_z_mean']:.1f})", fontsize=9)
        row[2].set_title("closed-form sd", fontsize=9)
        row[3].set_title(f"Monte Carlo sd ({m['n_mc']:,} draws)", fontsize=9)
    fig.suptitle(f"Moments of {moments['spec']} per pixel (colour images: the channels' mean)", fontsize=10)
    fig.tight_layout()
    return fig


def draws_needed(draws: pd.DataFrame, spec: str):
    """Per test image: the augmented draws a 1%-accurate Monte Carlo estimate of its loss
    needs on the trained model (log scale), with the median."""
    fig, ax = plt.subplots(figsize=(6.4, 2.4))
    d = draws.draws.replace(np.inf, np.nan).dropna()
    rng = np.random.default_rng(0)  # jitter only: where the points sit vertically
    ax.scatter(d, rng.uniform(-0.2, 0.2, len(d)), s=18, color=augment_colour(spec))
    ax.axvline(float(np.median(d)), color="0.2", lw=1, ls="--", label=f"median {np.median(d):,.0f}")
    ax.set_xscale("log")
    ax.set_yticks([])
    ax.set_ylim(-0.5, 0.5)
    ax.set_xlabel(f"draws of {spec} for a 1%-accurate loss estimate, N = Var[L] / (0.01 E[L])^2")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig
