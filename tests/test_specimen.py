"""Tests of grainlib.data.specimen: the surrogate iron specimen (structure and rendering)."""

import numpy as np
import pytest

from grainlib.core import grains
from grainlib.data import patches, specimen
from grainlib.score import appearance


@pytest.fixture(scope="module")
def small():
    """Three sections of 96 x 128 pixels with 20-px grains."""
    return specimen.sections(3, (96, 128), seed=0, grain_diameter=20.0)


def kept_share(a, b):
    """Share of pixels whose grain in ``a`` overlaps most with their grain in ``b``."""
    n = int(max(a.max(), b.max())) + 1
    counts = np.bincount((a.astype(np.int64) * n + b).ravel(), minlength=n * n)
    return counts.reshape(n, n).max(axis=1).sum() / a.size


def test_shapes_and_dtypes(small):
    images, grain_ids = small
    assert images.shape == grain_ids.shape == (3, 96, 128)
    assert images.dtype == np.uint8 and grain_ids.dtype == np.int32
    assert specimen.structure(2, (40, 50), seed=1, grain_diameter=12.0).shape == (2, 40, 50)
    assert specimen.render(grain_ids[0], seed=1).shape == (96, 128)


def test_same_seed_same_sections_other_seed_other_sections(small):
    images, grain_ids = small
    again = specimen.sections(3, (96, 128), seed=0, grain_diameter=20.0)
    assert np.array_equal(again[0], images) and np.array_equal(again[1], grain_ids)
    other = specimen.sections(3, (96, 128), seed=1, grain_diameter=20.0)
    assert not np.array_equal(other[1], grain_ids)
    assert not np.array_equal(specimen.render(grain_ids[0], seed=0),
                              specimen.render(grain_ids[0], seed=1))


def test_labels_are_4_connected_grain_maps(small):
    for section in small[1]:
        assert section.min() == 1
        assert np.array_equal(np.unique(section), np.arange(1, section.max() + 1))
        assert np.array_equal(grains.connected_grains(section), section)


def test_boundaries_darker_than_interiors_even_with_hidden_segments(small):
    images, grain_ids = small
    on_boundary = np.stack([grains.boundaries(g) for g in grain_ids])
    assert images[on_boundary].mean() < images[~on_boundary].mean() - 25
    # the labels hold every boundary, the image misses some: share of boundary pixels
    # that look like interior (brighter than the interiors' median)
    hidden = images[on_boundary] > np.median(images[~on_boundary])
    assert 0.005 < hidden.mean() < 0.3
    # all boundaries faint: same labels, much lighter boundaries
    faint = specimen.render(grain_ids[0], seed=0, faint_boundaries=1.0)
    normal = specimen.render(grain_ids[0], seed=0)
    assert (appearance.boundary_darkness(faint, grain_ids[0])
            < 0.4 * appearance.boundary_darkness(normal, grain_ids[0]))


def test_neighbouring_sections_correlated_distant_ones_not():
    near = specimen.structure(2, (128, 128), seed=3, grain_diameter=24.0)
    far = specimen.structure(2, (128, 128), seed=3, grain_diameter=24.0, section_spacing=2.0)
    assert kept_share(near[0], near[1]) > 0.85
    assert kept_share(far[0], far[1]) < 0.6


@pytest.mark.parametrize("diameter", [16.0, 28.0])
def test_grain_size_follows_the_parameter(diameter):
    grain_ids = specimen.structure(3, (224, 224), seed=4, grain_diameter=diameter,
                                   section_spacing=2.0)
    area_per_grain = grain_ids.size / sum(int(g.max()) for g in grain_ids)
    assert area_per_grain == pytest.approx(np.pi / 4 * diameter ** 2, rel=0.2)


def test_flaws_change_the_image_only_where_expected(small):
    grain_ids = small[1][0]
    clean = specimen.render(grain_ids, seed=5, pits=0.0, scratches=0.0)
    pitted = specimen.render(grain_ids, seed=5, pits=5.0, scratches=0.0)
    scratched = specimen.render(grain_ids, seed=5, pits=0.0, scratches=1000.0)
    for flawed in (pitted, scratched):
        change = flawed.astype(int) - clean.astype(int)
        assert change.max() <= 1  # flaws only darken (1: rounding)
        changed = change < -3
        assert 0.002 < changed.mean() < 0.15
    # pits are compact blobs, scratches long thin lines
    pit_blobs = grains.connected_grains((pitted.astype(int) - clean < -3).astype(np.int32))
    assert np.bincount(pit_blobs.ravel()).min() < 200
    line = (scratched.astype(int) - clean) < -3
    assert line.any(axis=0).mean() > 0.5 or line.any(axis=1).mean() > 0.5


def test_bad_parameters_raise_naming_the_key(small):
    with pytest.raises(TypeError, match="grain_size.*grain_diameter"):
        specimen.sections(1, (32, 32), grain_size=3)
    with pytest.raises(ValueError, match="blur"):
        specimen.render(small[1][0], blur=-1.0)
    with pytest.raises(ValueError, match="waviness"):
        specimen.structure(1, (32, 32), waviness="wavy")
    with pytest.raises(TypeError, match="blur"):
        specimen.structure(1, (32, 32), blur=1.0)
    with pytest.raises(ValueError, match="shape"):
        specimen.sections(1, (32,))
    with pytest.raises(ValueError, match="grain_ids"):
        specimen.render(np.zeros((8, 8)))


def test_render_does_not_modify_its_input(small):
    grain_ids = small[1][0].copy()
    specimen.render(grain_ids, seed=0)
    assert np.array_equal(grain_ids, small[1][0])


def test_surrogate_at_real_grain_size_looks_like_real_iron(iron):
    real, real_ids = iron[0][[0, 4]], iron[1][[0, 4]]  # sections 001 and 005
    images, grain_ids = specimen.sections(2, (800, 800), seed=0)
    flat = np.stack([patches.render_flat(g, grains.boundaries(g), (150, 250), 0, seed=i)
                     for i, g in enumerate(grain_ids)])
    # the flattering flat rendering: the real interior and boundary means
    flat_real_greys = np.stack([patches.render_flat(g, grains.boundaries(g), (245, 245), 170)
                                for g in grain_ids])
    surrogate_emd = appearance.histogram_distance(images, real)
    assert surrogate_emd < appearance.histogram_distance(flat, real) / 5
    assert surrogate_emd < appearance.histogram_distance(flat_real_greys, real) / 2
    real_to_real = appearance.histogram_distance(real[0], real[1])
    assert surrogate_emd < 1.5 * real_to_real
    real_dark = appearance.boundary_darkness(real, real_ids)
    assert (abs(appearance.boundary_darkness(images, grain_ids) - real_dark)
            < abs(appearance.boundary_darkness(flat, grain_ids) - real_dark) / 3)
    assert (appearance.grains_per_area(grain_ids)
            == pytest.approx(appearance.grains_per_area(real_ids), rel=0.2))
    assert (appearance.boundary_fraction(grain_ids)
            == pytest.approx(appearance.boundary_fraction(real_ids), rel=0.2))
