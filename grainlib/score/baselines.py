"""Classical grain-boundary detectors: the baselines of the paper's Table 3.

Four methods, each ``method(image, **params) -> boundary`` with ``image`` an (H, W)
uint8 micrograph (grains bright, boundaries dark, as in etched iron) and ``boundary`` an
(H, W) bool map in the project's convention (:func:`grainlib.core.grains.boundaries` of a
grain-id map, width 2: grains are separated under 4-connectivity):

- :func:`otsu`: Otsu's global threshold of the background-flattened image;
- :func:`canny`: Canny edges of the darkness map, their double lines fused by a closing;
- :func:`watershed`: marker-controlled watershed of the boundary darkness;
- :func:`kmeans`: k-means clustering of pixel grey levels, the darkest cluster as boundary.

Plain textbook versions of these methods find the dark specks inside grains and leave
gaps in faint boundaries, which ruins instance scores; so every method shares the same
documented pre- and post-processing:

1. *denoise* with an edge-preserving bilateral filter (``cv2.bilateralFilter``);
2. *flatten the background* with a morphological black-hat (closing minus image,
   ``cv2.morphologyEx``): dark lines narrower than ``background_size`` stay, uneven
   illumination goes; the result is the "darkness" of each pixel, 0 on clean grain;
3. (OTSU, Canny, K-Means) *thin the candidate boundary mask*: remove connected
   fragments smaller than ``min_fragment`` pixels (specks, pits), bridge gaps with a
   closing of radius ``close_radius``, thin to 1-pixel lines
   (``skimage.morphology.skeletonize``), the mask continued beyond the image frame so
   that lines keep reaching it (:func:`mask_to_lines`);
4. *close the contours* (:func:`lines_to_boundaries`): the detected lines are usually
   broken, so their enclosed regions are not taken as they are; instead one marker per
   grain core (h-maxima of the distance to the lines, :func:`grains.cores`) seeds a watershed
   of the darkness: the detector decides which grains exist, the darkness ridge where
   their contours run, gaps included; dangling spurs that split no core vanish. (The
   Watershed method takes its cores from Otsu's threshold of the darkness instead.)
5. *merge weak splits* (:func:`merge_weak`): neighbours whose shared boundary has a mean
   darkness below ``merge_below`` are merged (region adjacency graph,
   ``skimage.graph.rag_boundary`` / ``merge_hierarchical``);
6. *redraw* (:func:`grains_to_boundaries`): grains smaller than ``min_grain`` pixels are
   dropped and every pixel is given to its nearest kept grain
   (``skimage.segmentation.expand_labels``); the boundary map is drawn from these grains
   with :func:`grainlib.core.grains.boundaries` (width 2).

Default parameters were chosen with :func:`tune` (coordinate-wise grid search, MAP) on
the eight 400 x 400 tiles of the iron serial sections 001-002 only; Table 3 is reported
on the twelve tiles of sections 003-005 (see ``tests/test_baselines.py``). The five
sections are consecutive slices of one specimen, about 1.8 um apart, so the held-out
tiles are correlated with the training tiles and not independent samples.

References: N. Otsu, IEEE Trans. SMC 9, 62 (1979); J. Canny, IEEE TPAMI 8, 679 (1986);
S. Beucher and F. Meyer, "The morphological approach to segmentation: the watershed
transformation" (1993); S. Lloyd, IEEE Trans. Inf. Theory 28, 129 (1982).
"""

from __future__ import annotations

import functools
import itertools
import time
from typing import Callable, Mapping, Sequence

import cv2
import numpy as np
import pandas as pd
from skimage.feature import canny as _canny
from skimage.filters import apply_hysteresis_threshold
from skimage.graph import merge_hierarchical, rag_boundary
from skimage.morphology import skeletonize
from skimage.segmentation import expand_labels
from skimage.segmentation import watershed as _watershed
from sklearn.cluster import KMeans

from grainlib.core import grains
from grainlib.score import metrics

# --- shared steps -------------------------------------------------------------------

