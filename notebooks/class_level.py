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
# # Which classes pay for the crop?
#
# **Claims B1–B4** of Kirichenko et al. (NeurIPS 2023), after Balestriero, Bottou & LeCun (2022):
# the random-resized-crop (RRC) strength that is best **on average** costs single classes dearly
# (up to 20% on ImageNet; barn spider 68% → 46%) (B1); the affected classes are ambiguous or
# fine-grained, and with better labels many drops vanish (B2); the crop strength moves a hurt
# class's errors toward one specific partner class (B3); and a class-conditional policy (a
# weaker crop for the hurt classes) recovers them without losing average accuracy (B4).
#
# **What we measure.** Fast CNNs trained with `rrc(s)` (crop area ~ U(s, 1), aspect ratio in
# [3/4, 4/3], resized back) for a grid of minimum scales s, and without augmentation; several
# seeds, paired across strengths (seed k draws the same subset, initialisation and shuffling at
# every s). Per class: test accuracy with Student t intervals over seeds; the drop from a class's
# own best s to the average-optimal s\*, tested one-sided and paired over seeds, Holm-corrected
# over the classes. B2 forgives confusions inside a fine-grained group (Fashion-MNIST: T-shirt/top,
# pullover, coat, shirt; CIFAR-100: the 20 superclasses). B3 follows the errors of the hurt
# classes. B4 chooses s\* and the hurt classes **on the validation split** and retrains.
#
# **How our setting differs.** Paper B: ResNet-50 on ImageNet (1000 classes, many of them
# near-duplicates, 88 epochs). Here: a small CNN on 28×28 grey Fashion-MNIST subsets (book:
# 2000 images, 80 epochs, i.e. 1250 steps, the strongest and the mildest crop and none, 5
# exploratory seeds that choose and 7 confirmatory seeds that test, then registration 5's 24 and
# registration 6's 46 fresh seeds for B3, the latter trained on one GPU, registration 8's 16
# for B1 and registration 9's 20 for B2, each with its class named in advance; quick: 2000 images, 18 epochs, 7 seeds). On the full training set with a short schedule the crop lowers the *average*
# at every scale (then s\* is "no crop" and B1 is vacuous), so the profiles use a small subset,
# where a crop can help on average; ten classes give far fewer chances for a large drop than a
# thousand. What a
# verdict selects -- s\*, each class's best s, B3's pair, B4's classes and policy -- is chosen on
# the validation split; in the book profile on the exploratory seeds' validation split, and tested
# on the other seeds only (`choice_seeds`): choosing on the numbers a test then reads inflates its
# false positives (simulated without any class effect: B1 8% and B3 12% at nominal 5% and 2.5%;
# 5.2% and 2.7% chosen apart). ImageNet users: `augworth.data.labels.load_real_labels` reads the
# ReaL label sets shipped inside `timm`, and `augworth.metrics.classwise.real_accuracy` gives the
# per-class ReaL accuracy (not run here: no ImageNet offline).

# %% [markdown]
# ```{glue} results_box
# ```

# %% tags=["parameters"]
profile = "book"  # which params/<profile>/class_level.yaml supplies the values below
params = {}  # resolved parameters; papermill injects them (empty: the profile's file alone)

# %% tags=["hide-input"]

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from IPython.display import display
from myst_nb import glue

from augworth import config, plotting, verdicts
from augworth.data import load_dataset
from augworth.analysis import class_level as cl
from augworth.experiments import run
from augworth.plotting import class_level as figs
from augworth.verdicts import class_level as rules

p = config.load_params("class_level", profile, params)
result = run("class_level", p)
view = verdicts.seed_view(result.value, "class_level", profile)  # confirmatory seeds apart
r = view.page
names = load_dataset(p.dataset, data_path=p.data_path, image_size=p.image_size).classes
a = cl.analyse(r, p.dataset, alpha=p.alpha, class_names=names)
labels = r["strengths"]
plotting.set_theme()
again = verdicts.registered_again(  # registrations 5, 6 (B3), 8 (B1) and 9 (B2) on fresh seeds, choosing on seeds 0-4
    "class_level", profile, params,
    lambda v, q, gates, **shown: rules.decide_value(v, q, class_names=names, gates=gates, **shown),
    confirmatory=view.confirmatory)
plotting.provenance_box(result, profile, p.dataset, view.describe(), again)

# %% [markdown]
# ## The average and the classes
# Mean test accuracy over classes for each strength (and its spread over seeds); the
# average-optimal strength s\* is the dashed line in the figures.

# %%
print(f"average-optimal strength s* = {a['optimum']}")
a["average"].set_index("strength").T.round(4)

# %%
hurt_names = list(a["b1"][a["b1"].hurt].name)
fig = figs.per_class_curves(a, labels, highlight=hurt_names)
plt.show()

# %% [markdown]
# ## B1: classes hurt by the average-optimal crop
# Drop = accuracy at the class's own best strength minus at s\*, per seed; one-sided paired t
# test over seeds, Holm-corrected over the classes whose best strength is not s\*.

