# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -papermill,-execution,-ExecuteTime
#     formats: ipynb,py:percent
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version,-papermill,-widgets
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Evaluation: every training set and the classical methods on the real test patches
#
# Ma et al. judge a training set by one thing: how well the U-Net trained on it segments
# real micrographs it has never seen. Every model of chapter 04 and four classical methods
# (Otsu's threshold, Canny edges, a watershed and k-means, with the project's shared pre-
# and post-processing, `docs/method.md` §7) predict the boundaries of every real test
# patch, and each prediction is scored against the manual label with the paper's two
# instance scores (§6):
#
# - **MAP**, the mean average precision over IoU thresholds 0.50 ... 0.95 (a predicted
#   grain counts when it overlaps a true grain well enough), which punishes every merged or
#   split grain;
# - **ARI**, the adjusted Rand index of the two grain maps, which weighs grains by their
#   area and forgives small errors.
#
# The training sets (`grainlib.learn.segment.TRAINING_SETS`) are the paper's four, Real_X%,
# Simulated_100%, Mixed(Real_100% + Simulated_100%) and Mixed(Real_X% + Synthetic^X_100%),
# and two controls: the synthetic images alone, and Real_X% with the classical
# augmentation of random flips and rotations. The paper's claims, in shape (its Tables 3
# and 4): simulated images alone fail on real micrographs; mixing them into all the real
# data hurts; synthetic images help when real data are scarce (the paper, at X = 5 %:
# MAP 0.481 for Real_5%, 0.560 with the synthetic images).
#
# Two checks follow that the paper makes or implies: a U-Net trained and tested on
# simulated data only (its Supplementary Table 1), and whether the synthetic images still
# carry the labels they were drawn from.

# %% tags=["parameters"]
profile = None        # a profile in params/: smoke (seconds), demo (minutes), paper
                      # None: the one $GRAINLIB_PROFILE names, else "demo"
fraction = None       # real fraction X in %, one of the profile's data.fractions;
                      # None: the profile's smallest
seed = 0              # training seed of the U-Nets (and of the style transfer they use)

# %%
from pathlib import Path

import numpy as np

from grainlib.core import config
from grainlib.data import datasets
from grainlib.learn import segment
from grainlib.score import evaluate, tables
from grainlib.view import findings, report

cfg = config.load(profile)
fraction = min(cfg["data"]["fractions"]) if fraction is None else int(fraction)
figures = Path(cfg["figures_dir"])
data = datasets.build(cfg, progress=False)
print(f"{len(data.test)} real test patches of {data.test.size} px from "
      f"{len(data.test_indices)} test images ({cfg['data']['source']} source)")
if cfg["data"]["source"] == "surrogate":
    print("At this profile the 'real' micrographs are sections of the embedded surrogate "
          "specimen (grainlib.data.specimen), rendered like etched iron with exact labels: "
          "the scores below are on those, not on real micrographs (the iron-sections "
          "profile scores real ones).")

# %% [markdown]
# ## Scores of every training set and the baselines
# `evaluate.score` trains the U-Nets that are missing, predicts every test patch with
# each, runs the four classical methods, and keeps one row per method and patch (chapter
# 04 has usually done all this at this fraction and seed). The table is stored in
# `runs/<profile>/scores/` with a fingerprint of the models and parameters; chapter 06
# and the sweep over fractions and seeds collect these tables.

# %%
table = evaluate.score(cfg, fraction, seed, training_sets=list(segment.TRAINING_SETS))
print("U-Nets trained in this cell: " + (", ".join(table.attrs["trained_now"]) or
      "none, every model was read back from runs/<profile>/segment/"))

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(table)} rows: {table.groupby(['method', 'training_set'], sort=False).ngroups} "
      f"methods and training sets x {table['patch'].nunique()} test patches")

# %% [markdown]
# Mean and standard deviation over the test patches, and how many patches, under the
# paper's names, with the paper's numbers beside ours where its Tables 3 and 4 have them
# (its own 36 test images, not ours). The standard deviation is the spread between
# patches, not the uncertainty of the mean (that is about sd / sqrt(patches) for
# independent patches, and patches of one test image are not independent); differences
# between seeds are the business of chapter 06.

# %%
tables.beside_paper(table).round(3)

# %% [markdown]
# ## Grain size, the way metallurgists report it
# MAP and ARI say how well grains are separated; a metallurgist asks what the grain size
# is. Every prediction and every label is measured by the ASTM E112 lineal intercept
# method (`grainlib.score.grainsize`, test lines at 0, 45, 90 and 135 degrees): the mean
# lineal intercept l, and the grain size number G = -6.643856 log10(l / mm) - 3.288.
# The difference G_pred - G_label needs no pixel size. A segmentation that splits grains
# finds too short an intercept (G too high); one that merges grains, too long a one.
# Patches in which a method finds no boundary have no grain size and are left out.

