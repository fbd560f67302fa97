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
# Our kernel (`grainlib.simulate.potts`) runs on all cores: sites are updated sublattice by sublattice
# (no two sites updated together are neighbours), and every random number is derived from
# (seed, MCS, site), so a seed gives the same volume whatever the number of threads. That
# is not the random order of the paper's protocol, and its MCS is not the protocol's: see
# "The MCS clock" below.

# %% tags=["parameters"]
profile = None        # a profile in params/: smoke (seconds), demo (minutes) or paper (400^3 sites)
                      # None: the one $GRAINLIB_PROFILE names, else "demo"
L = None              # lattice edge; None: the profile's
mcs = None            # Monte Carlo steps; None: the profile's
snapshots = None      # list of MCS to keep; None: the profile's
kT = None             # temperature in units of J; None: the profile's
seed = None           # None: the profile's
clock_L = None        # lattice edge of the MCS-clock comparison; None: the profile's
clock_snapshots = None  # MCS compared there (list); None: the profile's

# %%
from pathlib import Path

from grainlib.core import config
from grainlib.simulate import kinetics, mcs_clock, potts
from grainlib.view import findings, report, widgets

cfg = config.load(profile, {
    "potts.shape": [L, L, L] if L else None, "potts.mcs": mcs,
    "potts.snapshots": snapshots, "potts.kT": kT, "seed": seed,
    "clock.size": clock_L, "clock.snapshots": clock_snapshots,
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
# section with the project's boundary convention (`grainlib.core.grains.boundaries`: a pixel is
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
# ## The MCS clock
# The paper's protocol picks sites at random, one after another, each trial seeing every
# flip before it; our kernel gives every site exactly one trial per MCS, sublattice after
# sublattice. The trials are the same (energy, proposed ids, acceptance), their order is
# not, and the order sets the pace of growth: one MCS of the sweep need not be one MCS of
# the protocol. What the simulated data need is the microstructure, so we ask two questions
# of two volumes grown from the same start with the same parameters, one by the sweep and
# one by a plain serial random-site kernel (`mcs_clock.simulate_random_site`):
#
# - **At equal MCS**, how large are the grains of each (mean 3D grain volume)?
# - **At equal mean grain size**, is the microstructure the same? Each sweep snapshot is
#   paired with the random-site snapshot whose mean grain volume is nearest (the
#   random-site kernel keeps snapshots on a fine grid of MCS), and three distributions are
#   compared with two-sample Kolmogorov-Smirnov tests: the 3D grain volume over its mean,
#   the section grain area over its mean (sections along the three axes, grains cut by a
#   section's frame left out, as in chapter 02) and the number of neighbours of each
#   section grain. Volumes and areas are whole numbers of sites and pixels; each is read
#   as spread over the unit interval it rounds from (`mcs_clock.spread_counts`) before it
#   is divided by the mean, so that small grains divided by two slightly different means
#   are not told apart by their rounding alone.
#
# The comparison is stored like the volume above (`runs/cache/mcs-clock-<fingerprint>.h5`).
# The random-site kernel is serial, which is why its lattice (`clock_L`) is smaller than
# the volume above.

# %%
clock = mcs_clock.run(cfg)
print(f"L = {cfg['clock']['size']}, kT {cfg['potts']['kT']}, "
      f"{cfg['potts']['trial_neighbors']} trial neighbours; simulated in "
      f"{clock.seconds['sweep']:.1f} s (sweep) and {clock.seconds['random site']:.1f} s "
      f"(random site, serial, to MCS {max(clock.means['random site'])})")

# %%
# NBVAL_CHECK_OUTPUT
print("mean grain volume (sites) at equal MCS; ratio = sweep / random site")
print(clock.by_mcs.round(2).to_string())
print("\npairs at equal mean grain volume; MCS ratio = random-site MCS / sweep MCS")
print(clock.pairs.round(3).to_string(index=False))
print(f"\nKS tests at each pair (within {mcs_clock.TOLERANCE:.0%} in mean grain volume)")
print(clock.ks.round(3).to_string())
if len(clock.ks):
    worst = clock.ks["KS statistic"].idxmax()
    print(f"\nlargest KS statistic {clock.ks['KS statistic'].max():.3f} ({worst[2]} at sweep MCS "
          f"{worst[0]}), smallest p-value {clock.ks['p-value'].min():.3f}")

# %% [markdown]
# At equal MCS the sweep's grains are larger, by the ratio in the first table: its MCS
# runs ahead of the protocol's, by a factor that the second table reads directly (how many
# random-site MCS reach the grain size of one sweep MCS). At equal mean grain size the KS
# statistics are those of two samples of one distribution. Where a p-value is low, it is
# early, in the transient from the one-site start, where the two orders need not agree on
# the smallest grains; the last pairs have few grains (the sample sizes `n`), so their
# tests are weak. So MCS is a rescaled clock: the sweep grows the microstructure of the
# protocol, faster. What ties the simulation to experiment is therefore the grain size,
# not the MCS, and that is how chapter 02 picks its snapshot (the one whose mean section
# grain area matches the real patches').
#
# The three distributions at one pair (the middle one):

# %%
if len(clock.pairs):
    pair = clock.pairs.iloc[len(clock.pairs) // 2]
    a, b = int(pair["sweep MCS"]), int(pair["random-site MCS"])
    report.mcs_clock(clock.distributions["sweep"][a], clock.distributions["random site"][b],
                     clock.ks.loc[(a, b)], names=(f"sweep, MCS {a}", f"random site, MCS {b}"),
                     path=figures / "potts_mcs_clock.png");
else:
    print("no pair at equal mean grain volume: the random-site kernel never reached the "
          "sweep's grain sizes")

# %% [markdown]
# ## Browse the volume
# Sections along z, y and x, coloured by grain, with the boundaries drawn over them. Every
# section is a candidate *simulated label* for the datasets of chapter 02.

# %%
widgets.volume_slices(result.volume)

# %% [markdown]
# ## Findings
# Written from this run's numbers (`findings.potts`): they hold for the profile it ran at.

# %%
findings.show(findings.potts(table, volume_fit, clock))