# %%
fig = figs.drops(a["b1"])
plt.show()
a["b1"].sort_values("drop", ascending=False).round(4)

# %% [markdown]
# ## B2: are the drops about ambiguity?
# The same drops when a prediction anywhere inside the true class's fine-grained group counts
# as right. The affected classes are those B1 finds hurt that lose 2 points or more (if none is
# hurt, any class losing 2 points or more): a significant drop of a fraction of a point is
# nothing for B2 to explain, and small drops of classes outside every group only dilute the share.

# %%
print("fine-grained groups:", [[names[c] for c in g] for g in a["groups"]])
share, share_lo, share_hi = a["b2_share"]  # ratio of seed means: leave-one-seed-out jackknife interval
print(f"share of the affected classes' summed drop that vanishes when in-group confusions are forgiven: "
      + (f"{share:.2f} (95% CI {share_lo:.2f} to {share_hi:.2f})" if len(a["b2"]) else
         f"no number: no class dropped by {a['affected_drop']:.0%} or more on these seeds"))
a["b2"].round(4)

# %% [markdown]
# Registration 9 (`params/book/registration-9.yaml`: B2 again on 20 fresh seeds, every one with
# its 160-epoch runs; the book's B2 verdict) names the class B2 explains in advance, Pullover,
# instead of the classes the test seeds find affected, and gates on B2's own metric: the share of
# Pullover's drop (from its own best strength, chosen on the exploratory seeds' validation split,
# to s\*) that vanishes when in-group confusions are forgiven, at the budget and with twice the
# epochs. Below, that share for every set of seeds with the longer runs where Pullover has a best
# strength other than s\* (registrations 5 and 8 trained B2's grid but registered B3 and B1: for
# B2 they are exploratory, the seeds registration 9 was planned on). The dashed line is the
# threshold the claim needs the share above.

# %% tags=["hide-input"]
analysed = {g.registration.number: cl.analyse(g.result.value, p.dataset, alpha=p.alpha, class_names=names)
            for g in again if g.result is not None}
b2_named = next((g.registration.shown["B2"] for g in again if "B2" in g.registration.shown), None)
if b2_named is not None:
    b2_budgets = cl.b2_over_budgets(
        [(f"registration {g.registration.number}", g.params.epochs, analysed[g.registration.number])
         for g in again if g.result is not None], b2_named)
    if not b2_budgets.empty:
        fig = figs.b2_over_budgets(b2_budgets, b2_named)
        plt.show()
    display(b2_budgets.round(3))

# %% [markdown]
# ## B3: where the errors go
# For each affected class, the share of its test images predicted as each of its main partners,
# against the strength (mean ± sd over seeds).

# %%
fig = figs.flows(a, labels)
if fig is not None:
    plt.show()

# %% [markdown]
# The pair tested for B3 is chosen on the validation split: among the classes hurt there and
# any partner, the pair whose bias (share a→b minus share b→a) changes most between the weakest
# and the strongest setting, oriented so that the change is positive. On the test set:

# %%
pa, pb = cl.b3_pair(r)
bias = cl.pair_bias(a["conf"], pa, pb)
fig = figs.pair_bias(bias, labels, names[pa], names[pb], a["optimum"])
plt.show()
b3_iv = cl.b3_effect(a["conf"], pa, pb)
b3, b3_lo, b3_hi = b3_iv
print(f"bias toward {names[pb]} from {labels[0]} to s = {labels[-1]}: {b3:+.3f} (95% CI {b3_lo:+.3f} to {b3_hi:+.3f})")

# %% [markdown]
# B3's effect at the budget and with twice the epochs, for every set of seeds that has the longer
# runs: registration 1's convergence seeds, registration 5 (`params/book/registration-5.yaml`:
# B3 again on 24 fresh seeds, every one with its 160-epoch run, its pair chosen again on the
# exploratory seeds' validation confusions) and registration 6 (`params/book/registration-6.yaml`:
# the same on 46 more fresh seeds, trained on one H100 with `make gpu REG=6`; the book's B3 verdict). The convergence gate reads the line's movement; the
# dashed line is the margin below which B3 is "not supported".

# %% tags=["hide-input"]
conv_seeds = sorted(p.convergence_seeds)
readings = [(("registration 1" if view.confirmatory else "this page")
             + (f", seeds {conv_seeds[0]}-{conv_seeds[-1]}" if conv_seeds else ""), p.epochs, a, (pa, pb))]
pairs = {}
for g in again:
    if g.result is not None and "none" in g.result.value["strengths"]:  # B3 reads none -> rrc(0.08)
        pairs[g.registration.number] = cl.b3_pair(g.result.value)
        readings.append((f"registration {g.registration.number}", g.params.epochs, analysed[g.registration.number],
                         pairs[g.registration.number]))
for number, (qa, qb) in pairs.items():
    print(f"registration {number}: pair chosen on its choice seeds' validation confusions: {names[qa]} -> {names[qb]}")
b3_budgets = cl.b3_over_budgets(readings)
if not b3_budgets.empty:
    same = all(q == (pa, pb) for q in pairs.values())  # one pair for every set: name it in the title
    fig = figs.b3_over_budgets(b3_budgets, rules.MARGINS["B3"], f"{names[pa]} -> {names[pb]}" if same else "")
    plt.show()
