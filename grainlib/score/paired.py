"""Paired comparisons of training sets over seeds: the statistics of chapter 07.

Two training sets are compared on the same test patches with the same seeds. Per seed,
the per-patch differences are averaged (one number per seed: the patches of one seed are
not independent repeats of the training); over the seeds, the mean and its Student-t
interval. With n seeds the interval is ``mean +- t(n - 1) * sd / sqrt(n)``; one seed gives
no interval (NaN bounds).

>>> interval([0.02, 0.03, 0.01])          # doctest: +SKIP
(0.02, -0.0048..., 0.0448...)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
COLUMNS = ["fraction", "training_set", "budget", "map_mean", "map_ci_low", "map_ci_high",
           "ari_mean", "ari_ci_low", "ari_ci_high", "gain_map", "gain_map_ci_low",
           "gain_map_ci_high", "n_seeds"]
"""The columns of :func:`summary`, as chapter 07 writes them."""


def interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, low, high) of the Student-t interval of the mean of ``values`` (1D, one per
    seed); NaN bounds for fewer than two values."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean()) if len(values) else float("nan")
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, float(mean - half), float(mean + half)


def verdict(low: float, high: float) -> str:
    """"helps" when the interval of a gain lies above 0, "hurts" below, else "no detectable
    effect" (also without an interval)."""
    if low > 0:
        return "helps"
    if high < 0:
        return "hurts"
    return "no detectable effect"


def per_seed(scores: pd.DataFrame, metric: str) -> pd.Series:
    """Mean of ``metric`` over the patches, per (fraction, budget, training_set, seed)."""
    return scores.groupby(["fraction", "budget", "training_set", "seed"])[metric].mean()


def gains(scores: pd.DataFrame, baseline: str = "real", metric: str = "MAP") -> pd.Series:
    """Per seed, the mean over patches of ``metric`` minus the baseline's on the same patch.

    Parameters
    ----------
    scores : one row per fraction, budget, training set, seed and test patch; columns
        ``fraction, budget, training_set, seed, patch`` and ``metric``.
    baseline : the training set every other is compared with, in the same budget.

    Returns
    -------
    Series indexed by (fraction, budget, training_set, seed); the baseline's own rows are 0.
    """
    keys = ["fraction", "budget", "seed", "patch"]
    base = scores[scores["training_set"] == baseline].set_index(keys)[metric]
    missing = scores[["fraction", "budget", "seed"]].drop_duplicates().merge(
        base.reset_index()[["fraction", "budget", "seed"]].drop_duplicates(), how="left",
        indicator=True).query("_merge == 'left_only'")
    if len(missing):
        raise ValueError(f"no {baseline!r} scores to pair with for "
                         + ", ".join(f"fraction {r.fraction} budget {r.budget} seed {r.seed}"
                                     for r in missing.itertuples()))
    paired = scores.set_index(keys)
    difference = paired[metric] - base.reindex(paired.index).to_numpy()
    frame = paired.assign(difference=difference).reset_index()
    return frame.groupby(["fraction", "budget", "training_set", "seed"])["difference"].mean()


def summary(scores: pd.DataFrame, baseline: str = "real", level: float = LEVEL) -> pd.DataFrame:
    """Every training set's MAP and ARI and its MAP gain over ``baseline``, each with its
    interval over seeds: one row per fraction, training set and budget, columns
    :data:`COLUMNS` plus ``verdict`` (of the gain)."""
    rows = []
    maps, aris = per_seed(scores, "MAP"), per_seed(scores, "ARI")
    gain = gains(scores, baseline, "MAP")
    for (fraction, budget, training_set), seeds in maps.groupby(
            level=["fraction", "budget", "training_set"]):
        index = seeds.index
        m, a, g = interval(seeds, level), interval(aris[index], level), interval(gain[index], level)
        rows.append({"fraction": fraction, "training_set": training_set, "budget": budget,
                     "map_mean": m[0], "map_ci_low": m[1], "map_ci_high": m[2],
                     "ari_mean": a[0], "ari_ci_low": a[1], "ari_ci_high": a[2],
                     "gain_map": g[0], "gain_map_ci_low": g[1], "gain_map_ci_high": g[2],
                     "n_seeds": len(seeds),
                     "verdict": "baseline" if training_set == baseline else verdict(g[1], g[2])})
    return pd.DataFrame(rows, columns=COLUMNS + ["verdict"])
