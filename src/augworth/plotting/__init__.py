"""One look for every figure: a seaborn theme with a colour-blind-safe palette, and the figure
helpers chapters share."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

PALETTE = "colorblind"


def set_theme() -> None:
    """The project's theme; call once at the top of a chapter."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  rc={"figure.dpi": 110, "savefig.dpi": 110, "axes.titleweight": "bold",
                      "figure.autolayout": False})


def footer(fig, text: str) -> None:
    """Put provenance (profile, data set, seeds, device) under a figure, small and grey."""
    fig.text(0.01, -0.01, text, fontsize=7, color="0.4", ha="left", va="top")


def image_grid(grid: np.ndarray, row_labels: list[str], title: str = ""):
    """Show ``grid`` (rows, cols, C, H, W) uint8 as a table of images, one labelled row each."""
    rows, cols = grid.shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(0.75 * cols + 1.4, 0.75 * rows + 0.3),
                             squeeze=False, gridspec_kw={"wspace": 0.05, "hspace": 0.05})
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            img = grid[r, c]
            if img.shape[0] == 1:
                ax.imshow(img[0], cmap="gray_r", vmin=0, vmax=255)
            else:
                ax.imshow(np.transpose(img, (1, 2, 0)))
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        axes[r, 0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=9)
    if title:
        axes[0, 0].set_title(title, loc="left", x=0, pad=8, fontsize=11)
    return fig


def count_heatmap(counts, title: str = ""):
    """Annotated heat map of a (rows x columns) table of counts, e.g. classes x splits."""
    fig, ax = plt.subplots(figsize=(1.3 * counts.shape[1] + 2.5, 0.32 * counts.shape[0] + 1.2))
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5, ax=ax)
    ax.set_xlabel("")
    ax.tick_params(axis="x", labeltop=True, labelbottom=False, rotation=0)
    if title:
        ax.set_title(title, pad=30)
    return fig
