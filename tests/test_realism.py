"""Tests of grainlib.score.realism: each texture measure on constructed images with known
answers, the two-sample test, the floor and the table."""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from grainlib.core import grains
from grainlib.score import realism


def white_noise(n, size=64, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def smooth(n, size=64, seed=0):
    noise = np.random.default_rng(seed).normal(size=(n, size, size))
    blurred = ndimage.gaussian_filter(noise, (0, 6, 6))
    blurred /= np.abs(blurred).max(axis=(1, 2), keepdims=True)
    return (128 + 100 * blurred).astype(np.uint8)


def voronoi(n, size=64, grains_per_image=8, seed=0):
    """(n, size, size) int32 grain ids of random Voronoi tessellations."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:size, :size]
    ids = np.empty((n, size, size), np.int32)
    for k in range(n):
        centres = rng.uniform(0, size, (grains_per_image, 2))
        ids[k] = ((rows[..., None] - centres[:, 0]) ** 2
                  + (cols[..., None] - centres[:, 1]) ** 2).argmin(-1)
    return ids


def micrographs(grain_ids, noise=8.0, seed=0):
    """Grains of one random grey each, dark boundaries, a little blur and noise."""
    rng = np.random.default_rng(seed)
    images = []
    for ids in grain_ids:
        grey = rng.uniform(130, 210, ids.max() + 1)[ids]
        x = ndimage.gaussian_filter(np.where(grains.boundaries(ids), 70.0, grey), 1.0)
        images.append(np.clip(x + rng.normal(0, noise, x.shape), 0, 255).astype(np.uint8))
    return np.stack(images)


def stripes(widths=(12,) * 6, height=48):
    """Vertical stripe grains (ids 1, 2, ...) and the column range of each interface."""
    ids = np.repeat(np.arange(1, len(widths) + 1), widths)[None].repeat(height, 0)
    return ids.astype(np.int32), np.cumsum(widths)[:-1]


def test_high_frequency_share_knows_white_noise_and_smooth_images():
    noise = realism.high_frequency_share(white_noise(4))
    assert noise == pytest.approx(1 - np.pi / 64, abs=0.02)     # flat spectrum
    assert realism.high_frequency_share(smooth(4)) < 0.02
    col = np.arange(64)
    fast = (128 + 100 * np.sin(2 * np.pi * 0.3 * col))[None].repeat(64, 0).astype(np.uint8)
    slow = (128 + 100 * np.sin(2 * np.pi * col / 32))[None].repeat(64, 0).astype(np.uint8)
    assert realism.high_frequency_share(fast) > 0.99
    assert realism.high_frequency_share(slow) < 0.01
    assert np.isnan(realism.high_frequency_share(np.full((8, 8), 9, np.uint8)))


def test_core_mask_keeps_depth_from_boundaries_and_frame():
    ids = np.repeat([[1] * 10 + [2] * 10], 20, axis=0).astype(np.int32)  # boundary cols 9, 10
    expected = np.zeros((20, 20), bool)
    expected[2:18, 2:7] = expected[2:18, 13:18] = True
    np.testing.assert_array_equal(realism.core_mask(ids), expected)
    many = voronoi(2, 48, seed=3)
    free = np.pad(~np.stack([grains.boundaries(g) for g in many]), ((0, 0), (1, 1), (1, 1)))
    edt = np.stack([ndimage.distance_transform_edt(f)[1:-1, 1:-1] for f in free])
    np.testing.assert_array_equal(realism.core_mask(many, depth=2.5), edt >= 2.5)


def test_core_sd_known_values_and_order():
    one_grain = np.ones((4, 64, 64), np.int32)
    assert realism.core_sd(white_noise(4), one_grain) > 60      # uniform noise: SD 73.9
    assert realism.core_sd(smooth(4), one_grain) < 10
    assert realism.core_sd(np.full((64, 64), 77, np.uint8), one_grain[0]) == 0.0
    columns = np.where(np.arange(64) % 2, 200, 100).astype(np.uint8)[None].repeat(64, 0)
    # every 5 x 5 window: 3 columns of one grey, 2 of the other, 100 apart
    assert realism.core_sd(columns, one_grain[0]) == pytest.approx(100 * np.sqrt(0.24))
    # flat grains with dark boundaries: windows around core pixels never see a boundary
    ids = voronoi(3, seed=1)
    flat = np.where(np.stack([grains.boundaries(g) for g in ids]), 40,
                    (100 + 10 * ids)).astype(np.uint8)
    assert realism.core_sd(flat, ids) == 0.0
    assert np.isnan(realism.core_sd(np.zeros((4, 4), np.uint8), np.ones((4, 4), np.int32)))


def test_boundary_darkness_constant_and_varying():
    ids, interfaces = stripes()
    on_boundary = grains.boundaries(ids)
    column = np.arange(ids.shape[1])

    def image(boundary_grey):
        x = np.full(ids.shape, 200, np.uint8)
        for cut, grey in zip(interfaces, boundary_grey):
            x[:, (column == cut - 1) | (column == cut)] = grey
        assert (x[on_boundary] < 200).all() and (x[~on_boundary] == 200).all()
        return x

    constant = realism.boundary_darkness_stats(image([100] * 5), ids)
    assert constant["median"] == pytest.approx(0.5)
    assert constant["cv"] == pytest.approx(0.0, abs=1e-12)
    assert constant["faint_share"] == 0.0 and constant["segments"] == 5
    varying_grey = [100, 190, 100, 190, 100]               # darkness 0.5 and 0.05
    darkness = realism.segment_darkness(image(varying_grey), ids)
    np.testing.assert_allclose(np.sort(darkness), [0.05, 0.05, 0.5, 0.5, 0.5])
    varying = realism.boundary_darkness_stats(image(varying_grey), ids)
    assert varying["median"] == pytest.approx(0.5)
    assert varying["cv"] == pytest.approx(np.std(darkness) / np.mean(darkness))
    assert varying["cv"] > 0.5
    assert varying["faint_share"] == pytest.approx(0.4)     # 0.05 < 0.25 * 0.5
    assert realism.boundary_darkness_stats(image([100] * 5), np.ones_like(ids))["segments"] == 0


def test_speck_density_counts_planted_specks():
    ids, _ = stripes(widths=(40, 40), height=60)
    image = np.full(ids.shape, 180, np.uint8)
    cores = realism.core_mask(ids)
    for row, col in [(10, 10), (30, 12), (48, 20), (20, 55), (45, 60)]:
        image[row:row + 3, col:col + 3] = 100                  # five 3 x 3 specks
    image[10, 30] = image[30, 70] = 50                         # single pixels: noise
    image[5:8, 68:71] = 160                                    # only 20 grey levels darker
    assert cores[10:13, 10:13].all() and cores[45:48, 60:63].all()
    expected = 5 / cores.sum() * 10_000
    assert realism.speck_density(image, ids) == pytest.approx(expected)
    assert realism.speck_density(image, ids, contrast=10) == pytest.approx(6 / cores.sum() * 1e4)
    assert realism.speck_density(np.full(ids.shape, 180, np.uint8), ids) == 0.0


def test_two_sample_auc_near_half_for_one_generator_and_one_for_noise_vs_smooth():
    ids_a, ids_b = voronoi(60, 48, seed=1), voronoi(60, 48, seed=2)
    draw_a = realism.patch_features(micrographs(ids_a, seed=1), ids_a)
    draw_b = realism.patch_features(micrographs(ids_b, seed=2), ids_b)
    assert draw_a.shape == (60, len(realism.FEATURES))
    assert abs(realism.two_sample_auc(draw_a, draw_b, seed=0) - 0.5) < 0.15
    one_grain = np.ones((60, 48, 48), np.int32)
    noise = realism.patch_features(white_noise(60, 48, seed=3), one_grain)
    flat = realism.patch_features(smooth(60, 48, seed=4), one_grain)
    assert realism.two_sample_auc(noise, flat, seed=0) > 0.95


def test_two_sample_auc_never_splits_a_group_across_folds():
    """Rows of one image share image-specific features: folds that split images would let
    the classifier recognise the images (AUC 1); split by image, nothing is learnt."""
    rng = np.random.default_rng(0)
    image_of_row = np.repeat(np.arange(40), 8)
    x = rng.normal(size=(40, 30))[image_of_row] + 0.01 * rng.normal(size=(320, 30))
    in_b = image_of_row % 2 == 1
    by_image = realism.two_sample_auc(x[~in_b], x[in_b], image_of_row[~in_b], image_of_row[in_b])
    assert by_image < 0.7
    assert realism.two_sample_auc(x[~in_b], x[in_b]) > 0.95


def test_floor_halves_split_by_image():
    image_index = np.repeat([3, 8, 1, 5, 9, 4], 4)
    in_a = realism.floor_halves(image_index, seed=1)
    assert set(image_index[in_a]).isdisjoint(image_index[~in_a])
    assert len(set(image_index[in_a])) == 3
    np.testing.assert_array_equal(in_a, realism.floor_halves(image_index, seed=1))
    assert len(set(image_index[realism.floor_halves(image_index, 0.2)])) == 1
    with pytest.raises(ValueError, match="at least 2 images"):
        realism.floor_halves(np.zeros(5, int))


def test_realism_table_with_floor():
    real_ids, same_ids = voronoi(16, 96, 14, seed=1), voronoi(16, 96, 14, seed=2)
    real = micrographs(real_ids, seed=1)
    sets = {"real": (real, real_ids),
            "same generator": (micrographs(same_ids, seed=2), same_ids),
            "flat": (micrographs(same_ids, noise=0, seed=2), same_ids)}
    table = realism.realism(sets, reference="real", patch=48)
    assert list(table.index) == ["real", "same generator", "flat", realism.FLOOR]
    assert list(table.columns) == list(realism.COLUMNS)
    assert np.isnan(table.loc["real", "auc_vs_reference"])
    assert table.loc["real", "histogram_distance"] == 0.0
    assert table.loc["real", "n_images"] == 16 and table.loc["real", "n_patches"] == 64
    assert table.loc["floor", "n_images"] == 8 and table.loc["floor", "n_patches"] == 32
    assert table.loc["flat", "auc_vs_reference"] > 0.95
    assert abs(table.loc["same generator", "auc_vs_reference"] - 0.5) < 0.2
    assert abs(table.loc["floor", "auc_vs_reference"] - 0.5) < 0.25
    assert table.loc["flat", "core_sd"] < table.loc["real", "core_sd"] / 2
    assert table.loc["flat", "high_frequency_share"] < table.loc["real", "high_frequency_share"]
    assert table.loc["real", "core_sd"] == pytest.approx(realism.core_sd(real, real_ids))
    assert table.loc["real", "specks_per_10k"] == pytest.approx(
        realism.speck_density(real, real_ids))
    pd.testing.assert_frame_equal(table, realism.realism(sets, reference="real", patch=48))


def test_realism_floor_keeps_patches_of_one_image_together():
    ids = voronoi(12, 64, 10, seed=5)
    images = micrographs(ids, seed=5)
    image_index = np.repeat(np.arange(3), 4)          # 12 patches cut from 3 images
    table = realism.realism({"real": (images, ids, image_index)}, "real", patch=64)
    assert table.loc["real", "n_images"] == 3
    assert table.loc["floor", "n_images"] in (1, 2)
    assert table.loc["floor", "n_patches"] in (4, 8)
    # one image on one side: too few for the two-sample test, but the measures are there
    assert np.isnan(table.loc["floor", "auc_vs_reference"])
    assert np.isfinite(table.loc["floor", "core_sd"])


def test_bad_input_raises_one_line_errors():
    ids = voronoi(2, 32)
    images = micrographs(ids)
    cases = [
        (lambda: realism.core_sd(images, ids[:, :16]), "same shape"),
        (lambda: realism.high_frequency_share(images.astype(float)), "uint8"),
        (lambda: realism.speck_density(images.astype(np.uint16), ids), "uint8"),
        (lambda: realism.boundary_darkness_stats(images, ids.astype(float)), "integer"),
        (lambda: realism.realism({"real": (images, ids)}, "iron"), "reference 'iron'"),
        (lambda: realism.realism({"real": images}, "real"), "set 'real' must be"),
        (lambda: realism.realism({"real": (images, ids, [0, 1, 2])}, "real"), "image_index"),
        (lambda: realism.two_sample_auc(np.zeros((4, 3)), np.zeros((4, 2))), "same F"),
        (lambda: realism.two_sample_auc(np.zeros((4, 3)), np.zeros((4, 3)), [1] * 4),
         "at least 2 groups"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message) as error:
            call()
        assert "\n" not in str(error.value)


def test_realism_auc_is_the_two_sample_test_of_the_patch_features():
    ids_a, ids_b = voronoi(20, 48, seed=6), voronoi(20, 48, seed=7)
    a, b = micrographs(ids_a, seed=6), micrographs(ids_b, noise=3, seed=7)
    table = realism.realism({"a": (a, ids_a), "b": (b, ids_b)}, "a", seed=3)
    direct = realism.two_sample_auc(realism.patch_features(a, ids_a),
                                    realism.patch_features(b, ids_b), seed=3)
    assert table.loc["b", "auc_vs_reference"] == pytest.approx(direct)
