# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # What is this augmentation worth on your data?
#
# Written by `python -m augworth worth` (or `make worth`): the measurement of the book's exchange-rate
# chapter (paper C's protocol) pointed at your augmentation, your baseline and your data, with the
# same statistics and verdict rules as the book's claims. Seeds are the unit of replication: every
# interval is over seeds (Student t for paired differences, a leave-one-seed-out jackknife for the
# worth in samples), and each verdict is gated by its checks.

# %% tags=["parameters"]
profile = "worth"  # not a book profile: the parameters below are the whole, resolved design
params = {}  # papermill injects them: python -m augworth worth resolves them from your data and budget

# %%
from dataclasses import replace
from html import escape

from IPython.display import HTML, Markdown, display

import matplotlib.pyplot as plt
import pandas as pd

from augworth import plotting, verdicts
from augworth.config import WorthParams, linear_part
from augworth.experiments import run
from augworth.analysis import worth as W
from augworth.plotting import exchange_rate as ex_plots
from augworth.plotting import worth as wp
from augworth.verdicts import worth as V

plotting.set_theme()
p = WorthParams.from_mapping(params)
result = run("worth", p)  # the command computed it already: this reads the results cache
a = W.analyse(result.value, p)
by = V.decide_policies(a, p)  # {augmentation: its worth and error decisions}
several = len(p.augments) > 1
if several:  # lead with what was decided for each, then the ranking
    s = V.ranking_summary(a, by, p)
    decisions = {f"{k}: {aug}": replace(d, claim=f"{d.claim}: {aug}") for aug, ds in by.items() for k, d in ds.items()}
else:
    decisions = by[p.augment]
    s = V.summary(a, decisions, p)
facts = a["facts"]
display(Markdown(f"## {', '.join(p.augments)} against {p.baseline} on `{facts['name']}`"))
display(V.summary_box(s, decisions, result.provenance()))

# %% [markdown]
# ## The data and the design

# %%
shape = "x".join(map(str, facts["image_shape"]))
display(Markdown(
    f"{len(facts['classes'])} classes, {sum(facts['per_class']):,} training images (per class "
    f"{min(facts['per_class'])} to {max(facts['per_class'])}), {facts['n_test']:,} test images, images "
    f"{shape} (channels x height x width). Training subsets are class balanced and nested (for a seed, each "
    f"contains the smaller ones), so the largest balanced size is {min(facts['per_class'])} x "
    f"{len(facts['classes'])} classes. Design: sizes {list(p.sizes)}, {p.steps} optimiser steps of "
    f"{p.batch_size} images per model whatever n (a fixed budget), seeds {list(p.seeds)}, model {p.model} "
    f"(width {p.width}); the largest-n runs of seeds {list(p.seeds[:3])} are repeated with {p.convergence_factor}x "
    f"the steps (the design's convergence pilot chose the steps as the smallest budget whose {p.convergence_factor}x "
    f"moves the test error by less than the tolerance). {result.meta.get('wall_s', 0):.0f} s here; the cells took {result.value['compute_s']:.0f} s "
    "of compute when they ran."))

# %% [markdown]
# ## Ranking
#
# With several augmentations: each against the same baseline, subsets and seeds, ranked by its worth
# at the largest size (v/n, jackknife interval over seeds), with its paired test-error change. Against
# one baseline curve a larger worth means a lower test error, so whether one ranks above the next is
# tested on their test errors, paired by seed.

# %%
if several:
    fig = wp.ranking(a["ranking"], by, p.baseline, a["n_max"])
    plt.show()
    display(a["ranking"].style.format(precision=3).hide(axis="index"))
    display(Markdown("Per class, accuracy change in points against the baseline at the largest size ((-) hurt, (+) "
                     "helped: Holm-corrected paired t tests over seeds):"))
    display(wp.class_costs(a["per_policy"], a["names"]))
else:
    display(Markdown(f"One augmentation ({p.augment}): give several, separated by commas (`--augment 'crop(2), flip, "
                     "trivialaugment'`), to rank them on the same subsets and seeds."))

# %% [markdown]
# ## Error against n, and the worth in samples
#
# The baseline's test error is fitted with a power law *f*(*n*) = *a*·*n*<sup>−*c*</sup> + *b* (to the seed-mean error
# at each size). The augmentation's worth at *n* real samples is *v*(*n*) = *f*<sup>−1</sup>(*e*<sub>aug</sub>(*n*)) − *n*:
# the extra un-augmented samples the baseline would need to reach the augmented error. Where the
# augmented error lies below the fitted asymptote *b*, *v* is **undefined** (worth more than any
# amount of data; an arrow at the top); where *f*<sup>−1</sup> lands beyond the largest measured size it is
# **extrapolated** (ringed).

# %%
if a["fit_id"] is not None:
    fig = ex_plots.error_curves(result.value["runs"], {p.baseline: a["fit_id"]},
                                title=f"Test error against n (black: the power law fitted to {p.baseline}; "
                                      "dotted: extrapolated)")
    plt.show()
    fig = ex_plots.worth({"clean test set": a["w_all_id"]})
    plt.show()
    cols = ["augment", "n", "err", "v", "lo", "hi", "status", "rel", "rel_lo", "rel_hi", "n_seeds"]
    display(a["w_all_id"][cols].rename(columns={"err": "error (aug)", "v": "worth v", "lo": "v CI low", "hi": "v CI high",
                                            "rel": "v/n", "rel_lo": "v/n low", "rel_hi": "v/n high"})
            .style.format(precision=3).hide(axis="index"))
else:
    display(Markdown(f"**Not measurable:** {a['fit_problem']}"))