def _check_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"image must be a 2D (H, W) greyscale micrograph, got shape "
                         f"{image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be 8-bit (dtype uint8), got dtype {image.dtype}")
    if min(image.shape) < 3:
        raise ValueError(f"image is too small to segment: shape {image.shape}")
    return image


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def darkness(image, smooth: int = 5, background_size: int = 15) -> np.ndarray:
    """How much darker each pixel is than its local background (steps 1-2 above).

    Parameters
    ----------
    image : (H, W) uint8 micrograph.
    smooth : diameter in pixels of the bilateral filter (0 or 1: no denoising).
    background_size : diameter of the black-hat's disk; lines thinner than this are kept.

    Returns
    -------
    (H, W) uint8 array, 0 on clean grain, large on dark lines.
    """
    image = _check_image(image)
    if smooth > 1:
        image = cv2.bilateralFilter(image, smooth, 30, smooth)
    return cv2.morphologyEx(image, cv2.MORPH_BLACKHAT, _disk(background_size // 2))


def grains_to_boundaries(labels: np.ndarray, min_grain: int = 0) -> np.ndarray:
    """Drop grains below ``min_grain`` pixels, fill, redraw boundaries (step 6 above).

    Parameters
    ----------
    labels : (H, W) integer map, 0 where no grain is assigned yet, grains > 0.
    min_grain : grains with fewer pixels are dropped (their pixels go to neighbours).

    Returns
    -------
    (H, W) bool boundary map, width 2 (:func:`grainlib.core.grains.boundaries`).
    """
    labels = np.asarray(labels)
    if min_grain > 0:
        sizes = np.bincount(labels.ravel())
        labels = np.where(sizes[labels] < min_grain, 0, labels)
    if labels.max() == 0:  # nothing found: one grain, no boundary
        return np.zeros(labels.shape, bool)
    filled = expand_labels(labels, distance=max(labels.shape))
    return grains.boundaries(filled.astype(np.int32), width=2)


def mask_to_lines(mask: np.ndarray, min_fragment: int = 30,
                  close_radius: int = 1) -> np.ndarray:
    """Step 3 above: a rough boundary mask -> thin boundary lines.

    Parameters
    ----------
    mask : (H, W) bool candidate boundary pixels.
    min_fragment : 8-connected fragments of the mask with fewer pixels are removed.
    close_radius : radius of the disk closing that bridges gaps (0: none).

    Returns
    -------
    (H, W) bool map of 1-pixel lines (8-connected), which may be open.
    """
    mask = np.ascontiguousarray(mask, dtype=bool)
    if min_fragment > 1:
        _, fragments, stats, _ = cv2.connectedComponentsWithStats(
            mask.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
        mask = (stats[:, cv2.CC_STAT_AREA] >= min_fragment)[fragments] & mask
    # Lines running into the image frame must still reach it after thinning, or the two
    # grains they separate join around the retracted line end: continue the mask
    # outwards (edge replication) before closing and thinning, and crop afterwards.
    margin = close_radius + 8
    mask = np.pad(mask, margin, mode="edge")
    if close_radius > 0:
        mask = cv2.morphologyEx(mask.view(np.uint8), cv2.MORPH_CLOSE,
                                _disk(close_radius)).astype(bool)
    return np.ascontiguousarray(skeletonize(mask)[margin:-margin, margin:-margin])


def _merge_boundary(graph, src, dst):
    pass  # node data are not used: the edge weights carry everything (_weight_boundary)


def _weight_boundary(graph, src, dst, n):
    # the merged region's boundary with n: pixel-count-weighted mean of both boundaries
    total, count = 0.0, 0
    for node in (src, dst):
        if graph.has_edge(node, n):
            edge = graph[node][n]
            total += edge["weight"] * edge["count"]
            count += edge["count"]
    return {"weight": total / count, "count": count}


def merge_weak(labels: np.ndarray, dark: np.ndarray, merge_below: float) -> np.ndarray:
    """Merge neighbouring grains whose shared boundary is faint (step 5 above).

    A region adjacency graph (``skimage.graph.rag_boundary``) weighs each pair of
    touching grains by the mean darkness along their shared boundary (darkness dilated
    by a 3 x 3 maximum, so that a boundary drawn one pixel off its dark line still
    counts as dark); the faintest pair is merged while its weight is below
    ``merge_below`` (``skimage.graph.merge_hierarchical``, weights updated as
    pixel-weighted means).

    Parameters
    ----------
    labels : (H, W) int grain labels (> 0 everywhere).
    dark : (H, W) uint8 darkness map (:func:`darkness`).
    merge_below : darkness threshold in grey levels (<= 0: no merging).

    Returns
    -------
    (H, W) int labels.
    """
    if merge_below <= 0 or labels.max() < 2:
        return labels
    edge_map = cv2.dilate(dark, np.ones((3, 3), np.uint8)).astype(np.float64)
    graph = rag_boundary(labels, edge_map)
    merged = merge_hierarchical(labels, graph, thresh=merge_below, rag_copy=False,
                                in_place_merge=True, merge_func=_merge_boundary,
                                weight_func=_weight_boundary)
    return merged + 1  # merge_hierarchical numbers from 0, which means "unassigned" here


def lines_to_boundaries(lines: np.ndarray, dark: np.ndarray, marker_depth: float = 3.0,
                        merge_below: float = 0.0, min_grain: int = 100) -> np.ndarray:
    """Steps 4-6 above: possibly open lines -> closed grains -> boundary map.

    Cores (:func:`grains.cores`) are the h-maxima of the distance to the lines, so one grain
    gets one marker even where a spur pokes into it or its outline has a gap; a
    watershed (``skimage.segmentation.watershed``) of the darkness floods from them, so
    contours run along the dark ridges, across gaps too. Faintly bounded neighbours are
    then merged (:func:`merge_weak`) and small grains dropped
    (:func:`grains_to_boundaries`).

    Parameters
    ----------
    lines : (H, W) bool boundary lines (may be open).
    dark : (H, W) uint8 darkness map (:func:`darkness`).
    marker_depth, merge_below, min_grain : see :func:`grains.cores`, :func:`merge_weak`,
        :func:`grains_to_boundaries`.

    Returns
    -------
    (H, W) bool boundary map, width 2.
    """
    free = ~np.asarray(lines, dtype=bool)
    markers = grains.cores(free, marker_depth)
    if markers.max() < 2:
        return np.zeros(free.shape, bool)
    labels = _watershed(dark, markers)
    labels = merge_weak(labels, dark, merge_below)
    return grains_to_boundaries(labels, min_grain)


# --- the four methods ---------------------------------------------------------------

def otsu(image, smooth: int = 9, background_size: int = 35, low_ratio: float = 0.4,
         min_fragment: int = 30, close_radius: int = 2, marker_depth: float = 3.0,
         merge_below: float = 20.0, min_grain: int = 50) -> np.ndarray:
    """Boundaries by Otsu's threshold of the darkness map, extended by hysteresis.

    Pipeline: :func:`darkness` (bilateral denoising, black-hat background flattening);
    Otsu's global threshold T (``cv2.THRESH_OTSU``) marks the surely dark pixels; faint
    boundary stretches above ``low_ratio * T`` are kept where they connect to those
    (``skimage.filters.apply_hysteresis_threshold``), isolated faint specks are not; the
    mask is thinned (:func:`mask_to_lines`) and closed into grains
    (:func:`lines_to_boundaries`).

    Parameters
    ----------
    image : (H, W) uint8 micrograph.
    smooth, background_size : see :func:`darkness`.
    low_ratio : low hysteresis threshold as a fraction of Otsu's threshold (1: plain Otsu).
    min_fragment, close_radius : see :func:`mask_to_lines`.
    marker_depth, merge_below, min_grain : see :func:`lines_to_boundaries`.

    Returns
    -------
    (H, W) bool boundary map, width 2.
    """
    dark = darkness(image, smooth, background_size)
    high, _ = cv2.threshold(dark, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = apply_hysteresis_threshold(dark, low_ratio * high, high)
    lines = mask_to_lines(mask, min_fragment, close_radius)
    return lines_to_boundaries(lines, dark, marker_depth, merge_below, min_grain)


def canny(image, smooth: int = 5, background_size: int = 35, sigma: float = 0.5,
          low: float = 0.8, high: float = 0.9, min_fragment: int = 15,
          close_radius: int = 1, marker_depth: float = 4.0, merge_below: float = 30.0,
          min_grain: int = 50) -> np.ndarray:
    """Boundaries from Canny edges of the darkness map.

    Pipeline: :func:`darkness` (so that uneven illumination and grain-to-grain contrast
    give no edges); Canny (``skimage.feature.canny``: Gaussian smoothing ``sigma``,
    non-maximum suppression, hysteresis) with thresholds given as quantiles of the
    gradient magnitude, so one setting fits images of any contrast; a dark line gives
    two parallel edges, which the closing of radius ``close_radius`` fuses into one band
    before :func:`mask_to_lines` thins it; :func:`lines_to_boundaries` closes the gaps.

    Parameters
    ----------
    image : (H, W) uint8 micrograph.
    smooth, background_size : see :func:`darkness`.
    sigma : standard deviation in pixels of Canny's Gaussian smoothing.
    low, high : hysteresis thresholds, quantiles of the gradient magnitude
        (0 <= low <= high <= 1).
    min_fragment, close_radius : see :func:`mask_to_lines`.
    marker_depth, merge_below, min_grain : see :func:`lines_to_boundaries`.

    Returns
    -------
    (H, W) bool boundary map, width 2.
    """
    image = _check_image(image)
    if not 0 <= low <= high <= 1:
        raise ValueError(f"canny thresholds are quantiles and must satisfy "
                         f"0 <= low <= high <= 1, got low={low}, high={high}")
    dark = darkness(image, smooth, background_size)
    edges = _canny(dark.astype(np.float64), sigma, low, high, use_quantiles=True)
    lines = mask_to_lines(edges, min_fragment, close_radius)
    return lines_to_boundaries(lines, dark, marker_depth, merge_below, min_grain)


def watershed(image, smooth: int = 9, background_size: int = 25, marker_depth: float = 3.0,
              merge_below: float = 20.0, min_grain: int = 50) -> np.ndarray:
    """Boundaries as the lines of a marker-controlled watershed.

    Pipeline: :func:`darkness` is the relief (boundaries are ridges). Markers are the
    grain cores: the pixels below Otsu's threshold of the darkness, reduced to the
    regional maxima of their distance to the nearest dark pixel that stand out by more
    than ``marker_depth`` pixels (:func:`grains.cores`), so one grain gets one marker even when
    a speck sits in it. ``skimage.segmentation.watershed`` floods the relief from the
    markers; faintly bounded neighbours are merged (:func:`merge_weak`) and grains below
    ``min_grain`` pixels merged away (:func:`grains_to_boundaries`).

    Parameters
    ----------
    image : (H, W) uint8 micrograph.
    smooth, background_size : see :func:`darkness`.
    marker_depth : see :func:`grains.cores`.
    merge_below : see :func:`merge_weak`.
    min_grain : see :func:`grains_to_boundaries`.

    Returns
    -------
    (H, W) bool boundary map, width 2.
    """
    dark = darkness(image, smooth, background_size)
    _, clean = cv2.threshold(dark, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    labels = _watershed(dark, grains.cores(clean > 0, marker_depth))
    labels = merge_weak(labels, dark, merge_below)
    return grains_to_boundaries(labels, min_grain)


def kmeans(image, n_clusters: int = 4, smooth: int = 5, background_size: int = 35,
           min_fragment: int = 60, close_radius: int = 1, marker_depth: float = 4.0,
           merge_below: float = 30.0, min_grain: int = 50, sample: int = 20000,
           seed: int = 0) -> np.ndarray:
    """Boundaries from k-means clusters of the darkness.

    Pipeline: :func:`darkness`; k-means (``sklearn.cluster.KMeans``, k-means++ start,
    fixed ``seed``) on the darkness of ``sample`` pixels drawn at random; every pixel
    goes to its nearest centre. The darkest cluster is surely boundary; pixels of the
    intermediate clusters (neither the darkest nor the cleanest) count as boundary where
    they connect to it (hysteresis, ``skimage.filters.apply_hysteresis_threshold``). The
    mask is thinned (:func:`mask_to_lines`) and closed into grains
    (:func:`lines_to_boundaries`).

    Parameters
    ----------
    image : (H, W) uint8 micrograph.
    n_clusters : number of grey-level clusters k (>= 2; 2 means no hysteresis).
    smooth, background_size : see :func:`darkness`.
    min_fragment, close_radius : see :func:`mask_to_lines`.
    marker_depth, merge_below, min_grain : see :func:`lines_to_boundaries`.
    sample : how many pixels the clustering is fitted on (all if the image is smaller).
    seed : seed of the pixel sample and of k-means++.

    Returns
    -------
    (H, W) bool boundary map, width 2.
    """
    if n_clusters < 2:
        raise ValueError(f"kmeans needs n_clusters >= 2, got {n_clusters}")
    dark = darkness(image, smooth, background_size)
    values = dark.reshape(-1, 1).astype(np.float64)
    rng = np.random.default_rng(seed)
    if values.shape[0] > sample:
        values = values[rng.choice(values.shape[0], sample, replace=False)]
    n_levels = min(n_clusters, np.unique(values).size)
    if n_levels < 2:  # a flat darkness map: nothing to cluster, no boundary
        return np.zeros(dark.shape, bool)
    model = KMeans(n_levels, n_init=1, random_state=seed).fit(values)
    # nearest centre in 1D = between the midpoints of consecutive sorted centres
    centres = np.sort(model.cluster_centers_[:, 0])
    cuts = (centres[1:] + centres[:-1]) / 2
    mask = apply_hysteresis_threshold(dark, cuts[0], cuts[-1])
    lines = mask_to_lines(mask, min_fragment, close_radius)
    return lines_to_boundaries(lines, dark, marker_depth, merge_below, min_grain)


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "OTSU": otsu, "Canny": canny, "Watershed": watershed, "K-Means": kmeans,
}
"""The four baselines by their names in the paper's Table 3."""

CONFIG_KEYS = {"OTSU": "otsu", "Canny": "canny", "Watershed": "watershed",
               "K-Means": "kmeans"}
"""Table 3 name -> section of the profile's ``baselines`` holding its parameters."""

PAPER_TABLE3 = {"OTSU": (0.198, 0.204), "Canny": (0.464, 0.276),
                "Watershed": (0.263, 0.646), "K-Means": (0.198, 0.204)}
"""The paper's Table 3 (MAP, ARI) on its 136 real iron micrographs, for comparison only."""


def configured(cfg: Mapping) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The four methods with the parameters of a profile (``config.load(...)``).

    Returns a dict Table 3 name -> function ``image -> boundary map``.
    """
    section = cfg.get("baselines", {})
    return {name: functools.partial(METHODS[name], **section.get(key, {}))
            for name, key in CONFIG_KEYS.items()}


def score_methods(methods: Mapping[str, Callable[[np.ndarray], np.ndarray]],
                  images: Sequence[np.ndarray], truths: Sequence[np.ndarray]) -> pd.DataFrame:
    """Score each method on labelled micrographs: a Table 3-style table.

    Parameters
    ----------
    methods : name -> function ``(H, W) uint8 image -> (H, W) bool boundary map``
        (:data:`METHODS` or :func:`configured`).
    images : sequence of (H, W) uint8 micrographs.
    truths : their (H, W) true boundary maps.

    Returns
    -------
    pandas DataFrame indexed by method name: mean ``MAP`` and ``ARI`` of
    :func:`grainlib.score.metrics.evaluate`, the mean numbers of ``grains found`` and
    ``grains true``, and ``s / image`` (mean wall time of the method per image), with the
    paper's values beside ours in ``paper MAP`` and ``paper ARI`` for the four
    Table 3 names.
    """
    if len(images) == 0 or len(images) != len(truths):
        raise ValueError(f"score_methods needs as many truths as images (at least one), "
                         f"got {len(images)} images and {len(truths)} truths")
    rows = {}
    for name, method in methods.items():
        start = time.perf_counter()
        preds = [method(image) for image in images]
        seconds = (time.perf_counter() - start) / len(images)
        _, means = metrics.evaluate(preds, truths)
        paper = PAPER_TABLE3.get(name, (np.nan, np.nan))
        rows[name] = {"MAP": means["map"], "ARI": means["ari"],
                      "paper MAP": paper[0], "paper ARI": paper[1],
                      "grains found": means["grains_found"],
                      "grains true": means["grains_true"], "s / image": seconds}
    return pd.DataFrame.from_dict(rows, orient="index")


def tile(array: np.ndarray, size: int = 400) -> list[np.ndarray]:
    """Cut an (H, W) array into non-overlapping ``size`` x ``size`` tiles, row by row.

    Rows and columns that do not fill a whole tile are left out. Returns a list of
    (size, size) views.
    """
    array = np.asarray(array)
    if array.ndim != 2 or min(array.shape) < size:
        raise ValueError(f"cannot cut {size} x {size} tiles from an array of shape {array.shape}")
    return [array[r:r + size, c:c + size]
            for r in range(0, array.shape[0] - size + 1, size)
            for c in range(0, array.shape[1] - size + 1, size)]


def labelled_tiles(images: np.ndarray, grain_ids: np.ndarray, size: int = 400,
                   boundary_width: int = 2) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Cut labelled micrographs into the tiles Table 3 is scored on.

    Parameters
    ----------
    images : (N, H, W) uint8 micrographs.
    grain_ids : (N, H, W) int grain-id maps (e.g. from :func:`grainlib.data.sources.read_folder`).
    size : tile edge in pixels (the paper's 400).
    boundary_width : width of the true boundaries, see :func:`grainlib.core.grains.boundaries`.

    Returns
    -------
    image_tiles, boundary_tiles : lists of (size, size) uint8 and bool arrays, image by
    image and within an image row by row (:func:`tile`).
    """
    if np.shape(images) != np.shape(grain_ids):
        raise ValueError(f"images and grain_ids must have the same shape, got "
                         f"{np.shape(images)} and {np.shape(grain_ids)}")
    image_tiles, boundary_tiles = [], []
    for image, ids in zip(images, grain_ids):
        image_tiles += tile(image, size)
        boundary_tiles += tile(grains.boundaries(ids, width=boundary_width), size)
    return image_tiles, boundary_tiles


def tune(method: Callable[..., np.ndarray], images: Sequence[np.ndarray],
         truths: Sequence[np.ndarray], grid: Mapping[str, Sequence],
         score: str = "map", fixed: Mapping | None = None) -> tuple[dict, pd.DataFrame]:
    """Grid search of a method's parameters on training images.

    Parameters
    ----------
    method : one of :data:`METHODS` (or any ``image, **params -> boundary map``).
    images : sequence of (H, W) uint8 training micrographs.
    truths : their (H, W) true boundary maps.
    grid : parameter name -> values to try; every combination is run.
    score : the column of :func:`grainlib.score.metrics.evaluate`'s means to maximise
        (``"map"`` or ``"ari"``); ties go to the first combination in grid order.
    fixed : parameters passed unchanged to every run.

    Returns
    -------
    best : dict, the winning combination (grid keys only).
    results : pandas DataFrame, one row per combination: its parameters and the mean
        ``map``, ``ari``, ``vi_split``, ``vi_merge``, ``grains_found``, ``grains_true``.
    """
    if len(images) == 0 or len(images) != len(truths):
        raise ValueError(f"tune needs as many truths as images (at least one), got "
                         f"{len(images)} images and {len(truths)} truths")
    if not grid:
        raise ValueError("tune needs a non-empty grid of parameter values")
    names = list(grid)
    rows, combinations = [], []
    for values in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, values))
        combinations.append(params)
        preds = [method(image, **params, **(fixed or {})) for image in images]
        _, means = metrics.evaluate(preds, truths)
        rows.append({**params, **means.to_dict()})
    results = pd.DataFrame(rows)
    if score not in results:
        raise ValueError(f"score must be a column of metrics.evaluate, got {score!r}")
    best = combinations[int(np.argmax(results[score].to_numpy()))]
    return dict(best), results
