"""Chapter 07's scores: the U-Net of every training recipe
(:mod:`grainlib.learn.recipes`) on real patches it never saw, patch by patch, and their
paired summary (:func:`grainlib.score.paired.summary`).

Two sets of real patches (:data:`TEST_SETS`): ``test``, the profile's test images, and
``unseen``, the training images that Real_X% leaves out (on the iron sections: the three
sections a Real_25% U-Net did not train on, beside the test section), cut in the same grid.
One table per real fraction, seed and test set, kept in
``runs/<profile>/scores/augmentation-<fraction>-seed<seed>[-unseen].csv``; each training
set and budget is scored once and kept while its model's fingerprint holds, so a sweep that
adds seeds, sets or budgets scores only what is new.

>>> table = scores(config.load("demo"), 5, 0, ["real", "real+flips"], ["equal-steps"])  # doctest: +SKIP
>>> paired.summary(table)                                                              # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from grainlib.data import datasets, patches
from grainlib.learn import recipes, segment, training
from grainlib.score import metrics

COLUMNS = ["fraction", "budget", "training_set", "seed", "patch", "MAP", "ARI", "model"]
"""Columns of :func:`scores` (``model``: the fingerprint of the U-Net scored)."""


TEST_SETS = {
    "test": "the profile's test images",
    "unseen": "the training images Real_X% leaves out",
}
"""The real patches a fraction's U-Nets are scored on (:func:`test_patches`)."""


def check_test_set(test_set: str) -> str:
    if test_set not in TEST_SETS:
        raise ValueError(f"unknown test set {test_set!r}; allowed: {', '.join(TEST_SETS)}")
    return test_set


def file_suffix(test_set: str) -> str:
    """What chapter 07's files of a test set add to their names: nothing for ``test``,
    ``_unseen`` for ``unseen``."""
    return "" if check_test_set(test_set) == "test" else f"_{test_set}"


def test_patches(cfg, fraction: int, test_set: str = "test") -> patches.PatchSet:
    """The real patches the U-Nets of Real_X% are scored on.

    ``test``: the profile's test patches (a grid over each test image). ``unseen``: the
    same grid (``data.test_per_image`` patches) over every training image outside
    Real_X%, images that neither its U-Nets nor its generator saw. They are not a second
    test split: they may have served to choose the profile's settings (and the simulated
    grains were matched to the mean grain size of all training images).
    """
    data = datasets.load(cfg)
    if check_test_set(test_set) == "test":
        return data.test
    unseen = np.setdiff1d(data.train_indices, data.fractions[int(fraction)])
    if not len(unseen):
        raise ValueError(f"Real_{fraction}% holds every training image: no unseen images "
                         f"to score on (choose a smaller fraction or the test set)")
    d = cfg["data"]
    return patches.grid_crops(data.real_images, data.real_grain_ids, size=d["patch_size"],
                              per_image=d["test_per_image"], image_indices=unseen,
                              boundary_width=d["boundary_width"])


def scores_path(cfg, fraction: int, seed: int, test_set: str = "test") -> Path:
    """Where :func:`scores` keeps the table of a fraction, seed and test set."""
    suffix = file_suffix(test_set).replace("_", "-")
    return (Path(cfg["run_dir"]) / "scores"
            / f"augmentation-{int(fraction)}-seed{int(seed)}{suffix}.csv")


def scores(cfg, fraction: int, seed: int, training_sets=tuple(recipes.ARMS),
           budgets=("equal-steps",), progress: bool = False,
           test_set: str = "test") -> pd.DataFrame:
    """MAP and ARI on real patches of each training set's U-Net, per budget.

    Parameters
    ----------
    cfg : a loaded profile with its datasets built (chapter 02).
    fraction : real fraction X in %.
    seed : training seed.
    training_sets : names from :data:`grainlib.learn.recipes.ARMS`.
    budgets : names from :data:`grainlib.learn.recipes.BUDGETS`.
    progress : show the progress of trainings.
    test_set : the patches scored, one of :data:`TEST_SETS` (:func:`test_patches`).

    Returns
    -------
    DataFrame with :data:`COLUMNS`, one row per budget, training set and patch;
    U-Nets missing are trained first (:func:`grainlib.learn.recipes.build`).
    """
    training_sets = [recipes.check_arm(name) for name in training_sets]
    budgets = [recipes.check_budget(name) for name in budgets]
    path = scores_path(cfg, fraction, seed, test_set)
    kept = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=COLUMNS)
    test = None
    frames = []
    for budget in budgets:
        for name in training_sets:
            model = recipes.build(cfg, name, fraction, seed, budget, progress)
            key = training.stored_fingerprint(recipes.model_path(cfg, name, fraction, seed,
                                                                 budget))
            old = kept[(kept["budget"] == budget) & (kept["training_set"] == name)
                       & (kept["model"] == key)]
            if len(old):
                frames.append(old)
                continue
            test = test_patches(cfg, fraction, test_set) if test is None else test
            table, _ = metrics.evaluate(segment.predict(model, test.images), test.boundaries)
            frames.append(pd.DataFrame({
                "fraction": int(fraction), "budget": budget, "training_set": name,
                "seed": int(seed), "patch": np.arange(len(table)),
                "MAP": table["map"].to_numpy(), "ARI": table["ari"].to_numpy(), "model": key}))
    fresh = pd.concat(frames, ignore_index=True)[COLUMNS]
    others = kept.merge(fresh[["budget", "training_set"]].drop_duplicates(), how="left",
                        indicator=True).query("_merge == 'left_only'").drop(columns="_merge")
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([others, fresh], ignore_index=True)[COLUMNS].to_csv(path, index=False)
    return fresh
