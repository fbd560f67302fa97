"""A deliberately plain second implementation of `docs/method.md` section 6.

Written straight from the protocol's words, for checking ``grainlib.score.metrics`` (tests)
and for timing it against (``benchmarks/metrics.py``): a loop over grains with one full
image mask per grain, grains from ``scipy.ndimage.label``, ARI from scikit-learn.
Kept slow on purpose; do not use it for real work.
"""

import numpy as np
from scipy import ndimage
from sklearn.metrics import adjusted_rand_score


def reference_labels(boundary):
    """Close the frame, then label 4-connected non-boundary pixels 1..N (0 = boundary)."""
    boundary = np.asarray(boundary).astype(bool)
    boundary[0, :] = boundary[-1, :] = True
    boundary[:, 0] = boundary[:, -1] = True
    labels, _ = ndimage.label(~boundary)  # default structure: 4-connectivity
    return labels


def reference_map(pred, truth):
    """Average precision over thresholds 0.50..0.95, one predicted grain at a time."""
    pred_labels = reference_labels(pred)
    true_labels = reference_labels(truth)
    n_pred = pred_labels.max()
    n_true = true_labels.max()
    if n_pred == 0 and n_true == 0:
        return 1.0
    best_ious = []
    for i in range(1, n_pred + 1):
        grain = pred_labels == i
        best = 0.0
        for j in np.unique(true_labels[grain]):  # the true grains it overlaps
            if j == 0:
                continue
            true_grain = true_labels == j
            intersection = np.logical_and(grain, true_grain).sum()
            union = np.logical_or(grain, true_grain).sum()
            best = max(best, intersection / union)
        best_ious.append(best)
    precisions = []
    for t in np.arange(0.5, 0.951, 0.05):
        t = round(t, 2)
        tp = sum(1 for iou in best_ious if iou > t)
        fp = n_pred - tp
        fn = n_true - tp
        precisions.append(tp / (tp + fp + fn))
    return float(np.mean(precisions))


def reference_ari(pred, truth):
    """sklearn's adjusted Rand index of the two label maps over all pixels."""
    return float(adjusted_rand_score(reference_labels(truth).ravel(),
                                     reference_labels(pred).ravel()))
