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
# # 02 · The datasets: real micrographs, simulated sections, real fractions
#
# Ma et al. train and test on 136 optical micrographs of pure iron (2800 x 1600 px) with
# hand-drawn grain boundaries. The images are split **by image**: 100 for training, 36 for
# testing, and the test images never feed any training or tuning. Training patches of
# 400 x 400 px are cut at random (28 per image), test patches on a regular grid (28 per
# image, a 4 x 7 grid). To ask how much real data the method needs, they train on a real
# *fraction* X % (5, 10, ..., 35 and 100 %); we take X % of the training **images** with all
# their patches, nested, so that every larger fraction contains the smaller ones
# (`docs/method.md` §3).
#
# The *simulated* data come from the Potts volume of chapter 01: 2D sections along all three
# axes, cut into patches of the same size. Each gives a **simulated label** (the boundary map
# of the section, drawn from its grain ids with the one convention every source shares,
# `grainlib.core.grains.boundaries`) and a **simulated image**: the section drawn flat, each grain
# one grey level, boundaries dark, no texture. Simulated and real grains must agree in size
# and shape: we pick the Potts snapshot whose mean section grain area, in patches of the
# same size, is closest to the real training patches', and compare the grain area and
# edge-number distributions as the paper's Fig. 5 does.
#
# Without the paper's images, the default profile's "real" micrographs are sections of an
# embedded surrogate specimen (`grainlib.data.specimen`) rendered like nital-etched iron. Five
# public real serial sections of pure iron (the Fast-FineCut sections, MIT licence; B. Ma
# et al., Micron 116, 2019) are fetched by name with `grainlib.data.public.iron_sections()` and
# shown beside them when they are cached or can be downloaded; the `iron-sections`
# profile trains on them.

# %% tags=["parameters"]
profile = None        # a profile in params/: smoke (seconds), demo (minutes), paper
                      # None: the one $GRAINLIB_PROFILE names, else "demo"
seed = None           # None: the profile's
source = None         # surrogate | folder | hdf5 | iron-sections; None: the profile's
patch_size = None     # patch side in pixels; None: the profile's

# %%
from pathlib import Path

from grainlib.core import config
from grainlib.data import datasets, patches, public, sources
from grainlib.score import appearance
from grainlib.view import findings, report, widgets

cfg = config.load(profile, {"seed": seed, "data.source": source,
                                     "data.patch_size": patch_size})
figures = Path(cfg["figures_dir"])
cfg["data"]

# %% [markdown]
# ## Build the datasets
# `datasets.build` reads the real micrographs from the profile's source, splits them by
# image, cuts the patches, draws the fractions and cuts the simulated patches from the Potts
# volume (computed in chapter 01, or now). Every piece is stored in `runs/<profile>/` with a
# fingerprint of the parameters it depends on, so a second run reuses it.

# %%
data = datasets.build(cfg)

# %%
# NBVAL_CHECK_OUTPUT
print(data.summary().to_string(index=False))

# %% [markdown]
# ## Matching the grain size
# Grains that touch a patch frame are cut, so the mean grain area is measured the same way,
# in patches of the same size, for the real training patches and for every stored Potts
# snapshot. The closest snapshot (in log ratio) gives the simulated data.

# %%
# NBVAL_CHECK_OUTPUT
print(f"real training patches: mean grain area {data.real_mean_area:.1f} px")
print(data.snapshot_areas.round(1).to_string(index=False))
print(f"simulated patches cut from the snapshot at MCS {data.simulated_mcs}")

# %% [markdown]
# ## Real and simulated patches side by side (cf. the paper's Fig. 3)
# Top: real (here surrogate, unless the profile reads a folder or file) training patches
# and their labels. Bottom: simulated images and labels. The simulated image carries the
# grain structure and nothing else - the "image style" that pix2pix will add in chapter 03.

# %%
report.dataset_examples({
    "real": (data.train.images, data.train.boundaries),
    "simulated": (data.simulated.images, data.simulated.boundaries),
}, n=3, path=figures / "fig_real_vs_simulated.png");

