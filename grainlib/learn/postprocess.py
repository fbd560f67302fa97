"""Boundary probability -> grains: how a U-Net's per-pixel probability is closed into
grains, in the labels' convention once :func:`grainlib.core.grains.boundaries` redraws
them (:func:`grainlib.learn.segment.predict`).

Two ways (``postprocess``):

- ``"threshold"`` (default): boundary where the probability exceeds ``threshold``; the
  4-connected regions left are the grains; grains below ``min_grain`` pixels are
  dropped and every pixel joins its nearest grain;
- ``"watershed"``: one marker per grain core (h-maxima, depth
  ``marker_depth``, of the distance to the thresholded boundaries,
  :func:`grainlib.core.grains.cores`), then a watershed of the probability from those
  markers; gaps in a faint boundary no longer merge two grains, and spurs that split
  no core vanish.

Which is better was measured on 48 of the demo's real *training* patches (128 x 128, never
the test patches) with a U-Net trained on Real_100% (600 steps, crops of 64, boundary
weight 20, seed 0); mean MAP / ARI (:data:`POSTPROCESS_MAP`):

=========================================  =====  =====
threshold 0.3                              0.303  0.609
threshold 0.5                              0.503  0.782
threshold 0.7                              0.564  0.809
watershed, threshold 0.5, marker_depth 0   0.508  0.856
watershed, threshold 0.5, marker_depth 1   0.330  0.742
watershed, threshold 0.5, marker_depth 2   0.474  0.814
watershed, threshold 0.7, marker_depth 1   0.482  0.822
=========================================  =====  =====

The weighted loss makes thick, confident boundaries; a high threshold thins them and
keeps grain cores apart, so the plain threshold at 0.7 is the default (the watershed
scores a higher ARI, for MAP it over-segments). On real iron the watershed wins, chosen
without the test section (``experiments/iron_segmentation.py validate`` and ``crossval``):
on section 005 it scores MAP 0.55-0.58 where plain thresholds score 0.53-0.56, and on the
four leave-one-out folds whose held-out section is not the test one, threshold 0.95 with
cores of depth 4 scores 0.670 on average (0.98: 0.648), so the ``iron-sections`` profile
uses it (its comments give the whole comparison).
"""

from __future__ import annotations

import numpy as np
from skimage.measure import label as _connected
from skimage.segmentation import expand_labels, relabel_sequential
from skimage.segmentation import watershed as _watershed

from grainlib.core import grains

# Parameters that change only how probabilities become boundaries, not the weights.
POSTPROCESS_KEYS = ("postprocess", "threshold", "marker_depth", "min_grain", "line_width")

POSTPROCESS_MAP = {("threshold", 0.3, 0): 0.303, ("threshold", 0.5, 0): 0.503,
                   ("threshold", 0.7, 0): 0.564, ("watershed", 0.5, 0): 0.508,
                   ("watershed", 0.5, 1): 0.330, ("watershed", 0.5, 2): 0.474,
                   ("watershed", 0.7, 1): 0.482}
"""Mean MAP on 48 demo training patches by (postprocess, threshold, marker_depth); see
the module docstring."""


def _fill(grain_ids: np.ndarray, min_grain: int) -> np.ndarray:
    """Drop grains below ``min_grain`` pixels; every unassigned pixel (0) joins its
    nearest grain. (H, W) int -> (H, W) int32 ids 1..K, > 0 everywhere (or all 0: no
    grain), renumbered in order so that dropped grains leave no gaps."""
    if min_grain > 0:
        sizes = np.bincount(grain_ids.ravel())
        grain_ids = np.where(sizes[grain_ids] < min_grain, 0, grain_ids)
    if grain_ids.max() == 0:
        return np.zeros(grain_ids.shape, np.int32)
    grain_ids = relabel_sequential(grain_ids)[0]
    return expand_labels(grain_ids, distance=sum(grain_ids.shape)).astype(np.int32)


def grain_ids(prob: np.ndarray, postprocess: str = "threshold", threshold: float = 0.7,
              marker_depth: float = 0.0, min_grain: int = 10) -> np.ndarray:
    """Grains of one boundary-probability map (see the module docstring).

    Parameters
    ----------
    prob : (H, W) float boundary probability.
    postprocess : "watershed" or "threshold".
    threshold, marker_depth, min_grain : see ``python -m grainlib config --schema``.

    Returns
    -------
    (H, W) int32 grain ids, 1..K, every pixel in a grain; all 0 when no grain is found.
    """

    prob = np.asarray(prob, np.float32)
    if prob.ndim != 2:
        raise ValueError(f"prob must be one (H, W) map, got shape {prob.shape}")
    inside = prob <= threshold
    if postprocess == "threshold":
        ids = _connected(inside, connectivity=1)
    elif postprocess == "watershed":
        markers = grains.cores(inside, marker_depth)
        if markers.max() == 0:
            return np.zeros(prob.shape, np.int32)
        ids = _watershed(prob, markers)
    else:
        raise ValueError(f"postprocess must be 'watershed' or 'threshold', got {postprocess!r}")
    return _fill(ids, min_grain)
