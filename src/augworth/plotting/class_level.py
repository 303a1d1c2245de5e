"""Figures of the `class_level` chapter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import over_budget_panel, seed_set_colours


def _x(labels):
    """Strengths on an axis from weakest (none) to strongest (smallest scale)."""
    return {s: i for i, s in enumerate(labels)}


def per_class_curves(a: dict, labels: list[str], highlight=()):
    """Per-class test accuracy against the crop strength (Student t 95% intervals over seeds),
    the average-optimal strength marked; hurt classes drawn thick."""
    pc, avg = a["per_class"], a["average"]
    xs = _x(labels)
    k = pc["class"].nunique()
    cols = 5 if k > 5 else k
    rows = int(np.ceil((k + 1) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(2.9 * cols, 2.3 * rows), sharex=True, squeeze=False)
    flat = axes.ravel()
    palette = sns.color_palette("colorblind", 3)
    panels = [("average", avg.assign(lo=avg.acc - avg.sd, hi=avg.acc + avg.sd))]
    panels += [(n, g) for n, g in pc.groupby("name", sort=False)]
    for ax, (name, g) in zip(flat, panels):
        x = [xs[s] for s in g.strength]
        hurt = name in highlight
        color = palette[1] if hurt else palette[0] if name != "average" else "0.2"
        ax.fill_between(x, g.lo, g.hi, color=color, alpha=0.2, lw=0)
        ax.plot(x, g.acc, marker="o", ms=3, color=color, lw=2.2 if hurt else 1.4)
        ax.axvline(xs[a["optimum"]], color="0.3", ls="--", lw=1)
        ax.set_title(("hurt: " if hurt else "") + name + (" (mean ± sd)" if name == "average" else ""), fontsize=9,
                     color=palette[1] if hurt else "black")
        ax.tick_params(labelsize=8)
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    for ax in flat[: len(panels)]:
        ax.set_xticks(range(len(labels)), labels, rotation=45)
        ax.tick_params(labelbottom=True)
    for ax in flat[max(0, len(panels) - cols): len(panels)]:
        ax.set_xlabel("rrc min. scale s (→ stronger)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy", fontsize=8)
    fig.suptitle("Per-class test accuracy against crop strength (dashed: the average-optimal s)", y=1.0, fontsize=11)
    fig.tight_layout()
    return fig


def drops(b1: pd.DataFrame):
    """Each class's drop at the average-optimal strength, with t intervals over seeds; hurt classes
    (Holm-significant) coloured."""
    t = b1.sort_values("drop", ascending=False)
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(t) + 1.2))
    palette = sns.color_palette("colorblind", 3)
    y = np.arange(len(t))
    colors = [palette[1] if h else palette[0] for h in t.hurt]
    ax.barh(y, t["drop"], color=colors, alpha=0.8)
    ax.errorbar(t["drop"], y, xerr=[t["drop"] - t.drop_lo, t.drop_hi - t["drop"]], fmt="none", ecolor="0.2", capsize=3)
    ax.set_yticks(y, [f"{n} (best s = {b})" for n, b in zip(t.name, t.best_strength)], fontsize=8)
    ax.invert_yaxis()
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_xlabel("accuracy at own best s − at the average-optimal s (95% CI over seeds)")
    ax.set_title("Class-level drops (orange: significant, Holm-corrected)", fontsize=10)
    fig.tight_layout()
    return fig


def flows(a: dict, labels: list[str], top: int = 3):
    """For each affected class, the share of its test images predicted as each of its ``top``
    main partners, against the strength."""
    f = a["flows"]
    if f.empty:
        return None
    classes = list(dict.fromkeys(f["class"]))
    fig, axes = plt.subplots(1, len(classes), figsize=(4.2 * len(classes), 3.2), squeeze=False)
    xs = _x(labels)
    for ax, c in zip(axes[0], classes):
        g = f[f["class"] == c]
        partners = g.groupby("to_name").share.mean().sort_values(ascending=False).index[:top]
        for name in partners:
            h = g[g.to_name == name]
            ax.errorbar([xs[s] for s in h.strength], h.share, yerr=h.sd, marker="o", ms=3, capsize=2, label=f"→ {name}")
        ax.axvline(xs[a["optimum"]], color="0.3", ls="--", lw=1)
        ax.set_xticks(range(len(labels)), labels, rotation=45, fontsize=8)
        ax.set_title(f"where {g.name.iloc[0]}'s errors go", fontsize=10)
        ax.set_xlabel("rrc min. scale s (→ stronger)", fontsize=8)
        ax.set_ylabel("share of its test images", fontsize=8)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pair_bias(bias: pd.DataFrame, labels: list[str], a_name: str, b_name: str, optimum: str):
    """The bias of a pair toward b (share a→b minus share b→a) against the strength."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    xs = _x(labels)
    g = bias.groupby("strength", sort=False)
    for col, lab in (("a_to_b", f"{a_name} → {b_name}"), ("b_to_a", f"{b_name} → {a_name}"), ("bias", "difference")):
        m, s = g[col].mean(), g[col].std()
        ax.errorbar([xs[k] for k in m.index], m.values, yerr=s.values, marker="o", ms=3, capsize=2, label=lab,
                    lw=2.2 if col == "bias" else 1.2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axvline(xs[optimum], color="0.3", ls="--", lw=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45)
    ax.set_xlabel("rrc min. scale s (→ stronger)")
    ax.set_ylabel("share of the class's test images")
    ax.set_title(f"Confusion between {a_name} and {b_name} (mean ± sd over seeds)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def b3_over_budgets(table: pd.DataFrame, margin: float, pair: str = ""):
    """B3 against the training budget (:func:`augworth.analysis.class_level.b3_over_budgets`): each
    set of seeds' effect (the pair's bias change) with its 95% interval at the budget and with
    twice it, joined by a line (the movement the convergence gate reads), the margin below which
    B3 is "not supported" (dashed) and 0 (solid)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    over_budget_panel(ax, table, "epochs", "effect", seed_set_colours(table.seeds), margin=margin,
                      xlabel="training epochs (log2)",
                      title="B3: change of the pair's bias, no augmentation to the strongest crop"
                            + (f"\n({pair})" if pair else ""),
                      label=lambda who, t: f"{who} ({int(t.n_seeds.iloc[0])} seeds)")
    ax.set_ylabel("bias change (share of test images)")
    fig.tight_layout()
    return fig


def b2_over_budgets(table: pd.DataFrame, named: str, threshold: float = 0.5):
    """B2 against the training budget (:func:`augworth.analysis.class_level.b2_over_budgets`):
    each set of seeds' share of ``named``'s drop that vanishes when in-group confusions are
    forgiven, with its 95% interval at the budget and with twice it, joined by a line (the
    movement the convergence gate reads), and the claim's threshold (dashed)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    over_budget_panel(ax, table, "epochs", "share", seed_set_colours(table.seeds), xlabel="training epochs (log2)",
                      title=f"B2: share of {named}'s drop that vanishes when in-group confusions are forgiven",
                      legend=False, label=lambda who, t: f"{who} ({int(t.n_seeds.iloc[0])} seeds)")
    ax.axhline(threshold, color="#d55e00", ls="--", lw=1, label=f"threshold {threshold:g}")
    ax.set_ylabel("vanishing share")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def b4(t: pd.DataFrame, info: dict):
    """Class-conditional against uniform augmentation: hurt classes and average, per seed."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, (u, c, title) in zip(axes, (("hurt_uniform", "hurt_conditional", "hurt classes (mean)"),
                                          ("avg_uniform", "avg_conditional", "all classes (average)"))):
        for _, row in t.iterrows():
            ax.plot([0, 1], [row[u], row[c]], marker="o", color="0.5", lw=1)
        ax.plot([0, 1], [t[u].mean(), t[c].mean()], marker="o", color="C1", lw=2.5, label="mean over seeds")
        ax.set_xticks([0, 1], [f"uniform rrc({info['optimum']})", "class-conditional"])
        ax.set_xlim(-0.3, 1.3)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("test accuracy")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"B4 ({info['scope']} scope): own policies for the classes hurt on validation (one line per seed)",
                 fontsize=11)
    fig.tight_layout()
    return fig
