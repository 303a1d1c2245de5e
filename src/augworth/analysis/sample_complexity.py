"""Analysis of the `sample_complexity` chapter (paper A, A1-A3): the draws-needed tables from
the runner's records. Pure: nothing here trains; an edit here never makes a stored result stale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..claims import COMMON, PAPER_N  # noqa: F401  (the chapter's figures read them here)
from ..experiments.sample_complexity import EPSILONS


def n_table(result: dict, model: str = "cnn") -> pd.DataFrame:
    """Per augmentation: draws needed for 1% and 5% relative error of the per-image loss and its
    weight gradient, predicted (median, quartiles, p90 and worst over the images of the main
    seed's model: a description of the images, not an interval over seeds) and observed
    (median), and for the loss averaged over the whole test set."""
    df = pd.DataFrame(result["records"])
    df = df[df.model == model]
    rows = []
    for spec, g in df.groupby("augment", sort=False):
        row = {"augment": spec, "truth": g.truth.iloc[0]}
        for what in ("loss", "grad"):
            for eps in EPSILONS:
                pred = g[f"N_pred_{what}_{eps}"].to_numpy()
                row[f"{what} {eps:.0%} pred median"] = float(np.median(pred))
                row[f"{what} {eps:.0%} pred quartiles"] = tuple(np.quantile(pred, [0.25, 0.75]).tolist())
                row[f"{what} {eps:.0%} pred p90"] = float(np.quantile(pred, 0.9))
                row[f"{what} {eps:.0%} pred max"] = float(pred.max())
                row[f"{what} {eps:.0%} obs median"] = float(np.median(g[f"N_obs_{what}_{eps}"]))
        # the data-set average: Var of the mean of n per-image estimates is mean(Var) / n per draw
        for eps in EPSILONS:
            row[f"dataset loss {eps:.0%} pred"] = float(g.Var_L.mean() / (result["n_test"] * eps**2 * g.E_L.mean() ** 2))
        rows.append(row)
    return pd.DataFrame(rows)
