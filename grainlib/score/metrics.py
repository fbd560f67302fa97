"""Segmentation scores on boundary maps: MAP and ARI as in `docs/method.md` section 6.

A boundary map is an (H, W) array, True (or 1, or 255) on boundary pixels. Both maps of a
pair are read the same way:

1. the 1-pixel image frame is set to boundary (the frame is "closed");
2. grains are the 4-connected components of the non-boundary pixels, numbered 1..N;
   boundary pixels get label 0.

Every score of a pair comes from ONE contingency table of the two label maps
(pixel counts per (predicted label, true label)), computed once by :func:`_pair_table`;
:func:`scores` and :func:`evaluate` share it between the scores of a pair.

MAP (mean average precision, Kaggle Data Science Bowl 2018 style)
    For each predicted grain, its IoU with the best-overlapping true grain. At each
    threshold t in {0.50, 0.55, ..., 0.95} a predicted grain is a true positive when its
    IoU > t (strictly); FP = predicted - TP, FN = true - TP, and
    AP = mean over t of TP / (TP + FP + FN). Label 0 is not a grain on either side; an
    IoU uses the full pixel sets of the two grains. Because t >= 0.5, a pair with
    IoU > t shares more than half of each grain, so it is the best match by IoU and by
    overlap alike and no grain is matched twice.
ARI (adjusted Rand index, Hubert and Arabie 1985)
    Between the two label maps over all pixels, the boundary pixels (label 0) counted
    as one cluster. Same value as ``sklearn.metrics.adjusted_rand_score``.

Edge cases (after the frame is closed a map may have no grain at all):

- no grains on either side: AP = 1 (both say "nothing here"); ARI = 1 when the two
  partitions are both a single cluster (sklearn's convention for a zero denominator);
- grains on one side only: AP = 0; ARI = 0 (a single cluster against any partition).

References: Kaggle Data Science Bowl 2018 evaluation page; L. Hubert and P. Arabie,
"Comparing partitions", J. Classif. 2, 193 (1985); M. Meila, "Comparing clusterings -
an information based distance", J. Multivar. Anal. 98, 873 (2007).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np
import pandas as pd

THRESHOLDS = np.round(np.arange(0.5, 0.951, 0.05), 2)
"""IoU thresholds of the MAP: 0.50, 0.55, ..., 0.95."""

# Above this many cells the contingency table is built sparse (sort of the pair keys)
# instead of as a dense bincount: noisy predictions with thousands of fragments would
# otherwise allocate n_pred * n_true counters.
_DENSE_TABLE_LIMIT = 1 << 22


def as_boundary_map(boundary, name: str = "boundary map") -> np.ndarray:
    """Check a boundary map and return it as bool.

    Parameters
    ----------
    boundary : (H, W) array: bool, or integers with values in {0, 1} or {0, 255}
        (True / 1 / 255 = boundary). Floats (probabilities) are refused: threshold them
        first.
    name : what to call the array in error messages.

    Returns
    -------
    (H, W) bool array (a new array; the input is not modified).
    """
    boundary = np.asarray(boundary)
    if boundary.ndim != 2:
        raise ValueError(f"{name} must be a 2D (H, W) array, got shape {boundary.shape}")
    if boundary.size == 0:
        raise ValueError(f"{name} is empty (shape {boundary.shape})")
    if boundary.dtype == bool:
        return boundary.copy()
    if not np.issubdtype(boundary.dtype, np.integer):
        raise ValueError(f"{name} must be bool or integer 0/1 or 0/255, got dtype "
                         f"{boundary.dtype}; threshold probabilities before scoring")
    values = np.unique(boundary)
    if not (set(values.tolist()) <= {0, 1} or set(values.tolist()) <= {0, 255}):
        shown = values[:6].tolist()
        raise ValueError(f"{name} must be binary with values {{0, 1}} or {{0, 255}}, "
                         f"got values {shown}{' ...' if values.size > 6 else ''}")
    return boundary != 0


def grain_labels(boundary) -> np.ndarray:
    """Grains of a boundary map, as the metrics see them.

    The image frame is set to boundary, then each 4-connected component of
    non-boundary pixels becomes a grain.

    Parameters
    ----------
    boundary : (H, W) boundary map (see :func:`as_boundary_map`).

    Returns
    -------
    (H, W) int32 label map: 0 on boundary pixels (frame included), grains 1..N.
    """
    closed = as_boundary_map(boundary)
    return _label_closed(closed)


def _label_closed(boundary: np.ndarray) -> np.ndarray:
    inside = ~boundary
    inside[0, :] = inside[-1, :] = False
    inside[:, 0] = inside[:, -1] = False
    _, labels = cv2.connectedComponents(inside.view(np.uint8), connectivity=4,
                                        ltype=cv2.CV_32S)
    return labels


@dataclass(frozen=True)
class PairTable:
    """The contingency table of a (prediction, truth) pair of label maps, kept sparse.

    ``counts[k]`` pixels carry predicted label ``pred[k]`` and true label ``true[k]``
    (only non-zero cells are kept). ``pred_sizes`` (n_pred + 1,) and ``true_sizes``
    (n_true + 1,) are the pixel counts of each label, label 0 (boundary) first.
    """

    pred: np.ndarray
    true: np.ndarray
    counts: np.ndarray
    pred_sizes: np.ndarray
    true_sizes: np.ndarray

    @property
    def n_pred(self) -> int:
        return self.pred_sizes.size - 1

    @property
    def n_true(self) -> int:
        return self.true_sizes.size - 1

    @property
    def n_pixels(self) -> int:
        return int(self.pred_sizes.sum())


def _pair_table(pred_labels: np.ndarray, true_labels: np.ndarray) -> PairTable:
    """One contingency table of two (H, W) label maps with labels 0..N (dense)."""
    n_pred = int(pred_labels.max()) + 1
    n_true = int(true_labels.max()) + 1
    dtype = np.int32 if n_pred * n_true < 2**31 else np.int64
    keys = pred_labels.ravel().astype(dtype) * dtype(n_true)
    keys += true_labels.ravel()
    if n_pred * n_true <= _DENSE_TABLE_LIMIT:
        dense = np.bincount(keys, minlength=n_pred * n_true)
        cells = np.flatnonzero(dense)
        counts = dense[cells]
    else:
        cells, counts = np.unique(keys, return_counts=True)
    pred, true = np.divmod(cells, n_true)
    pred_sizes = np.bincount(pred, weights=counts, minlength=n_pred).astype(np.int64)
    true_sizes = np.bincount(true, weights=counts, minlength=n_true).astype(np.int64)
    return PairTable(pred, true, counts.astype(np.int64), pred_sizes, true_sizes)


def _map_from_table(table: PairTable) -> float:
    n_pred, n_true = table.n_pred, table.n_true
    if n_pred == 0 and n_true == 0:
        return 1.0
    grains = (table.pred > 0) & (table.true > 0)
    p, t, inter = table.pred[grains], table.true[grains], table.counts[grains]
    iou = inter / (table.pred_sizes[p] + table.true_sizes[t] - inter)
    best = np.zeros(n_pred + 1)
    np.maximum.at(best, p, iou)
    tp = (best[1:, None] > THRESHOLDS[None, :]).sum(axis=0)
    return float(np.mean(tp / (n_pred + n_true - tp)))


def _comb2(x) -> int:
    x = np.asarray(x, dtype=np.int64)
    return int((x * (x - 1) // 2).sum())


def _ari_from_table(table: PairTable) -> float:
    # Exact integer pair counts (Python ints: the products overflow int64 on big images).
    n = table.n_pixels
    both = _comb2(table.counts)
    same_pred = _comb2(table.pred_sizes)
    same_true = _comb2(table.true_sizes)
    pairs = n * (n - 1) // 2
    numerator = both * pairs - same_pred * same_true
    denominator = (same_pred + same_true) * pairs - 2 * same_pred * same_true
    if denominator == 0:  # both partitions trivial (one cluster, or all singletons)
        return 1.0
    return 2 * numerator / denominator


def _vi_from_table(table: PairTable) -> tuple[float, float]:
    """(H(pred | truth), H(truth | pred)) in bits."""
    n = table.n_pixels
    joint = table.counts / n
    p_pred = table.pred_sizes[table.pred] / n
    p_true = table.true_sizes[table.true] / n
    split = float(-np.sum(joint * np.log2(joint / p_true)))
    merge = float(-np.sum(joint * np.log2(joint / p_pred)))
    return max(split, 0.0), max(merge, 0.0)


def _table_of(pred, truth) -> PairTable:
    pred = as_boundary_map(pred, "pred")
    truth = as_boundary_map(truth, "truth")
    if pred.shape != truth.shape:
        raise ValueError(f"pred and truth must have the same shape, got {pred.shape} "
                         f"and {truth.shape}")
    return _pair_table(_label_closed(pred), _label_closed(truth))


def scores(pred, truth) -> dict:
    """MAP and ARI of one pair from a single contingency table.

    Parameters
    ----------
    pred, truth : (H, W) boundary maps (bool, or 0/1 or 0/255 integers), same shape.

    Returns
    -------
    dict with floats ``map`` (as :func:`map_score`) and ``ari`` (as :func:`ari`).
    """
    table = _table_of(pred, truth)
    return {"map": _map_from_table(table), "ari": _ari_from_table(table)}


def map_score(pred, truth) -> float:
    """Average precision over IoU thresholds 0.50..0.95 of one pair (module docstring).

    Parameters
    ----------
    pred, truth : (H, W) boundary maps (bool, or 0/1 or 0/255 integers), same shape.

    Returns
    -------
    float in [0, 1]; 1 when the grains agree exactly.
    """
    return _map_from_table(_table_of(pred, truth))


def ari(pred, truth) -> float:
    """Adjusted Rand index of the grain label maps of one pair (module docstring).

    Parameters
    ----------
    pred, truth : (H, W) boundary maps (bool, or 0/1 or 0/255 integers), same shape.

    Returns
    -------
    float in [-1, 1] (about 0 for chance agreement, 1 for identical partitions);
    symmetric in its arguments.
    """
    return _ari_from_table(_table_of(pred, truth))


def _as_stack(maps, name: str) -> list:
    if isinstance(maps, np.ndarray):
        if maps.ndim == 2:
            raise ValueError(f"{name} must be a stack (N, H, W) or a sequence of (H, W) "
                             f"maps, got one 2D map of shape {maps.shape}; wrap it in a list")
        if maps.ndim != 3:
            raise ValueError(f"{name} must be a stack (N, H, W) or a sequence of (H, W) "
                             f"maps, got shape {maps.shape}")
        maps = list(maps)
    elif not isinstance(maps, Sequence):
        raise ValueError(f"{name} must be an (N, H, W) array or a sequence of (H, W) "
                         f"maps, got {type(maps).__name__}")
    if len(maps) == 0:
        raise ValueError(f"{name} is empty: nothing to evaluate")
    return maps


def evaluate(preds, truths) -> tuple[pd.DataFrame, pd.Series]:
    """Score predicted boundary maps against true ones, image by image.

    Parameters
    ----------
    preds, truths : (N, H, W) arrays or sequences of N (H, W) boundary maps (bool, or
        0/1 or 0/255 integers); image i of one is compared with image i of the other.

    Returns
    -------
    table : pandas DataFrame, one row per image (index 0..N-1), columns
        ``map`` (float), ``ari`` (float),
        ``vi_split`` = H(pred | truth) in bits: over-segmentation, false splits,
        ``vi_merge`` = H(truth | pred) in bits: under-segmentation, false merges
        (the two values, in that order, of
        ``skimage.metrics.variation_of_information(truth_labels, pred_labels)``, over
        all pixels with label 0 as a cluster),
        ``grains_found`` (int, grains in the prediction), ``grains_true`` (int).
    means : pandas Series, the mean of each column over the images.
    """
    preds = _as_stack(preds, "preds")
    truths = _as_stack(truths, "truths")
    if len(preds) != len(truths):
        raise ValueError(f"preds and truths must hold as many maps, got {len(preds)} "
                         f"and {len(truths)}")
    rows = []
    for i, (pred, truth) in enumerate(zip(preds, truths)):
        try:
            table = _table_of(pred, truth)
        except ValueError as err:
            raise ValueError(f"image {i}: {err}") from None
        split, merge = _vi_from_table(table)
        rows.append({"map": _map_from_table(table), "ari": _ari_from_table(table),
                     "vi_split": split, "vi_merge": merge,
                     "grains_found": table.n_pred, "grains_true": table.n_true})
    frame = pd.DataFrame(rows)
    return frame, frame.mean()
