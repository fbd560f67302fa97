"""Profiles: the parameters of a run, read from YAML and checked against one schema.

A profile is a YAML file in ``params/`` (or any path). It may name another profile
under ``extends:``; its own values then override that profile's, key by key. Every key
is checked against :data:`SCHEMA`: an unknown key, a value of the wrong type or out of
range raises :class:`ConfigError` naming the file, the key and what is allowed.

The profile None means the one the environment variable ``GRAINLIB_PROFILE`` names, else
``"demo"``: the chapter notebooks' parameters cells say ``profile = None``, so a notebook
opened in JupyterLab runs at the profile of the environment the server (and so its
kernels) started in, while papermill (``python -m grainlib run``, ``notebooks``,
``sweep``) always passes the profile explicitly.

>>> cfg = load("smoke", {"potts.mcs": 20})
>>> cfg["potts"]["mcs"]
20
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PARAMS_DIR = PROJECT_ROOT / "params"
ENV_PROFILE = "GRAINLIB_PROFILE"  # the profile that load(None) reads
ENV_RUNS = "GRAINLIB_RUNS"        # the runs/ folder, when not the project's
ENV_FIGURES = "GRAINLIB_FIGURES"  # the figures folder, replacing the profile's figures_dir
DEFAULT_PROFILE = "demo"


class ConfigError(ValueError):
    """A profile or override that does not fit the schema."""


@dataclass(frozen=True)
class Param:
    """One parameter: its default, a check, and the words that say what is allowed."""

    default: Any
    check: Callable[[Any], bool]
    expected: str
    doc: str = ""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _range_words(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f" in [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def _within(v, lo, hi) -> bool:
    return (lo is None or v >= lo) and (hi is None or v <= hi)


def integer(default, doc="", lo=None, hi=None) -> Param:
    return Param(default, lambda v: _is_int(v) and _within(v, lo, hi),
                 "an integer" + _range_words(lo, hi), doc)


def number(default, doc="", lo=None, hi=None) -> Param:
    return Param(default, lambda v: _is_number(v) and _within(v, lo, hi),
                 "a number" + _range_words(lo, hi), doc)


def boolean(default, doc="") -> Param:
    return Param(default, lambda v: isinstance(v, bool), "true or false", doc)


def text(default, doc="") -> Param:
    return Param(default, lambda v: isinstance(v, str), "a string", doc)


def choice(default, options, doc="") -> Param:
    options = tuple(options)
    return Param(default, lambda v: v in options,
                 "one of " + ", ".join(repr(o) for o in options), doc)


def integers(default, doc="", lo=None, hi=None, length=None) -> Param:
    def check(v):
        return (isinstance(v, (list, tuple)) and (length is None or len(v) == length)
                and all(_is_int(x) and _within(x, lo, hi) for x in v))
    size = f"{length} " if length else ""
    return Param(default, check, f"a list of {size}integers" + _range_words(lo, hi), doc)


def numbers(default, doc="", lo=None, hi=None, length=None) -> Param:
    def check(v):
        return (isinstance(v, (list, tuple)) and (length is None or len(v) == length)
                and all(_is_number(x) and _within(x, lo, hi) for x in v))
    size = f"{length} " if length else ""
    return Param(default, check, f"a list of {size}numbers" + _range_words(lo, hi), doc)


def optional(param: Param) -> Param:
    """The same parameter, or null."""
    return Param(param.default, lambda v: v is None or param.check(v),
                 param.expected + " or null", param.doc)


# The schema: section -> key -> Param. Chapters add their own sections below.
def _baseline_steps(smooth, background_size, marker_depth, merge_below, min_grain,
                    min_fragment=None, close_radius=None) -> dict[str, Param]:
    """The parameters of the pre- and post-processing steps the baselines share
    (grainlib.score.baselines, steps 1-6), with one method's defaults."""
    steps = {
        "smooth": integer(smooth, "Bilateral filter diameter in pixels (<= 1: none).", lo=0),
        "background_size": integer(background_size,
                                   "Black-hat disk diameter: dark lines thinner stay.", lo=3),
        "min_fragment": integer(min_fragment, "Boundary fragments with fewer pixels are removed.",
                                lo=0),
        "close_radius": integer(close_radius, "Radius of the closing that bridges boundary gaps.",
                                lo=0),
        "marker_depth": number(marker_depth, "h of the h-maxima that make the grain cores.", lo=0),
        "merge_below": number(merge_below, "Merge grains whose boundary darkness is below "
                              "this (0: never).", lo=0),
        "min_grain": integer(min_grain, "Grains with fewer pixels merge into neighbours.", lo=0),
    }
    return {key: param for key, param in steps.items() if param.default is not None}


