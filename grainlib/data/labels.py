"""Label images of any kind as grain ids: boundary maps (either polarity), grain-id maps
and colour-coded grain maps, told apart from the image itself.

Every reader of :mod:`grainlib.data.sources` and :mod:`grainlib.data.public` turns the
labels it finds into int32 grain ids here; boundary maps are drawn from the grain ids later,
with the one convention of :func:`grainlib.core.grains.boundaries`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.measure import label as connected_components
from skimage.segmentation import expand_labels

# A class of a two-valued label map counts as thin lines when a 3 x 3 erosion leaves at
# most this fraction of its pixels (lines up to 3 px wide leave <= 1/3) ...
_THIN_SURVIVORS = 0.34
# ... and a grain-id map is refused as "not a label" when the median 4-connected region
# of one value is smaller than this many pixels (a grey image has regions of 1-2 px).
_MIN_MEDIAN_REGION = 8


class SourceError(ValueError):
    """Input data that cannot be read as micrographs with labels."""


def _colour_codes(label: np.ndarray) -> np.ndarray:
    """An (H, W, C) colour-coded label as one integer code per pixel."""
    _, codes = np.unique(label.reshape(-1, label.shape[-1]), axis=0, return_inverse=True)
    return codes.reshape(label.shape[:2]).astype(np.int64)


def grains_from_colours(rgb: np.ndarray, path="label") -> np.ndarray:
    """Grain ids from a colour-coded grain map: the 4-connected regions of each colour.

    Two grains that happen to share a colour but do not touch (under 4-connectivity)
    get two ids; ids are numbered 1..N in scan order (row by row).

    Parameters
    ----------
    rgb : (H, W, 3) or (H, W, 4) uint8, one colour per grain (alpha ignored).
    path : name of the file, for error messages.

    Returns
    -------
    (H, W) int32 grain ids 1..N.
    """
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] not in (3, 4) or rgb.dtype != np.uint8:
        raise SourceError(f"{path}: expected an (H, W, 3) uint8 colour-coded grain map, "
                          f"got {rgb.dtype} {rgb.shape}")
    channels = rgb[..., :3].astype(np.int64)
    # one integer per colour, + 1 so that black is not taken for background
    codes = (channels[..., 0] << 16 | channels[..., 1] << 8 | channels[..., 2]) + 1
    return connected_components(codes, background=0, connectivity=1).astype(np.int32)


def _survivors(mask: np.ndarray) -> float:
    """Fraction of a mask's pixels left by a 3 x 3 erosion (the frame does not erode)."""
    total = int(mask.sum())
    if total == 0:
        return 0.0
    eroded = ndimage.binary_erosion(mask, np.ones((3, 3), bool), border_value=1)
    return float(eroded.sum()) / total


def boundary_value(label: np.ndarray, path="label") -> int:
    """Which of the two values of a boundary map marks the boundaries.

    The boundary class is the minority class that forms thin lines: a 3 x 3 erosion
    removes (nearly) all of it, while the grains survive it.

    Parameters
    ----------
    label : (H, W) array with exactly two distinct values.
    path : name of the file, for error messages.

    Returns
    -------
    int : the value of the boundary pixels.

    Raises
    ------
    SourceError when neither value, or both, look like thin boundary lines.
    """
    values = np.unique(label)
    if values.size != 2:
        raise SourceError(f"{path}: a boundary map has two values, found {values.size}")
    masks = [label == v for v in values]
    survive = [_survivors(m) for m in masks]
    thin = int(np.argmin(survive))
    thick = 1 - thin
    share = float(masks[thin].mean())
    if survive[thin] > _THIN_SURVIVORS or survive[thick] < 2 * survive[thin] or share >= 0.5:
        raise SourceError(
            f"{path}: ambiguous boundary map: neither value forms thin lines of a minority "
            f"class (value {values[0]}: {masks[0].mean():.1%} of pixels, "
            f"{survive[0]:.0%} survive a 3x3 erosion; value {values[1]}: "
            f"{masks[1].mean():.1%}, {survive[1]:.0%}); expected boundary lines at most "
            f"3 px wide between grains")
    return int(values[thin])


