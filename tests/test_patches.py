"""grainlib.data.patches: split by image, crops, grids, nested fractions, simulated crops."""

import math

import numpy as np
import pytest

from grainlib.core import grains
from grainlib.data import patches


def stacks(n=4, shape=(96, 128), block=8):
    """Images and grain ids of square grains ``block`` px wide, distinct per image."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    base = (yy // block) * (shape[1] // block + 1) + xx // block + 1
    ids = np.stack([base + 1000 * k for k in range(n)]).astype(np.int32)
    images = np.random.default_rng(0).integers(0, 256, ids.shape).astype(np.uint8)
    return images, ids


def test_split_by_image_paper_sizes_disjoint_and_seeded():
    train, test = patches.split_by_image(136, 36 / 136, seed=0)
    assert len(train) == 100 and len(test) == 36
    assert not set(train) & set(test)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(136))
    again = patches.split_by_image(136, 36 / 136, seed=0)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(patches.split_by_image(136, 36 / 136, seed=1)[1], test)
    assert [len(t) for t in patches.split_by_image(2, 0.01)] == [1, 1]
    with pytest.raises(ValueError, match="at least 2 images"):
        patches.split_by_image(1, 0.5)


def test_fractions_nested_counted_by_image():
    train, _ = patches.split_by_image(136, 36 / 136, seed=0)
    previous = set()
    for percent in (5, 10, 15, 20, 25, 30, 35, 100):
        chosen = patches.fraction_images(train, percent, seed=3)
        assert len(chosen) == math.ceil(percent)  # 100 training images: X % = X images
        assert set(chosen) <= set(train) and previous <= set(chosen)
        previous = set(chosen)
    assert set(previous) == set(train)
    assert len(patches.fraction_images(np.arange(6), 5, seed=0)) == 1  # at least one
    assert len(patches.fraction_images(np.arange(29), 15, seed=0)) == 5  # ceil(4.35)
    with pytest.raises(ValueError, match="percent"):
        patches.fraction_images(train, 0)


def test_random_crops_counts_content_and_boundaries():
    images, ids = stacks()
    crops = patches.random_crops(images, ids, 32, per_image=5, seed=2, image_indices=[1, 3])
    assert len(crops) == 10 and crops.images.shape == (10, 32, 32)
    assert crops.images.dtype == np.uint8 and crops.grain_ids.dtype == np.int32
    assert crops.boundaries.dtype == bool
    np.testing.assert_array_equal(crops.image_index, [1] * 5 + [3] * 5)
    for k in range(len(crops)):
        i, (r, c) = crops.image_index[k], crops.origin[k]
        assert 0 <= r <= 96 - 32 and 0 <= c <= 128 - 32
        np.testing.assert_array_equal(crops.images[k], images[i, r:r + 32, c:c + 32])
        np.testing.assert_array_equal(crops.grain_ids[k], ids[i, r:r + 32, c:c + 32])
        np.testing.assert_array_equal(crops.boundaries[k], grains.boundaries(crops.grain_ids[k], 2))
    same = patches.random_crops(images, ids, 32, per_image=5, seed=2, image_indices=[1, 3])
    np.testing.assert_array_equal(same.origin, crops.origin)
    other = patches.random_crops(images, ids, 32, per_image=5, seed=3, image_indices=[1, 3])
    assert not np.array_equal(other.origin, crops.origin)
    wide = patches.random_crops(images, ids, 32, 1, boundary_width=3)
    assert wide.boundaries.sum() > patches.random_crops(images, ids, 32, 1).boundaries.sum()
    with pytest.raises(ValueError, match="does not fit"):
        patches.random_crops(images, ids, 100, 1)


def test_grid_shape_and_grid_crops():
    assert patches.grid_shape((1600, 2800), 28) == (4, 7)
    assert patches.grid_shape((384, 384), 9) == (3, 3)
    assert patches.grid_shape((800, 800), 25) == (5, 5)
    images, ids = stacks(3, (96, 128))
    grid = patches.grid_crops(images, ids, 32, per_image=12, image_indices=[0, 2])
    assert len(grid) == 24
    rows, cols = patches.grid_shape((96, 128), 12)
    assert (rows, cols) == (3, 4)  # tiles the 96 x 128 image exactly
    cover = np.zeros((96, 128), int)
    for r, c in grid.origin[:12]:
        cover[r:r + 32, c:c + 32] += 1
    assert np.all(cover == 1)
    np.testing.assert_array_equal(grid.images[13], images[2, 0:32, 32:64])


def test_patchset_subset_and_from_images():
    images, ids = stacks()
    crops = patches.random_crops(images, ids, 16, per_image=3, seed=0)
    part = crops.from_images([0, 2])
    assert len(part) == 6 and set(part.image_index) == {0, 2}
    np.testing.assert_array_equal(part.images, crops.images[np.isin(crops.image_index, [0, 2])])


def test_periodic_crops_wrap_and_use_all_axes():
    rng = np.random.default_rng(0)
    volume = rng.integers(0, 50, (12, 14, 16)).astype(np.int32)
    crops = patches.periodic_crops(volume, 20, count=30, seed=1)
    assert crops.grain_ids.shape == (30, 20, 20) and np.bincount(crops.axis).tolist() == [10, 10, 10]
    for k in range(30):
        plane = grains.section(volume, int(crops.axis[k]), int(crops.image_index[k]))
        r, c = crops.origin[k]
        expected = np.take(np.take(plane, np.arange(r, r + 20), 0, mode="wrap"),
                           np.arange(c, c + 20), 1, mode="wrap")
        np.testing.assert_array_equal(crops.grain_ids[k], expected)
    # sections of one axis are not repeated until all were used
    z = crops.image_index[crops.axis == 0]
    assert len(set(z)) == len(z)


def test_render_flat_one_grey_per_grain():
    ids = np.array([[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 3, 3]]], np.int32)
    boundary = np.zeros(ids.shape, bool)
    boundary[0, 2, 0] = True
    image = patches.render_flat(ids, boundary, (100, 200), 10, seed=0)
    assert image.dtype == np.uint8 and image[0, 2, 0] == 10
    for grain in (1, 2, 3):
        values = np.unique(image[(ids == grain) & ~boundary])
        assert len(values) == 1 and 100 <= values[0] <= 200
    np.testing.assert_array_equal(image, patches.render_flat(ids, boundary, (100, 200), 10, 0))
    with pytest.raises(ValueError, match="grey"):
        patches.render_flat(ids, boundary, (200, 100))


def test_periodic_crops_zoom_enlarges_sites_and_draws_boundaries_afterwards():
    volume = np.random.default_rng(0).integers(0, 5, (4, 6, 6)).astype(np.int32)
    plain = patches.periodic_crops(volume, 6, 3, seed=2)
    zoomed = patches.periodic_crops(volume, 12, 3, seed=2, zoom=2)
    np.testing.assert_array_equal(zoomed.origin, plain.origin)
    np.testing.assert_array_equal(zoomed.grain_ids, plain.grain_ids.repeat(2, 1).repeat(2, 2))
    for ids, boundary in zip(zoomed.grain_ids, zoomed.boundaries):
        np.testing.assert_array_equal(boundary, grains.boundaries(ids, 2))
    with pytest.raises(ValueError, match="zoom"):
        patches.periodic_crops(volume, 6, 1, zoom=0)
