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
# # 03 · Style transfer: synthetic micrographs from simulated labels
#
# The simulated images of chapter 02 carry exact labels but look nothing like a micrograph:
# flat grey grains, no etch texture, no scratches, no uneven boundaries. Ma et al. close the
# gap with **image style transfer**: a pix2pix network (Isola et al., CVPR 2017) learns, on
# the real training patches, to turn a *label* (boundary map) into the *micrograph* of that
# label. Applied to every simulated label, it gives **synthetic images**: the grain
# structure, and so the label, of the simulation, in the image style of the real data
# (the paper's "Image style transfer" method and Fig. 3; `docs/method.md` §4).
#
# The generator G is a U-Net: stride-2 convolutions down, stride-2 transposed convolutions
# up, skip connections between levels of the same size: the authors' `unet_16`, as their
# code builds it (`transfer.variant: authors`, the profiles' choice). Like their code, it
# generates each image on that image's own batch statistics, and learns with the log loss
# of a sigmoid discriminator. The discriminator D is a PatchGAN that judges overlapping
# 70 x 70 patches of (label, image) pairs as real or generated. G minimises
# $\mathcal{L}_{cGAN}(G, D) + \lambda\,\mathcal{L}_{L1}(G)$ with $\lambda = 100$: the L1 term
# ties the image to the label, the adversarial term adds the texture an L1 loss would blur.
# Our own variant (`variant: ours`: bilinear upsampling, dropout, least squares) stays
# selectable; the budget curve below is why the profiles use the authors'.
#
# The generator learns only from the real fraction X % of the training images, so the
# synthetic set $\text{Synthetic}^X$ costs no real data beyond what Real_X% already uses.

# %% tags=["parameters"]
profile = None        # a profile in params/: smoke (seconds), demo (minutes), paper, iron-sections
                      # None: the one $GRAINLIB_PROFILE names, else "demo"
fraction = None       # the real fraction X % the generator learns from; None: the profile's smallest
seed = 0              # training seed of the networks (the datasets keep the profile's seed)

# %%
from pathlib import Path

from grainlib.core import config
from grainlib.data import datasets
from grainlib.learn import nets, transfer
from grainlib.score import appearance, realism
from grainlib.simulate import potts
from grainlib.view import findings, report, widgets

cfg = config.load(profile)
fraction = min(cfg["data"]["fractions"]) if fraction is None else int(fraction)
figures = Path(cfg["figures_dir"])
data = datasets.build(cfg, progress=False)
cfg["transfer"]

# %% [markdown]
# ## Train the generator on Real_X%, or reuse it
# `transfer.build` trains pix2pix on the training patches of the fraction (random crops,
# flips and rotations of label and image together; Adam at a constant rate, then a linear
# decay) and generates a synthetic image for every simulated label. Both are stored in
# `runs/<profile>/` with the fingerprint of what made them; a killed training resumes from
# its checkpoint.

# %%
built = transfer.build(cfg, fraction, seed)
real = data.real_fraction(fraction)
print(f"generator of Real_{fraction}%, seed {seed}: "
      f"{'trained now' if built.trained_now else 'read back'} "
      f"({transfer.model_path(cfg, fraction, seed).name})")

# %%
# NBVAL_CHECK_OUTPUT
print(f"Real_{fraction}%: {len(data.fractions[fraction])} training images, {len(real)} patches "
      f"of {real.size} px")
print(f"generator: {built.model.steps} steps, "
      f"{nets.parameter_count(built.model.net):,} parameters; "
      f"{len(built.synthetic)} synthetic images of {built.synthetic.size} px")

# %% [markdown]
# The losses: the discriminator's (D), the generator's adversarial term (G_GAN) and its L1
# distance to the real image (G_L1, on the [-1, 1] scale). L1 falls as the generator learns
# where the boundaries are and how bright the grains are; the adversarial terms stay in a
# tug of war, which is what keeps the texture from washing out.

# %%
report.loss_curves(built.model.history, title=f"pix2pix on Real_{fraction}% (seed {seed})");

# %% [markdown]
# ## The paper's Fig. 3
# From left to right: a real image, a simulated image, a simulated label and the synthetic
# image of that label. The synthetic image has the simulated grain structure and the real
# image style.

# %%
report.fig3_datasets({"real image": real.images,
                      "simulated image": data.simulated.images,
                      "simulated label": data.simulated.boundaries,
                      f"synthetic image (Real_{fraction}%)": built.synthetic.images},
                     n=3, path=figures / "fig3_datasets.png");

# %% [markdown]
# ## How real do the synthetic images look?
# The measures of chapter 02 against the real **test** images, which the generator never
# saw: the earth mover's distance between grey histograms (in grey levels), how much darker
# the boundaries are than the grains, the boundary fraction and the grains per area.
# The sharpest check is the row *synthetic from the real test labels*: the generator draws
# the very labels of the real test images, so it should land close to them on every measure;
# the flat simulated images show where we started.

