"""Realism that sees texture: measures of how real a stack of micrographs looks.

Blurred label maps have the grey levels and boundary contrast of micrographs but none of
their texture; the measures of :mod:`grainlib.score.appearance` cannot tell them apart.
These can (docs/method.md section 4, "Realism that sees texture"):

- :func:`high_frequency_share`: the share of spectral power above 1/8 cycles per pixel;
- :func:`core_sd`: the grey-level SD in 5 x 5 windows inside grain cores;
- :func:`boundary_darkness_stats`: the distribution of boundary darkness over boundary
  segments (median, coefficient of variation, share of faint segments);
- :func:`speck_density`: dark specks inside grain cores per 10,000 core pixels;
- :func:`two_sample_auc`: a classifier telling the patches of two sets apart
  (:func:`patch_features`), as cross-validated ROC AUC: 0.5, indistinguishable.

:func:`realism` puts them in one table, one row per image set, beside the *floor*: the
reference set split by image into two disjoint halves, measured against each other.

Grain cores (:func:`core_mask`) are the pixels at least ``depth`` px (Euclidean) from any
boundary pixel (:func:`grainlib.core.grains.boundaries`, width 2) and from outside the
image; with the default depth 3, every 5 x 5 window centred on a core pixel lies inside
one grain.
"""

from __future__ import annotations

from typing import Mapping

import cv2
import numpy as np
import pandas as pd
from scipy import ndimage
from skimage.filters import window as spectral_window
from skimage.measure import label as connected_components
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from grainlib.core import grains
from grainlib.score.appearance import check_images, check_pair, histogram_distance

CUTOFF = 1 / 8
"""Radial frequency (cycles per pixel) above which spectral power counts as high."""
DEPTH = 3
"""Default depth of grain cores: distance (px) from the nearest boundary pixel."""
FAINT = 0.25
"""A boundary segment is faint when its darkness is below this share of the median."""

FEATURES = ("mean_grey", "sd_grey", "grey_q05", "grey_q25", "grey_q50", "grey_q75",
            "grey_q95", "high_frequency_share", "core_sd", "boundary_darkness_median",
            "specks_per_10k", "gradient_mean", "gradient_q90")
"""Columns of :func:`patch_features`, in order."""

COLUMNS = ("n_images", "n_patches", "high_frequency_share", "core_sd",
           "boundary_darkness_median", "boundary_darkness_cv", "faint_boundary_share",
           "specks_per_10k", "histogram_distance", "auc_vs_reference")
"""Columns of :func:`realism`'s table, in order."""

FLOOR = "floor"
"""Index of :func:`realism`'s floor row."""


def high_frequency_share(images, cutoff: float = CUTOFF) -> float:
    """Share of spectral power above ``cutoff`` cycles per pixel, averaged over images.

    Per image: the mean is removed, a Hann window applied (so the jump between opposite
    edges of the frame adds no power), and the power spectrum taken (numpy FFT); the share
    is the power at radial frequency > ``cutoff`` over the power at every non-zero
    frequency. White noise gives the share of the frequency plane above the cutoff,
    about 1 - pi / 64 = 0.95 at 1/8; a smooth image gives nearly 0.

    Parameters
    ----------
    images : (H, W) or (n, H, W) uint8.
    cutoff : radial frequency in cycles per pixel, in (0, 0.5 * sqrt(2)).

    Returns
    -------
    float in [0, 1]: the mean over images; images of one grey level are left out (NaN if
    all are).
    """
    return float(_nanmean(_high_frequency_shares(check_images(images), cutoff)))


def _high_frequency_shares(images, cutoff):
    """(n,) share per image of a checked stack (NaN for a flat image)."""
    height, width = images.shape[1:]
    x = images.astype(np.float64)
    x -= x.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(x * spectral_window("hann", (height, width)))) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(height), np.fft.fftfreq(width),
                                   indexing="ij"))
    total, high = power[:, radius > 0].sum(axis=1), power[:, radius > cutoff].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 1e-9 * height * width, high / total, np.nan)


