"""Exploratory pilot 3 (before registration 11): how far the no-augmentation reference must reach
for C1 and C2 at the longer budget (1,200 steps of 64 images, the longer-budget pilot's). The
longer-budget pilot's exchange_rate grid on its seeds 5-9 (neither exploratory nor confirmatory in
any registration), with the reference trained further, at 2,000-16,000 images; its cells are
reused from the cache where they exist. It changes no verdict: it sizes registration 11's
reference sizes and seeds (params/book/registration-11.yaml), and prints what it read.

    AUGWORTH_CACHE=<folder> AUGWORTH_EXECUTOR=process AUGWORTH_WORKERS=2 \
        python pilots/reference_sizes.py        # computes what is missing, then prints

Its output of 2026-12-06: pilots/reference_sizes.txt.
"""

from __future__ import annotations

import pandas as pd

from augworth import config, prereg
from augworth.experiments.registry import run
from augworth.metrics.stats import paired, t_interval

EXTRA = (2000, 4000, 8000, 16000)


def main() -> None:
    settings = dict(prereg.load("book").longer["exchange_rate"])
    settings["reference_sizes"] = [500, 1000, *EXTRA]
    p = config.load_params("exchange_rate", "book", settings)
    runs = run("exchange_rate", p).value["runs"]
    main_ = runs[runs.kind == "main"]
    pd.set_option("display.width", 200)
    print(f"== exchange_rate at {p.steps} steps, seeds {list(p.seeds)}, reference to n = {max(p.reference_sizes)}")
    for metric in ("test_err", "ood_err"):
        t = main_.groupby(["n", "augment"])[metric].agg(["mean", "std"]).round(4).unstack(1)
        print(f"-- {metric}: mean (sd) over seeds\n{t.to_string()}")
    at = main_[main_.n == max(p.sizes)]
    for aug in ("noise(0.4)", "trivialaugment"):
        da = {int(s): float(v) for s, v in zip(at[at.augment == aug].seed, at[at.augment == aug].ood_err)}
        for n in p.reference_sizes:
            ref = main_[(main_.augment == "none") & (main_.n == n)]
            r = {int(s): float(v) for s, v in zip(ref.seed, ref.ood_err)}
            iv = t_interval(paired(r, da))  # reference minus the augmentation (above 0: the augmentation better)
            print(f"corrupted error, none at n = {n} minus {aug} at n = {max(p.sizes)}: {iv.estimate:+.4f} "
                  f"(95% CI {iv.lo:+.4f} to {iv.hi:+.4f}, sd {iv.sd:.4f}, {iv.n} seeds)")


if __name__ == "__main__":
    main()