def _precision() -> Param:
    return choice("auto", ("auto", "float32", "bfloat16", "float16"),
                  "Numeric precision (grainlib.learn.precision): float32, or bfloat16 / "
                  "float16 autocast with channels-last memory; auto: bfloat16 where the "
                  "device has it (CPU: AVX512-BF16), float16 on older CUDA devices, else "
                  "float32. float32 gives the networks trained before this key existed.")


SCHEMA: dict[str, Any] = {
    "description": text("", "One line saying what the profile is for."),
    "seed": integer(0, "Seed of every random choice in the run.", lo=0),
    "figures_dir": optional(text(None, "Where figures go, relative to the project root; "
                                 "null: runs/<profile>/figures. Not inherited through "
                                 "extends: a profile that does not set it gets its own.")),
    "potts": {
        "shape": integers([64, 64, 64], "Lattice size (Lz, Ly, Lx), periodic.", lo=2, length=3),
        "mcs": integer(200, "Monte Carlo steps to run (one MCS = one trial per site).", lo=1),
        "snapshots": integers([], "MCS at which to keep a copy of the volume.", lo=1),
        "kT": number(0.5, "Temperature in units of the boundary energy J.", lo=0),
        "trial_neighbors": choice(18, (18, 26),
                                  "Neighbours a trial index is drawn from: 18 (paper) or 26."),
    },
    "clock": {  # chapter 01, "The MCS clock" (simulate.mcs_clock); kT, trial_neighbors: potts'
        "size": integer(64, "Lattice edge L of the two L^3 volumes compared: the sublattice "
                        "sweep's and the serial random-site kernel's (about 10 million trials "
                        "a second on one core: L = 64 compared up to MCS 400 takes some "
                        "15 s).", lo=8),
        "snapshots": integers([25, 50, 100, 200, 400], "MCS at which both kernels' mean grain "
                              "volumes are compared; each sweep snapshot is also paired with "
                              "the random-site snapshot of the nearest mean grain volume.",
                              lo=1),
    },
    "data": {
        "source": choice("surrogate", ("surrogate", "folder", "hdf5", "iron-sections"),
                         "Where the real micrographs come from: the embedded surrogate "
                         "specimen, two folders (images_dir, labels_dir), an HDF5 file in "
                         "the published layout (hdf5_path, hdf5_group), or the public "
                         "pure-iron sections fetched by name (grainlib.data.public)."),
        "images_dir": optional(text(None, "source folder: micrographs (PNG/TIFF, 8 or 16 bit); "
                                    "relative paths start at the project root.")),
        "labels_dir": optional(text(None, "source folder: labels with the same file stems "
                                    "(boundary maps 0/1 or 0/255 of either polarity, or "
                                    "grain ids).")),
        "hdf5_path": optional(text(None, "source hdf5: the file (groups real/simulated, "
                                   "datasets image/label/boundary stacked H x W x N).")),
        "hdf5_group": text("real", "source hdf5: the group holding the real micrographs."),
        "hdf5_layout": optional(choice(None, ("HWN", "NHW"), "source hdf5: how the stacks "
                                       "are ordered, H x W x N (the authors') or N x H x W; "
                                       "null: told from their shapes, which a square stack "
                                       "cannot tell.")),
        "n_images": integer(40, "source surrogate: number of sections (paper: 136).", lo=2),
        "image_shape": integers([384, 384], "source surrogate: (H, W) of each section "
                                "(paper: 1600 x 2800).", lo=16, length=2),
        "test_fraction": number(36 / 136, "Share of the real images held out for testing, "
                                "split by image (paper: 36 of 136).", lo=0.01, hi=0.9),
        "patch_size": integer(128, "Side of the square patches in pixels (paper: 400).",
                              lo=16, hi=4096),
        "train_per_image": integer(8, "Training patches cut at random from each training "
                                   "image (paper: 28).", lo=1),
        "test_per_image": integer(9, "Test patches cut on a grid from each test image "
                                  "(paper: 28, a 4 x 7 grid).", lo=1),
        "fractions": integers([5, 10, 15, 20, 25, 30, 35, 100], "Real fractions X, in % of "
                              "the training images, nested (paper: 5 ... 35 and 100).",
                              lo=1, hi=100),
        "boundary_width": integer(2, "Width of boundary lines drawn from grain ids, the same "
                                  "for every source (grains.boundaries).", lo=1, hi=8),
        "simulated_patches": integer(384, "Simulated patches cut from sections of the Potts "
                                     "volume along its three axes (paper: 28,800).", lo=1),
        "simulated_zoom": integer(1, "Pixels per Potts lattice site along each side: "
                                  "simulated sections are enlarged by this (nearest neighbour, "
                                  "boundaries drawn afterwards) to reach the real grain size "
                                  "when the volume's grains are too small.", lo=1, hi=16),
        "simulated_grey": integers([120, 230], "Simulated images: each grain one flat grey "
                                   "drawn uniformly from this (low, high) range.",
                                   lo=0, hi=255, length=2),
        "simulated_boundary_grey": integer(40, "Simulated images: grey of boundary pixels.",
                                           lo=0, hi=255),
        "match_snapshot": boolean(True, "Use the Potts snapshot whose mean section grain area "
                                  "is closest to the real training patches' (else the "
                                  "final volume)."),
        "export_hdf5": boolean(False, "Also write real images and simulated patches in the "
                               "published HDF5 layout to <run_dir>/published_layout.h5."),
    },
    "surrogate": {
        # 3D structure (grainlib.data.specimen.structure)
        "grain_diameter": number(67.0, "Mean 2D grain size in pixels: diameter of the circle "
                                 "whose area is the mean section grain area (real iron: about "
                                 "67, i.e. ~3500 px^2, ~180 grains per 800 x 800).", lo=4, hi=2000),
        "size_spread": number(0.3, "Lognormal sigma of the Laguerre seed radii (0: plain "
                              "Voronoi cells; larger: a wider grain size distribution).",
                              lo=0, hi=1.5),
        "seed_regularity": number(0.5, "Hard-core distance of the seeds as a fraction of their "
                                  "mean spacing (0: Poisson seeds; 0.6: nearly a packing).",
                                  lo=0, hi=0.6),
        "waviness": number(0.1, "Amplitude of the smooth displacement that curves the grain "
                           "boundaries, as a fraction of grain_diameter.", lo=0, hi=0.5),
        "waviness_length": number(0.5, "Correlation length of that displacement, as a "
                                  "fraction of grain_diameter.", lo=0.05, hi=5),
        "section_spacing": number(0.04, "Distance between consecutive serial sections as a "
                                  "fraction of grain_diameter (0.04: ~94 % of pixels keep their "
                                  "grain from one section to the next, as in the real iron "
                                  "sections 1.8 um apart).", lo=0, hi=100),
        "min_grain_area": number(0.004, "Section grains smaller than this share of the mean "
                                 "grain area (at least 3 px) are merged into their neighbours: "
                                 "digitising slivers that real labels do not have.", lo=0, hi=0.5),
        # rendering (grainlib.data.specimen.render)
        "brightness": number(253.0, "Grey level of clean grain interiors.", lo=0, hi=255),
        "grain_contrast": number(2.5, "Standard deviation of the grain-to-grain grey offset "
                                 "(orientation contrast), grey levels.", lo=0, hi=100),
        "illumination": number(4.0, "Amplitude of the uneven illumination (a smooth field over "
                               "the image), grey levels.", lo=0, hi=100),
        "boundary_depth": number(125.0, "Mean darkening at the centre of an etched boundary, "
                                 "grey levels.", lo=0, hi=255),
        "boundary_width": number(0.75, "Mean Gaussian half-width (sigma) of the boundary groove "
                                 "in pixels.", lo=0.3, hi=10),
        "boundary_variation": number(0.35, "Relative variation of boundary depth and width along "
                                     "each boundary and from boundary to boundary.", lo=0, hi=2),
        "faint_boundaries": number(0.1, "Share of boundaries etched faintly or not at all "
                                   "(their grain ids stay exact).", lo=0, hi=1),
        "boundary_bands": number(0.1, "Share of boundaries with a grey band beside them "
                                 "(an inclined boundary seen through the focus).", lo=0, hi=1),
        "speckle": number(5.0, "Standard deviation of the fine texture, grey levels.",
                          lo=0, hi=100),
        "specks": number(0.14, "Share of the area covered by the fine dark etch mottle.",
                         lo=0, hi=0.5),
        "speck_depth": number(30.0, "Mean darkening of a speck, grey levels.", lo=0, hi=255),
        "pits": number(0.5, "Pits and inclusions per 100 x 100 pixels.", lo=0, hi=100),
        "pit_radius": number(1.8, "Mean radius of pits and inclusions in pixels.", lo=0.5, hi=50),
        "scratches": number(6.0, "Polishing scratches per million pixels.", lo=0, hi=1000),
        "scratch_depth": number(25.0, "Mean darkening of a scratch, grey levels.", lo=0, hi=255),
        "blur": number(0.6, "Sigma of the Gaussian blur of the optics, pixels.", lo=0, hi=10),
    },
    "transfer": {  # pix2pix (grainlib.learn.transfer); defaults: the demo's CPU-sized networks
        "variant": choice("ours", ("ours", "authors"),
                          "Networks: ours (resize-convolution decoder, dropout, PyTorch's "
                          "default weights; our choices) or authors (their unet_16 and "
                          "PatchGAN as their code builds them: transposed convolutions, no "
                          "dropout, N(0, 0.02) weights)."),
        "width": integer(32, "Generator channels at the first level (pix2pix: 64).", lo=1),
        "depth": integer(4, "Generator stride-2 levels; patch sides are padded to multiples of "
                         "2**depth (the authors' unet_16: 4).", lo=1, hi=8),
        "max_width": integer(256, "Cap on the generator's channels per level (pix2pix: 512).",
                             lo=1),
        "disc_width": integer(32, "Discriminator channels at its first layer (pix2pix: 64).",
                              lo=1),
        "disc_layers": integer(3, "Discriminator stride-2 layers (3: 70 x 70 PatchGAN).",
                               lo=1, hi=6),
        "steps": integer(600, "Training steps (mini-batches), when epochs is null.", lo=1),
        "epochs": optional(integer(None, "Passes over the training patches (paper: 200); "
                                   "sets the steps from the data size.", lo=1)),
        "batch_size": integer(8, "Patches per mini-batch (paper: 8).", lo=1),
        "crop": optional(integer(64, "Train on random crops of this side (a multiple of "
                                 "2**depth; under 70 px, the crop is smaller than the "
                                 "window of the 3-layer PatchGAN); null or the patch side: "
                                 "whole patches (the authors).", lo=16)),
        "lr": number(2e-4, "Adam learning rate of both networks (paper: 2e-4).", lo=0),
        "beta1": number(0.5, "Adam beta1 (pix2pix: 0.5).", lo=0, hi=1),
        "decay_from": number(0.5, "Share of the steps at constant learning rate before it "
                             "decays linearly to 0 (pix2pix: 100 of 200 epochs).", lo=0, hi=1),
        "l1_weight": number(100.0, "Weight lambda of the L1 term (paper: 100).", lo=0),
        "noise": boolean(False, "Inject noise maps into the generator's decoder at every "
                         "scale, so that one label gives many images (not the paper's)."),
        "texture_weight": number(0.0, "Weight of the texture term: L1 between Gram matrices "
                                 "of the discriminator's features of the generated and the "
                                 "real pair (0: none, the paper's).", lo=0),
        "gan_loss": optional(choice(None, ("lsgan", "vanilla"),
                                    "Adversarial loss: least squares (our choice) or the "
                                    "log loss of a sigmoid discriminator (the authors' code "
                                    "and the pix2pix paper); null: the variant's (ours: "
                                    "lsgan, authors: vanilla).")),
        "generation": optional(choice(None, ("eval", "train"),
                                      "Generator mode when generating: eval (batch norm on "
                                      "its running statistics, dropout off; our choice) or "
                                      "train (one image at a time, batch norm on its own "
                                      "statistics, dropout seeded: the authors' script); "
                                      "null: the variant's (ours: eval, authors: train).")),
        "augment": boolean(True, "Random flips and 90-degree rotations of label and image "
                           "together."),
        "device": text("auto", "Torch device: auto (CUDA when present), cpu, cuda, cuda:1 ..."),
        "precision": _precision(),
        "checkpoint_every": number(60.0, "Seconds between training checkpoints.", lo=0),
    },
    "segment": {  # the segmentation U-Net (grainlib.learn.segment); defaults: the demo's CPU size
        "width": integer(16, "U-Net channels at the first level (Ronneberger et al.: 64).", lo=1),
        "depth": integer(4, "U-Net poolings; patch sides are padded to multiples of 2**depth.",
                         lo=1, hi=8),
        "steps": integer(600, "Training steps (mini-batches; paper: 28,000).", lo=1),
        "batch_size": integer(8, "Patches per mini-batch, half real and half synthetic when "
                              "mixed (paper: 8).", lo=2),
        "crop": optional(integer(64, "Train on random crops of this side (a multiple of "
                                 "2**depth); null: whole patches (paper).", lo=16)),
        "lr": number(1e-4, "Adam learning rate, constant (paper: 1e-4).", lo=0),
        "boundary_weight": number(20.0, "Cross-entropy weight of boundary pixels, grain "
                                  "pixels weighing 1 (the authors' code: 20).", lo=0),
        "augment": boolean(False, "Random flips and 90-degree rotations of the training "
                           "patches (the authors' code: off; training set real+flips: on)."),
        "lr_decay_every": integer(0, "Multiply the learning rate by lr_decay_factor every "
                                  "this many steps (0: constant; the authors' script: every "
                                  "10 epochs, chapter 07's epoch rule).", lo=0),
        "lr_decay_factor": number(0.8, "See lr_decay_every (the authors' script: 0.8).",
                                  lo=0, hi=1),
        "lr_schedule": choice("constant", ("constant", "cosine"),
                              "constant (or lr_decay_every's steps), or cosine: after "
                              "warmup_steps of linear warm-up, lr follows half a cosine "
                              "down to 0 at the last step."),
        "warmup_steps": integer(0, "Steps of linear warm-up from lr / warmup_steps to lr "
                                "(cosine schedule).", lo=0),
        "pretrain_share": number(0.5, "Training set synthetic>real: share of the steps spent "
                                 "on the synthetic images before the real ones.", lo=0, hi=1),
        "postprocess": choice("threshold", ("threshold", "watershed"),
                              "Boundary probability -> closed boundaries: watershed of the "
                              "probability from grain cores, or a plain threshold."),
        "threshold": number(0.7, "Boundary probability above which a pixel is boundary "
                            "(0.7: best MAP on the demo's training patches).",
                            lo=0, hi=1),
        "marker_depth": number(0.0, "watershed: h of the h-maxima of the distance to the "
                               "thresholded boundaries that make the grain cores (0: every "
                               "region inside them is a core).", lo=0),
        "min_grain": integer(10, "Predicted grains with fewer pixels join their neighbours.",
                             lo=0),
        "line_width": integer(2, "Width of the predicted boundary lines "
                              "(grains.boundaries); build uses data.boundary_width.",
                              lo=1, hi=8),
        "device": text("auto", "Torch device: auto (CUDA when present), cpu, cuda, cuda:1 ..."),
        "precision": _precision(),
        "checkpoint_every": number(60.0, "Seconds between training checkpoints.", lo=0),
    },
    "sweep": {  # python -m grainlib sweep (run.sweep): chapters 03-05 per fraction and seed
        "fractions": optional(integers(None, "Real fractions swept, each one of data.fractions; "
                                       "null: every one of data.fractions.", lo=1, hi=100)),
        "seeds": integers([0, 1, 2], "Training seeds swept: one run per fraction and seed.",
                          lo=0),
        "workers": optional(integer(None, "Dask workers of the local cluster; null: the "
                                    "machine's cores divided by threads.", lo=1)),
        "threads": integer(1, "Torch and OpenMP threads of every run, whatever the number of "
                           "workers: the thread count changes a training's last bits, so it is "
                           "fixed for the tables not to depend on the cluster.", lo=1),
    },
    "baselines": {  # defaults tuned on the iron sections 001-002 (grainlib.score.baselines.tune)
        "otsu": {
            "low_ratio": number(0.4, "Hysteresis low threshold / Otsu threshold.", lo=0, hi=1),
            **_baseline_steps(smooth=9, background_size=35, min_fragment=30, close_radius=2,
                              marker_depth=3.0, merge_below=20.0, min_grain=50),
        },
        "canny": {
            "sigma": number(0.5, "Gaussian smoothing of Canny, pixels.", lo=0),
            "low": number(0.8, "Canny low hysteresis threshold, quantile of the gradient.", lo=0, hi=1),
            "high": number(0.9, "Canny high hysteresis threshold, quantile (>= low).", lo=0, hi=1),
            **_baseline_steps(smooth=5, background_size=35, min_fragment=15, close_radius=1,
                              marker_depth=4.0, merge_below=30.0, min_grain=50),
        },
        "watershed": _baseline_steps(smooth=9, background_size=25, marker_depth=3.0,
                                     merge_below=20.0, min_grain=50),
        "kmeans": {
            "n_clusters": integer(4, "Grey-level clusters k.", lo=2),
            "sample": integer(20000, "Pixels the clustering is fitted on.", lo=10),
            "seed": integer(0, "Seed of the pixel sample and k-means++.", lo=0),
            **_baseline_steps(smooth=5, background_size=35, min_fragment=60, close_radius=1,
                              marker_depth=4.0, merge_below=30.0, min_grain=50),
        },
    },
}


