"""One look for every figure: a seaborn theme with a colour-blind-safe palette, and the figure
helpers chapters share."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

PALETTE = "colorblind"
MIN_FONT = 8  # pt: the smallest text on any panel (legible at page width)

#: One colour per augmentation across every chapter (the colour-blind-safe palette's indices);
#: specs not listed get a stable colour from their name.
AUGMENT_COLOURS = {"none": 7, "flip": 0, "crop(1)": 9, "crop(2)": 1, "crop(3)": 5, "crop(1)+flip": 8,
                   "crop(2)+flip": 2, "trivialaugment": 3, "randaugment": 6, "noise(0.1)": 4, "noise(0.3)": 4,
                   "noise(0.4)": 4}


def augment_colour(spec: str):
    """The colour of ``spec`` in every figure of the book."""
    import zlib

    colours = sns.color_palette(PALETTE, 10)
    if spec in AUGMENT_COLOURS:
        return colours[AUGMENT_COLOURS[spec]]
    return colours[zlib.crc32(spec.encode()) % 10]


def augment_palette(specs) -> dict:
    """{spec: colour} for seaborn's ``palette=`` (one mapping for the whole book)."""
    return {s: augment_colour(s) for s in specs}


def seed_set_colours(sets) -> dict:
    """A colour per set of seeds (however many), from the project's palette without its
    vermilion (index 3), which figures keep for a claim's margin."""
    palette = [c for i, c in enumerate(sns.color_palette(PALETTE, 10)) if i != 3]
    return {who: palette[i % len(palette)] for i, who in enumerate(dict.fromkeys(sets))}


def over_budget_panel(ax, table, budget: str, value: str, colours: dict, *, margin: float | None = None,
                      xlabel: str = "", title: str = "", legend: bool = True, label=None) -> None:
    """One claim's effect against the training budget on ``ax``: for each set of seeds in
    ``colours`` (rows of ``table`` whose ``seeds`` column names it), ``value`` with its interval
    (columns ``<value>_lo``/``<value>_hi``, else ``lo``/``hi``) at each ``budget`` read, joined by a
    line (the movement a convergence gate reads), side by side where budgets coincide; 0 (solid)
    and the claim's ``margin`` (dashed vermilion) as references. ``label(who, rows)``: the legend
    text of a set (default: its name)."""
    lo, hi = (f"{value}_lo", f"{value}_hi") if f"{value}_lo" in table else ("lo", "hi")
    sets = list(colours)
    for i, who in enumerate(sets):
        t = table[table.seeds == who].sort_values(budget)
        if t.empty:
            continue
        x = t[budget] * (1 + 0.04 * (i - (len(sets) - 1) / 2))  # side by side at a shared budget
        ax.errorbar(x, t[value], yerr=[t[value] - t[lo], t[hi] - t[value]], fmt="o-", capsize=3,
                    color=colours[who], label=label(who, t) if label else who)
    ax.axhline(0, color="#333", lw=0.8)
    if margin is not None:
        ax.axhline(margin, color="#d55e00", ls="--", lw=1, label=f"margin {margin:+g}")
    ticks = sorted(set(table[budget]))
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, [f"{b:,}" for b in ticks])
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=9)
    if legend:
        ax.legend(fontsize=7, frameon=False)


