"""Appearance of micrographs: measurements that say how alike two image sources look.

Each measurement takes a stack of images and/or their grain-id maps, pooled over the
stack: grey-level histograms and the earth mover's distance between them, the share of
boundary pixels, grains per area, and how much darker the boundaries are than the grain
interiors. :func:`compare` puts them side by side for several sources. None of them sees
texture; :mod:`grainlib.score.realism` does.

Boundaries follow the project's one convention, :func:`grainlib.core.grains.boundaries`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from grainlib.core import grains

GREY_LEVELS = np.arange(256)


def _stack(array, name: str, integer=False) -> np.ndarray:
    """A (n, H, W) view of one (H, W) array or a stack, checked."""
    array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.size == 0:
        raise ValueError(f"{name} must be an (H, W) array or an (n, H, W) stack, "
                         f"got shape {array.shape}")
    if integer and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer grain ids, got dtype {array.dtype}")
    return array


def check_images(images) -> np.ndarray:
    """``images`` as an (n, H, W) uint8 stack (one (H, W) image becomes a stack of one);
    ValueError otherwise."""
    images = _stack(images, "images")
    if images.dtype != np.uint8:
        raise ValueError(f"images must be uint8 grey levels, got dtype {images.dtype}")
    return images


def check_pair(images, grain_ids):
    """``(images, grain_ids)`` as two (n, H, W) stacks of the same shape, uint8 grey
    levels and integer grain ids; ValueError otherwise."""
    images, grain_ids = check_images(images), _stack(grain_ids, "grain_ids", integer=True)
    if images.shape != grain_ids.shape:
        raise ValueError(f"images {images.shape} and grain_ids {grain_ids.shape} "
                         "must have the same shape")
    return images, grain_ids


def grey_histogram(images) -> np.ndarray:
    """Grey-level histogram of an image or a stack, as a density.

    Parameters
    ----------
    images : (H, W) or (n, H, W) uint8.

    Returns
    -------
    (256,) float64 array summing to 1: the share of pixels at each grey level.
    """
    images = check_images(images)
    counts = np.bincount(images.ravel(), minlength=256).astype(np.float64)
    return counts / counts.sum()


def histogram_distance(a_images, b_images) -> float:
    """Earth mover's distance between the grey-level histograms of two stacks.

    The first Wasserstein distance between the two grey-level distributions
    (:func:`scipy.stats.wasserstein_distance`), in grey levels: how far, on average, the
    grey values of one stack must move to give the histogram of the other.

    Parameters
    ----------
    a_images, b_images : (H, W) or (n, H, W) uint8; the shapes may differ.

    Returns
    -------
    float >= 0, 0 for identical histograms.
    """
    return float(wasserstein_distance(GREY_LEVELS, GREY_LEVELS,
                                      grey_histogram(a_images), grey_histogram(b_images)))


def _boundary_masks(grain_ids, width):
    return np.stack([grains.boundaries(g, width) for g in grain_ids])


def boundary_fraction(grain_ids, width: int = 2) -> float:
    """Share of pixels that are boundary pixels (:func:`grainlib.core.grains.boundaries`).

    Parameters
    ----------
    grain_ids : (H, W) or (n, H, W) integer grain ids.
    width : boundary width in pixels, as in :func:`grainlib.core.grains.boundaries`.

    Returns
    -------
    float in [0, 1], pooled over the stack.
    """
    grain_ids = _stack(grain_ids, "grain_ids", integer=True)
    return float(_boundary_masks(grain_ids, width).mean())


def grains_per_area(grain_ids, area: float = 100 * 100) -> float:
    """Number of 2D grains (4-connected regions of one id) per ``area`` pixels.

    Grains cut by the image frame count as whole grains, so small images give slightly
    more grains per area than large ones with the same grain size.

    Parameters
    ----------
    grain_ids : (H, W) or (n, H, W) integer grain ids.
    area : reference area in pixels (default 100 x 100).

    Returns
    -------
    float: total grain count over the stack / total pixels * ``area``.
    """
    grain_ids = _stack(grain_ids, "grain_ids", integer=True)
    if not area > 0:
        raise ValueError(f"area must be a positive number of pixels, got {area!r}")
    count = sum(int(grains.connected_grains(g).max()) for g in grain_ids)
    return count / grain_ids.size * area


def boundary_darkness(images, grain_ids, width: int = 2) -> float:
    """Contrast of the boundaries: how much darker boundary pixels are than grain interiors.

    ``(mean grey of interior pixels - mean grey of boundary pixels) / mean grey of
    interior pixels``, boundary pixels from :func:`grainlib.core.grains.boundaries` with
    ``width``, interior pixels all the others; pooled over the stack. 0: boundaries as
    bright as the grains; 1: black boundaries; negative: brighter boundaries.

    Parameters
    ----------
    images : (H, W) or (n, H, W) uint8.
    grain_ids : integer grain ids of the same shape.

    Returns
    -------
    float; NaN when there are no boundary or no interior pixels, or black interiors.
    """
    images, grain_ids = check_pair(images, grain_ids)
    on_boundary = _boundary_masks(grain_ids, width)
    if on_boundary.all() or not on_boundary.any():
        return float("nan")
    interior = images[~on_boundary].mean(dtype=np.float64)
    boundary = images[on_boundary].mean(dtype=np.float64)
    return float((interior - boundary) / interior) if interior > 0 else float("nan")


def compare(sources: Mapping[str, tuple], reference: str) -> pd.DataFrame:
    """Appearance measurements of several sources, side by side.

    Parameters
    ----------
    sources : name -> (images, grain_ids), each an (n, H, W) stack (or one (H, W) pair):
        uint8 images and integer grain ids of the same shape.
    reference : the name of the source the histogram distances are measured to.

    Returns
    -------
    pandas.DataFrame, one row per source (index: its name, in the given order), columns
    ``mean_grey``, ``histogram_distance`` (earth mover's distance to the reference, grey
    levels), ``boundary_darkness``, ``boundary_fraction`` (width 2) and
    ``grains_per_100x100``.
    """
    if reference not in sources:
        raise ValueError(f"reference '{reference}' is not one of the sources: "
                         + ", ".join(map(repr, sources)))
    checked = {}
    for name, pair in sources.items():
        try:
            images, grain_ids = pair
        except (TypeError, ValueError):
            raise ValueError(f"source '{name}' must be a pair (images, grain_ids)") from None
        checked[name] = check_pair(images, grain_ids)
    reference_images = checked[reference][0]
    rows = {
        name: {
            "mean_grey": float(images.mean(dtype=np.float64)),
            "histogram_distance": histogram_distance(images, reference_images),
            "boundary_darkness": boundary_darkness(images, grain_ids),
            "boundary_fraction": boundary_fraction(grain_ids),
            "grains_per_100x100": grains_per_area(grain_ids),
        }
        for name, (images, grain_ids) in checked.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")
