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
# # 04 · Segmentation: a U-Net trained on real, simulated and synthetic data
#
# The question of the paper is what a segmentation network gains when a little real data is
# augmented with simulated data. Ma et al. train the same U-Net on four kinds of training
# set and compare them on the same real test patches (`docs/method.md` §5):
#
# - **Real_X%**: the real training patches of the fraction X alone;
# - **Simulated_100%**: every simulated patch (flat grey grains, chapter 02), no real data;
# - **Mixed(Real_100% + Simulated_100%)**: all the real patches with the simulated ones;
# - **Mixed(Real_X% + Synthetic^X_100%)**: the real fraction X with the *synthetic* images
#   that the style-transfer model trained on that same fraction made from every simulated
#   label (chapter 03).
#
# Two controls complete the comparison: **Synthetic^X_100%** alone (how far the synthetic
# images get without any real patch), and **Real_X% with flips**, the real fraction with
# random flips and 90-degree rotations, the classical augmentation the synthetic images
# compete with.
#
# The network is a U-Net with two classes per pixel, grain and boundary, trained with a
# cross-entropy that weighs the rare boundary pixels 20 times more than grain pixels (the
# authors' code), on mini-batches of 8 that hold 4 real and 4 synthetic (or simulated)
# patches when two sets are mixed. Inputs are standardised with the mean and spread of the
# training images. The network gives a boundary *probability*; to be scored as grains
# (§6), it is closed into grains as the profile says (the demo: a threshold at 0.7, the
# best of the post-processings tried on training patches; real iron: a watershed from
# grain cores, `grainlib.learn.segment`) and redrawn with the boundary convention of the labels,
# so a prediction and a label are directly comparable.
#
# Every model is stored in `runs/<profile>/segment/` with a fingerprint of its parameters,
# seed and training data: a second run of this chapter reuses them.

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
from grainlib.score import evaluate
from grainlib.view import findings, report, widgets

cfg = config.load(profile)
fraction = min(cfg["data"]["fractions"]) if fraction is None else int(fraction)
figures = Path(cfg["figures_dir"])
TRAINING_SETS = list(segment.TRAINING_SETS)
cfg["segment"]

# %% [markdown]
# ## The training sets
# The datasets of chapter 02 (built now if missing). The simulated sets always use the
# whole real training set when they are mixed, as in the paper's Table 4; the synthetic
# images are those of the real fraction X, one for every simulated label.

# %%
data = datasets.build(cfg, progress=False)

# %%
# NBVAL_CHECK_OUTPUT
for name in TRAINING_SETS:
    x = segment.effective_fraction(name, fraction)
    real = 0 if name in ("simulated", "synthetic") else len(data.real_fraction(x))
    other = 0 if name in ("real", "real+flips") else len(data.simulated)
    print(f"{name:15s} X = {x:3d} %: {real:4d} real + {other:4d} simulated/synthetic patches")

# %% [markdown]
# ## Training
# `segment.build` trains each model only when it is not stored yet (the real+synthetic set
# first needs the style-transfer model of chapter 03, made now when missing). The losses
# fall fast and then slowly: the weighted cross-entropy keeps pushing the boundary
# probability up along every dark line, the faint ones included.

# %%
models = {name: segment.build(cfg, name, fraction, seed) for name in TRAINING_SETS}
for name, model in models.items():
    where = segment.model_path(cfg, name, segment.effective_fraction(name, fraction), seed)
    print(f"{name:15s} {'trained now' if model.trained_now else 'read back'}: {where.name}")

# %%
for name, model in models.items():
    print(f"{name:15s} {model.steps} steps in {model.train_seconds:6.1f} s "
          f"({model.train_seconds / model.steps:.3f} s/step), final loss "
          f"{np.mean(model.history['loss'][-25:]):.3f}")
_ = report.loss_curves({name: model.history["loss"] for name, model in models.items()},
                   path=figures / "segment_losses.png", title=f"U-Net losses, X = {fraction} %")

# %% [markdown]
# ## Predictions on test patches
# The test patches come from test images that no model has seen. Each panel is a boundary
# map: the true one, then each model's, with the patch's MAP under the panels. A model
# trained on flat simulated images alone has never seen the texture of a real micrograph,
# and finds boundaries in the specks and scratches; a real fraction teaches it what to
# ignore. Every test patch is scored once, with the classical baselines, and the table is
# stored with the run (`evaluate.score`): chapter 05 reads it back.

# %%
scores = evaluate.score(cfg, fraction, seed, training_sets=TRAINING_SETS, progress=False)
unet = scores[scores["method"] == "U-Net"]
for name in models:
    rows = unet[unet["training_set"] == name]
    print(f"{name:15s} test MAP {rows['MAP'].mean():.3f}  ARI {rows['ARI'].mean():.3f}")

# %%
test = data.test
show = np.linspace(0, len(test) - 1, min(6, len(test))).astype(int)
patch_map = unet.pivot(index="patch", columns="training_set", values="MAP")
notes = [", ".join(f"{name} {patch_map.loc[i, name]:.2f}" for name in models) for i in show]
widgets.side_by_side({"image": test.images[show], "truth": test.boundaries[show],
                      **{name: segment.predict(model, test.images[show])
                         for name, model in models.items()}},
                     notes=[f"MAP: {note}" for note in notes])

# %% [markdown]
# ## Findings
# Written from this run's scores (`findings.segmentation`); the full comparison, with the
# classical baselines and every patch, is chapter 05.

# %%
findings.show(findings.segmentation(scores, fraction))