def grains_from_boundary(boundary: np.ndarray) -> np.ndarray:
    """Grain ids from a boundary map.

    Grains are the 4-connected components of the non-boundary pixels; each boundary
    pixel then joins the nearest grain (:func:`skimage.segmentation.expand_labels`).

    Parameters
    ----------
    boundary : (H, W) bool, True on boundary pixels.

    Returns
    -------
    (H, W) int32 grain ids 1..N, no pixel left unassigned.
    """
    boundary = np.asarray(boundary, bool)
    if boundary.all():
        raise SourceError("boundary map has no grain pixels")
    cores = connected_components(~boundary, connectivity=1)
    return expand_labels(cores, distance=max(boundary.shape)).astype(np.int32)


def label_to_grain_ids(label: np.ndarray, path="label") -> tuple[np.ndarray, str]:
    """Grain ids from a label image of unknown kind, and the kind found.

    Kinds: a *boundary map* (two values, 0/1 or 0/max, either polarity; converted with
    :func:`grains_from_boundary`), a *grain-id map* (integer ids, kept as they are; a
    zero value that forms thin lines is taken as unlabelled boundary pixels and filled
    from the neighbouring grains), or a colour-coded grain map (RGB, one colour a grain).

    Parameters
    ----------
    label : (H, W) integer array, or (H, W, 3|4) colour-coded.
    path : name of the file, for error messages.

    Returns
    -------
    grain_ids : (H, W) int32.
    kind : "boundary", "grain ids" or "colour grains".
    """
    label = np.asarray(label)
    kind = "grain ids"
    if label.ndim == 3 and label.shape[-1] in (3, 4):
        label, kind = _colour_codes(label), "colour grains"
    if label.ndim != 2:
        raise SourceError(f"{path}: expected a 2D label map, got shape {label.shape}")
    if np.issubdtype(label.dtype, np.floating):
        if not np.all(np.isfinite(label)) or not np.all(label == np.round(label)):
            raise SourceError(f"{path}: label values are not integers; expected a boundary "
                              f"map or grain ids")
        label = label.astype(np.int64)
    elif not np.issubdtype(label.dtype, np.integer) and label.dtype != bool:
        raise SourceError(f"{path}: unsupported label dtype {label.dtype}")
    values = np.unique(label)
    if values.size < 2:
        raise SourceError(f"{path}: the label holds a single value ({values[0]}); expected "
                          f"a boundary map (two values) or grain ids (many values)")
    if values.size == 2 and kind == "colour grains":
        label = (label == values[1]).astype(np.uint8)
        values = np.array([0, 1])
    top = np.iinfo(label.dtype).max if np.issubdtype(label.dtype, np.integer) else 1
    if values.size == 2 and values[0] == 0 and values[1] in (1, 255, top):
        boundary = label == boundary_value(label, path)
        return grains_from_boundary(boundary), "boundary"
    if values[0] < 0:
        raise SourceError(f"{path}: negative label values ({values[0]}); expected a boundary "
                          f"map (0/1 or 0/255) or non-negative grain ids")
    if values[-1] > np.iinfo(np.int32).max:
        raise SourceError(f"{path}: grain ids up to {values[-1]} do not fit int32")
    # value 0 left out: it may be unlabelled boundary lines, broken up under 4-connectivity
    regions = connected_components(label.astype(np.int64), background=0, connectivity=1)
    sizes = np.bincount(regions.ravel())[1:]
    median_region = float(np.median(sizes)) if sizes.size else 0.0
    if median_region < _MIN_MEDIAN_REGION:
        raise SourceError(
            f"{path}: neither a boundary map nor grain ids: {values.size} values whose "
            f"regions have a median size of {median_region:.0f} px (a grey image?); "
            f"expected two values 0/1 or 0/255 (boundaries) or integer grain ids")
    ids = label.astype(np.int32)
    if values[0] == 0 and _survivors(ids == 0) <= _THIN_SURVIVORS and (ids == 0).mean() < 0.5:
        # 0 drawn as thin lines between grains: unlabelled boundary pixels
        ids = expand_labels(ids, distance=max(ids.shape)).astype(np.int32)
    return ids, kind
