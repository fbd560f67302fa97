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
# # 07 · Augmentation: what to do with a handful of labelled micrographs
#
# The paper's answer to scarce labels is to add pix2pix synthetic images. A practitioner
# has other options, and always uses some of them: flip and rotate the few real patches,
# deform them elastically, jitter their brightness, contrast and sharpness; pretrain on
# synthetic images and fine-tune on the real ones (which beat mixing for Potts-based
# particle images in later work); or skip the GAN and render the simulated labels with
# random appearances (domain randomisation). This chapter asks which of these helps a
# U-Net trained on Real_X%, and whether the synthetic images help *on top of* classical
# augmentation, the question that matters in practice (`docs/method.md` §7b).
#
# The training sets (`recipes.ARMS`): **real** (Real_X% alone, the baseline),
# **real+flips**, **real+synthetic** (the paper's Mixed), **synthetic** (alone),
# **real+flips+synthetic**, **synthetic>real** (pretrain, then fine-tune),
# **real+classical** (flips, rotations, elastic deformation, brightness, contrast, gamma,
# noise, blur), **real+classical+synthetic** and **real+rendered** (labels drawn by a
# randomised renderer; at the demo profile the test images come from that renderer's own
# kind, so there this set is an upper bound, not a fair competitor).
#
# Three budgets: **equal-steps**, every set the same number of U-Net steps (our protocol);
# **epoch-rule**, the official script's rule, under which the paper's Real_5% alone
# trained for 1,800 iterations at a decaying rate and Mixed for 36,000: its ratio kept at
# our sizes; and **long-steps**, its control, every set as many steps as Mixed under the
# epoch rule. If part of the paper's gain came from that unequal budget, the epoch rule
# shows a gain that equal steps do not, and long steps take it away again.
#
# The U-Nets are scored on real patches they never saw: the profile's test images
# (`test_set = "test"`), or the training images that Real_X% leaves out (`"unseen"`; on
# the iron sections, the three sections a Real_25% U-Net did not train on, a check that a
# recipe's gain is not one test section's).
#
# Every comparison is paired: the same seeds, the same test patches. Per seed the
# per-patch differences to **real** are averaged; over the seeds, the mean and its
# Student-t 95 % interval. A set *helps* when the interval lies above 0, *hurts* when
# below, and otherwise shows *no detectable effect*.

# %% tags=["parameters"]
profile = None        # a profile in params/: smoke (seconds), demo (minutes), iron-sections
                      # None: the one $GRAINLIB_PROFILE names, else "demo"
fractions = None      # real fractions X %; None: the profile's smallest
seeds = None          # training seeds; None: the profile's seed
training_sets = None  # names from recipes.ARMS; None: all nine
budgets = None        # "equal-steps", "epoch-rule", "long-steps"; None: equal-steps alone
test_set = "test"     # the patches scored: "test" (the test images) or "unseen" (the
                      # training images Real_X% leaves out)

# %%
from pathlib import Path

import pandas as pd

from grainlib.core import config
from grainlib.data import datasets
from grainlib.learn import recipes, segment
from grainlib.score import augmentation, paired, tables
from grainlib.view import findings, gains, report

cfg = config.load(profile)
fractions = [min(cfg["data"]["fractions"])] if fractions is None else [int(x) for x in fractions]
seeds = [cfg["seed"]] if seeds is None else [int(s) for s in seeds]
training_sets = list(recipes.ARMS) if training_sets is None else list(training_sets)
budgets = ["equal-steps"] if budgets is None else list(budgets)
figures = Path(cfg["figures_dir"])
data = datasets.build(cfg, progress=False)
suffix = augmentation.file_suffix(test_set)

# %% [markdown]
# ## The U-Nets, trained or reused, scored on real patches they never saw
# `augmentation.scores` builds each training set's U-Net for a fraction, seed and budget
# when it is not stored yet (the paper's four sets under equal steps are chapter 04's own
# models) and scores it once on the patches of `test_set`; the table is kept in
# `runs/<profile>/scores/`, so a second run, or one with more seeds, trains and scores
# only what is new.

# %%
scores = pd.concat([augmentation.scores(cfg, x, s, training_sets, budgets, test_set=test_set)
                    for x in fractions for s in seeds], ignore_index=True)
tag = tables.tag(scores)

# %%
# NBVAL_CHECK_OUTPUT
for budget in budgets:
    for x in fractions:
        n_real = len(data.real_fraction(x))
        steps = {name: recipes.budget_params(cfg, name, x, budget)["steps"]
                 for name in training_sets}
        print(f"Real_{x}% ({n_real} patches), {budget}: "
              + ", ".join(f"{name} {n}" for name, n in steps.items()) + " steps")
print(f"{len(scores)} patch scores: {len(fractions)} fraction(s) x {len(seeds)} seed(s) x "
      f"{len(training_sets)} training sets x {len(budgets)} budget(s) x "
      f"{scores['patch'].nunique()} patches of the {test_set} set "
      f"({augmentation.TEST_SETS[test_set]})")

# %% [markdown]
# ## The gain over Real_X% alone
# Each bar is a training set's MAP gain over **real** in the same budget, its mean over
# seeds and 95 % interval; green helps, red hurts, grey shows no detectable effect (with
# one seed there is no interval: grey by construction).

# %%
summary = paired.summary(scores)
figures.mkdir(parents=True, exist_ok=True)
summary[paired.COLUMNS].to_csv(figures / f"augmentation_{tag}{suffix}.csv", index=False)
gains.gain_plot(summary, path=figures / f"augmentation_{tag}{suffix}.png",
                title=f"{cfg['profile']}: what helps a U-Net trained on a few real patches"
                      + (f" ({test_set} images)" if suffix else ""));

# %%
summary.round(3)

# %% [markdown]
# ## What the best set sees differently
# Three test patches, their true boundaries, and the predictions of the U-Net trained on
# Real_X% alone and of the set with the largest gain (the smallest fraction, the first
# budget), with their MAP per patch; red marks true boundaries missed, blue spurious ones.

# %%
x, budget = fractions[0], budgets[0]
ranked = summary[(summary["fraction"] == x) & (summary["budget"] == budget)
                 & (summary["training_set"] != "real")].sort_values("gain_map", ascending=False)
shown = ["real"] + ranked["training_set"].head(1).tolist()
test = augmentation.test_patches(cfg, x, test_set)
picked = scores[(scores["fraction"] == x) & (scores["budget"] == budget)
                & (scores["seed"] == seeds[0])]
preds = {name: segment.predict(recipes.build(cfg, name, x, seeds[0], budget), test.images[:3])
         for name in shown}
maps = {name: picked[picked["training_set"] == name].sort_values("patch")["MAP"].to_numpy()[:3]
        for name in shown}
report.fig4_segmentation(test.images[:3], test.boundaries[:3], preds, scores=maps,
                         path=figures / f"augmentation_examples_{tag}{suffix}.png");

# %% [markdown]
# ## Findings
# Written from this run's numbers (`findings.augmentation`).

# %%
findings.show(findings.augmentation(summary))
