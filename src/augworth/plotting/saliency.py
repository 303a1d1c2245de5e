"""Figures of the `saliency` chapter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import augment_palette


def eigen_and_saliency_maps(r: dict, shown: list[str], seed: int = 0):
    """Per image: the image, the two top eigenvectors of Sigma(x), its lowest-variance direction
    within the shifted views' span, and the saliency maps of models trained with each of ``shown``."""
    n = r["images"].shape[0]
    cells = {(c["augment"], c["seed"]): c for c in r["cells"]}
    cols = 4 + len(shown)
    fig, axes = plt.subplots(n, cols, figsize=(1.55 * cols, 1.65 * n + 0.4), squeeze=False)
    side = r["images"].shape[-1]
    titles = ["image", "top eigvec 1", "top eigvec 2", "low-variance\ndirection"] + [f"saliency\n{s}" for s in shown]
    for i in range(n):
        panels = [(r["images"][i].mean(0), "gray_r", False),
                  (r["top_vecs"][i, :, -1].reshape(-1, side, side).mean(0), "RdBu_r", True),
                  (r["top_vecs"][i, :, -2].reshape(-1, side, side).mean(0), "RdBu_r", True),
                  (r["low_vec"][i].reshape(-1, side, side).mean(0), "RdBu_r", True)]
        for s in shown:
            panels.append((np.abs(cells[(s, seed)]["saliency_maps"][i]).mean(0), "magma", False))
        for j, (arr, cmap, signed) in enumerate(panels):
            ax = axes[i, j]
            lim = np.abs(arr).max() or 1.0
            ax.imshow(arr, cmap=cmap, vmin=-lim if signed else 0, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(titles[j], fontsize=8)
    fig.tight_layout()
    return fig


def tidy(r: dict) -> pd.DataFrame:
    """One row per (augmentation, seed, checkpoint, image) with every measure."""
    rows = []
    for c in r["cells"]:
        for t in c["over_time"]:
            n = len(t["top"])
            rows.append(pd.DataFrame({"augment": c["augment"], "seed": c["seed"], "epoch": t["epoch"], "image": np.arange(n),
                                      "top": t["top"], "bottom": t["bottom"], "rho": t["rho"], "edge": t["edge"],
                                      "edge_frac": t["edge_frac"], "grad_norm": t["grad_norm"]}))
    return pd.concat(rows, ignore_index=True)


def measures_vs_augmentation(df: pd.DataFrame, baseline: float):
    last = df[df.epoch == df.epoch.max()]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    import seaborn as sns

    order = list(dict.fromkeys(last.augment))
    for ax, (col, label, ref) in zip(axes, [("top", "saliency energy in top-k eigenspace", baseline),
                                            ("rho", r"relative variance $g^\top\Sigma g/(\|g\|^2\bar\lambda)$", 1.0),
                                            ("edge", "saliency energy on edge pixels", float(last.edge_frac.mean()))]):
        sns.pointplot(data=last, x="augment", y=col, order=order, errorbar=("ci", 95), ax=ax, linestyle="none",
                      capsize=0.2, hue="augment", palette=augment_palette(df.augment.unique()), legend=False)
        ax.axhline(ref, color="0.4", ls="--", lw=1)
        ax.set_ylabel(label, fontsize=9)
        ax.set_xlabel("training augmentation")
        ax.tick_params(axis="x", rotation=35, labelsize=8)
    axes[0].text(0.02, 0.95, "dashed: random direction", transform=axes[0].transAxes, fontsize=8, va="top")
    axes[2].text(0.02, 0.95, "dashed: share of pixels that are edges", transform=axes[2].transAxes, fontsize=8, va="top")
    fig.tight_layout()
    return fig


def measures_vs_epoch(df: pd.DataFrame):
    import seaborn as sns

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.3))
    for ax, (col, label) in zip(axes, [("rho", "relative variance (1 = random direction)"), ("edge", "saliency energy on edges")]):
        sns.lineplot(data=df, x="epoch", y=col, hue="augment", errorbar=("ci", 95), marker="o", ax=ax, palette=augment_palette(df.augment.unique()))
        ax.set_ylabel(label, fontsize=9)
        ax.set_xlabel("training epoch")
    axes[0].get_legend().remove()
    axes[1].legend(fontsize=8, title=None)
    fig.tight_layout()
    return fig
