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
# # The data
#
# Every chapter trains on **Fashion-MNIST** by default: 60,000 training and 10,000 test images
# of 28×28 grey-scale clothing in ten classes. The papers use CIFAR-10/100, CINIC-10 and
# ImageNet; Fashion-MNIST is small enough to rerun every claim on two CPU cores, and four of its
# classes (T-shirt/top, pullover, coat, shirt) are confusable upper-body garments, a fine-grained
# group of the kind paper B finds augmentation hurts. What changes with the data set is discussed
# in each chapter.
#
# This page also fixes how every chapter splits the data:
#
# - a **validation split** is carved from the official training set once, class balanced, with a
#   seed that never changes; it is the only data used to choose anything;
# - **training subsets** of size *n* are drawn from the rest, class balanced and determined by
#   the seed, and *nested*: for one seed the subset of size *n* lies inside every larger one;
# - the **test set** is only ever evaluated.
#
# Run it again with other values: `make nb NAME=data P="dataset=mnist seeds=[0,1]"`.

# %% tags=["parameters"]
profile = "book"  # which params/<profile>/data.yaml supplies the values below
params = {}  # resolved parameters; papermill injects them (empty: the profile's file alone)

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd

from augworth import config, plotting
from augworth.experiments import run

p = config.load_params("data", profile, params)
result = run("data", p)
r = result.value
plotting.set_theme()
plotting.provenance_box(result, profile, p.dataset, list(p.seeds))

# %%
pd.Series(p.to_dict(), name="value").to_frame()

# %% [markdown]
# ## What the images look like
# Randomly chosen training images, one row per class (the first 20 classes for data sets with
# more).

# %%
fig = plotting.image_grid(r["grid"], r["classes"], title=f"{r['dataset']}: training images by class")
plt.show()

# %% [markdown]
# ## Class balance of each split

# %%
counts = pd.DataFrame(r["counts"], index=r["classes"])
counts.index.name = "class"
fig = plotting.count_heatmap(counts, title=f"{r['dataset']}: images per class and split")
plotting.footer(fig, f"profile {profile}; validation: {p.val_size} images carved from train with a fixed seed")
plt.show()

# %% [markdown]
# ## Training subsets
# Per-class counts of every subset drawn here (sizes and seeds from the parameters), whether it
# contains the next smaller subset of the same seed, and how many of its images are in the
# validation split (must be zero).

# %%
subsets = pd.DataFrame(r["subsets"])
subsets

# %% [markdown]
# The sizes each profile asks of the data, across all chapters (parameters measured in images):

# %%
pd.DataFrame(config.sizes_by_profile())

# %% [markdown]
# ## Verdict
# Computed from the subsets above: the split and subset properties the other chapters rely on.

# %%
checks = {
    "every subset is class balanced (per-class counts differ by at most 1)":
        bool(((subsets.max_per_class - subsets.min_per_class) <= 1).all()),
    "no subset shares an image with the validation split": bool((subsets.overlap_val == 0).all()),
    "for each seed, a subset contains the smaller ones": bool(subsets.contains_smaller.all()),
    "no index repeats inside a subset": bool((subsets.unique == subsets.n).all()),
    "validation split is class balanced":
        int(counts["validation"].max() - counts["validation"].min()) <= 1,
}
for text, ok in checks.items():
    print(f"{'PASS' if ok else 'FAIL'}  {text}")
verdict = "the splits are sound" if all(checks.values()) else "a split property FAILS: see above"
print(f"\nVerdict: {verdict} ({sum(checks.values())}/{len(checks)} checks pass, "
      f"{len(subsets)} subsets of {r['dataset']}).")
