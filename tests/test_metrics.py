"""Tests of grainlib.score.metrics: hand-made cases, a plain reference, properties, bad input."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree
from skimage.metrics import variation_of_information
from sklearn.metrics import adjusted_rand_score

from grainlib.core import grains
from grainlib.score import metrics

sys.path.insert(0, str(Path(__file__).parent))
from reference_metrics import reference_ari, reference_labels, reference_map  # noqa: E402


def voronoi_labels(shape, n_seeds, rng):
    """(H, W) int32 Voronoi grain ids of n_seeds random seeds."""
    seeds = rng.uniform(0, 1, (n_seeds, 2)) * shape
    rows, cols = np.indices(shape)
    _, nearest = cKDTree(seeds).query(np.stack([rows.ravel(), cols.ravel()], 1))
    return nearest.reshape(shape).astype(np.int32)


def perturb(boundary, rng):
    """A prediction-like copy of a boundary map: erased gaps, extra lines, noise, shift."""
    pred = boundary.copy()
    h, w = pred.shape
    for _ in range(rng.integers(0, 4)):  # erase a square: grains merge
        r, c, s = rng.integers(0, h), rng.integers(0, w), rng.integers(2, 8)
        pred[r:r + s, c:c + s] = False
    for _ in range(rng.integers(0, 3)):  # an extra straight boundary: a grain splits
        if rng.random() < 0.5:
            r = rng.integers(0, h - 1)
            pred[r:r + 2, rng.integers(0, w // 2):rng.integers(w // 2, w)] = True
        else:
            c = rng.integers(0, w - 1)
            pred[rng.integers(0, h // 2):rng.integers(h // 2, h), c:c + 2] = True
    if rng.random() < 0.5:  # shift by a pixel
        pred = np.roll(pred, rng.choice([-1, 1]), axis=rng.integers(0, 2))
    flips = rng.random(pred.shape) < rng.choice([0.0, 0.002, 0.02])
    return pred ^ flips


def two_grain_map(boundary_cols, shape=(12, 22)):
    """A boundary map with only the frame and full-height boundary columns."""
    boundary = np.zeros(shape, bool)
    for c in boundary_cols:
        boundary[:, c] = True
    return boundary


def comb2(n):
    return n * (n - 1) // 2


def hand_ari(cells, pred_sizes, true_sizes):
    """ARI from the Hubert-Arabie formula on a hand-written contingency table."""
    index = sum(comb2(n) for n in cells)
    sum_pred = sum(comb2(n) for n in pred_sizes)
    sum_true = sum(comb2(n) for n in true_sizes)
    pairs = comb2(sum(pred_sizes))
    expected = sum_pred * sum_true / pairs
    return (index - expected) / ((sum_pred + sum_true) / 2 - expected)


# --- hand-made cases (12 x 22 maps; the closed frame leaves a 10 x 20 interior) ---

def test_identical_maps_score_one():
    rng = np.random.default_rng(0)
    truth = grains.boundaries(voronoi_labels((80, 90), 12, rng))
    assert metrics.map_score(truth, truth) == 1.0
    assert metrics.ari(truth, truth) == 1.0


def test_erased_boundary_merges_two_grains():
    truth = two_grain_map([10, 11])  # grains: cols 1-9 and 12-20, 90 px each
    pred = two_grain_map([])  # one grain of 200 px
    # each true grain has IoU 90 / 200 = 0.45 with the merged grain: no TP, 1 FP, 2 FN
    assert metrics.map_score(pred, truth) == 0.0
    # clusters: pred {frame 64, grain 200}; truth {boundary 64 + 20, left 90, right 90}
    expected = hand_ari([64, 20, 90, 90], [64, 200], [84, 90, 90])
    assert metrics.ari(pred, truth) == pytest.approx(expected, abs=1e-12)


def test_extra_boundary_splits_a_grain():
    truth = two_grain_map([])  # one grain of 200 px
    pred = two_grain_map([16, 17])  # cols 1-15 (150 px) and 18-20 (30 px)
    # big piece IoU 150 / 200 = 0.75: TP at t = 0.50 .. 0.70 (5 thresholds, 1 / (1 + 1 + 0)),
    # not at 0.75 (strictly greater), none above: AP = 5 * 0.5 / 10
    assert metrics.map_score(pred, truth) == 0.25
    expected = hand_ari([64, 20, 150, 30], [84, 150, 30], [64, 200])
    assert metrics.ari(pred, truth) == pytest.approx(expected, abs=1e-12)


def test_boundary_shifted_by_one_pixel():
    truth = two_grain_map([10, 11])  # 90 + 90 px
    pred = two_grain_map([11, 12])  # cols 1-10 (100 px) and 13-20 (80 px)
    # IoUs 90 / 100 = 0.9 and 80 / 90 = 0.89: both TP for t <= 0.85 (8 of 10 thresholds)
    assert metrics.map_score(pred, truth) == pytest.approx(0.8, abs=1e-15)
    # cells: both boundary = frame 64 + col 11 (10); truth boundary / pred left = col 10;
    # pred boundary / truth right = col 12; left / left 90; right / right 80
    expected = hand_ari([64 + 10, 10, 10, 90, 80], [64 + 20, 100, 80], [64 + 20, 90, 90])
    assert metrics.ari(pred, truth) == pytest.approx(expected, abs=1e-12)


def test_all_boundary_prediction():
    truth = two_grain_map([10, 11])
    pred = np.ones_like(truth)
    assert metrics.map_score(pred, truth) == 0.0  # TP 0, FP 0, FN 2
    assert metrics.ari(pred, truth) == 0.0  # one cluster against any partition
    # no grains on either side: both say "nothing", a perfect agreement
    assert metrics.map_score(pred, pred) == 1.0
    assert metrics.ari(pred, pred) == 1.0


def test_frame_is_closed_and_uint8_maps_accepted():
    truth = two_grain_map([10, 11])
    open_truth = truth.copy()
    open_truth[0, :] = open_truth[-1, :] = open_truth[:, 0] = open_truth[:, -1] = False
    labels = metrics.grain_labels(open_truth)
    assert labels.dtype == np.int32 and labels.max() == 2
    assert (labels[0] == 0).all() and (labels[:, -1] == 0).all()
    assert metrics.map_score(open_truth.astype(np.uint8) * 255, truth) == 1.0
    assert metrics.ari(open_truth.astype(np.int64), truth) == 1.0


# --- agreement with the plain implementation on random maps ---

@pytest.mark.parametrize("seed", range(40))
def test_agrees_with_plain_reference(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(40, 130, 2))
    truth = grains.boundaries(voronoi_labels(shape, int(rng.integers(2, 40)), rng))
    pred = perturb(truth, rng)
    assert metrics.map_score(pred, truth) == pytest.approx(reference_map(pred, truth), abs=1e-12)
    assert metrics.ari(pred, truth) == pytest.approx(reference_ari(pred, truth), abs=1e-12)
    assert metrics.ari(truth, pred) == pytest.approx(metrics.ari(pred, truth), abs=1e-12)
    assert 0.0 <= metrics.map_score(pred, truth) <= 1.0
    assert -1.0 <= metrics.ari(pred, truth) <= 1.0


def test_evaluate_table_matches_pairwise_scores():
    rng = np.random.default_rng(7)
    truths = [grains.boundaries(voronoi_labels((64, 64), 15, rng)) for _ in range(5)]
    preds = [perturb(t, rng) for t in truths]
    table, means = metrics.evaluate(np.stack(preds), truths)
    assert isinstance(table, pd.DataFrame) and isinstance(means, pd.Series)
    assert list(table.columns) == ["map", "ari", "vi_split", "vi_merge",
                                   "grains_found", "grains_true"]
    assert len(table) == 5
    for i, (pred, truth) in enumerate(zip(preds, truths)):
        row = table.iloc[i]
        assert row["map"] == metrics.map_score(pred, truth)
        assert row["ari"] == metrics.ari(pred, truth)
        assert row["grains_found"] == reference_labels(pred).max()
        assert row["grains_true"] == reference_labels(truth).max()
        # skimage: variation_of_information(truth, pred) = (false splits, false merges)
        split, merge = variation_of_information(reference_labels(truth), reference_labels(pred))
        assert row["vi_split"] == pytest.approx(split, abs=1e-10)
        assert row["vi_merge"] == pytest.approx(merge, abs=1e-10)
    assert np.allclose(means.to_numpy(), table.mean().to_numpy())


def test_vi_split_and_merge_directions():
    truth = two_grain_map([10, 11])
    merged = two_grain_map([])
    table, _ = metrics.evaluate([merged], [truth])
    assert table["vi_merge"][0] > 0.1 and table["vi_split"][0] < table["vi_merge"][0]
    table, _ = metrics.evaluate([truth], [merged])  # prediction over-segments
    assert table["vi_split"][0] > 0.1 and table["vi_merge"][0] < table["vi_split"][0]


def test_dense_and_sparse_tables_agree(monkeypatch):
    rng = np.random.default_rng(3)
    truth = grains.boundaries(voronoi_labels((100, 100), 30, rng))
    pred = perturb(truth, rng) | (rng.random(truth.shape) < 0.3)  # many fragments
    dense = (metrics.map_score(pred, truth), metrics.ari(pred, truth))
    monkeypatch.setattr(metrics, "_DENSE_TABLE_LIMIT", 0)
    assert (metrics.map_score(pred, truth), metrics.ari(pred, truth)) == pytest.approx(dense,
                                                                                      abs=1e-15)
    assert dense[1] == pytest.approx(adjusted_rand_score(reference_labels(truth).ravel(),
                                                         reference_labels(pred).ravel()), abs=1e-12)


def test_scores_match_the_separate_functions():
    rng = np.random.default_rng(5)
    truth = grains.boundaries(voronoi_labels((80, 90), 20, rng))
    pred = perturb(truth, rng)
    both = metrics.scores(pred, truth)
    assert both == {"map": metrics.map_score(pred, truth), "ari": metrics.ari(pred, truth)}


def test_inputs_not_modified():
    rng = np.random.default_rng(1)
    truth = grains.boundaries(voronoi_labels((50, 60), 8, rng))
    pred = perturb(truth, rng)
    before = pred.copy(), truth.copy()
    metrics.evaluate([pred], [truth])
    metrics.map_score(pred, truth)
    assert (pred == before[0]).all() and (truth == before[1]).all()


# --- bad input ---

@pytest.mark.parametrize("bad, words", [
    (np.zeros((10, 12), bool), "same shape"),
    (np.zeros((10, 10, 3), bool), "2D"),
    (np.full((10, 10), 0.5), "dtype float64"),
    (np.arange(100).reshape(10, 10), "binary"),
    (np.array([[0, 1], [255, 0]], np.uint8), "binary"),
    (np.zeros((0, 10), bool), "empty"),
])
def test_bad_pairs_raise(bad, words):
    truth = np.zeros((10, 10), bool) if bad.shape != (2, 2) else np.zeros((2, 2), bool)
    with pytest.raises(ValueError, match=words):
        metrics.map_score(bad, truth)
    with pytest.raises(ValueError, match=words):
        metrics.ari(truth, bad) if bad.shape != (10, 12) else metrics.ari(bad, truth)


def test_bad_stacks_raise():
    maps = np.zeros((2, 10, 10), bool)
    with pytest.raises(ValueError, match="empty"):
        metrics.evaluate([], [])
    with pytest.raises(ValueError, match="as many"):
        metrics.evaluate(maps, maps[:1])
    with pytest.raises(ValueError, match="2D map"):
        metrics.evaluate(maps[0], maps[0])
    with pytest.raises(ValueError, match="image 1"):
        metrics.evaluate(maps, [maps[0], np.zeros((10, 11), bool)])