# %%
sizes = table.assign(abs_dG=table["dG"].abs()).groupby(["method", "training_set"], sort=False)
sizes[["intercept_error", "dG", "abs_dG"]].mean().round(3)

# %% [markdown]
# ## The paper's Fig. 4: what the errors look like
# Three test patches, from left to right: the real image, its manual label, and the
# prediction of each training set (MAP of the patch above it). Black lines are predicted
# boundaries; **red** marks true boundaries that no prediction comes near (missed: two
# grains merged), **blue** predicted boundaries far from any true one (spurious: a grain
# split, usually along a scratch or a dark speck). A tolerance of 2 pixels keeps a line
# drawn one pixel aside from counting twice.

# %%
show = np.linspace(0, len(data.test) - 1, min(3, len(data.test))).astype(int)
examples = evaluate.segmentation_examples(cfg, table, fraction, seed, patches=show)

# %%
report.fig4_segmentation(**examples, n=len(show), path=figures / "fig4_segmentation.png");

# %% [markdown]
# ## Every test patch
# The per-patch MAP of each method and training set (boxes: quartiles; line: median;
# triangle: mean).

# %%
report.map_distributions(table, path=figures / "map_distributions.png");

# %% [markdown]
# ## The paper's Supplementary Table 1: train and test on simulated data
# Is Simulated_100% poor on real images because there are too few simulated images? The
# paper answers no: a U-Net trained on simulated patches and tested on *other* simulated
# patches (split 2.8 : 1) scores MAP 0.9591 and ARI 0.9986.
#
# "Other" needs care here. The simulated patches are sections of one Potts volume, and
# neighbouring sections are near-copies (a grain spans many planes), so a random split
# would test the model on copies of its training patches. We hold out a **slab** of the
# volume instead: the sections of consecutive planes along one axis are the test patches;
# training patches may show only planes more than one mean grain diameter away from the
# slab on either side (the volume is periodic, so the slab has two sides); patches that
# cross the gap, including sections along the other two axes that cut through the slab,
# are used for neither (`evaluate.held_out_split`). Training and test planes are 2.8 : 1,
# as in the paper. The U-Net has the budget of every other model of the profile.

# %%
held = evaluate.simulated_only(cfg, seed)

# %%
# NBVAL_CHECK_OUTPUT
print(f"test: planes {held.test_planes[0]}..{held.test_planes[-1]} of "
      f"{cfg['potts']['shape'][0]}, {len(held.test)} patches; training: planes "
      f"{held.train_planes[0]}..{held.train_planes[-1]}, {len(held.train)} patches; "
      f"gap {held.gap} planes on each side")
print(f"{len(data.simulated) - len(held.train) - len(held.test)} of {len(data.simulated)} "
      f"simulated patches touch the gap or both sides and are left out")
print(f"test grains also cut by a training section (elsewhere in the grain): "
      f"{held.shared_grains:.1%}")

# %% [markdown]
# Ours beside the paper's (the `paper` row is the authors' number, on their simulation
# and their 400 x 400 patches):

# %%
report.supplementary_table1(held.table, len(held.train), cfg["profile"]).round(4)

# %% [markdown]
# In a flat simulated image every boundary is a dark line between two even greys. A high
# score here beside a low one for Simulated_100% on the real patches (above) says what the
# paper concludes: the simulated data are enough to learn from but too simple to transfer
# to real micrographs, which is the reason for the style transfer.
#
# ## Do the synthetic images carry their labels?
# A synthetic image is only as good as its label: if the generator moves a boundary,
# drops one or paints one where the simulation has none, the Mixed(Real_X% +
# Synthetic^X_100%) model learns from wrong labels. A check that needs no new training:
# the U-Net trained on Real_X% alone, which has seen only real micrographs, segments the
# synthetic images of the generator of the same fraction, scored against the simulated
# labels they were drawn from. If the synthetic images are faithful to their labels and
# look real, it segments them about as well as the real test patches; if it does much
# worse, the generator's boundaries are not where the labels say (or its images do not
# look like micrographs to this model). The flat simulated images of the same labels
# show where the style transfer started.

# %%
fidelity = evaluate.label_fidelity(cfg, fraction, seed)

# %%
evaluate.summary(fidelity, by=["model", "images"])

# %% [markdown]
# ## Findings
# Written from this run's scores (`findings.segmentation`, `findings.fidelity`).

# %%
findings.show(findings.segmentation(table, fraction) + findings.fidelity(fidelity))