# %% [markdown]
# The real pure-iron sections (optical microscope, nital etch), with the boundaries drawn
# from their grain ids by the same convention. `grainlib.data.public.iron_sections()` downloads
# them once (3.7 MB, checked against their SHA256) into the data cache
# (`python -m grainlib data` says where); with no network and no cached copy this is skipped.

# %%
try:
    iron_images, iron_ids = public.iron_sections()
except public.DataError as err:
    iron_images = iron_ids = None
    print(f"real iron sections not available, skipped: {str(err).splitlines()[0]}")
else:
    iron = patches.grid_crops(iron_images, iron_ids, data.train.size, per_image=1,
                              boundary_width=cfg["data"]["boundary_width"])
    report.dataset_examples({"real iron": (iron.images, iron.boundaries)}, n=3);

# %% [markdown]
# ## How alike do they look?
# `appearance.compare` measures each source against a reference (the real iron sections when
# present): the distance between grey histograms (earth mover's distance, in grey levels), the
# share of boundary pixels, the number of grains per 100 x 100 px and how much darker the
# boundaries are than the grains. Whole real images are measured; the simulated data are their
# patches. Grain size changes all of these, so the surrogate is also rendered at the real iron
# grain size (its default `grain_diameter`), and single real sections show how far two real
# images of the same specimen are from the pooled five.

# %%
real_name = f"real ({cfg['data']['source']})"
compared = {real_name: (data.real_images, data.real_grain_ids),
            "simulated": (data.simulated.images, data.simulated.grain_ids)}
if iron_images is not None:
    iron_scale = {**cfg["surrogate"],
                  "grain_diameter": config.SCHEMA["surrogate"]["grain_diameter"].default}
    compared["surrogate, iron grain size"] = sources.surrogate_sections(
        2, iron_images.shape[1:], seed=cfg["seed"], **iron_scale)
    compared["real iron 001"] = (iron_images[:1], iron_ids[:1])
    compared["real iron 005"] = (iron_images[-1:], iron_ids[-1:])
    compared["real iron"] = (iron_images, iron_ids)
table = appearance.compare(compared, reference="real iron" if iron_images is not None
                           else real_name)
print(table.round(3).to_string())

# %% [markdown]
# ## The paper's Fig. 5: grain area and edge-number distributions
# For every grain inside a patch (not touching its frame): its area divided by the mean
# area, and its number of neighbouring grains. Two-sample Kolmogorov-Smirnov statistics say
# how far apart the real and simulated distributions are (0: identical).

# %%
real_stats = datasets.grain_statistics(data.train.grain_ids)
simulated_stats = datasets.grain_statistics(data.simulated.grain_ids)
ks = datasets.ks_table(real_stats, simulated_stats)
report.fig5_grain_statistics(real_stats, simulated_stats, ks, names=("real", "simulated"),
                             path=figures / "fig5_grain_statistics.png");

# %%
# NBVAL_CHECK_OUTPUT
print(ks.round(3).to_string())

# %% [markdown]
# ## Browse the datasets
# Every training patch, test patch and simulated patch with its label drawn over it.

# %%
widgets.pairs(data.train.images, data.train.boundaries,
              titles=[f"train patch of image {i}" for i in data.train.image_index])

# %%
widgets.pairs(data.simulated.images, data.simulated.boundaries,
              titles=[f"simulated, MCS {data.simulated_mcs}, axis {'zyx'[a]} section {s}"
                      for a, s in zip(data.simulated.axis, data.simulated.image_index)])

# %% [markdown]
# The real fractions are image lists into the training set; chapter 04 trains on
# `data.real_fraction(X)`. The datasets can also be written in the layout of the authors'
# published pure-iron dataset (`datasets.export_published`, or `data.export_hdf5: true`),
# and that layout read back as a source (`data.source: hdf5`).

# %%
# NBVAL_CHECK_OUTPUT
for percent, images in data.fractions.items():
    print(f"{percent:>3} %: {len(images)} training images, "
          f"{len(data.real_fraction(percent))} patches")

# %% [markdown]
# ## Findings
# Written from this run's numbers (`findings.data`).

# %%
findings.show(findings.data(data, ks))
