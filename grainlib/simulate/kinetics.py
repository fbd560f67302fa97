"""Grain growth kinetics: how grain size grows with Monte Carlo time.

Normal grain growth coarsens as a power law: the mean grain radius grows as t^(1/2),
so the mean 3D grain volume grows as t^(3/2) and the mean 2D section area as t^1
(Burke & Turnbull 1952; for the Potts model, Anderson, Srolovitz, Grest & Sahni 1984).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from grainlib.core import grains


def mean_section_area(volume: np.ndarray, sections_per_axis: int = 4) -> float:
    """Mean 2D grain area (pixels) on sections of a volume.

    Takes ``sections_per_axis`` evenly spaced sections along each of the three axes; on
    each, the area is the section's size over its number of 4-connected grains (grains cut
    by the frame included, so no size bias).

    Parameters
    ----------
    volume : (Z, Y, X) integer grain ids.
    """
    areas = []
    for axis in range(3):
        size = volume.shape[axis]
        for index in np.linspace(0, size - 1, min(sections_per_axis, size)).astype(int):
            ids = grains.connected_grains(grains.section(volume, axis, index))
            areas.append(ids.size / ids.max())
    return float(np.mean(areas))


def growth_table(snapshots: Mapping[int, np.ndarray], sections_per_axis: int = 4) -> pd.DataFrame:
    """Grain statistics of each snapshot of a simulation.

    Parameters
    ----------
    snapshots : {MCS: (Z, Y, X) integer volume}.

    Returns
    -------
    DataFrame indexed by ``mcs`` with columns ``grains`` (3D grains, periodic),
    ``mean_volume`` (sites per 3D grain) and ``mean_section_area`` (pixels per 2D grain).
    """
    rows = []
    for mcs in sorted(snapshots):
        volume = snapshots[mcs]
        count = grains.grain_count_3d(volume)
        rows.append({"mcs": int(mcs), "grains": count, "mean_volume": volume.size / count,
                     "mean_section_area": mean_section_area(volume, sections_per_axis)})
    return pd.DataFrame(rows).set_index("mcs")


def power_law_fit(t, y, t_min: float = 0) -> tuple[float, float]:
    """Least-squares fit of y = a * t**n on log-log axes, using the points with t >= t_min.

    Returns
    -------
    (n, a) : the exponent and the prefactor.
    """
    t, y = np.asarray(t, float), np.asarray(y, float)
    keep = t >= t_min
    if keep.sum() < 2:
        raise ValueError(f"a power-law fit needs at least 2 points with t >= {t_min}, got {keep.sum()}")
    n, log_a = np.polyfit(np.log(t[keep]), np.log(y[keep]), 1)
    return float(n), float(np.exp(log_a))