def set_theme() -> None:
    """The project's theme; call once at the top of a chapter."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE,
                  rc={"figure.dpi": 110, "savefig.dpi": 110, "axes.titleweight": "bold",
                      "figure.autolayout": False, "legend.fontsize": MIN_FONT, "xtick.labelsize": 9,
                      "ytick.labelsize": 9, "axes.labelsize": 10, "axes.titlesize": 10})


def footer(fig, text: str) -> None:
    """Put provenance (profile, data set, seeds, device) under a figure, small and grey."""
    fig.text(0.01, -0.01, text, fontsize=8, color="0.4", ha="left", va="top")


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


def truth_vs_approx(ax, frame, truth: str, approx: str, by: str, xlabel: str, ylabel: str, title: str = "",
                    floor: float = 1e-10) -> float:
    """Log-log scatter of ``frame[approx]`` against ``frame[truth]``, one colour per ``by`` group,
    with the identity line; the title ends with the log-scale R^2 of the approximation
    (:func:`augworth.metrics.stats.log_r2`), which is returned."""
    from ..metrics.stats import log_r2

    for key, g in frame.groupby(by, sort=False):
        ax.scatter(g[truth], g[approx], s=10, label=key, alpha=0.7, color=augment_colour(str(key)))
    lims = [max(float(frame[[truth, approx]].min().min()), floor), float(frame[[truth, approx]].max().max())]
    ax.plot(lims, lims, "k--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    r2 = log_r2(frame[truth], frame[approx])
    ax.set_title(f"{title}{' ' if title else ''}(R² on log scale {r2:.2f})", fontsize=10)
    return r2


def count_heatmap(counts, title: str = ""):
    """Annotated heat map of a (rows x columns) table of counts, e.g. classes x splits."""
    fig, ax = plt.subplots(figsize=(1.3 * counts.shape[1] + 2.5, 0.32 * counts.shape[0] + 1.2))
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5, ax=ax)
    ax.set_xlabel("")
    ax.tick_params(axis="x", labeltop=True, labelbottom=False, rotation=0)
    if title:
        ax.set_title(title, pad=30)
    return fig


def _wall(result) -> str:
    """The runner's wall time, and for a sweep the compute its cells took when they ran (cells
    found in the cache cost this call nothing, but they cost that much once)."""
    text = f"{result.meta.get('wall_s', float('nan')):.1f} s"
    compute = result.compute_s
    if compute is not None:
        text += f" (the sweep's cells: {compute:.0f} s of compute when they ran)"
    return text


def _origin(m: dict) -> str:
    """Where a result with meta ``m`` was read from, in words."""
    source = m.get("source", "?")
    if source.startswith("committed"):
        return f"shipped results ({m.get('path', source)}), computed once and committed"
    if source == "cache":
        return "the results cache (computed earlier with these parameters)"
    return "computed while this page was built"


def _stage_machine(meta: dict, number: int) -> str:
    """Where a shipped later registration's models were trained, as its shipping recorded it
    (``stages.registration_<n>.machine`` of the PROVENANCE.json it was read from); '' else."""
    source = meta.get("source", "")
    if not source.startswith("committed"):
        return ""
    from .. import shipping

    stage = ((shipping.provenance(source.partition(":")[2]) or {}).get("stages") or {}).get(f"registration_{number}")
    return str(stage.get("machine", "")) if isinstance(stage, dict) else ""


def provenance_box(result, profile: str, dataset: str, seeds, again=()) -> "object":
    """The box that opens every chapter: where its numbers come from. Returns an IPython HTML
    object (rendered as is by the book). ``again``: the page's later registrations
    (:func:`augworth.verdicts.registered_again`); each stored one gets a row of its own (its
    seeds, results, commit, date and wall time)."""
    from html import escape

    from IPython.display import HTML

    m = result.meta
    source = m.get("source", "?")
    origin = _origin(m)
    machine_row = []
    if source.startswith("committed"):
        from .. import shipping

        shipped = shipping.provenance(source.partition(":")[2]) or {}
        mach = shipped.get("machine")
        if mach:
            machine_row = [("machine", f"{mach['cpu']}, {mach['cores']} cores, torch {mach['torch']}; reference step "
                                       f"{mach['reference_step_ms']} ms ({mach['reference_step_ms_there']} ms on the "
                                       f"machine the profiles are sized on)")]
    seeds_txt = ", ".join(map(str, seeds)) if isinstance(seeds, (list, tuple)) else str(seeds)
    rows = [("profile", profile), ("data set", dataset), ("seeds", seeds_txt),
            ("device", m.get("device_name", "?")), *machine_row, ("wall time", _wall(result)),
            ("commit", m.get("git_commit", "?")[:12]), ("torch", m.get("torch", "?")),
            ("results", origin), ("computed", m.get("created", "?"))]
    for a in again:
        reg = a.registration
        if a.result is None:
            rows.append((f"registration {reg.number}", f"{reg.file}: seeds {a.seeds_text}, not computed yet"))
            continue
        am = a.result.meta
        trained = _stage_machine(am, reg.number)
        rows.append((f"registration {reg.number}",
                     f"{reg.file}: seeds {a.seeds_text}; {_origin(am)}; computed {am.get('created', '?')}, "
                     f"commit {am.get('git_commit', '?')[:12]}, wall time {_wall(a.result)}"
                     + (f"; its models trained on {trained}" if trained else "")))
    stale = ""
    if result.stale:
        stale = ("<p style='color:#b00020;margin:4px 0 0'><b>Stale:</b> the code that computes these results has "
                 "changed since they were computed: they are shown as they were, not as the code here would give them. "
                 "<code>make reproduce NAME=...</code> recomputes them here and compares the verdicts; "
                 "<code>python -m augworth run NAME --force</code> replaces them in your cache.</p>")
    cells = "".join(f"<tr><th style='text-align:left;padding:1px 10px 1px 0'>{escape(k)}</th>"
                    f"<td style='padding:1px 0'>{escape(str(v))}</td></tr>" for k, v in rows)
    return HTML("<div style='border-left:4px solid #0173b2;background:#f3f7fb;padding:8px 12px;margin:8px 0;"
                f"font-size:0.85em'><b>Provenance</b><table style='margin-top:4px'>{cells}</table>{stale}</div>")
