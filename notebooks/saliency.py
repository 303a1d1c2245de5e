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
# # Saliency against the augmentation covariance: texture or edges?
#
# **Claim A4** of Balestriero, Misra & LeCun (2022). Under augmentation sampling the loss varies
# by $\operatorname{Var}[L] \approx g^\top \Sigma(x)\, g$ with $g = \nabla_x L$ (the saliency), so
# for the training loss to be stable the saliency must align with the eigenvectors of $\Sigma(x)$
# with the **smallest** eigenvalues. For translations the large-variance directions sit on edges,
# where a shift changes pixels most: a model trained with the augmentation should look away from
# edges, toward texture.
#
# **What we measure.** Fast CNNs trained without augmentation and with translations, flips and
# noise of increasing strength (several seeds). On fixed test images, against $\Sigma(x)$ of a
# 2-pixel translation (the probe): the share of $\lVert g\rVert^2$ in the top-$k$ and bottom-$k$
# eigenspaces (a random direction: $k/d$), the *relative variance*
# $\rho = g^\top\Sigma g / (\lVert g\rVert^2\,\operatorname{tr}\Sigma/d)$ (1 for a random
# direction, below 1 when $g$ avoids high-variance directions), and the share of
# $\lVert g\rVert^2$ on edge pixels (Sobel magnitude above a quantile). Across strength and over
# training (checkpoints), with 95% intervals over seeds and images.
#
# **How our setting differs.** 28×28 grey images, small CNNs, a few epochs; a translation's
# covariance has rank at most $(2p+1)^2-1$ (24 for 2 pixels), so its "bottom" eigenspace is
# mostly a null space: $\rho$ is the sharper measure. Noise has $\Sigma=\sigma^2 I$: every
# direction alike, so noise models test whether *any* augmentation moves the saliency.

# %% tags=["parameters"]
profile = "quick"  # which params/<profile>/saliency.yaml supplies the values below
params = {}  # resolved parameters; papermill injects them (empty: the profile's file alone)

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from augworth import claims, config, plotting
from augworth.experiments import run
from augworth.metrics.stats import bootstrap_mean_diff
from augworth.plotting import saliency as figs

p = config.load_params("saliency", profile, params)
result = run("saliency", p)
r = result.value
plotting.set_theme()
df = figs.tidy(r)
acc = pd.DataFrame([{"augment": c["augment"], "seed": c["seed"], "test_acc": c["test_acc"]} for c in r["cells"]])
plotting.provenance_box(result, profile, p.dataset, list(p.seeds))

# %%
acc.pivot(index="augment", columns="seed", values="test_acc").loc[list(p.augmentations)]

# %% [markdown]
# ## What the covariance and the saliency look like
# For a few test images: the two top eigenvectors of $\Sigma(x)$ under the probe translation
# (red/blue: sign), its lowest-variance direction within the span of the shifted views, and
# $|g|$ of models trained without and with augmentation (seed 0).

# %%
shown = [a for a in p.augmentations if a in ("none", "crop(3)", "noise(0.3)")] or list(p.augmentations)[:2]
fig = figs.eigen_and_saliency_maps(r, shown, seed=p.seeds[0])
plt.show()
print(f"probe {p.probe}: Sigma(x) has rank {r['rank']} of d = {r['images'][0].size}")

# %% [markdown]
# ## Alignment and edge share against the training augmentation
# Final checkpoint; points: mean over seeds × images with a 95% interval.

# %%
fig = figs.measures_vs_augmentation(df, r["cells"][0]["random_baseline"])
plt.show()
last = df[df.epoch == df.epoch.max()]
summary = last.groupby("augment", sort=False)[["top", "bottom", "rho", "edge", "edge_frac", "grad_norm"]].mean()
summary.loc[list(p.augmentations)]

# %% [markdown]
# ## Over training

# %%
fig = figs.measures_vs_epoch(df)
plt.show()

