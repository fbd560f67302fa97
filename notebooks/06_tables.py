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
# # 06 · Tables: the paper's Tables 3 and 4 over real fractions and seeds
#
# Chapters 03-05 train and score the models of one real fraction X and one training seed.
# The sweep (`python -m grainlib sweep`) runs them for every fraction and several seeds,
# each run in its own folder `runs/<profile>/sweep/<X>-<seed>/` with its per-patch scores
# on the real test patches. This chapter gathers those scores into the paper's two tables
# of results and tests its four claims against them:
#
# - **Table 3**: the four classical methods, and the U-Net trained on all the real
#   training data (Real_100%), on simulated data alone (Simulated_100%), and on both mixed;
# - **Table 4**: for each real fraction X, the U-Net trained on Real_X% alone, on Real_X%
#   with random flips and rotations (classical augmentation only), on Real_X% mixed with
#   the synthetic images of the generator trained on the same X % (chapter 03), and on
#   those synthetic images alone.
#
# Each number is the mean over the test patches for one seed, then the mean ± standard
# deviation of those over the seeds. The paper's numbers (Ma et al. 2020, Tables 3 and 4,
# on the authors' 36 real test images) stand beside ours for reference: our real data,
# image size and training budget are not theirs (`docs/method.md`), so the *pattern* is
# what can be compared, not the digits.

# %% tags=["parameters"]
profile = None        # a profile in params/: smoke (seconds), demo (minutes), paper
                      # None: the one $GRAINLIB_PROFILE names, else "demo"
fractions = None      # real fractions to tabulate; None: the profile's sweep.fractions
seeds = None          # training seeds to tabulate; None: the profile's sweep.seeds

# %%
from pathlib import Path

from grainlib.core import config
from grainlib.run import sweep
from grainlib.score import tables
from grainlib.view import findings, report

cfg = config.load(profile)
figures = Path(cfg["figures_dir"])

# %% [markdown]
# ## The runs
# `sweep.scores` reads the per-patch scores of every run of the sweep, and stops with
# the command to run when one is missing or was made with other parameters. The output
# files are named after the number of seeds (`table3_3seeds.csv`, ...), so the tables of
# a one-seed demo and of a three-seed sweep sit side by side.

# %%
scores = sweep.scores(cfg, fractions, seeds)
tag = tables.tag(scores)

# %%
# NBVAL_CHECK_OUTPUT
unet = scores[scores["method"] == "U-Net"]
print(f"fractions {sorted(map(int, unet['fraction'].unique()))} x seeds "
      f"{sorted(map(int, scores['seed'].unique()))}: {len(scores)} patch scores, "
      f"{scores['patch'].nunique()} test patches, {unet['training_set'].nunique()} U-Net "
      f"training sets and {scores.loc[scores['method'] != 'U-Net', 'method'].nunique()} baselines")

# %% [markdown]
# ## Table 3: the baselines, and U-Nets trained on all the real data or on simulated data
# The classical methods are deterministic, so their spread over seeds is zero; the U-Nets'
# spread is that of training alone (the test patches are the same for every seed).

# %%
table3 = tables.table3(scores)
tables.save(table3, figures / f"table3_{tag}")
tables.render(table3)

# %% [markdown]
# ## Table 4: a fraction of the real data, alone or augmented
# Real_X% + flips is the classical alternative to synthetic data: the same real patches,
# flipped and rotated at random. Synthetic^X_100% alone shows what the synthetic images
# teach without any real patch.

# %%
table4 = tables.table4(scores)
tables.save(table4, figures / f"table4_{tag}")
tables.render(table4)

# %% [markdown]
# At a glance: MAP by real fraction (rows) and training set (columns), the paper's value
# in brackets; the README shows this table (`table4_map_<n>seeds.md`).

# %%
(figures / f"table4_map_{tag}.md").write_text(tables.wide_markdown(table4))
tables.wide(table4)

# %% [markdown]
# The same against the real fraction, with the seed-to-seed standard deviation as error
# bars and the paper's curves dashed (its Real_100% from Table 3 ends the Real_X% curve).

# %%
report.fig_fractions(table4, tables.PAPER_TABLE4, path=figures / f"fig_fractions_{tag}.png");

# %% [markdown]
# ## The paper's claims
# Each claim is tested on MAP and on ARI as differences between rows of the tables above
# (`tables.verdicts`). A difference counts when it exceeds its spread, the square root of
# the summed squared standard deviations over seeds of the rows involved: the claim is
# **reproduced** when every test holds beyond the spread, **not reproduced** when a test
# is contradicted beyond it, and **inconclusive** otherwise (a difference inside the
# spread, a single seed, or a fraction the sweep did not run). The verdicts below are
# computed, never written by hand.
#
# C3 and C4 are claims about *realistic* synthetic images, so their premise is checked
# first, from the realism table chapter 03 wrote in each run (`tables.premise`): the
# synthetic images of a fraction count as realistic when a classifier tells them from
# the real test images no better than it tells two halves of the real test images apart
# (AUC at most 0.1 above that floor) and their high-frequency power share and grey-level
# SD inside grains are within 0.67-1.5 times the real images'. Where they are not, the
# verdict is *not tested*: the numbers say what these synthetic images do, not what the
# paper's method does.

# %%
premise = tables.premise(sweep.realism(cfg, fractions, seeds))
premise.to_csv(figures / f"realism_{tag}.csv")
premise.round(3)

# %%
verdicts = tables.verdicts(table3, table4, premise)
verdicts.to_csv(figures / f"verdicts_{tag}.csv")
for claim, row in verdicts.iterrows():
    print(f"{claim} {row['verdict'].upper()}: {row['claim']}\n    {row['evidence']}\n")

# %% [markdown]
# ## The paper's Table 1, from the runs
# Seconds per image, as chapter 03 measured them in each run (its own `table1.csv`):
# the Potts simulation per simulated patch, the style-transfer training per synthetic
# image, and the generation of one synthetic image; mean and spread over the runs.

# %%
table1 = tables.table1(sweep.timings(cfg, fractions, seeds))
table1.to_csv(figures / f"table1_runs_{tag}.csv")
table1.round(3)

# %% [markdown]
# ## Findings
# The verdicts above, one sentence each (`findings.tables`).

# %%
findings.show(findings.tables(verdicts))
