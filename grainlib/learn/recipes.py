"""Training recipes for scarce real labels (chapter 07): nine training sets, each a way to
use Real_X%, under three step budgets.

Training sets (:data:`ARMS`): the paper's ``real``, ``real+synthetic`` and ``synthetic``
and our ``real+flips`` (:data:`grainlib.learn.segment.TRAINING_SETS`; under the
``equal-steps`` budget they are the very U-Nets of chapter 04), and five more:

- ``real+flips+synthetic``: Mixed(Real_X% + Synthetic^X_100%), every patch of the batch
  flipped and rotated;
- ``synthetic>real``: pretrained on Synthetic^X_100%, then fine-tuned on Real_X%, the same
  total steps, ``segment.pretrain_share`` of them on the synthetic images;
- ``real+classical``: Real_X% with classical augmentation
  (:func:`grainlib.learn.augment.classical`: flips, rotations, elastic deformation,
  brightness, contrast, gamma, noise, blur);
- ``real+classical+synthetic``: the same on both halves of Mixed(Real_X% + Synthetic);
- ``real+rendered``: Real_X% mixed with the simulated labels rendered with random
  appearances (:func:`grainlib.data.rendered.render`, domain randomisation, no GAN).

Budgets (:data:`BUDGETS`):

- ``equal-steps``: every training set the profile's ``segment.steps`` at a constant rate;
- ``epoch-rule``: the official U-Net script's rule, which runs a number of *epochs*,
  ``min((35,000 x batch + N) // N, 100)`` for N patches, the rate x 0.8 every 10 epochs.
  Applied to our small sets it would give every training set 100 epochs and erase what
  it did to the paper's: Real_5% alone (140 patches) ran 1,750 iterations at a decaying
  rate, Mixed (28,800 synthetic patches, 4 per batch) 36,000 at nearly the full rate.
  So the sets of real patches alone run the rule on their own patches (100 epochs, the
  rate x 0.8 every 10), and the sets with synthetic or rendered images run that many
  steps times the paper's ratio at the same fraction, at a constant rate
  (:func:`epoch_rule_steps`).
- ``long-steps``: the control of the epoch rule: every training set the epoch rule's long
  count at a constant rate, so a set of real patches alone trains as long as Mixed does.
  A gain under ``epoch-rule`` that ``long-steps`` keeps is the synthetic images'; one it
  loses was the longer run's. The sets with synthetic or rendered images are the very
  U-Nets of ``epoch-rule`` (:func:`model_path`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from grainlib.data import datasets, rendered
from grainlib.learn import segment, transfer

ARMS = {
    "real": "Real_X%",
    "real+flips": "Real_X% + flips",
    "real+synthetic": "Mixed(Real_X% + Synthetic^X_100%)",
    "synthetic": "Synthetic^X_100%",
    "real+flips+synthetic": "Mixed(Real_X% + Synthetic^X_100%) + flips",
    "synthetic>real": "Synthetic^X_100%, then Real_X%",
    "real+classical": "Real_X% + classical augmentation",
    "real+classical+synthetic": "Mixed(Real_X% + Synthetic^X_100%) + classical augmentation",
    "real+rendered": "Mixed(Real_X% + Rendered_100%)",
}
"""Chapter 07's training sets: name -> the paper's notation."""

BUDGETS = ("equal-steps", "epoch-rule", "long-steps")
REAL_ONLY = ("real", "real+flips", "real+classical")
PAPER = {"real_patches_100": 2800, "synthetic_patches": 28800, "batch": 8,
         "iterations_cap": 35000, "epochs_cap": 100}
"""The paper's sizes the epoch rule is read at: 100 training images x 28 patches, 28,800
synthetic patches, batches of 8 (4 + 4 when mixed)."""

_PLAN = {  # training set -> (real arrays, second set, augment)
    "real": ("real", None, False),
    "real+flips": ("real", None, True),
    "real+synthetic": ("real", "synthetic", False),
    "synthetic": ("synthetic", None, False),
    "real+flips+synthetic": ("real", "synthetic", True),
    "real+classical": ("real", None, "classical"),
    "real+classical+synthetic": ("real", "synthetic", "classical"),
    "real+rendered": ("real", "rendered", False),
}


def check_arm(training_set: str) -> str:
    if training_set not in ARMS:
        raise ValueError(f"unknown training set {training_set!r} for chapter 07; allowed: "
                         + ", ".join(ARMS))
    return training_set


def check_budget(budget: str) -> str:
    if budget not in BUDGETS:
        raise ValueError(f"unknown budget {budget!r}; allowed: {', '.join(BUDGETS)}")
    return budget


def official_epochs(n_patches: int, batch: int) -> int:
    """Epochs the authors' U-Net script runs on ``n_patches`` patches in batches of
    ``batch``: ``min((35,000 x batch + N) // N, 100)``."""
    return min((PAPER["iterations_cap"] * batch + n_patches) // n_patches, PAPER["epochs_cap"])


def official_iterations(fraction: int, mixed: bool) -> int:
    """Iterations of the authors' script at the paper's sizes: Real_X% alone (batches of
    8 real patches), or a set with the 28,800 synthetic patches (4 of them per batch)."""
    if mixed:
        n, batch = PAPER["synthetic_patches"], PAPER["batch"] // 2
    else:
        n, batch = round(PAPER["real_patches_100"] * fraction / 100), PAPER["batch"]
    return official_epochs(n, batch) * math.ceil(n / batch)


def epoch_rule_steps(training_set: str, n_real: int, fraction: int,
                     batch_size: int) -> tuple[int, int]:
    """``(steps, lr_decay_every)`` of a training set under the epoch rule.

    Parameters
    ----------
    training_set : one of :data:`ARMS`.
    n_real : patches in Real_X% (ours).
    fraction : X, the real fraction in %.
    batch_size : the profile's U-Net batch.

    Returns
    -------
    For sets of real patches alone: the rule on our ``n_real`` patches (100 epochs of
    ``ceil(n_real / batch_size)`` steps), the rate decayed every 10 epochs. For the others:
    that many steps times the paper's ratio at X (Mixed's 36,000 iterations over Real_X%
    alone's), the rate constant (``lr_decay_every`` 0).
    """
    check_arm(training_set)
    per_epoch = math.ceil(n_real / batch_size)
    short = official_epochs(n_real, batch_size) * per_epoch
    if training_set in REAL_ONLY:
        return short, max(short // 10, 1)
    ratio = official_iterations(fraction, mixed=True) / official_iterations(fraction, False)
    return int(round(short * ratio)), 0


def long_steps(n_real: int, fraction: int, batch_size: int) -> tuple[int, int]:
    """``(steps, lr_decay_every)`` of every training set under ``long-steps``: the epoch
    rule's count for the sets with synthetic images (:func:`epoch_rule_steps`), at a
    constant rate."""
    return epoch_rule_steps("real+synthetic", n_real, fraction, batch_size)


def rendered_set(cfg, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(images, boundaries) of every simulated label rendered with random appearances:
    (M, S, S) uint8 and bool."""
    simulated = datasets.load(cfg).simulated
    return rendered.render(simulated.grain_ids, seed=seed), simulated.boundaries


def arm_data(cfg, training_set: str, fraction: int, seed: int, progress: bool = False):
    """``(first, second, augment)`` of a training set as :func:`segment.train` takes them
    (pairs of (images, boundaries); ``second`` None for single sets). ``synthetic>real``
    gives (real, synthetic, False): :func:`build` trains on the synthetic pair first."""
    check_arm(training_set)
    data = datasets.load(cfg)

    def pair(name):
        if name == "rendered":
            return rendered_set(cfg, seed)
        patches = (data.real_fraction(int(fraction)) if name == "real" else
                   transfer.build(cfg, int(fraction), seed, progress=progress).synthetic)
        return patches.images, patches.boundaries

    if training_set == "synthetic>real":
        return pair("real"), pair("synthetic"), False
    first, second, augment = _PLAN[training_set]
    return pair(first), (pair(second) if second else None), augment


def model_path(cfg, training_set: str, fraction: int, seed: int, budget: str) -> Path:
    """Where :func:`build` keeps a U-Net; under ``equal-steps`` the paper's four training
    sets are chapter 04's files (:func:`grainlib.learn.segment.model_path`), and under
    ``long-steps`` the sets with synthetic or rendered images are ``epoch-rule``'s."""
    if budget == "equal-steps" and training_set in segment.TRAINING_SETS:
        return segment.model_path(cfg, training_set, fraction, seed)
    if budget == "long-steps" and training_set not in REAL_ONLY:
        budget = "epoch-rule"  # the same steps at the same constant rate: the same U-Net
    name = training_set.replace(">", "-then-")
    return (Path(cfg["run_dir"]) / "segment" / "recipes"
            / f"{name}-{int(fraction)}-seed{int(seed)}-{budget}.pt")


def budget_params(cfg, training_set: str, fraction: int, budget: str) -> dict:
    """The ``segment`` section a training set trains with under ``budget``."""
    params = {**cfg["segment"], "line_width": cfg["data"]["boundary_width"]}
    if check_budget(budget) != "equal-steps":
        n_real = len(datasets.load(cfg).real_fraction(int(fraction)))
        steps, every = (epoch_rule_steps(training_set, n_real, fraction, params["batch_size"])
                        if budget == "epoch-rule" else
                        long_steps(n_real, fraction, params["batch_size"]))
        params.update(steps=steps, lr_decay_every=every)
    return params


def build(cfg, training_set: str, fraction: int, seed: int, budget: str = "equal-steps",
          progress: bool = False) -> segment.Segmenter:
    """The U-Net of one training set, real fraction, seed and budget, trained only when
    missing (stored in ``runs/<profile>/segment/recipes/``, fingerprinted like chapter 04's).

    Returns
    -------
    Segmenter with the profile's post-processing.
    """
    check_arm(training_set)
    if check_budget(budget) == "equal-steps" and training_set in segment.TRAINING_SETS:
        return segment.build(cfg, training_set, fraction, seed, progress=progress)
    params = budget_params(cfg, training_set, fraction, budget)
    first, second, augment = arm_data(cfg, training_set, fraction, seed, progress)
    path = model_path(cfg, training_set, fraction, seed, budget)
    what = {"training_set": training_set, "fraction": int(fraction), "augment": augment}
    if training_set != "synthetic>real":
        key = segment.model_key(params, seed, [*first] + ([*second] if second else []), **what)
        return segment.stored_model(path, key, first, second, params, seed, progress, augment)
    pretrain_steps = max(1, int(round(params["steps"] * params["pretrain_share"])))
    pretrain = {**params, "steps": pretrain_steps}
    fine_tune = {**params, "steps": max(1, params["steps"] - pretrain_steps)}
    pre_path = path.with_name(path.stem + "-pretrained.pt")
    pre_key = segment.model_key(pretrain, seed, [*second], training_set="synthetic",
                                fraction=int(fraction), phase="pretrain")
    pretrained = segment.stored_model(pre_path, pre_key, second, None, pretrain, seed,
                                      progress, False)
    key = segment.model_key(fine_tune, seed, [*first], **what,
                            init=segment.weights_digest(pretrained))
    return segment.stored_model(path, key, first, None, fine_tune, seed, progress, False,
                                init=pretrained)