def core_mask(grain_ids, depth: float = DEPTH) -> np.ndarray:
    """Grain cores: pixels at least ``depth`` px from any boundary pixel and the outside.

    Boundary pixels as in :func:`grainlib.core.grains.boundaries` (width 2); distances
    exact Euclidean (OpenCV's distance transform, as in :func:`grainlib.core.grains.cores`;
    the same as :func:`scipy.ndimage.distance_transform_edt`), a pixel on the image frame
    being 1 px from the outside.

    Parameters
    ----------
    grain_ids : (H, W) or (n, H, W) integer grain ids.
    depth : in pixels; 3 keeps every 5 x 5 window around a core pixel inside one grain.

    Returns
    -------
    bool array of the shape of ``grain_ids``.
    """
    ids = np.asarray(grain_ids)
    stack = grains.check_labels(ids[None] if ids.ndim == 2 else ids, 3, "grain_ids")
    cores = np.stack([_core(g, depth) for g in stack])
    return cores if ids.ndim == 3 else cores[0]


def _core(grain_ids, depth):
    free = np.pad(~grains.boundaries(grain_ids), 1).astype(np.uint8)
    distance = cv2.distanceTransform(free, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance[1:-1, 1:-1] >= depth


def core_sd(images, grain_ids, window: int = 5, depth: float = DEPTH) -> float:
    """Grey-level SD in ``window`` x ``window`` windows, averaged over grain-core pixels.

    The SD of each window (population SD, from :func:`scipy.ndimage.uniform_filter` of the
    image and its square) centred on a core pixel (:func:`core_mask`), averaged over the
    core pixels of the stack: the texture inside grains, free of boundaries.

    Parameters
    ----------
    images : (H, W) or (n, H, W) uint8.
    grain_ids : integer grain ids of the same shape.
    window : odd window side in pixels.
    depth : core depth in pixels (:func:`core_mask`).

    Returns
    -------
    float >= 0 in grey levels; NaN when there are no core pixels.
    """
    images, grain_ids = check_pair(images, grain_ids)
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd number of pixels, got {window}")
    sd, cores = _window_sd(images, window), core_mask(grain_ids, depth)
    return float(sd[cores].mean()) if cores.any() else float("nan")


def _window_sd(images, window):
    x = images.astype(np.float64)
    size = (1, window, window)
    mean = ndimage.uniform_filter(x, size, mode="reflect")
    square = ndimage.uniform_filter(x * x, size, mode="reflect")
    return np.sqrt(np.clip(square - mean * mean, 0, None))


def segment_darkness(image, grain_ids, depth: float = DEPTH,
                     min_pixels: int = 6) -> np.ndarray:
    """Darkness of each boundary segment of one image.

    A segment is the boundary between two grains: the pixels of either grain that touch
    the other (4-neighbours; the two-pixel band of :func:`grainlib.core.grains.boundaries`).
    Its darkness is ``(interior - segment) / interior``: ``segment`` the mean grey of its
    pixels, ``interior`` the mean of the two grains' core grey means (:func:`core_mask`;
    one grain's when the other has no core). 0: as bright as the grains; 1: black.

    Parameters
    ----------
    image : (H, W) uint8.
    grain_ids : (H, W) integer grain ids.
    depth : core depth in pixels.
    min_pixels : segments with fewer boundary pixels are left out (too short to say).

    Returns
    -------
    (S,) float64 darkness of each segment that has enough pixels and a core beside it.
    """
    if np.ndim(image) != 2:
        raise ValueError(f"image must be one (H, W) image, got shape {np.shape(image)}")
    image, grain_ids = (a[0] for a in check_pair(image, grain_ids))
    return _segment_darkness(_Grains(image, grain_ids, depth), min_pixels)


class _Grains:
    """One image with its grains numbered 0..N-1 and its core mask."""

    def __init__(self, image, grain_ids, depth):
        ids, grain = np.unique(grain_ids, return_inverse=True)
        self.image, self.x, self.n = image, image.astype(np.float64), len(ids)
        self.grain = grain.reshape(grain_ids.shape)
        self.cores = _core(grain_ids, depth)


def _segment_darkness(g, min_pixels):
    cores, grain, x = g.cores, g.grain, g.x
    count = np.bincount(grain[cores], minlength=g.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        core_mean = np.bincount(grain[cores], x[cores], minlength=g.n) / count
    flat = np.arange(grain.size).reshape(grain.shape)
    first, second = [], []
    for a, b in [(flat[:, :-1], flat[:, 1:]), (flat[:-1, :], flat[1:, :])]:
        differ = grain.flat[a] != grain.flat[b]
        first.append(a[differ])
        second.append(b[differ])
    first, second = np.concatenate(first), np.concatenate(second)
    if first.size == 0:
        return np.empty(0)
    low = np.minimum(grain.flat[first], grain.flat[second])
    high = np.maximum(grain.flat[first], grain.flat[second])
    pairs, pair = np.unique(low * g.n + high, return_inverse=True)
    key = np.unique(np.r_[pair, pair] * grain.size + np.r_[first, second])
    pair, pixel = key // grain.size, key % grain.size
    pixels = np.bincount(pair, minlength=len(pairs))
    segment = np.bincount(pair, x.flat[pixel], minlength=len(pairs)) / np.maximum(pixels, 1)
    sides = np.stack([core_mean[pairs // g.n], core_mean[pairs % g.n]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        interior = np.where(np.isnan(sides), 0, sides).sum(1) / (~np.isnan(sides)).sum(1)
        darkness = (interior - segment) / interior
    keep = (pixels >= min_pixels) & np.isfinite(darkness)
    return darkness[keep]


def boundary_darkness_stats(images, grain_ids, faint: float = FAINT,
                            depth: float = DEPTH, min_pixels: int = 6) -> dict:
    """The distribution of boundary darkness over the boundary segments of a stack.

    Parameters
    ----------
    images : (H, W) or (n, H, W) uint8.
    grain_ids : integer grain ids of the same shape.
    faint : a segment is faint when its darkness is below ``faint`` x the median.
    depth, min_pixels : as in :func:`segment_darkness`.

    Returns
    -------
    dict: ``median`` darkness of the segments (:func:`segment_darkness`), ``cv`` their
    coefficient of variation (SD / mean; 0 when every boundary is equally dark; NaN when
    the mean is <= 0), ``faint_share`` the share of faint segments (NaN when the median
    is <= 0), floats, NaN without segments; and ``segments``, their number.
    """
    images, grain_ids = check_pair(images, grain_ids)
    darkness = np.concatenate([_segment_darkness(_Grains(x, g, depth), min_pixels)
                               for x, g in zip(images, grain_ids)])
    return _darkness_summary(darkness, faint)


def _darkness_summary(darkness, faint):
    if darkness.size == 0:
        return {"median": np.nan, "cv": np.nan, "faint_share": np.nan, "segments": 0}
    median, mean = float(np.median(darkness)), float(darkness.mean())
    return {"median": median,
            "cv": float(darkness.std() / mean) if mean > 0 else np.nan,
            "faint_share": float((darkness < faint * median).mean()) if median > 0 else np.nan,
            "segments": int(darkness.size)}


def speck_density(images, grain_ids, contrast: float = 30, min_size: int = 3,
                  depth: float = DEPTH, per: float = 10_000) -> float:
    """Dark specks inside grain cores per ``per`` core pixels.

    A speck is an 8-connected blob of at least ``min_size`` core pixels (:func:`core_mask`)
    each darker by more than ``contrast`` grey levels than the median of its grain's core.

    Parameters
    ----------
    images : (H, W) or (n, H, W) uint8.
    grain_ids : integer grain ids of the same shape.
    contrast : grey levels below the grain's core median.
    min_size : smallest speck in pixels (single dark pixels are noise).
    depth : core depth in pixels.
    per : the area the count is given per, in core pixels.

    Returns
    -------
    float >= 0, pooled over the stack; NaN when there are no core pixels.
    """
    images, grain_ids = check_pair(images, grain_ids)
    counts = [_specks(_Grains(x, g, depth), contrast, min_size)
              for x, g in zip(images, grain_ids)]
    specks, core_pixels = np.sum(counts, axis=0)
    return float(specks / core_pixels * per) if core_pixels else float("nan")


def _specks(g, contrast, min_size):
    """(number of specks, number of core pixels) of one image."""
    if not g.cores.any():
        return 0, 0
    # the median grey of each grain's core, from its histogram
    counts = np.bincount(g.grain[g.cores] * 256 + g.image[g.cores], minlength=g.n * 256)
    below = counts.reshape(g.n, 256).cumsum(axis=1)
    median = (2 * below < below[:, -1:]).sum(axis=1)
    dark = g.cores & (g.x < median[g.grain] - contrast)
    sizes = np.bincount(connected_components(dark, connectivity=2).ravel())[1:]
    return int((sizes >= min_size).sum()), int(g.cores.sum())


def patch_features(images, grain_ids) -> np.ndarray:
    """Features of each patch for :func:`two_sample_auc` (names in :data:`FEATURES`).

    Grey mean, SD and quantiles (5, 25, 50, 75, 95 %); :func:`high_frequency_share`,
    :func:`core_sd`, the median of :func:`segment_darkness`, :func:`speck_density` (all
    with their defaults); the mean and 90th percentile of the Sobel gradient magnitude.

    Parameters
    ----------
    images : (n, H, W) uint8 patches (or one (H, W) patch).
    grain_ids : integer grain ids of the same shape.

    Returns
    -------
    (n, len(FEATURES)) float64; NaN where a patch has no core pixels or no segments.
    """
    images, grain_ids = check_pair(images, grain_ids)
    return _features(images, _partials(images, grain_ids))


def _features(images, part):
    """:func:`patch_features` of a checked stack, from its :func:`_partials`."""
    x = images.reshape(len(images), -1).astype(np.float64)
    gradient = np.hypot(ndimage.sobel(images.astype(np.float64), axis=1),
                        ndimage.sobel(images.astype(np.float64), axis=2))
    gradient = gradient.reshape(len(images), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        grain_measures = [part["sd_sum"] / part["core_pixels"],
                          [np.median(d) if d.size else np.nan for d in part["darkness"]],
                          part["specks"] / part["core_pixels"] * 10_000]
    return np.column_stack([
        x.mean(axis=1), x.std(axis=1), np.percentile(x, [5, 25, 50, 75, 95], axis=1).T,
        part["high_frequency_share"], *grain_measures,
        gradient.mean(axis=1), np.percentile(gradient, 90, axis=1)])


def _subset(part, keep):
    """The :func:`_partials` of the images ``keep`` (bool or indices) selects."""
    keep = np.arange(len(part["sd_sum"]))[keep]
    return {key: [value[k] for k in keep] if key == "darkness" else value[keep]
            for key, value in part.items()}


def _partials(images, grain_ids) -> dict:
    """The measures' parts (default settings) per image: (n,) ``high_frequency_share``,
    ``sd_sum`` (window SD summed over the core), ``core_pixels``, ``specks``; and
    ``darkness``, a list of n arrays of segment darkness."""
    sd = _window_sd(images, 5)
    sd_sum, core_pixels, specks, darkness = [], [], [], []
    for k in range(len(images)):
        g = _Grains(images[k], grain_ids[k], DEPTH)
        sd_sum.append(sd[k][g.cores].sum())
        darkness.append(_segment_darkness(g, 6))
        count, pixels = _specks(g, 30, 3)
        specks.append(count)
        core_pixels.append(pixels)
    return {"high_frequency_share": _high_frequency_shares(images, CUTOFF),
            "sd_sum": np.array(sd_sum, np.float64),
            "core_pixels": np.array(core_pixels, np.float64),
            "specks": np.array(specks, np.float64), "darkness": darkness}


def two_sample_auc(a_features, b_features, a_groups=None, b_groups=None,
                   folds: int = 5, seed: int = 0) -> float:
    """Cross-validated ROC AUC of a classifier telling the rows of ``a`` from those of ``b``.

    A logistic regression (scikit-learn; on the standardised features and their squares,
    so a difference in spread counts as well as one in mean; balanced class weights;
    missing features replaced by the training folds' median) is trained on ``folds`` - 1
    folds and scores the held-out fold; the ROC AUC of all out-of-fold scores (``b`` the
    positive class) says how well the two samples can be told apart: 0.5, not at all
    (values a little below 0.5 happen by chance); 1, always. The folds split by group
    (:class:`sklearn.model_selection.StratifiedGroupKFold`), so patches of one image are
    never on both sides of a split.

    Parameters
    ----------
    a_features, b_features : (n_a, F) and (n_b, F) float features (:func:`patch_features`).
    a_groups, b_groups : (n_a,) and (n_b,) integer group (image) of each row; default,
        every row its own group. The groups of ``a`` and ``b`` are kept apart.
    folds : number of folds, at most the number of groups on either side.
    seed : seeds the fold split.

    Returns
    -------
    float in [0, 1].
    """
    a, b = (np.asarray(f, np.float64) for f in (a_features, b_features))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"features must be two (n, F) arrays of the same F, "
                         f"got shapes {a.shape} and {b.shape}")
    a_groups = np.arange(len(a)) if a_groups is None else np.asarray(a_groups)
    b_groups = np.arange(len(b)) if b_groups is None else np.asarray(b_groups)
    if a_groups.shape != (len(a),) or b_groups.shape != (len(b),):
        raise ValueError("groups must give one group per row of the features")
    sides = min(len(np.unique(a_groups)), len(np.unique(b_groups)))
    if sides < 2:
        raise ValueError(f"each sample needs at least 2 groups (images), got {sides}")
    x = np.concatenate([a, b])
    y = np.r_[np.zeros(len(a), int), np.ones(len(b), int)]
    a_groups, b_groups = (np.unique(g, return_inverse=True)[1] for g in (a_groups, b_groups))
    groups = np.r_[a_groups, a_groups.max() + 1 + b_groups]
    scores = np.empty(len(y))
    split = StratifiedGroupKFold(n_splits=min(folds, sides), shuffle=True, random_state=seed)
    with threadpool_limits(1):  # small problems: BLAS threads only wait on each other
        for train, test in split.split(x, y, groups):
            model = _classifier().fit(x[train], y[train])
            scores[test] = model.decision_function(x[test])
    return float(roc_auc_score(y, scores))


def _classifier():
    return make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler(),
        FunctionTransformer(_with_squares),
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))


def _with_squares(z):
    return np.hstack([z, z * z])


def _nanmean(values):
    return values[np.isfinite(values)].mean() if np.isfinite(values).any() else np.nan


def realism(sets: Mapping[str, tuple], reference: str, *, patch: int = 128,
            max_patches: int = 400, floor_split: float = 0.5, folds: int = 5,
            seed: int = 0) -> pd.DataFrame:
    """Texture measures of several image sets, side by side, beside the real-real floor.

    Each set is measured on its whole images; the two-sample test cuts them into
    non-overlapping ``patch`` x ``patch`` patches (the smallest image side if smaller), at
    most ``max_patches`` per set (a seeded random choice), and tells each set's patches
    from the reference's (:func:`two_sample_auc`, folds split by image).

    The ``floor`` row is what two disjoint real sets give: the reference's images are
    split at random into two halves (``floor_split`` of them in half A), never patches of
    one image on both sides; the row holds the measures of half A, and its
    ``histogram_distance`` and ``auc_vs_reference`` are between half A and half B. A
    synthetic set is as real as the measures can see when its row is as far from the
    reference as the floor row is.

    Parameters
    ----------
    sets : name -> ``(images, grain_ids)`` or ``(images, grain_ids, image_index)``:
        (n, H, W) uint8 images, integer grain ids of the same shape and, for patches cut
        from larger images, the (n,) integer index of the image each comes from (the unit
        the floor and the folds split by; default, each image its own). The sizes of the
        images may differ between sets.
    reference : the name of the real set the others are compared to.
    patch : side of the patches of the two-sample test, in pixels.
    max_patches : most patches per set in the two-sample test.
    floor_split : share of the reference's images in half A of the floor.
    folds : cross-validation folds of the two-sample test.
    seed : seeds the patch choice, the floor split and the folds; the same inputs
        and seed give the same table.

    Returns
    -------
    pandas.DataFrame, one row per set (index: its name, in the given order) and the row
    ``"floor"``, with the columns of :data:`COLUMNS`: ``n_images``, ``n_patches`` (in the
    two-sample test), :func:`high_frequency_share`, :func:`core_sd`,
    ``boundary_darkness_median``, ``boundary_darkness_cv``, ``faint_boundary_share``
    (:func:`boundary_darkness_stats`), ``specks_per_10k`` (:func:`speck_density`),
    ``histogram_distance`` (:func:`grainlib.score.appearance.histogram_distance` to the
    reference, grey levels) and ``auc_vs_reference`` (:func:`two_sample_auc`, 0.5:
    indistinguishable; NaN for the reference itself, and where a side has fewer than 2
    images). The floor row is NaN where the reference has fewer than 2 images.
    """
    if reference not in sets:
        raise ValueError(f"reference '{reference}' is not one of the sets: "
                         + ", ".join(map(repr, sets)))
    if not 0 < floor_split < 1:
        raise ValueError(f"floor_split must be a share in (0, 1), got {floor_split!r}")
    checked = {name: _checked_set(name, value) for name, value in sets.items()}
    side = min(patch, *(min(images.shape[1:]) for images, _, _ in checked.values()))
    if side < 2 * DEPTH + 1:
        raise ValueError(f"patches must be at least {2 * DEPTH + 1} px, got {side}")
    parts = {name: _partials(images, grain_ids)
             for name, (images, grain_ids, _) in checked.items()}
    samples = {name: _patch_sample(*checked[name], parts[name], side, max_patches, seed)
               for name in checked}
    ref_images, ref_features, ref_patch_groups = checked[reference][0], *samples[reference]
    rows = {}
    for name, (images, grain_ids, groups) in checked.items():
        features, patch_groups = samples[name]
        auc = np.nan if name == reference else _auc(
            ref_features, features, ref_patch_groups, patch_groups, folds, seed)
        rows[name] = _row(parts[name], images, groups, ref_images, len(features), auc)
    rows[FLOOR] = _floor(checked[reference], parts[reference], samples[reference],
                         floor_split, folds, seed)
    return pd.DataFrame.from_dict(rows, orient="index")[list(COLUMNS)]


def floor_halves(image_index, floor_split: float = 0.5, seed: int = 0) -> np.ndarray:
    """Split a set in two halves by image, for the real-real floor.

    Parameters
    ----------
    image_index : (n,) integer image of each image or patch.
    floor_split : share of the distinct images in half A (rounded, at least one image
        on each side).
    seed : seeds the random choice of images.

    Returns
    -------
    (n,) bool, True in half A; every patch of an image is on the same side.
    """
    image_index = np.asarray(image_index)
    names = np.unique(image_index)
    if len(names) < 2:
        raise ValueError(f"a floor needs at least 2 images, got {len(names)}")
    order = np.random.default_rng(seed).permutation(names)
    cut = int(np.clip(round(len(names) * floor_split), 1, len(names) - 1))
    return np.isin(image_index, order[:cut])


def _checked_set(name, value):
    """(images, grain_ids, image_index) of one set, checked."""
    if not isinstance(value, (tuple, list)) or len(value) not in (2, 3):
        raise ValueError(f"set '{name}' must be (images, grain_ids) or "
                         "(images, grain_ids, image_index)")
    images, grain_ids = check_pair(value[0], value[1])
    groups = np.arange(len(images)) if len(value) == 2 else np.asarray(value[2])
    if groups.shape != (len(images),) or not np.issubdtype(groups.dtype, np.integer):
        raise ValueError(f"set '{name}': image_index must be {len(images)} integers, "
                         f"got shape {groups.shape} and dtype {groups.dtype}")
    return images, grain_ids, groups


def _patch_sample(images, grain_ids, groups, part, side, max_patches, seed):
    """(features, group of each patch) of at most ``max_patches`` grid patches; ``part``
    the :func:`_partials` of the images, reused when the patches are the images."""
    rows, cols = images.shape[1] // side, images.shape[2] // side

    def tiles(stack):
        cut = stack[:, :rows * side, :cols * side]
        cut = cut.reshape(len(stack), rows, side, cols, side).swapaxes(2, 3)
        return cut.reshape(-1, side, side)

    patch_groups = np.repeat(groups, rows * cols)
    chosen = np.arange(len(patch_groups))
    if len(chosen) > max_patches:
        chosen = np.sort(np.random.default_rng(seed).choice(len(chosen), max_patches,
                                                            replace=False))
    if images.shape[1:] == (side, side):
        return _features(images[chosen], _subset(part, chosen)), patch_groups[chosen]
    return patch_features(tiles(images)[chosen], tiles(grain_ids)[chosen]), patch_groups[chosen]


def _auc(a_features, b_features, a_groups, b_groups, folds, seed):
    if min(len(np.unique(a_groups)), len(np.unique(b_groups))) < 2:
        return np.nan
    return two_sample_auc(a_features, b_features, a_groups, b_groups, folds, seed)


def _row(part, images, groups, other_images, n_patches, auc):
    darkness = _darkness_summary(np.concatenate(part["darkness"]), FAINT)
    core_pixels = part["core_pixels"].sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        sd, specks = (part["sd_sum"].sum() / core_pixels,
                      part["specks"].sum() / core_pixels * 10_000)
    return {"n_images": len(np.unique(groups)), "n_patches": n_patches,
            "high_frequency_share": _nanmean(part["high_frequency_share"]),
            "core_sd": sd, "boundary_darkness_median": darkness["median"],
            "boundary_darkness_cv": darkness["cv"],
            "faint_boundary_share": darkness["faint_share"], "specks_per_10k": specks,
            "histogram_distance": histogram_distance(images, other_images),
            "auc_vs_reference": auc}


def _floor(reference, part, sample, floor_split, folds, seed):
    """The floor row: half A of the reference's images against half B."""
    images, _, groups = reference
    if len(np.unique(groups)) < 2:
        return dict.fromkeys(COLUMNS, np.nan)
    in_a = floor_halves(groups, floor_split, seed)
    features, patch_groups = sample
    patch_a = np.isin(patch_groups, groups[in_a])
    auc = _auc(features[~patch_a], features[patch_a], patch_groups[~patch_a],
               patch_groups[patch_a], folds, seed)
    return _row(_subset(part, in_a), images[in_a], groups[in_a], images[~in_a],
                int(patch_a.sum()), auc)