b3_budgets.round(4)

# %% [markdown]
# ## B4: a class-conditional policy
# On validation: s\* and the classes at least `min_drop` below their own best there, significantly
# over seeds (the same Holm-corrected paired test as B1, on the validation split). Two
# class-conditional policies are then trained with the same seeds, rrc(s\*) for every other
# class: **class** scope, where each hurt class gets its own best strength (or none), and
# **group** scope, where the hurt classes and their fine-grained partners share one strength
# (the best on validation for them together). Test accuracy, paired over seeds:

# %%
b4 = {scope: cl.b4_table(r, scope, class_names=names) for scope in cl.B4_SCOPES}
for scope, (t4, info) in b4.items():
    if not info:
        print(f"{scope} scope: nothing to fix (no class at least min_drop below its own best on\n"
              "  validation, or its best policy is the uniform one)")
        continue
    print(f"{scope} scope, chosen on validation: uniform rrc({info['optimum']}); own policies:\n  "
          + ", ".join(f"{names[int(c)]} -> {spec}" for c, spec in info["policy"].items()))
    fig = figs.b4(t4, info)
    plt.show()
    (g, glo, ghi), (d, dlo, dhi) = info["gain"], info["avg_diff"]
    print(f"  classes with their own policy: {g:+.4f} (95% CI {glo:+.4f} to {ghi:+.4f})\n"
          f"  average: {d:+.4f} (95% CI {dlo:+.4f} to {dhi:+.4f})")

# %% [markdown]
# Registration 10 (`params/book/registration-10.yaml`: B4 again on fresh seeds; the book's B4
# verdict) chooses on seeds where a class is hurt on validation (registration 5's seeds 500-515),
# on the grid B4 reads (rrc(1) and rrc(0.08)), and trains the policy again with twice the epochs on
# every confirmatory seed: its gate reads B4's own metrics, the hurt class's gain and the
# average's change, at the budget and with twice it. The gain is the hurt classes' (those chosen
# on validation); the group scope's policy also covers their fine-grained partners, whose share is
# in the average's change.

# %% tags=["hide-input"]
for g in again:
    if g.result is None or "B4" not in g.registration.claims:
        continue
    value = g.result.value  # with the policy's longer runs its gate read (verdicts.with_longer_runs)
    for scope in cl.B4_SCOPES:
        t4, info = cl.b4_table(value, scope, class_names=names)
        if not info:
            continue
        print(f"registration {g.registration.number}, {scope} scope, chosen on seeds "
              f"{value['choice_seeds'][0]}-{value['choice_seeds'][-1]} (validation): uniform rrc({info['optimum']}); "
              "own policies: " + ", ".join(f"{names[int(c)]} -> {spec}" for c, spec in info["policy"].items()))
        fig = figs.b4(t4, info)
        plt.show()
    longer = value.get("b4_longer")
    conv = cl.b4_convergence(value, longer["scope"], longer) if longer else None
    if conv:
        display(cl.b4_over_budgets(conv, g.params.epochs, longer["scope"]).round(4))

# %% [markdown]
# Where the predictions go: share of all test images predicted as each class, uniform rrc(s\*)
# against each class-conditional policy (mean over seeds), beside each class's test accuracy.

# %%
share_rows = {}
uniform_runs = [c for c in r["cells"] if c["strength"] == a["optimum"]]
for label, runs_ in [("uniform", uniform_runs)] + [(f"{s} scope", r["b4"][s]["runs"]) for s in r["b4"]]:
    cms = np.stack([np.asarray(x["test_confusion"]) for x in runs_])
    share_rows[f"predicted share, {label}"] = cms.sum(1).mean(0) / cms.sum((1, 2)).mean()
    share_rows[f"accuracy, {label}"] = np.mean([x["test_per_class"] for x in runs_], axis=0)
pd.DataFrame(share_rows, index=names).T.round(3)

# %% [markdown]
# When confusable classes are given *different* augmentations, the augmentation itself becomes
# a cue for the label: a class trained on more heavily cropped images is under-predicted on the
# un-augmented test images, one trained without the crop is over-predicted (the table above); the
# group scope keeps one policy per group. The verdict uses the group scope when it has a policy
# other than the uniform one, else the class scope (paper B: "a weaker crop for the hurt classes,
# or for the confusable pair").

# %% [markdown]
# ## Verdicts
# Computed in `augworth.verdicts.class_level` from the tables above: each claim's rule, the
# checks its verdict depends on (a failed check makes it inconclusive), and the seeds used.

# %%
decisions, exploratory = view.decide(lambda v: rules.decide_value(v, p, class_names=names))
verdicts.show(decisions, exploratory)
verdicts.show_again(again, decisions)
final = verdicts.publish_final(decisions, exploratory, again, result=result, profile=profile, dataset=p.dataset)
glue("results_box", verdicts.result_box(final, profile=profile, dataset=p.dataset, exploratory=exploratory,
                                        again=again, earlier=decisions), display=False)