# %% [markdown]
# ## The theory step: is $g^\top\Sigma g$ the variance of the loss?
# For every final model and test image: $\operatorname{Var}[L]$ under the probe translation
# measured with Monte Carlo against $g^\top\Sigma g$ ($g$ at the augmented mean).

# %%
pairs = pd.concat([pd.DataFrame({"augment": c["augment"], "mc": c["mc_var"], "gsg": c["gsg"]}) for c in r["cells"]])
fig, ax = plt.subplots(figsize=(5, 4))
for a, g in pairs.groupby("augment", sort=False):
    ax.scatter(g.gsg, g.mc, s=8, label=a, alpha=0.7)
lo_ = max(min(pairs.gsg.min(), pairs.mc.min()), 1e-10)
hi_ = max(pairs.gsg.max(), pairs.mc.max())
ax.plot([lo_, hi_], [lo_, hi_], "k--", lw=0.8)
ax.set_xscale("log"); ax.set_yscale("log")
ax.set_xlabel(r"$g^\top \Sigma g$"); ax.set_ylabel(f"Monte Carlo Var[L] ({p.n_mc} draws)")
lt, lm = np.log(pairs.gsg.clip(1e-12)), np.log(pairs.mc.clip(1e-12))
r2 = 1 - ((lm - lt) ** 2).sum() / ((lm - lm.mean()) ** 2).sum()
spearman = pairs[["gsg", "mc"]].rank().corr().iloc[0, 1]
ax.set_title(f"R² (log scale) {r2:.2f}, Spearman {spearman:.2f}", fontsize=10)
ax.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## Verdict
# A4 is tested as: models trained with a translation have a lower relative variance $\rho$ than
# models trained without augmentation (their saliency avoids the translation's high-variance
# directions), and a lower share of saliency on edges. Effect: the difference in mean $\rho$
# (no augmentation minus the strongest translation), with a bootstrap 95% interval over
# seeds × images; supported if the interval lies above 0.

# %%
crops = [a for a in p.augmentations if a.startswith("crop")]
strongest = max(crops, key=lambda a: int(a[a.index("(") + 1 : a.index(")")]) if "(" in a else 2) if crops else None
base = last[last.augment == "none"]
aug = last[last.augment == strongest] if strongest else last.iloc[:0]
diff, *ci = bootstrap_mean_diff(base.rho, aug.rho)  # NaN when either group is missing
e_diff, *e_ci = bootstrap_mean_diff(base.edge, aug.edge)
label = claims.decide(diff, ci, 0.0, ">=")
edge_label = claims.decide(e_diff, e_ci, 0.0, ">=")
rec = claims.record("A4", label, diff, ci, "rho(none) - rho(translation) > 0 (CI)",
                    f"rho is {last[last.augment == 'none'].rho.mean():.3f} without augmentation and "
                    f"{last[last.augment == strongest].rho.mean() if strongest else float('nan'):.3f} ({strongest}); "
                    f"edge share changes by {-e_diff:+.3f} (95% CI {-e_ci[1]:+.3f} to {-e_ci[0]:+.3f}): {edge_label} "
                    f"for 'away from edges'; Var[L] vs g^T Sigma g: R2 (log) {r2:.2f}",
                    result=result, profile=profile, dataset=p.dataset, seeds=list(p.seeds))
print(f"relative variance rho: none - {strongest} = {diff:.3f} (95% CI {ci[0]:.3f} to {ci[1]:.3f}) -> {label.upper()}")
print(f"edge share:            none - {strongest} = {e_diff:.3f} (95% CI {e_ci[0]:.3f} to {e_ci[1]:.3f}) -> "
      f"{edge_label} for 'DA moves saliency away from edges'")
print(f"theory step: Var[L] (MC) against g^T Sigma g, R² on log scale {r2:.2f}, Spearman {spearman:.2f}")
print(f"Verdict on A4 at our scale: {label.upper()}")