display(Markdown("**Checks.** The verdict on the worth stands only if the runs had converged (over the seeds with "
                 f"convergence runs, the 90% interval of the change of the largest-n test error with "
                 f"{p.convergence_factor}x the steps lies within ±{a['conv_tol']:.3f}, at least two test images' worth) "
                 f"and the baseline's fit without the largest size predicts it within {a['holdout_tol']:.3f}."))
if a["conv_pairs"]:
    display(pd.DataFrame([{"policy": pol, "seed": sd, "test_err": before[sd], "test_err (longer)": after[sd],
                           "change": after[sd] - before[sd]}
                          for pol, (before, after) in a["conv_pairs"].items() for sd in sorted(set(before) & set(after))])
            .style.format(precision=4).hide(axis="index"))
elif not a["conv"].empty:
    display(a["conv"].rename(columns={"test_err_longer": "test_err (longer)", "train_acc_longer": "train_acc (longer)"})
            .style.format(precision=4).hide(axis="index"))
print("\n\n".join(verdicts.describe(d) for d in decisions.values()))

# %% [markdown]
# ## Which classes it helps or hurts
#
# Per class, at the largest size: accuracy with the augmentation minus with the baseline, paired by
# seed (same subset, initialisation and batch order), a Student t interval over seeds, and a two-sided
# paired t test Holm-corrected over the classes. Then, for the class it helps least, where that class's
# test images go under each policy.

# %%
for aug in p.augments:
    v = W.policy_view(a, aug)
    if several:
        display(Markdown(f"### {aug}"))
    fig = wp.class_effects(v["classes"], aug, p.baseline, a["n_max"])
    plt.show()
    fig = wp.confusion_flow(v["flows"], a["names"][v["worst"]], a["n_max"])
    plt.show()
    display(HTML("<details><summary>per-class table</summary>"
                 + v["classes"].drop(columns=["class"]).to_html(index=False, float_format=lambda x: f"{x:.3g}")
                 + "</details>"))

# %% [markdown]
# ## Closed-form moments of the linear stages
#
# For the stages of the spec that are linear in the pixels, the mean and covariance of the augmented
# image have a closed form (paper A). Shown: a few of your test images, the closed-form mean and
# standard deviation per pixel, and a Monte Carlo standard deviation that checks it. Below: on the
# model trained with the augmentation (largest n, first seed), the draws of the linear stages a Monte
# Carlo estimate of each image's loss needs for 1% relative accuracy, *N* = Var[*L*] / (0.01·E[*L*])²,
# with E[*L*] and Var[*L*] computed exactly over the stages' views (quadrature for continuous
# parameters, a large Monte Carlo reference where the spec adds noise).

# %%
for aug in p.augments:
    v = W.policy_view(a, aug)
    lin = linear_part(aug)
    if several:
        display(Markdown(f"### {aug}"))
    if not p.moments:
        display(Markdown("Skipped: `moments` is off."))
    elif lin is None:
        display(Markdown(f"Skipped: `{aug}` has no linear stage: it is training-only (non-linear), so it has "
                         "no closed-form moments."))
    else:
        if lin != aug:
            display(Markdown(f"`{aug}` is partly non-linear: this section measures its linear stages `{lin}` only."))
        fig = wp.moment_maps(v["moments"], a["names"])
        plt.show()
        fig = wp.draws_needed(v["draws"], lin)
        plt.show()
        d = v["draws_summary"]
        display(Markdown(f"Median over {d['images']} test images: **{d['median']:,.0f} draws** (quartiles "
                         f"{d['quartiles'][0]:,.0f} to {d['quartiles'][1]:,.0f}; the largest {d['max']:,.0f}); "
                         f"truth: {', '.join(d['how'])}. The loss averaged over the whole test set of "
                         f"{a['n_test']:,} images needs that many fewer."))

# %% [markdown]
# ## Out of distribution

# %%
if p.ood:
    display(Markdown(f"Each model is also evaluated on corrupted copies of {p.ood_images} class-balanced test images "
                     f"({len(p.corruptions)} corruptions x 5 severities). The worth out of distribution reads the "
                     "augmented corrupted-test error off the baseline's corrupted-test power law."))
    tables = {k: v for k, v in (("clean test set", a["w_all_id"]), ("corrupted test sets", a.get("w_all_ood")))
              if v is not None}
    if "corrupted test sets" in tables:
        fig = ex_plots.worth(tables)
        plt.show()
    else:
        display(Markdown(f"**Worth out of distribution not measurable:** {a['fit_problem']}"))
    fig = ex_plots.corruption_heatmap(result.value["runs"], a["n_max"])
    plt.show()
else:
    display(Markdown("Not measured: run with `--ood` to add the corruption suite."))

# %% [markdown]
# ## Reproduce
#
# The command below recomputes nothing that is cached (every trained model is a cell of the results
# cache, keyed by its parameters and your files' contents); change a value to extend the design.

# %%
def _arg(v):
    return ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


display(Markdown("```bash\npython -m augworth worth --data " + (p.data_path or p.dataset) + f" --augment '{p.augment}' \\\n"
                 f"    --baseline '{p.baseline}' --sizes {_arg(p.sizes)} --steps {p.steps} --seeds {_arg(p.seeds)}"
                 + (" --ood" if p.ood else "") + (f" --resize {p.image_size}" if p.image_size else "") + "\n```"))
display(HTML("<details><summary>every parameter</summary>"
             + "".join(f"<code>{escape(k)}</code> = {escape(str(v))}<br>" for k, v in p.to_dict().items()) + "</details>"))
