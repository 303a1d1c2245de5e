"""Per-class statistics for class-level effects of augmentation (paper B, B1-B3).

Inputs are per-seed results of a sweep over an augmentation strength s: per-class accuracies
``acc[s]`` of shape (seeds, classes) and confusion matrices ``conf[s]`` of shape (seeds, classes,
classes) (rows: true class, columns: prediction). Seeds are paired across strengths (seed k
draws the same subset and initialisation at every s), so differences are taken per seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .stats import t_intervals


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (family-wise error control, any dependence)."""
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    order = np.argsort(p)
    adj = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


def paired_t_pvalue(diffs: np.ndarray, alternative: str = "greater") -> float:
    """p-value of a t test over seeds on paired differences: one-sided that their mean is > 0
    (``alternative="greater"``) or two-sided that it is 0 (``"two-sided"``). Differences all equal
    count as exact: p 0 when they favour the alternative, 1 otherwise."""
    from scipy import stats

    d = np.asarray(diffs, dtype=float)
    if d.size < 2:
        return float("nan")
    if np.allclose(d, d[0]):
        favoured = d[0] > 0 if alternative == "greater" else not np.isclose(d[0], 0.0)
        return 0.0 if favoured else 1.0
    return float(stats.ttest_1samp(d, 0.0, alternative=alternative).pvalue)


def paired_class_effects(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> list[dict]:
    """Per class, the effect of policy a against policy b on accuracy: the mean over seeds of
    the paired difference a - b (``a``, ``b``: per-class accuracies (seeds, classes), seed k of
    one paired with seed k of the other), its Student t interval, a two-sided paired t test and
    its Holm correction over the classes. A class is ``helped``/``hurt`` when its Holm-adjusted
    p-value is below ``alpha``."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"per-class accuracies must both be (seeds, classes), got {a.shape} and {b.shape}")
    d = a - b
    pv = np.array([paired_t_pvalue(d[:, c], "two-sided") for c in range(d.shape[1])])
    adj = holm(np.nan_to_num(pv, nan=1.0))
    mean, lo, hi = t_intervals(d)
    sd = d.std(0, ddof=1) if d.shape[0] > 1 else np.full(d.shape[1], np.nan)
    return [{"class": c, "effect": float(mean[c]), "lo": float(lo[c]), "hi": float(hi[c]), "sd": float(sd[c]),
             "p": float(pv[c]), "p_holm": float(adj[c]),
             "finding": ("helped" if mean[c] > 0 else "hurt") if adj[c] < alpha else "no clear effect"}
            for c in range(d.shape[1])]


def optimum_and_best(acc: Mapping) -> tuple[np.ndarray, int, np.ndarray]:
    """From {strength: (seeds, classes) accuracies}: the mean over seeds (strengths, classes), the
    index of the average-optimal strength s* and each class's own best strength index."""
    mean = np.stack([np.asarray(acc[s], dtype=float).mean(0) for s in acc])
    return mean, int(np.argmax(mean.mean(axis=1))), mean.argmax(axis=0)


def class_drops(acc: Mapping, alpha: float = 0.05) -> dict:
    """Find classes hurt by the average-optimal strength (paper B, B1).

    ``acc`` maps each strength to per-seed per-class accuracies (seeds, classes), seeds paired.
    The average-optimal strength s* maximises the mean (over seeds and classes) accuracy; each
    class's own best s_c maximises its mean accuracy. The drop of class c is
    acc_c(s_c) - acc_c(s*) per seed; a class is *hurt* when its drop is significantly above 0
    (one-sided paired t test over seeds, Holm-corrected over the classes with s_c != s*); the
    drop's interval is a Student t interval over seeds.
    Note that picking s_c as the argmax of the same seeds biases the drop upwards; with few
    strengths and several seeds the bias is small, and the test is conservative for it only
    through the multiple-comparison correction: choose strengths on validation data to avoid it.
    """
    strengths = list(acc)
    a = np.stack([np.asarray(acc[s], dtype=float) for s in strengths])  # (S, seeds, classes)
    mean, s_star, best = optimum_and_best(acc)
    k = a.shape[2]
    diffs = np.stack([a[best[c], :, c] - a[s_star, :, c] for c in range(k)], axis=1)  # (seeds, classes)
    pv = np.array([paired_t_pvalue(diffs[:, c]) if best[c] != s_star else 1.0 for c in range(k)])
    tested = best != s_star
    adj = np.ones(k)
    if tested.any():
        adj[tested] = holm(pv[tested])
    _, lo, hi = t_intervals(diffs)
    sd = diffs.std(0, ddof=1) if diffs.shape[0] > 1 else np.full(k, np.nan)
    rows = [{"class": c, "best_strength": strengths[best[c]], "acc_best": mean[best[c], c],
             "acc_at_optimum": mean[s_star, c], "drop": diffs[:, c].mean(), "drop_lo": lo[c], "drop_hi": hi[c],
             "drop_sd": sd[c], "p": pv[c], "p_holm": adj[c], "hurt": bool(tested[c] and adj[c] < alpha)}
            for c in range(k)]
    return {"optimum": strengths[s_star], "average_acc": dict(zip(strengths, mean.mean(axis=1))), "classes": rows}


def group_forgiven_accuracy(conf: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Per-class accuracy when a prediction anywhere in the true class's group counts as right.

    ``conf``: (..., classes, classes) counts, rows true. Classes in no group keep their accuracy.
    """
    conf = np.asarray(conf, dtype=float)
    k = conf.shape[-1]
    member = np.eye(k, dtype=bool)
    for g in groups:
        for i in g:
            for j in g:
                member[i, j] = True
    correct = (conf * member).sum(-1)
    return correct / np.maximum(conf.sum(-1), 1)


def confusion_flow(conf: np.ndarray, source: int, targets: Sequence[int] | None = None) -> np.ndarray:
    """Share of class ``source``'s test images predicted as each class (its confusion row,
    normalised); ``targets`` selects columns. ``conf``: (..., classes, classes)."""
    conf = np.asarray(conf, dtype=float)
    row = conf[..., source, :] / np.maximum(conf[..., source, :].sum(-1, keepdims=True), 1)
    return row if targets is None else row[..., list(targets)]


def real_accuracy(predictions: Sequence[int], real_labels: Sequence[Sequence[int]], original: Sequence[int],
                  num_classes: int) -> dict:
    """ImageNet-ReaL accuracy (Beyer et al. 2020): a prediction is right if it is in the image's
    ReaL label set; images with an empty set are left out of numerator and denominator. Per
    class (by the ORIGINAL label) and overall; also the original-label accuracy on the same images."""
    pred = np.asarray(predictions)
    orig = np.asarray(original)
    keep = np.array([len(s) > 0 for s in real_labels])
    hit = np.array([p in set(s) for p, s in zip(pred, real_labels)])
    per_class, per_class_orig, counts = (np.full(num_classes, np.nan) for _ in range(3))
    for c in range(num_classes):
        m = keep & (orig == c)
        counts[c] = m.sum()
        if m.any():
            per_class[c] = hit[m].mean()
            per_class_orig[c] = (pred[m] == c).mean()
    return {"real_accuracy": float(hit[keep].mean()) if keep.any() else float("nan"),
            "original_accuracy": float((pred[keep] == orig[keep]).mean()) if keep.any() else float("nan"),
            "per_class_real": per_class, "per_class_original": per_class_orig, "counts": counts,
            "excluded": int((~keep).sum())}
