"""Chapter 07's scores: the U-Net of every training recipe
(:mod:`grainlib.learn.recipes`) on the real test patches, patch by patch, and their
paired summary (:func:`grainlib.score.paired.summary`).

One table per real fraction and seed, kept in
``runs/<profile>/scores/augmentation-<fraction>-seed<seed>.csv``; each training set and
budget is scored once and kept while its model's fingerprint holds, so a sweep that adds
seeds, sets or budgets scores only what is new.

>>> table = scores(config.load("demo"), 5, 0, ["real", "real+flips"], ["equal-steps"])  # doctest: +SKIP
>>> paired.summary(table)                                                              # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from grainlib.data import datasets
from grainlib.learn import recipes, segment, training
from grainlib.score import metrics

COLUMNS = ["fraction", "budget", "training_set", "seed", "patch", "MAP", "ARI", "model"]
"""Columns of :func:`scores` (``model``: the fingerprint of the U-Net scored)."""


def scores_path(cfg, fraction: int, seed: int) -> Path:
    """Where :func:`scores` keeps the table of a fraction and seed."""
    return (Path(cfg["run_dir"]) / "scores"
            / f"augmentation-{int(fraction)}-seed{int(seed)}.csv")


def scores(cfg, fraction: int, seed: int, training_sets=tuple(recipes.ARMS),
           budgets=recipes.BUDGETS, progress: bool = False) -> pd.DataFrame:
    """MAP and ARI on the test patches of each training set's U-Net, per budget.

    Parameters
    ----------
    cfg : a loaded profile with its datasets built (chapter 02).
    fraction : real fraction X in %.
    seed : training seed.
    training_sets : names from :data:`grainlib.learn.recipes.ARMS`.
    budgets : names from :data:`grainlib.learn.recipes.BUDGETS`.
    progress : show the progress of trainings.

    Returns
    -------
    DataFrame with :data:`COLUMNS`, one row per budget, training set and test patch;
    U-Nets missing are trained first (:func:`grainlib.learn.recipes.build`).
    """
    training_sets = [recipes.check_arm(name) for name in training_sets]
    budgets = [recipes.check_budget(name) for name in budgets]
    path = scores_path(cfg, fraction, seed)
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
            test = datasets.load(cfg).test if test is None else test
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
