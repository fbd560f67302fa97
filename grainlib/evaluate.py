"""Scores on the real test patches: every U-Net of a real fraction and seed, and the four
classical baselines, patch by patch. The chapter-05 step.

Each method predicts a boundary map of every test patch (``datasets.load(cfg).test``,
cut from test images no training step has seen); :func:`grainlib.metrics.evaluate`
scores it against the true map (MAP and ARI, docs/method.md section 6). The baselines
use the profile's parameters (``cfg["baselines"]``: defaults tuned on training data,
never on these patches); the U-Nets are those :func:`grainlib.segment.build` makes or
reuses, with the profile's post-processing.

>>> table = score(config.load("demo"), fraction=5, seed=0)     # doctest: +SKIP
>>> table.groupby(["method", "training_set"])[["MAP", "ARI"]].mean()   # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from . import baselines, metrics, segment
from .store import fingerprint

VERSION = 1  # bump when the way scores are computed changes

COLUMNS = ["method", "training_set", "fraction", "seed", "patch", "MAP", "ARI"]
BASELINE = "-"
"""``training_set`` of the baselines' rows (they are not trained)."""

DEFAULT_SETS = ("real", "simulated", "real+simulated", "real+synthetic")
"""The training sets of the paper's Table 4, scored by default."""


def scores_path(cfg, fraction: int, seed: int) -> Path:
    """Where :func:`score` keeps the table of a fraction and seed."""
    return Path(cfg["run_dir"]) / "scores" / f"scores-{int(fraction)}-seed{int(seed)}.csv"


def _rows(method: str, training_set: str, fraction: int, seed: int, preds, truths):
    table, _ = metrics.evaluate(list(preds), list(truths))
    return pd.DataFrame({"method": method, "training_set": training_set,
                         "fraction": int(fraction), "seed": int(seed),
                         "patch": np.arange(len(table)), "MAP": table["map"].to_numpy(),
                         "ARI": table["ari"].to_numpy()})


def score(cfg, fraction: int, seed: int | None = None, training_sets=DEFAULT_SETS,
          include_baselines: bool = True, progress: bool = True) -> pd.DataFrame:
    """Score the U-Nets of a real fraction and seed, and the baselines, on the test patches.

    Parameters
    ----------
    cfg : a loaded profile (:func:`grainlib.config.load`); its datasets must be built
        (chapter 02).
    fraction : real fraction X of the U-Nets (the simulated sets use 100).
    seed : training seed (None: the profile's ``seed``).
    training_sets : names from :data:`grainlib.segment.TRAINING_SETS`.
    include_baselines : also score the four classical methods
        (:func:`grainlib.baselines.configured`).
    progress : show training progress of models that are missing.

    Returns
    -------
    tidy pandas DataFrame, one row per method, training set and test patch; columns
    ``method`` ("U-Net" or a Table 3 name), ``training_set`` (:data:`BASELINE` for the
    baselines), ``fraction`` (the U-Net's real fraction; the baselines' rows carry the
    requested one), ``seed``, ``patch`` (index into ``datasets.load(cfg).test``),
    ``MAP``, ``ARI``. Stored as ``runs/<profile>/scores/scores-<fraction>-seed<seed>.csv``
    with a fingerprint of the models and parameters beside it, and reused while that
    fingerprint holds.
    """
    from . import datasets

    seed = int(cfg["seed"] if seed is None else seed)
    training_sets = [segment.check_training_set(name) for name in training_sets]
    test = datasets.load(cfg).test
    models = {name: segment.build(cfg, name, fraction, seed, progress=progress)
              for name in training_sets}
    keys = {}
    for name in training_sets:
        path = segment.model_path(cfg, name, segment.effective_fraction(name, fraction), seed)
        keys[name] = torch.load(path, map_location="cpu", weights_only=True)["fingerprint"]
    key = fingerprint({
        "version": VERSION, "models": keys, "fraction": int(fraction), "seed": seed,
        "postprocess": {k: cfg["segment"][k] for k in segment._POSTPROCESS
                        if k in cfg["segment"]},
        "baselines": cfg["baselines"] if include_baselines else None,
        "test": datasets.piece_params(cfg)["data_test"]})
    path = scores_path(cfg, fraction, seed)
    stamp = path.with_suffix(".json")
    if path.is_file() and stamp.is_file() and json.loads(stamp.read_text()).get("key") == key:
        return pd.read_csv(path, keep_default_na=False)
    frames = []
    for name, model in models.items():
        preds = segment.predict(model, test.images)
        frames.append(_rows("U-Net", name, segment.effective_fraction(name, fraction), seed,
                            preds, test.boundaries))
    if include_baselines:
        for name, method in baselines.configured(cfg).items():
            preds = [method(image) for image in test.images]
            frames.append(_rows(name, BASELINE, fraction, seed, preds, test.boundaries))
    table = pd.concat(frames, ignore_index=True)[COLUMNS]
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)  # a table killed half-written is never trusted
    table.to_csv(path, index=False)
    stamp.write_text(json.dumps({"key": key}))
    return table


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of MAP and ARI per method and training set (and
    fraction): a Table 3/4-style view of :func:`score`'s table."""
    return (table.groupby(["method", "training_set", "fraction"], sort=False)[["MAP", "ARI"]]
            .agg(["mean", "std"]).round(3))
