"""Figures of the `exchange_rate` chapter."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from . import augment_palette, over_budget_panel, seed_set_colours


def _n_axis(ax, sizes) -> None:
    """A log x axis labelled at the measured sizes only (plain numbers, no minor labels)."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ax.set_xscale("log")
    sizes = sorted({int(n) for n in sizes})
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.set_xticklabels([f"{n:,}" for n in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())


def _plain_log_y(ax) -> None:
    """Plain numbers (0.2, 0.3, ...) on a log y axis instead of 2 x 10^-1, that never overlap:
    the decades are labelled; within one decade also 2, 3, 4, 5, 6 and 8 times them, up to 1.3
    decades 2 and 5 times them; on longer axes no minor tick is labelled."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    fmt = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.yaxis.set_major_formatter(fmt)
    lo, hi = ax.get_ylim()
    decades = np.log10(hi / lo) if lo > 0 else np.inf
    if decades < 1.3:  # within a decade: 2, 3, 4, 5, 6, 8 (x 10^k) have room; up to 1.3 decades 2 and 5 do
        subs = (2.0, 3.0, 4.0, 5.0, 6.0, 8.0) if decades < 1.0 else (2.0, 5.0)
        ax.yaxis.set_minor_locator(LogLocator(base=10, subs=subs))
        ax.yaxis.set_minor_formatter(fmt)
        ax.tick_params(axis="y", which="minor", labelsize=8)
    else:
        ax.yaxis.set_minor_formatter(NullFormatter())


def error_curves(runs: pd.DataFrame, fits: dict, metric: str = "test_err", title: str = ""):
    """Error against n (log-log) per augmentation, mean ± sd over seeds; the reference power
    law (solid to the largest size, dotted beyond) and its asymptote b. ``fits``: {label: PowerLaw}."""
    main = runs[runs.kind == "main"]
    order = list(dict.fromkeys(main.augment))
    colors = augment_palette(order)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for aug in order:
        g = main[main.augment == aug].groupby("n")[metric].agg(["mean", "std"])
        ax.errorbar(g.index, g["mean"], yerr=g["std"], marker="o", ms=4, capsize=2, color=colors[aug], label=aug,
                    lw=2.2 if aug == "none" else 1.3)
    n_max = main.n.max()
    for label, f in fits.items():
        grid = np.geomspace(main.n.min(), n_max, 100)
        far = np.geomspace(n_max, 4 * n_max, 50)  # as far as the chapter's extrapolated worths reach
        ax.plot(grid, f(grid), color="0.2", lw=1, label=f"fit ({label}): {f.a:.3g}·n^-{f.c:.2f} + {f.b:.3f}")
        ax.plot(far, f(far), color="0.2", lw=1, ls=":")
        if f.b > 0.05 * f(far[-1]):  # on a log axis an asymptote near 0 would stretch the plot
            ax.axhline(f.b, color="0.5", lw=0.8, ls="--")
    ax.set_yscale("log")
    _plain_log_y(ax)
    _n_axis(ax, list(main.n.unique()) + [int(4 * n_max)])
    ax.set_xlabel("training images n")
    ax.set_ylabel(metric.replace("_err", " error").replace("ood", "corrupted test").replace("test", "test"))
    ax.set_title(title or "Error against data (black: no-augmentation power-law fit; dotted: extrapolated;\n"
                 "dashed: its asymptote b)", fontsize=10)
    ax.legend(fontsize=8, ncol=2, loc="lower left")
    fig.tight_layout()
    return fig


def worth(tables: dict[str, pd.DataFrame]):
    """v(n)/n per augmentation with jackknife-t intervals over seeds, one panel per table (e.g. clean and
    corrupted test); undefined worth (below the reference's asymptote) drawn as an arrow at the top."""
    fig, axes = plt.subplots(1, len(tables), figsize=(5.6 * len(tables), 3.9), squeeze=False, sharey=True)
    for ax, (title, t) in zip(axes[0], tables.items()):
        order = list(dict.fromkeys(t.augment))
        colors = augment_palette(order)
        finite = t[np.isfinite(t.rel)]
        top = max(4.0, float(np.nanmax(np.clip(finite.rel_hi.replace(np.inf, np.nan), None, 50)))) if len(finite) else 4.0
        for i, aug in enumerate(order):
            g = t[t.augment == aug].sort_values("n")
            x = g.n * (1 + 0.04 * (i - len(order) / 2))
            ok = np.isfinite(g.rel)
            lo = np.clip(g.rel_lo, -1, top)
            hi = np.clip(g.rel_hi.replace(np.inf, top), -1, top)
            y = np.clip(g.rel, -1, top)
            yerr = [np.maximum(0, y - lo)[ok], np.maximum(0, hi - y)[ok]]  # a percentile CI may miss the point
            ax.errorbar(x[ok], y[ok], yerr=yerr, marker="o", ms=4, capsize=2, color=colors[aug], label=aug)
            und = ~ok
            if und.any():
                ax.scatter(x[und], np.full(und.sum(), top), marker="^", s=60, color=colors[aug])
            ext = g.status == "extrapolated"
            if ext.any():
                ax.scatter(x[ext & ok], y[ext & ok], marker="o", s=70, facecolor="none", edgecolor="0.2", lw=1)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.axhline(1, color="0.6", lw=0.8, ls="--")
        _n_axis(ax, t.n.unique())
        ax.set_ylim(-1.05, top * 1.05)
        ax.set_xlabel("training images n")
        ax.set_title(title, fontsize=10)
    axes[0, 0].set_ylabel("worth v(n) / n  (extra samples per real sample)")
    axes[0, -1].legend(fontsize=8, loc="upper left")
    fig.text(0.01, -0.02, "▲: undefined (error below the reference's asymptote: worth more than any amount of data); "
             "ringed: extrapolated beyond the largest measured n; dashed: worth as much as the data itself",
             fontsize=8, color="0.3")
    fig.tight_layout()
    return fig


def invariance(curves: pd.DataFrame):
    """C3: test error against n for a plain model with and without flips, and the flip-invariant
    model with and without flips."""
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    sel = curves[((curves.kind == "main") & curves.augment.isin(["none", "flip"])) | (curves.kind == "invariant")]
    for (kind, aug, inv), g in sel.groupby(["kind", "augment", "invariance"], sort=False):
        label = ("invariant model" if kind == "invariant" else "plain model") + (" + flip DA" if aug == "flip" else "")
        ax.errorbar(g.n, g["mean"], yerr=g["std"], marker="o" if kind == "main" else "s", ms=4, capsize=2, label=label,
                    ls="-" if aug == "flip" else "--")
    _n_axis(ax, sel.n.unique())
    ax.set_yscale("log")
    _plain_log_y(ax)
    ax.set_xlabel("training images n")
    ax.set_ylabel("test error")
    ax.set_title("C3: flip invariance built in versus learned from flips", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fixed_copies(runs: pd.DataFrame, fixed_augment: str):
    """C4: test error against the number k of fixed augmented copies, with fresh augmentation
    and no augmentation at the same n as horizontal bands."""
    fixed = runs[runs.kind == "fixed"]
    sizes = sorted(fixed.n.unique())
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.6 * len(sizes), 3.5), squeeze=False)
    main = runs[runs.kind == "main"]
    for ax, n in zip(axes[0], sizes):
        g = fixed[fixed.n == n].groupby("copies").test_err.agg(["mean", "std"])
        ax.errorbar(g.index, g["mean"], yerr=g["std"], marker="o", capsize=2, color="C0", label="k fixed copies")
        for aug, color, label in ((fixed_augment, "C2", "fresh draws"), ("none", "C3", "no augmentation")):
            e = main[(main.n == n) & (main.augment == aug)].test_err
            ax.axhspan(e.mean() - e.std(), e.mean() + e.std(), color=color, alpha=0.2, lw=0)
            ax.axhline(e.mean(), color=color, label=label)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("augmented copies k (made once)")
        ax.set_ylabel("test error")
        ax.set_title(f"C4: {fixed_augment}, n = {n}", fontsize=10)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def corruption_heatmap(runs: pd.DataFrame, n: int):
    """Corrupted-test error by corruption (rows) and augmentation (columns) at size n, mean over
    seeds and severities."""
    main = runs[(runs.kind == "main") & (runs.n == n)]
    cols = [c for c in runs.columns if c.startswith("err/") and not c.startswith("err/clean")]
    t = main.groupby("augment", sort=False)[cols].mean().T
    t.index = [c.split("/")[1] for c in t.index]
    t = t.groupby(level=0, sort=False).mean()
    fig, ax = plt.subplots(figsize=(1.1 * t.shape[1] + 2.5, 0.4 * t.shape[0] + 1.4))
    sns.heatmap(t, annot=True, fmt=".2f", cmap="Reds", cbar=False, ax=ax)
    ax.set_title(f"Corrupted-test error at n = {n} (mean over 5 severities and seeds)", fontsize=10)
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


def contrasts_over_budgets(table: pd.DataFrame, margins: dict):
    """C3 and C4 against the step budget (:func:`augworth.analysis.exchange_rate.contrasts_over_budgets`):
    each set of seeds' contrast with its 95% interval at the budget and with twice it, joined by
    a line (the movement the convergence gate reads), the margin below which a claim is "not
    supported" (dashed) and 0 (solid)."""
    claims = [c for c in ("C3", "C4") if c in set(table.claim)]
    fig, axes = plt.subplots(1, max(len(claims), 1), figsize=(4.8 * max(len(claims), 1), 3.4), squeeze=False)
    colours = seed_set_colours(table.seeds)  # the margin keeps vermilion
    titles = {"C3": "C3 at its largest size: invariant model\nminus plain model with flips (test error)",
              "C4": "C4 at its size: the most fixed copies\nminus fresh draws (test error)"}
    for ax, claim in zip(axes[0], claims):
        over_budget_panel(ax, table[table.claim == claim], "steps", "contrast", colours, margin=margins[claim],
                          xlabel="SGD steps (log2)", title=titles[claim],
                          label=lambda who, t: f"{who} ({int(t.n_seeds.iloc[0])} seeds)")
    fig.tight_layout()
    return fig


def against_the_reference(runs: pd.DataFrame, n_max: int, arms, title: str = ""):
    """Each of ``arms``' error at the grid's largest size ``n_max`` (a band: mean and 95% t interval
    over seeds) against the no-augmentation reference at every size it was trained (mean and 95%
    interval), clean (C1) and corrupted (C2) side by side: where the reference's curve falls through
    an arm's band is the size the arm is worth; a reference below the band at a measured size means
    that much clean data beats the arm, read without a fit."""
    from ..metrics.stats import t_interval

    main = runs[runs.kind == "main"]
    ref = main[main.augment == "none"]
    colours = augment_palette(["none", *arms])
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 3.9))
    for ax, (metric, name) in zip(axes, (("test_err", "clean test error (C1)"), ("ood_err", "corrupted test error (C2)"))):
        ivs = {int(n): t_interval(g[metric].to_numpy()) for n, g in ref.groupby("n")}
        sizes = sorted(ivs)
        mean = [ivs[n].estimate for n in sizes]
        ax.fill_between(sizes, [ivs[n].lo for n in sizes], [ivs[n].hi for n in sizes], color=colours["none"], alpha=0.2)
        ax.plot(sizes, mean, "o-", color=colours["none"], lw=2, ms=4, label="none (the reference), 95% CI")
        for aug in arms:
            at = main[(main.augment == aug) & (main.n == n_max)][metric].to_numpy()
            if len(at) < 2:
                continue
            iv = t_interval(at)
            ax.axhspan(iv.lo, iv.hi, color=colours[aug], alpha=0.25)
            ax.axhline(iv.estimate, color=colours[aug], lw=1.4, label=f"{aug} at n = {n_max}")
        ax.axvline(n_max, color="0.6", lw=0.8, ls=":")
        _n_axis(ax, sizes)
        ax.set_xlabel("training images n (the reference's)")
        ax.set_ylabel(name)
        ax.legend(fontsize=8, loc="upper right")
    fig.suptitle(title or "The augmentations at the grid's largest size against the reference measured further",
                 fontsize=10)
    fig.tight_layout()
    return fig
