import numpy as np
import pytest

from grainlib.core import grains
from grainlib.view import widgets

from conftest import voronoi_labels


@pytest.fixture
def volume():
    v = np.zeros((6, 8, 10), np.int32)
    v[:, :, 5:] = 1
    v[3:, :4, :] = 2
    return v


def test_volume_viewer_follows_axis_and_index(volume):
    viewer = widgets.volume_slices(volume)
    assert viewer.index.max == 5
    first_png = viewer.image.value
    viewer.axis.value = 2                       # x: sections are (Z, Y) = 6 x 8
    assert viewer.index.max == 9 and viewer.frame().shape == (6, 8, 3)
    viewer.index.value = 7
    np.testing.assert_array_equal(viewer.section(), volume[:, :, 7])
    assert viewer.image.value != first_png
    assert "section 7 of x" in viewer.info.value
    viewer.axis.value = 0                       # index clamped back into range
    assert viewer.index.value == 5


def test_volume_viewer_draws_boundaries_only_when_asked(volume):
    viewer = widgets.volume_slices(volume)
    edge = grains.boundaries(viewer.section())
    with_lines = viewer.frame()
    viewer.show_boundaries.value = False
    without = viewer.frame()
    assert (with_lines[edge] != without[edge]).any(axis=1).all()
    np.testing.assert_array_equal(with_lines[~edge], without[~edge])


def test_pair_viewer_modes():
    ids = np.stack([voronoi_labels((32, 40), 6, seed=s) for s in range(3)])
    images = np.full(ids.shape, 200, np.uint8)
    viewer = widgets.pairs(images, ids, titles=["a", "b", "c"])
    viewer.alpha.value = 1.0
    edge = grains.boundaries(ids[0])
    overlay = viewer.frame()
    assert (overlay[edge] == widgets.BOUNDARY_RGB).all() and (overlay[~edge] == 200).all()
    viewer.mode.value = "label"
    assert (viewer.frame()[edge] == 0).all() and (viewer.frame()[~edge] == 255).all()
    viewer.index.value = 2
    assert "c: pair 3 of 3" in viewer.info.value
    viewer.mode.value = "image"
    assert (viewer.frame() == 200).all()


def test_pair_viewer_accepts_boundary_maps_and_rejects_mismatch():
    boundary = np.zeros((2, 16, 16), bool)
    boundary[:, 8] = True
    viewer = widgets.pairs(np.zeros((2, 16, 16), np.uint8), boundary)
    viewer.alpha.value = 1.0
    assert (viewer.frame()[8] == widgets.BOUNDARY_RGB).all()
    with pytest.raises(ValueError, match="same shape"):
        widgets.pairs(np.zeros((2, 16, 16), np.uint8), boundary[:1])
    with pytest.raises(ValueError, match="3D integer"):
        widgets.volume_slices(np.zeros((4, 4, 4), float))


def test_side_by_side_shows_every_panel_at_the_index():
    ids = np.stack([voronoi_labels((20, 30), 5, seed) for seed in range(3)])
    labels = np.stack([grains.boundaries(i) for i in ids])
    images = np.where(labels, 40, 200).astype(np.uint8)
    rgb = np.stack([grains.grain_colours(i) for i in ids])
    viewer = widgets.side_by_side({"label": labels, "image": images, "grains": rgb},
                                  notes=["a", "b", "c"])
    frame = viewer.frame()
    assert frame.shape == (20, 3 * 30 + 2 * 6, 3)
    np.testing.assert_array_equal(frame[:, :30, 0], np.where(labels[0], 0, 255))
    np.testing.assert_array_equal(frame[:, 36:66, 0], images[0])
    before = viewer.image.value
    viewer.index.value = 2
    np.testing.assert_array_equal(viewer.panel("image")[..., 0], images[2])
    assert viewer.image.value != before and viewer.info.value.endswith(": c")
    with pytest.raises(ValueError, match="same length"):
        widgets.side_by_side({"a": images, "b": images[:2]})
    with pytest.raises(ValueError, match="2 notes for 3"):
        widgets.side_by_side({"a": images}, notes=["x", "y"])