def _check_tree(values: Mapping, schema: Mapping, origins: Mapping[str, str], prefix=""):
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        where = origins.get(dotted, "override")
        if key not in schema:
            allowed = ", ".join(sorted(schema)) or "(none)"
            section = f"'{prefix[:-1]}'" if prefix else "the top level"
            raise ConfigError(f"{where}: unknown key '{dotted}'; keys allowed in {section}: {allowed}")
        spec = schema[key]
        if isinstance(spec, Mapping):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}: '{dotted}' must be a section (a mapping of keys), "
                                  f"got {type(value).__name__}")
            _check_tree(value, spec, origins, dotted + ".")
        elif not spec.check(value):
            raise ConfigError(f"{where}: '{dotted}' must be {spec.expected}, got {value!r}")


def _defaults(schema: Mapping) -> dict:
    return {k: _defaults(v) if isinstance(v, Mapping) else copy.deepcopy(v.default)
            for k, v in schema.items()}


def _merge(base: dict, top: Mapping, origins: dict, where: str, prefix="") -> dict:
    """Deep-merge ``top`` into ``base`` in place, noting where each leaf came from."""
    for key, value in top.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            _merge(base[key], value, origins, where, dotted + ".")
        else:
            base[key] = copy.deepcopy(value)
            for k in [k for k in origins if k.startswith(dotted + ".")]:
                del origins[k]
            origins[dotted] = where
            if isinstance(value, Mapping):
                _note_origins(value, origins, where, dotted + ".")
    return base


