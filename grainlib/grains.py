"""Grain maps: boundaries drawn from grain ids, sections of a volume, grain statistics.

The boundary convention, shared by every data source (real, simulated, synthetic):
a pixel is a boundary pixel when one of its 4-neighbours belongs to another grain.
Both sides of an interface are marked, so a straight boundary is 2 pixels wide
(``width=2``, the default). ``width=1`` marks only the pixel on the upper/left side of
each interface; larger widths dilate the 1-pixel line with a ``width x width`` square.
Either way the grains that remain are separated under 4-connectivity.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components
from skimage.measure import label as _connected


def _check_labels(labels: np.ndarray, ndim: int, name="labels") -> np.ndarray:
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
    labels = _check_labels(labels, 2)
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
    volume = _check_labels(volume, 3, "volume")
    if not 0 <= index < volume.shape[axis]:
        raise IndexError(f"section {index} out of range for axis {axis} of size {volume.shape[axis]}")
    return np.ascontiguousarray(np.take(volume, index, axis=axis))


def _regions(labels: np.ndarray) -> np.ndarray:
    """Connected regions (4- or 6-connectivity) of equal id, numbered 1..N."""
    labels = labels.astype(np.int64) if labels.min() == np.iinfo(labels.dtype).min else labels
    return _connected(labels, background=labels.min() - 1, connectivity=1)


def connected_grains(labels: np.ndarray) -> np.ndarray:
    """Relabel a 2D grain-id map so each 4-connected region of one id is its own grain.

    A 3D grain may cut a section in several pieces; each piece is a grain in 2D.
    Returns an int32 (H, W) map with ids 1..N.
    """
    return _regions(_check_labels(labels, 2)).astype(np.int32)


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


def grains_3d(volume: np.ndarray, periodic: bool = True) -> np.ndarray:
    """Label the 3D grains of a volume: 6-connected regions of one id.

    With ``periodic=True`` the volume wraps around in every direction (as the Potts
    lattice does), so a grain cut by the box faces is one grain.

    Parameters
    ----------
    volume : (Z, Y, X) integer grain ids.

    Returns
    -------
    (Z, Y, X) int32 array of grain numbers 0..N-1.
    """
    volume = _check_labels(volume, 3, "volume")
    pieces = _regions(volume)  # 1..P
    n = int(pieces.max()) + 1
    rows, cols = [], []
    if periodic:
        for axis in range(3):
            first = np.take(volume, 0, axis), np.take(pieces, 0, axis)
            last = np.take(volume, -1, axis), np.take(pieces, -1, axis)
            same = first[0] == last[0]
            rows.append(first[1][same])
            cols.append(last[1][same])
    rows = np.concatenate(rows) if rows else np.zeros(0, int)
    cols = np.concatenate(cols) if cols else np.zeros(0, int)
    graph = sparse.coo_matrix((np.ones(rows.size, bool), (rows, cols)), (n, n))
    _, grain_of_piece = connected_components(graph, directed=False)
    # piece 0 does not occur: number the grains of pieces 1..P densely from 0
    used, dense = np.unique(grain_of_piece[1:], return_inverse=True)
    renumber = np.concatenate([[0], dense]).astype(np.int32)
    return renumber[pieces]


def grain_count_3d(volume: np.ndarray, periodic: bool = True) -> int:
    """Number of 3D grains in a volume (see :func:`grains_3d`)."""
    return int(grains_3d(volume, periodic).max()) + 1


def mean_grain_volume(volume: np.ndarray, periodic: bool = True) -> float:
    """Mean 3D grain volume in sites: volume size / grain count."""
    return volume.size / grain_count_3d(volume, periodic)