# %%
test = (data.test.images, data.test.grain_ids)
compared = {"real test": test,
            "simulated (flat)": (data.simulated.images, data.simulated.grain_ids),
            f"synthetic, Real_{fraction}%": (built.synthetic.images, built.synthetic.grain_ids),
            "synthetic from the real test labels": (
                transfer.generate(built.model, data.test.boundaries), data.test.grain_ids)}
looks = appearance.compare(compared, reference="real test")
print(looks.round(3).to_string())

# %% [markdown]
# These measures see grey levels and boundaries, not texture. `realism.realism` looks
# inside the grains too: the share of spectral power at high frequencies, the grey-level
# spread in 5 x 5 windows inside grain cores, how much the boundary darkness varies and
# how many boundaries are faint, dark specks per 10,000 core pixels, and a two-sample
# test (a classifier told to separate each set's patches from the real ones: AUC 0.5 is
# indistinguishable, 1 fully told apart). The `floor` row is the real test images split
# in two halves by image: how far two real sets are from each other. Chapter 06 reads this
# table (`realism.csv`) before it judges the paper's claims on synthetic data: a claim
# about what realistic synthetic images do is not tested by images that are not.

# %%
texture = realism.realism({
    "real test": (data.test.images, data.test.grain_ids, data.test.image_index),
    "simulated (flat)": (data.simulated.images, data.simulated.grain_ids,
                         data.simulated.image_index),
    "synthetic": (built.synthetic.images, built.synthetic.grain_ids,
                  built.synthetic.image_index)}, reference="real test")
figures.mkdir(parents=True, exist_ok=True)
texture.to_csv(figures / "realism.csv", index_label="set")
texture.round(3)

# %% [markdown]
# The same for the generator of every real fraction trained so far with this seed (the
# sweep of chapter 06 trains them all): does a generator that saw more real data draw more
# realistic images?

# %%
rows = {"real test": test}
for x in transfer.trained_fractions(cfg, seed):
    model = transfer.load(transfer.model_path(cfg, x, seed))
    rows[f"Real_{x}%: from real test labels"] = (transfer.generate(model, data.test.boundaries),
                                                 data.test.grain_ids)
print(appearance.compare(rows, reference="real test").round(3).to_string())

# %% [markdown]
# ## How long must pix2pix train? The budget curve
# The paper's generator saw some 800 times more pixels than this profile's. Does training
# longer make the synthetic images real? `experiments/generator_budget.py` answers for the
# smallest real fraction: one long training per variant of the generator (ours; the
# authors' unet_16; ours with noise injected into the decoder and a texture term),
# read at several step counts. At each it measures, against *validation* images (the
# training images outside Real_X%, which neither network learns from; the test images
# stay unread), the two-sample AUC beside the real-real floor (dotted), the synthetic /
# real ratios of the high-frequency power share and of the grey SD inside grains (the
# shaded band is 0.67-1.5), and what the synthetic images are worth: the MAP of a U-Net
# trained on Mixed(Real_X% + Synthetic) minus that of one trained on Real_X% alone, over
# three U-Net seeds. The curve is measured once per profile (tens of CPU minutes a
# variant) and shown here when it has been.

# %%
budget = figures / "generator_budget.csv"
if budget.is_file():
    report.budget_curve(budget, title=f"{cfg['profile']}: pix2pix on the smallest real fraction")
else:
    print(f"no budget curve for profile {cfg['profile']} yet: "
          f"python experiments/generator_budget.py run {cfg['profile']} <variant>, then summary")

# %% [markdown]
# ## The paper's Table 1: what a synthetic image costs
# Seconds per image, measured in this run: the Potts simulation divided over the simulated
# patches, the style-transfer training divided over the synthetic images it made, and the
# generation of one synthetic image. The paper's figures are for 400 x 400 images on a GPU;
# ours are for the profile's patch size on this machine's device.

# %%
simulation = potts.run(cfg, progress=False).seconds / len(data.simulated)
table1 = report.table1(simulation=simulation,
                       training=built.model.train_seconds / len(built.synthetic),
                       generation=built.generate_seconds, image_side=built.synthetic.size)
figures.mkdir(parents=True, exist_ok=True)
table1.to_csv(figures / "table1.csv")
table1.round(3)

# %% [markdown]
# ## Browse the synthetic images
# A simulated label, its flat simulated image, and the synthetic image of every real
# fraction trained so far (this seed), side by side.

# %%
panels = {"simulated label": data.simulated.boundaries, "simulated image": data.simulated.images}
for x in transfer.trained_fractions(cfg, seed):
    panels[f"synthetic, Real_{x}%"] = transfer.build(cfg, x, seed, progress=False).synthetic.images
widgets.side_by_side(panels, notes=[f"axis {'zyx'[a]}, section {s}" for a, s in
                                    zip(data.simulated.axis, data.simulated.image_index)])

# %% [markdown]
# ## Findings
# Written from this run's numbers (`findings.transfer`).

# %%
findings.show(findings.transfer(looks, built, texture))