def _note_origins(tree: Mapping, origins: dict, where: str, prefix: str):
    for key, value in tree.items():
        origins[f"{prefix}{key}"] = where
        if isinstance(value, Mapping):
            _note_origins(value, origins, where, f"{prefix}{key}.")


def profile_path(profile: str | os.PathLike) -> Path:
    """The YAML file of a profile: a name in ``params/`` or a path to a file."""
    path = Path(profile)
    if path.suffix in (".yaml", ".yml"):
        if not path.is_file():
            raise ConfigError(f"profile file not found: {path}")
        return path
    path = PARAMS_DIR / f"{profile}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PARAMS_DIR.glob("*.yaml")))
        raise ConfigError(f"unknown profile '{profile}': no {path}; known profiles: {known}")
    return path


def _read_profile(path: Path, origins: dict, seen=()) -> dict:
    if path in seen:
        raise ConfigError(f"{path}: 'extends' makes a loop: "
                          + " -> ".join(str(p) for p in (*seen, path)))
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: a profile must be a mapping of keys, got {type(raw).__name__}")
    parent = raw.pop("extends", None)
    if parent is None:
        tree = {}
    else:
        parent_path = (path.parent / parent if str(parent).endswith((".yaml", ".yml"))
                       else profile_path(parent))
        tree = _read_profile(parent_path, origins, (*seen, path))
    return _merge(tree, raw, origins, str(path))


