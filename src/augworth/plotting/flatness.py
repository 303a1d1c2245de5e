"""Figures of the `flatness` chapter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from . import augment_palette, over_budget_panel, seed_set_colours


def tables(r: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(flatness rows: one per model x direction x threshold; model rows; gradient-noise rows)."""
    flat, models, noise = [], [], []
    for c in r["cells"]:
        for f in c["flatness"]:
            flat.append({"augment": c["augment"], "seed": c["seed"], **f})
        models.append({"augment": c["augment"], "seed": c["seed"], "test_acc": c["test_acc"], "train_acc": c["train_acc"],
                       "start_loss": c["start_loss"], "top_eig": c["top_eig"], "trace": c["trace"]})
        for mode, v in c["noise"].items():
            noise.append({"augment": c["augment"], "seed": c["seed"], "mode": mode, **v})
    return pd.DataFrame(flat), pd.DataFrame(models), pd.DataFrame(noise)


def overview(flat: pd.DataFrame, models: pd.DataFrame, noise: pd.DataFrame):
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    order = list(dict.fromkeys(models.augment))
    sns.pointplot(data=flat, x="augment", y="refined", hue="threshold", order=order, errorbar=("ci", 95),
                  dodge=0.3, linestyle="none", capsize=0.15, ax=axes[0])
    axes[0].set_ylabel("distance to threshold (weight norm units)")
    axes[0].set_title("flatness (larger = flatter)", fontsize=10)
    for ax, col, title in ((axes[1], "top_eig", "Hessian top eigenvalue"), (axes[2], "trace", "Hessian trace")):
        sns.stripplot(data=models, x="augment", y=col, order=order, ax=ax, size=7, hue="augment", palette=augment_palette(order),
                      legend=False)
        ax.set_title(title + " (smaller = flatter)", fontsize=10)
        ax.set_ylabel(col.replace("_", " "))
    sns.barplot(data=noise, x="mode", y="trace_cov", hue="augment", errorbar=("ci", 95), ax=axes[3], palette=augment_palette(order))
    axes[3].set_yscale("log")
    axes[3].set_ylabel("tr Cov of batch gradients")
    axes[3].set_title("gradient noise by augmentation mode", fontsize=10)
    axes[3].legend(fontsize=8)
    for ax in axes:
        ax.set_xlabel("")
        ax.tick_params(axis="x", rotation=30, labelsize=8)
    fig.tight_layout()
    return fig


def flatness_vs_accuracy(flat: pd.DataFrame, models: pd.DataFrame):
    m = flat[flat.threshold == "relative"].groupby(["augment", "seed"]).refined.mean().reset_index()
    m = m.merge(models, on=["augment", "seed"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    sns.scatterplot(data=m, x="refined", y="test_acc", hue="augment", ax=axes[0], s=60, palette=augment_palette(m.augment.unique()))
    axes[0].set_xlabel("flatness, relative threshold (mean over directions)")
    axes[0].set_ylabel("test accuracy")
    sns.scatterplot(data=m, x="top_eig", y="test_acc", hue="augment", ax=axes[1], s=60, palette=augment_palette(m.augment.unique()), legend=False)
    axes[1].set_xlabel("Hessian top eigenvalue")
    axes[1].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def slices(r: dict):
    """Clean training loss along a filter-normalised direction (alpha in units of the direction)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    colours = augment_palette(dict.fromkeys(c["augment"] for c in r["cells"]))
    seen = set()
    for c in r["cells"]:
        ax.plot(c["slice_alphas"], c["slice_1d"], color=colours[c["augment"]], alpha=0.8,
                label=None if c["augment"] in seen else c["augment"])
        seen.add(c["augment"])
    ax.axhline(1.0, color="0.5", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$ (weights $w + \alpha d$, $d$ filter-normalised)")
    ax.set_ylabel("clean training cross-entropy (nat)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def slices_2d(r: dict, seed: int | None = None):
    """Contours of the clean training loss on a 2-D filter-normalised slice, one panel per
    training augmentation (the given seed, else the first seed whose models have a slice: the
    runner computes it for the profile's first seed); the dashed contour is the 1.0-nat
    threshold."""
    import numpy as np

    have = [c for c in r["cells"] if c.get("slice_2d") is not None]
    if seed is None or not any(c["seed"] == seed for c in have):
        seed = min((c["seed"] for c in have), default=seed)
    cells = [c for c in have if c["seed"] == seed]
    fig, axes = plt.subplots(1, len(cells), figsize=(3.3 * len(cells), 3.2), squeeze=False)
    levels = np.logspace(-1, 1.5, 11)
    for ax, c in zip(axes[0], cells):
        a = c["slice_2d_alphas"]
        z = np.clip(c["slice_2d"], levels[0], None)
        cs = ax.contourf(a, a, z.T, levels=levels, cmap="viridis", norm=__import__("matplotlib").colors.LogNorm())
        ax.contour(a, a, z.T, levels=[1.0], colors="w", linestyles="--", linewidths=1)
        ax.set_title(f"{c['augment']} (seed {seed})", fontsize=10)
        ax.set_xlabel(r"$\alpha_1$")
        ax.set_ylabel(r"$\alpha_2$")
    fig.colorbar(cs, ax=axes[0].tolist(), label="clean training cross-entropy (nat)")
    return fig


def over_budgets(table, margin: float):
    """C5 against the training budget: the effect (alpha to 1 nat, crop+flip minus none) with its
    95% interval at each budget read, one colour per seed set, the margin below which it is "not
    supported" (dashed) and 0 (solid); beside it, the Hessian top eigenvalue's difference."""
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.4))
    colours = seed_set_colours(table.seeds)  # the margin keeps vermilion
    for k, (ax, col, title) in enumerate(zip(axes, ("alpha", "eig"), ("C5: alpha to 1 nat, crop+flip minus none",
                                                                        "Hessian top eigenvalue, crop+flip minus none"))):
        over_budget_panel(ax, table, "epochs", col, colours, margin=margin if col == "alpha" else None,
                          xlabel="training epochs (log2)", title=title, legend=k == 0)
    fig.tight_layout()
    return fig
