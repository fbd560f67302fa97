import numpy as np
import pytest
from skimage.measure import label

from grainlib.core import grains

from conftest import voronoi_labels


def test_boundary_widths_on_a_straight_interface():
    ids = np.zeros((6, 8), np.int32)
    ids[:, 4:] = 3
    for width in (1, 2, 3, 4):
        b = grains.boundaries(ids, width)
        assert b.sum(axis=1).tolist() == [width] * 6
    assert grains.boundaries(ids, 2)[:, 3:5].all()          # both sides of the interface


@pytest.mark.parametrize("width", [1, 2, 3])
def test_boundaries_separate_grains_4_connected(width):
    ids = voronoi_labels((60, 70), 25, seed=width)
    b = grains.boundaries(ids, width)
    interiors = label(~b, connectivity=1)
    # every remaining region lies inside one grain
    for region in range(1, interiors.max() + 1):
        assert len(np.unique(ids[interiors == region])) == 1


def test_boundaries_reject_non_labels():
    with pytest.raises(ValueError, match="integer grain ids"):
        grains.boundaries(np.zeros((4, 4), float))
    with pytest.raises(ValueError, match="2D"):
        grains.boundaries(np.zeros((2, 4, 4), int))


def test_section_and_connected_pieces():
    volume = np.zeros((4, 5, 6), np.int32)
    volume[:, :, 0] = volume[:, :, 5] = 1           # one grain cut in two pieces in 2D
    s = grains.section(volume, 0, 2)
    assert s.shape == (5, 6)
    assert grains.connected_grains(s).max() == 3
    with pytest.raises(IndexError):
        grains.section(volume, 2, 6)


def test_areas_and_edges_of_a_known_map():
    ids = np.zeros((9, 9), np.int32)
    ids[3:6, 3:6] = 1                                 # a 3x3 grain inside grain 0
    assert grains.grain_areas(ids, exclude_frame=False).tolist() == [72, 9]
    assert grains.grain_areas(ids).tolist() == [9]
    assert grains.edge_counts(ids).tolist() == [1]
    ids[3:6, 6:9] = 2                                 # a neighbour touching the frame
    assert grains.edge_counts(ids, exclude_frame=False).tolist() == [2, 2, 2]


def test_periodic_grain_counts_once():
    volume = np.zeros((8, 8, 8), np.int32)
    volume[:, :, 6:] = 1
    volume[:, :, :2] = 1                              # grain 1 wraps across x
    volume[0, 0, 3] = 2                               # a corner grain, wrapping nowhere
    assert grains.grain_count_3d(volume) == 3
    assert grains.grain_count_3d(volume, periodic=False) == 4
    assert grains.mean_grain_volume(volume) == pytest.approx(512 / 3)
    corners = np.zeros((6, 6, 6), np.int32)
    corners[np.ix_([0, 5], [0, 5], [0, 5])] = 1      # the eight corners meet across the faces
    assert grains.grain_count_3d(corners) == 2
    assert grains.grain_count_3d(corners, periodic=False) == 9


def test_connectivity_26_joins_edges_and_corners_also_across_the_box():
    volume = np.zeros((6, 6, 6), np.int32)
    volume[2, 2, 2] = volume[3, 3, 3] = 1            # corner contact inside the box
    volume[0, 0, 0] = volume[5, 5, 5] = 2            # corner contact only through the wrap
    assert grains.grain_count_3d(volume) == 3
    assert grains.grain_count_3d(volume, connectivity=1) == 5
    assert grains.grain_count_3d(volume, periodic=False) == 4
    labelled = grains.grains_3d(volume)
    assert labelled[2, 2, 2] == labelled[3, 3, 3] and labelled[0, 0, 0] == labelled[5, 5, 5]
    assert set(np.unique(labelled)) == {0, 1, 2}


def test_grains_3d_of_unique_ids_is_a_relabelling():
    volume = np.random.default_rng(0).permutation(4 * 5 * 6).reshape(4, 5, 6).astype(np.int32)
    labelled = grains.grains_3d(volume)
    assert labelled.max() == volume.size - 1
    assert len(np.unique(labelled)) == volume.size


def test_grain_table_of_a_known_map():
    ids = np.array([[1, 1, 2, 2],
                    [1, 1, 2, 2],
                    [3, 3, 3, 2],
                    [0, 0, 3, 2]], np.uint16)     # 0: no grain, left out
    table = grains.grain_table(ids)
    assert list(table["grain"]) == [1, 2, 3]
    assert list(table["area_px"]) == [4, 6, 4]
    np.testing.assert_allclose(table["equivalent_diameter_px"],
                               np.sqrt(4 * np.array([4, 6, 4]) / np.pi))
    np.testing.assert_allclose(table["centroid_row"], [0.5, 7 / 6, 2.25])
    np.testing.assert_allclose(table["centroid_col"], [0.5, 16 / 6, 1.25])
    assert list(table["touches_frame"]) == [True, True, True]
    assert dict(table.dtypes.astype(str)) == {
        "grain": "int64", "area_px": "int64", "equivalent_diameter_px": "float64",
        "centroid_row": "float64", "centroid_col": "float64", "touches_frame": "bool"}
    inner = np.pad(np.full((3, 3), 5), 1, constant_values=7)
    table = grains.grain_table(inner)
    assert list(table["grain"]) == [5, 7] and list(table["touches_frame"]) == [False, True]
    assert len(grains.grain_table(np.zeros((3, 3), np.int32))) == 0
    with pytest.raises(ValueError, match=">= 0"):
        grains.grain_table(np.array([[-1, 1]]))


def test_grain_table_areas_are_the_pixel_counts():
    ids = voronoi_labels((45, 61), 9, 2) + 1
    table = grains.grain_table(ids)
    np.testing.assert_array_equal(table["area_px"], np.bincount(ids.ravel())[1:])
    assert table["area_px"].sum() == ids.size