def _nest(overrides: Mapping) -> dict:
    """``{"potts.mcs": 5}`` -> ``{"potts": {"mcs": 5}}``; None values are dropped."""
    nested: dict = {}
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = nested
        for p in parents:
            node = node.setdefault(p, {})
        if isinstance(value, Mapping):
            _merge(node.setdefault(leaf, {}), value, {}, "")
        else:
            node[leaf] = value
    return nested


def runs_root() -> Path:
    """The folder of every run, absolute: ``$GRAINLIB_RUNS`` (a relative one taken from
    the working folder of the process that reads it), else ``runs/`` in the project."""
    folder = os.environ.get(ENV_RUNS)
    return Path(folder).expanduser().absolute() if folder else PROJECT_ROOT / "runs"


def is_empty(profile: str | os.PathLike) -> bool:
    """True when the profile's file sets nothing, not even ``extends``: it runs on the
    schema's defaults (:func:`describe`), not on another profile's values."""
    try:
        return not yaml.safe_load(profile_path(profile).read_text())
    except yaml.YAMLError:
        return False


def load(profile: str | os.PathLike | None = DEFAULT_PROFILE,
         overrides: Mapping | None = None) -> dict:
    """Read, merge and check a profile.

    Parameters
    ----------
    profile : a name in ``params/`` (``"smoke"``, ``"demo"``, ``"paper"``, ...) or a
        path to a YAML file; None: the profile ``$GRAINLIB_PROFILE`` names, else ``"demo"``.
    overrides : dotted keys or nested sections that replace the profile's values,
        e.g. ``{"potts.mcs": 100, "seed": 3}``; keys whose value is None are ignored, so
        a notebook may pass its parameters straight through.

    Returns
    -------
    dict : every schema key with its value (defaults filled in), plus ``profile`` (the
        profile's name), ``run_dir`` (``runs/<profile>`` under the project root) and
        ``cache_dir`` (``runs/cache``: artifacts that profiles with the same parameters
        share, such as Potts volumes). ``GRAINLIB_RUNS`` moves ``runs/`` elsewhere
        (:func:`runs_root`); ``GRAINLIB_FIGURES`` replaces ``figures_dir`` (the sweep sends
        each run's figures to the run's own folder with it, ``notebooks --out`` to its
        folder). ``figures_dir`` is the profile's own, never inherited through
        ``extends``: only a profile that names a folder itself (``demo``: ``figures/``)
        writes there, any other into ``runs/<profile>/figures``.
    """
    if profile is None:
        profile = os.environ.get(ENV_PROFILE) or DEFAULT_PROFILE
    path = profile_path(profile)
    origins: dict[str, str] = {}
    values = _read_profile(path, origins)
    _check_tree(values, SCHEMA, origins)
    if origins.get("figures_dir", str(path)) != str(path):
        del values["figures_dir"]  # a profile's own: demo's figures/ is demo's alone
    extra = _nest(overrides or {})
    _check_tree(extra, SCHEMA, {})
    cfg = _merge(_merge(_defaults(SCHEMA), values, {}, ""), extra, {}, "")
    name = path.stem
    root = runs_root()
    cfg["profile"] = name
    cfg["run_dir"] = str(root / name)
    cfg["cache_dir"] = str(root / "cache")
    if os.environ.get(ENV_FIGURES):
        cfg["figures_dir"] = os.environ[ENV_FIGURES]
    if cfg["figures_dir"] is None:
        cfg["figures_dir"] = str(root / name / "figures")
    elif not Path(cfg["figures_dir"]).is_absolute():
        cfg["figures_dir"] = str(PROJECT_ROOT / cfg["figures_dir"])
    return cfg


def section(name: str, values: Mapping | None = None, profile: str = "demo") -> dict:
    """One section of a profile (``"transfer"``, ...): ``profile``'s values with ``values``
    (a full or partial section, e.g. ``cfg["transfer"]``) on top, checked.

    >>> section("transfer", {"steps": 5})["steps"]
    5
    """
    return load(profile, {name: dict(values or {})})[name]


def describe(section: str | None = None) -> str:
    """The schema as text: every key, its default, what is allowed and what it means."""
    lines = []

    def walk(schema, prefix):
        for key, spec in schema.items():
            if isinstance(spec, Mapping):
                walk(spec, f"{prefix}{key}.")
            else:
                lines.append(f"{prefix}{key} = {spec.default!r}  ({spec.expected}) {spec.doc}")

    if section is None:
        lines.append("extends = None  (a profile in params/, e.g. demo, or the path of a YAML "
                     "file, relative to this one's folder) The profile this one starts from: "
                     "its values, replaced key by key by this one's (figures_dir excepted).")
    walk(SCHEMA if section is None else {section: SCHEMA[section]}, "")
    return "\n".join(lines)
