"""Grain size of boundary maps made elsewhere (``python -m grainlib grainsize``): ASTM
E112 from image files, one row per file.

A boundary map is an image with two values, 0/1 or 0/255 in either polarity (another
program's white boundaries on black, or black on white): the boundary value is the one
that forms thin lines between the grains (:func:`grainlib.data.labels.boundary_value`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from grainlib.data.labels import SourceError, boundary_value
from grainlib.score import grainsize


def read_boundary_map(path) -> np.ndarray:
    """An image file of two values as an (H, W) bool boundary map, True on boundaries.

    Raises
    ------
    FileNotFoundError for a missing file; SourceError naming the file for an image that
    cannot be read or is not a two-valued boundary map.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "boundary map not found", str(path))
    try:
        with Image.open(path) as image:
            values = np.asarray(image.convert("L") if image.mode in ("RGB", "RGBA", "P")
                                else image)
    except (UnidentifiedImageError, OSError) as err:
        raise SourceError(f"{path}: not a readable image ({err})") from None
    if values.ndim != 2:
        raise SourceError(f"{path}: expected a grey boundary map, got shape {values.shape}")
    levels = np.unique(values)
    if levels.size == 1:
        raise SourceError(f"{path}: a single value ({levels[0]}): no boundaries, so no grain "
                          f"size; expected boundaries as 0/1 or 0/255")
    if levels.size != 2:
        raise SourceError(f"{path}: {levels.size} grey levels; a boundary map has two "
                          f"(0/1 or 0/255, either polarity)")
    return values == boundary_value(values, str(path))


def measure_files(paths, pixel_size: float | None = None) -> pd.DataFrame:
    """One row per boundary map: ``image`` (the file name), ``height``, ``width`` and the
    columns of :func:`grainlib.score.grainsize.summary` (micrometres, grains per mm^2 and
    G with ``pixel_size`` in micrometres per pixel; pixels and no G without it)."""
    rows = []
    for path in paths:
        boundary = read_boundary_map(path)
        try:
            size = grainsize.summary(boundary, pixel_size)
        except ValueError as err:
            raise SourceError(f"{path}: {err}") from None
        rows.append({"image": Path(path).name, "height": boundary.shape[0],
                     "width": boundary.shape[1], **size})
    return pd.DataFrame(rows)
