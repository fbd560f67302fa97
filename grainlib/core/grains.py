"""Grain maps: boundaries drawn from grain ids, sections of a volume, grain statistics,
grain cores (markers for watersheds) and the colours grains are drawn in.

The boundary convention, shared by every data source (real, simulated, synthetic):
a pixel is a boundary pixel when one of its 4-neighbours belongs to another grain.
Both sides of an interface are marked, so a straight boundary is 2 pixels wide
(``width=2``, the default). ``width=1`` marks only the pixel on the upper/left side of
each interface; larger widths dilate the 1-pixel line with a ``width x width`` square.
Either way the grains that remain are separated under 4-connectivity.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components
from skimage.measure import label as _connected
from skimage.morphology import h_maxima


def check_labels(labels: np.ndarray, ndim: int, name="labels") -> np.ndarray:
    """``labels`` as an array, checked to be ``ndim``-D integer grain ids (ValueError
    naming ``name`` otherwise)."""
    labels = np.asarray(labels)
    if labels.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}D grain-id array, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{name} must hold integer grain ids, got dtype {labels.dtype}")
    return labels


def boundaries(labels: np.ndarray, width: int = 2) -> np.ndarray:
    """Boundary map of a 2D grain-id map.

    Parameters
    ----------
    labels : (H, W) integer array of grain ids.
    width : boundary width in pixels (see the module docstring): 1, 2 (default) or more.

    Returns
    -------
    (H, W) bool array, True on boundary pixels. The image frame is not marked.
    """
    labels = check_labels(labels, 2)
    if width < 1:
        raise ValueError(f"width must be >= 1 pixel, got {width}")
    right = labels[:, :-1] != labels[:, 1:]
    down = labels[:-1, :] != labels[1:, :]
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= right
    edge[:-1, :] |= down
    if width == 1:
        return edge
    if width == 2:
        edge[:, 1:] |= right
        edge[1:, :] |= down
        return edge
    return ndimage.binary_dilation(edge, np.ones((width, width), bool))


def section(volume: np.ndarray, axis: int, index: int) -> np.ndarray:
    """The 2D section ``index`` of a 3D grain-id volume, perpendicular to ``axis``.

    Returns a (copy of a) 2D array of the same dtype.
    """
    volume = check_labels(volume, 3, "volume")
    if not 0 <= index < volume.shape[axis]:
        raise IndexError(f"section {index} out of range for axis {axis} of size {volume.shape[axis]}")
    return np.ascontiguousarray(np.take(volume, index, axis=axis))


def _regions(labels: np.ndarray, connectivity: int = 1) -> np.ndarray:
    """Connected regions of equal id, numbered 1..N (connectivity as in skimage)."""
    labels = labels.astype(np.int64) if labels.min() == np.iinfo(labels.dtype).min else labels
    return _connected(labels, background=labels.min() - 1, connectivity=connectivity)


def connected_grains(labels: np.ndarray) -> np.ndarray:
    """Relabel a 2D grain-id map so each 4-connected region of one id is its own grain.

    A 3D grain may cut a section in several pieces; each piece is a grain in 2D.
    Returns an int32 (H, W) map with ids 1..N.
    """
    return _regions(check_labels(labels, 2)).astype(np.int32)


def _touching_frame(labels: np.ndarray) -> np.ndarray:
    return np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))


def grain_areas(labels: np.ndarray, exclude_frame: bool = True) -> np.ndarray:
    """Area in pixels of each 2D grain (4-connected region of one id).

    Parameters
    ----------
    labels : (H, W) integer grain ids.
    exclude_frame : leave out grains that touch the image frame (their area is cut).

    Returns
    -------
    (N,) int64 array of areas, one per grain.
    """
    grains = connected_grains(labels)
    areas = np.bincount(grains.ravel())
    keep = areas > 0
    keep[0] = False
    if exclude_frame:
        keep[_touching_frame(grains)] = False
    return areas[keep]


def edge_counts(labels: np.ndarray, exclude_frame: bool = True) -> np.ndarray:
    """Number of edges of each 2D grain: how many distinct grains it touches (4-adjacency).

    Returns an (N,) int64 array, one per grain, in the same grain order as
    :func:`grain_areas`.
    """
    grains = connected_grains(labels)
    n = grains.max() + 1
    pairs = np.concatenate([
        np.stack([grains[:, :-1].ravel(), grains[:, 1:].ravel()]),
        np.stack([grains[:-1, :].ravel(), grains[1:, :].ravel()]),
    ], axis=1)
    pairs = pairs[:, pairs[0] != pairs[1]]
    adjacency = sparse.coo_matrix((np.ones(pairs.shape[1], bool), (pairs[0], pairs[1])), (n, n))
    adjacency = ((adjacency + adjacency.T) > 0).tocsr()
    counts = np.diff(adjacency.indptr).astype(np.int64)
    keep = np.bincount(grains.ravel(), minlength=n) > 0
    keep[0] = False
    if exclude_frame:
        keep[_touching_frame(grains)] = False
    return counts[keep]


def grains_3d(volume: np.ndarray, periodic: bool = True, connectivity: int = 3) -> np.ndarray:
    """Label the 3D grains of a volume: connected regions of one id.

    ``connectivity=3`` (default) joins sites that share a face, an edge or a corner: the
    26 neighbours through which Potts sites interact, so a grain is what the Potts model
    treats as one. ``connectivity=1`` joins through faces only. With ``periodic=True`` the
    volume wraps around in every direction (as the Potts lattice does), so a grain cut by
    the box faces is one grain.

    Parameters
    ----------
    volume : (Z, Y, X) integer grain ids.

    Returns
    -------
    (Z, Y, X) int32 array of grain numbers 0..N-1.
    """
    volume = check_labels(volume, 3, "volume")
    if not periodic:
        return (_regions(volume, connectivity) - 1).astype(np.int32)
    # Label a copy padded by one wrapped layer: each padded site is a twin of an interior
    # site, so joining every piece with the piece of its twin closes the periodic box.
    pieces = _regions(np.pad(volume, 1, mode="wrap"), connectivity)     # 1..P
    twins = np.pad(pieces[1:-1, 1:-1, 1:-1], 1, mode="wrap")
    differ = pieces != twins
    n = int(pieces.max()) + 1
    graph = sparse.coo_matrix((np.ones(int(differ.sum()), bool),
                               (pieces[differ], twins[differ])), (n, n))
    n_grains, grain_of_piece = connected_components(graph, directed=False)
    inner = pieces[1:-1, 1:-1, 1:-1]
    inside = np.zeros(n_grains, bool)           # number only the grains seen inside the box
    inside[grain_of_piece[np.bincount(inner.ravel(), minlength=n) > 0]] = True
    numbering = (np.cumsum(inside) - 1).astype(np.int32)
    return numbering[grain_of_piece][inner]


def grain_count_3d(volume: np.ndarray, periodic: bool = True, connectivity: int = 3) -> int:
    """Number of 3D grains in a volume (see :func:`grains_3d`)."""
    return int(grains_3d(volume, periodic, connectivity).max()) + 1


def mean_grain_volume(volume: np.ndarray, periodic: bool = True, connectivity: int = 3) -> float:
    """Mean 3D grain volume in sites: volume size / grain count."""
    return volume.size / grain_count_3d(volume, periodic, connectivity)


def grain_table(grain_ids: np.ndarray):
    """One row per grain of a 2D grain-id map: its size, place and whether it is cut.

    Each id is one grain, as given (a grain in several pieces stays one; see
    :func:`connected_grains`); id 0 is no grain and is left out.

    Parameters
    ----------
    grain_ids : (H, W) non-negative integer array of grain ids.

    Returns
    -------
    pandas.DataFrame, one row per id present, by increasing id, with columns

    - ``grain`` (int64): the id;
    - ``area_px`` (int64): area in pixels;
    - ``equivalent_diameter_px`` (float64): diameter of the disc of that area,
      sqrt(4 area / pi);
    - ``centroid_row``, ``centroid_col`` (float64): centre of mass, in pixels;
    - ``touches_frame`` (bool): the grain reaches the image frame, so the image cuts it
      and its area is smaller than the grain's.

    Examples
    --------
    >>> grain_table(np.array([[1, 1, 2], [1, 1, 2]]))[["grain", "area_px", "touches_frame"]]
       grain  area_px  touches_frame
    0      1        4           True
    1      2        2           True
    """
    import pandas as pd
    from skimage.measure import regionprops_table

    grain_ids = check_labels(grain_ids, 2, "grain_ids")
    if grain_ids.size and grain_ids.min() < 0:
        raise ValueError(f"grain_ids must be >= 0 (0: no grain), found {grain_ids.min()}")
    props = regionprops_table(grain_ids, properties=("label", "area", "centroid", "bbox"))
    height, width = grain_ids.shape
    area = props["area"].astype(np.int64)
    return pd.DataFrame({
        "grain": props["label"].astype(np.int64),
        "area_px": area,
        "equivalent_diameter_px": np.sqrt(4.0 * area / np.pi),
        "centroid_row": props["centroid-0"].astype(np.float64),
        "centroid_col": props["centroid-1"].astype(np.float64),
        "touches_frame": (props["bbox-0"] == 0) | (props["bbox-1"] == 0)
                         | (props["bbox-2"] == height) | (props["bbox-3"] == width),
    })


def cores(free: np.ndarray, marker_depth: float) -> np.ndarray:
    """Grain cores: one marker per region that stands out from the boundary lines.

    Parameters
    ----------
    free : (H, W) bool, True away from boundary lines.
    marker_depth : h of the h-maxima of the distance to the nearest line, in pixels
        (0: every connected component of ``free`` is one marker).

    Returns
    -------
    (H, W) int32 marker labels, 0 outside the cores.
    """
    free = np.ascontiguousarray(free, dtype=np.uint8)
    if marker_depth > 0:
        distance = cv2.distanceTransform(free, cv2.DIST_L2, 5)
        free = h_maxima(distance, marker_depth).astype(np.uint8)
    _, markers = cv2.connectedComponents(free, connectivity=8, ltype=cv2.CV_32S)
    return markers


def grain_colours(labels: np.ndarray, seed: int = 7) -> np.ndarray:
    """A pastel RGB colour per grain id, stable across sections of the same volume.

    Parameters
    ----------
    labels : (H, W) integer grain ids.

    Returns
    -------
    (H, W, 3) uint8 RGB image.
    """
    palette = np.random.default_rng(seed).integers(70, 256, size=(4099, 3), dtype=np.uint8)
    return palette[np.asarray(labels) % len(palette)]
