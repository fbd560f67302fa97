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
# # 01 · Grain growth by the 3D Monte Carlo Potts model
#
# Ma et al. (npj Comput. Mater. 6, 125, 2020) need thousands of labelled grain micrographs.
# Instead of labelling them by hand, they *simulate* a polycrystal: a 3D Monte Carlo Potts
# model of normal grain growth gives a volume in which every voxel knows its grain, and every
# 2D section of that volume is a pixel-exact label.
#
# **The model** (`docs/method.md` §2). A simple cubic lattice, periodic in all directions; each site
# holds a grain index $S_i$, at the start every site its own grain. The energy counts unlike
# neighbours among the 26 nearest (first, second and third shells):
#
# $$E = J \sum_i \sum_{j \in NN(i)} \left(1 - \delta_{S_i S_j}\right).$$
#
# A trial picks a site and proposes the index of one of its 18 first- and second-nearest
# neighbours; it is accepted with probability 1 if $\Delta E \le 0$ and $e^{-\Delta E / kT}$
# otherwise, with $kT/J = 0.5$. Time is counted in Monte Carlo steps (MCS), one trial per site.
# Grains whose boundaries are curved shrink, large grains eat small ones, and the structure
# coarsens as normal grain growth does in real metals.
#
# Our kernel (`grainlib.potts`) runs on all cores: sites are updated sublattice by sublattice
# (no two sites updated together are neighbours), and every random number is derived from
# (seed, MCS, site), so a seed gives the same volume whatever the number of threads.

# %% tags=["parameters"]
profile = None        # a profile in params/: smoke (seconds), demo (minutes) or paper (400^3 sites)
                      # None: the one $GRAINLIB_PROFILE names, else "demo"
L = None              # lattice edge; None: the profile's
mcs = None            # Monte Carlo steps; None: the profile's
snapshots = None      # list of MCS to keep; None: the profile's
kT = None             # temperature in units of J; None: the profile's
seed = None           # None: the profile's

# %%
from pathlib import Path

import grainlib.config
from grainlib import kinetics, potts, report, widgets

cfg = grainlib.config.load(profile, {
    "potts.shape": [L, L, L] if L else None, "potts.mcs": mcs,
    "potts.snapshots": snapshots, "potts.kT": kT, "seed": seed,
})
figures = Path(cfg["figures_dir"])
cfg["potts"]

# %% [markdown]
# ## Simulate
# The volume is computed once and stored in `runs/cache/potts-<fingerprint>.h5`, the
# fingerprint of its parameters; running the notebook again reuses it, and changing a
# parameter recomputes it. A copy is kept at every snapshot MCS the run reaches, and the
# final volume is always the last snapshot: with a lower `mcs` than the profile's, the
# snapshots beyond it are dropped.

# %%
kept, dropped = potts.snapshot_steps(cfg["potts"]["snapshots"], cfg["potts"]["mcs"])
if dropped:
    print(f"note: mcs = {cfg['potts']['mcs']}, so the snapshots at MCS {dropped} are "
          f"dropped; snapshots kept: {kept}")
result = potts.run(cfg)

# %%
# NBVAL_CHECK_OUTPUT
table = kinetics.growth_table(result.snapshots)  # the final volume is the last snapshot
final = table.iloc[-1]
print(f"after {cfg['potts']['mcs']} MCS: {final.grains:.0f} grains, "
      f"mean volume {final.mean_volume:.1f} sites, "
      f"mean section area {final.mean_section_area:.1f} px, "
      f"boundary energy {potts.energy(result.volume)} J")

# %% [markdown]
# ## The simulated microstructure (the paper's Fig. 1c-e)
# The cube coloured by grain, one section through it, and the boundary label drawn from that
# section with the project's boundary convention (`grainlib.grains.boundaries`: a pixel is
# boundary when a 4-neighbour belongs to another grain).

# %%
report.potts_overview(result.volume, path=figures / "fig1_potts.png");

# %% [markdown]
# ## Growth kinetics
# In normal grain growth the mean grain radius grows as $t^{1/2}$, so the mean grain volume
# grows as $t^{3/2}$ and the mean section area as $t$. We fit both on log-log axes, after the
# initial transient in which the single-site start relaxes into grains.

# %%
# NBVAL_CHECK_OUTPUT
t_min = max(10, table.index.max() // 20)
if (table.index >= t_min).sum() >= 2:
    volume_fit = kinetics.power_law_fit(table.index, table.mean_volume, t_min)
    area_fit = kinetics.power_law_fit(table.index, table.mean_section_area, t_min)
    print(f"fitted for MCS >= {t_min}: volume ~ t^{volume_fit[0]:.2f} (ideal 1.5), "
          f"section area ~ t^{area_fit[0]:.2f} (ideal 1.0)")
else:
    volume_fit = area_fit = None
    print(f"no fit: it needs 2 snapshots at MCS >= {t_min}, the run has {list(table.index)}")
table.round(1)

# %%
report.growth_kinetics(table, volume_fit, area_fit, t_min, path=figures / "potts_growth.png");

# %% [markdown]
# ## Browse the volume
# Sections along z, y and x, coloured by grain, with the boundaries drawn over them. Every
# section is a candidate *simulated label* for the datasets of chapter 02.

# %%
widgets.volume_slices(result.volume)
