"""Tests of grainlib.score.appearance on tiny hand-made images with known answers."""

import numpy as np
import pandas as pd
import pytest

from grainlib.score import appearance

# two grains side by side: columns 0-1 grain 1, columns 2-3 grain 2;
# width-2 boundary pixels are columns 1 and 2
TWO_GRAINS = np.array([[1, 1, 2, 2]] * 4, np.int32)
TWO_GRAINS_IMAGE = np.array([[200, 100, 100, 200]] * 4, np.uint8)


def test_grey_histogram_is_a_density():
    image = np.array([[0, 0], [255, 7]], np.uint8)
    histogram = appearance.grey_histogram(image)
    assert histogram.shape == (256,) and histogram.dtype == np.float64
    assert histogram[0] == 0.5 and histogram[255] == 0.25 and histogram[7] == 0.25
    assert histogram.sum() == pytest.approx(1.0)
    stacked = appearance.grey_histogram(np.stack([image, np.full((2, 2), 7, np.uint8)]))
    assert stacked[7] == pytest.approx(5 / 8)


def test_histogram_distance_in_grey_levels():
    tens = np.full((3, 3), 10, np.uint8)
    twenties = np.full((5, 2), 20, np.uint8)
    assert appearance.histogram_distance(tens, twenties) == pytest.approx(10.0)
    assert appearance.histogram_distance(tens, tens) == 0.0
    half = np.array([[10, 30]], np.uint8)  # half the mass moves by 20
    assert appearance.histogram_distance(tens, half) == pytest.approx(10.0)


def test_boundary_fraction_and_grains_per_area():
    assert appearance.boundary_fraction(TWO_GRAINS) == 0.5
    assert appearance.boundary_fraction(TWO_GRAINS, width=1) == 0.25
    assert appearance.grains_per_area(TWO_GRAINS) == pytest.approx(2 / 16 * 10_000)
    assert appearance.grains_per_area(TWO_GRAINS, area=16) == pytest.approx(2)
    # one id in two separate pieces counts as two grains
    split = np.array([[1, 2, 1]], np.int32)
    assert appearance.grains_per_area(split, area=3) == pytest.approx(3)


def test_boundary_darkness_known_value():
    assert appearance.boundary_darkness(TWO_GRAINS_IMAGE, TWO_GRAINS) == pytest.approx(0.5)
    no_contrast = np.full((4, 4), 90, np.uint8)
    assert appearance.boundary_darkness(no_contrast, TWO_GRAINS) == 0.0
    assert np.isnan(appearance.boundary_darkness(no_contrast, np.ones((4, 4), np.int32)))


def test_compare_one_row_per_source():
    bright = np.full((4, 4), 210, np.uint8)
    table = appearance.compare({"real": (TWO_GRAINS_IMAGE, TWO_GRAINS),
                                "bright": (bright[None], TWO_GRAINS[None])}, reference="real")
    assert isinstance(table, pd.DataFrame)
    assert list(table.index) == ["real", "bright"]
    assert set(table.columns) == {"mean_grey", "histogram_distance", "boundary_darkness",
                                  "boundary_fraction", "grains_per_100x100"}
    assert table.loc["real", "histogram_distance"] == 0.0
    assert table.loc["bright", "histogram_distance"] == pytest.approx(60.0)  # 150 -> 210
    assert table.loc["real", "boundary_darkness"] == pytest.approx(0.5)
    assert table.loc["bright", "mean_grey"] == 210.0


def test_bad_input_raises():
    with pytest.raises(ValueError, match="reference 'iron'"):
        appearance.compare({"real": (TWO_GRAINS_IMAGE, TWO_GRAINS)}, reference="iron")
    with pytest.raises(ValueError, match="uint8"):
        appearance.grey_histogram(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="same shape"):
        appearance.boundary_darkness(TWO_GRAINS_IMAGE, TWO_GRAINS[:2])
    with pytest.raises(ValueError, match="integer grain ids"):
        appearance.boundary_fraction(TWO_GRAINS.astype(float))
    with pytest.raises(ValueError, match="pair"):
        appearance.compare({"real": TWO_GRAINS_IMAGE}, reference="real")
