"""Figures of the `sample_complexity` chapter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..verdicts import COLOURS
from . import over_budget_panel, seed_set_colours


def a1_maps(a1: dict, specs: list[str]):
    """Rows: augmentations; columns: the image, closed-form mean, closed-form std, MC std."""
    fig, axes = plt.subplots(len(specs), 4, figsize=(7.2, 1.75 * len(specs) + 0.4), squeeze=False)
    img = a1["image"].mean(0)
    titles = ["image x", "closed-form mean", "closed-form std", "Monte Carlo std"]
    for r, spec in enumerate(specs):
        d = a1[spec]
        vmax = max(d["std"].max(), d["mc_std"].max(), 1e-6)
        panels = [(img, "gray_r", 0, 1), (d["mean"].mean(0), "gray_r", 0, 1),
                  (d["std"].mean(0), "magma", 0, vmax), (d["mc_std"].mean(0), "magma", 0, vmax)]
        for c, (arr, cmap, lo, hi) in enumerate(panels):
            ax = axes[r, c]
            ax.imshow(arr, cmap=cmap, vmin=lo, vmax=hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
        axes[r, 0].set_ylabel(spec, fontsize=8, rotation=0, ha="right", va="center")
        axes[r, 3].text(1.03, 0.5, f"max |z| of mean\n{d['max_z_mean']:.1f}", transform=axes[r, 3].transAxes,
                        fontsize=8, va="center")
    fig.tight_layout()
    return fig


def error_vs_n(result: dict, model: str, what: str, specs: list[str], ncols: int = 4):
    """Median relative error of the running MC estimate versus N (log-log), with the 10-90%
    band over images and the prediction sqrt(Var / N) / E of the median image."""
    grid = result["grid_loss" if what == "loss" else "grid_grad"]
    recs = pd.DataFrame(result["records"])
    nrows = int(np.ceil(len(specs) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.5 * nrows), sharex=True, sharey=True, squeeze=False)
    for ax, spec in zip(axes.flat, specs):
        err = result["curves"][f"{model}|{spec}"][what]
        med = np.median(err, axis=0)
        lo, hi = np.quantile(err, [0.1, 0.9], axis=0)
        ax.fill_between(grid, lo, hi, alpha=0.25, label="10-90% of images")
        ax.plot(grid, med, marker="o", ms=3, label="median image")
        g = recs[(recs.model == model) & (recs.augment == spec)]
        if what == "loss":
            rel_sd = np.median(np.sqrt(g.Var_L) / g.E_L)
        else:
            rel_sd = np.median(np.sqrt(g.grad_trcov) / g.grad_norm)
        ax.plot(grid, rel_sd / np.sqrt(grid), "k--", lw=1, label=r"$\sqrt{\mathrm{Var}/N}\,/\,|E|$ (median)")
        for eps in (0.01, 0.05):
            ax.axhline(eps, color="0.5", lw=0.6, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(spec, fontsize=9)
    for ax in axes.flat[len(specs):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("augmented draws N")
    for ax in axes[:, 0]:
        ax.set_ylabel("relative error")
    axes.flat[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"{model}: Monte Carlo error of the per-image {'loss' if what == 'loss' else 'weight gradient'}",
                 fontsize=11)
    fig.tight_layout()
    return fig


def n_needed(table: pd.DataFrame, eps: str = "1%", threshold: float = 1e4):
    """Predicted draws for a per-image eps-accurate loss and gradient (median image with the
    quartiles of the images, p90 as a tick), and the data-set average, per augmentation (log axis)."""
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(table) + 1.2))
    y = np.arange(len(table))
    for off, what, color in ((-0.18, "loss", "C0"), (0.18, "grad", "C1")):
        med = table[f"{what} {eps} pred median"].to_numpy()
        ci = np.array(table[f"{what} {eps} pred quartiles"].tolist())
        ax.errorbar(med, y + off, xerr=[med - ci[:, 0], ci[:, 1] - med], fmt="o", color=color, ms=4, capsize=2,
                    label=f"{'loss' if what == 'loss' else 'gradient'}: median image (bar: middle half of images)")
        ax.scatter(table[f"{what} {eps} pred p90"], y + off, marker="|", s=80, color=color,
                   label=f"{'loss' if what == 'loss' else 'gradient'}: 90th-percentile image")
    ax.scatter(table[f"dataset loss {eps} pred"], y, marker="x", color="C2", label="loss averaged over the test set")
    ax.axvline(threshold, color="C3", ls="--", lw=1, label="paper: tens of thousands")
    ax.set_yticks(y, table.augment)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"augmented draws needed for {eps} relative error (predicted: Var / (eps^2 E^2))")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / len(table)), ncols=3, frameon=False)
    fig.tight_layout()
    return fig


def no_sampling(ns: dict):
    rows = pd.DataFrame(ns["rows"])
    cf = ns["closed_form"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0))
    axes[0].plot(rows.k, rows.test_acc, marker="o", label="k sampled views per image")
    axes[0].axhline(cf["test_acc"], color="C3", ls="--", label="closed-form expected loss")
    axes[0].set_ylabel("test accuracy")
    axes[1].plot(rows.k, rows.expected_loss - cf["expected_loss"], marker="o")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("excess expected augmented loss")
    axes[2].plot(rows.k, rows.rel_weight_error, marker="o")
    axes[2].plot(rows.k, rows.rel_weight_error.iloc[0] / np.sqrt(rows.k), "k--", lw=1, label=r"$\propto 1/\sqrt{k}$")
    axes[2].set_yscale("log")
    axes[2].set_ylabel(r"$\|W_k - W^*\| / \|W^*\|$")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("augmented draws per image k")
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    fig.suptitle(f"linear least squares on {ns['n']} images, {ns['augment']}: sampled vs closed form", fontsize=11)
    fig.tight_layout()
    return fig


def a2_families(tab: pd.DataFrame, low: float = 0.5, high: float = 2.0):
    """A2 per augmentation: the delta-method Var[L] over the truth (geometric mean over seeds of
    the median image) with its interval, against the band [low, high] the claim needs."""
    fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(tab) + 1.2))
    y = np.arange(len(tab))[::-1]
    ax.axvspan(low, high, color=COLOURS["supported"], alpha=0.12, lw=0)
    ax.axvline(1.0, color="0.5", ls=":", lw=1)
    for yi, (_, row) in zip(y, tab.iterrows()):
        c = COLOURS[row.label]
        ax.plot([row.lo, row.hi], [yi, yi], color=c, lw=2)
        ax.plot(row.ratio, yi, "o", color=c, ms=5)
    ax.set_yticks(y)
    ax.set_yticklabels(tab.augment, fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("delta-method Var[L] / truth (CNN)")
    ax.set_title(f"A2 per augmentation (band: within a factor {high:g}; colour: that family's label)", fontsize=9)
    fig.tight_layout()
    return fig


def a2_over_budgets(table: pd.DataFrame, family: str, high: float = 2.0):
    """A2's shown family against the training budget
    (:func:`augworth.verdicts.sample_complexity.a2_over_budgets`): each set of seeds' log10
    variance ratio with its 95% interval at the budget and with twice it, joined by a line (the
    movement the convergence gate reads), and the band's edge log10 ``high`` (dashed) and 0."""
    fig, ax = plt.subplots(figsize=(5.6, 3.4))
    over_budget_panel(ax, table, "epochs", "log10_ratio", seed_set_colours(table.seeds), legend=False,
                      xlabel="training epochs (log2)",
                      title=f"A2: delta-method Var[L] / truth of {family}, log10",
                      label=lambda who, t: f"{who} ({int(t.n_seeds.iloc[0])} seeds)")
    ax.axhline(np.log10(high), color="#d55e00", ls="--", lw=1, label=f"band edge: x{high:g}")
    ax.set_ylabel("log10 Var ratio (median image)")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
