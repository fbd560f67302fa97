"""Tests of grainsize: analytic structures (bands, square grid, hexagonal and
Poisson-Voronoi tilings), the ASTM E112 formulas, units and bad input."""

import functools
import math

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import cKDTree

from grainlib.score import grainsize

SQRT2, SQRT3 = math.sqrt(2.0), math.sqrt(3.0)


# --- structures -------------------------------------------------------------------

def bands(size=200, d=10, offset=5, thickness=1):
    """Horizontal boundary bands, centred on rows offset, offset + d, ..."""
    b = np.zeros((size, size), bool)
    for t in range(thickness):
        b[offset - thickness // 2 + t::d, :] = True
    return b


def square_grid(size=200, a=10, oy=5, ox=5):
    b = np.zeros((size, size), bool)
    b[oy::a, :] = True
    b[:, ox::a] = True
    return b


def voronoi(shape, seeds):
    """1-px boundaries where the nearest seed changes between 4-neighbours."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    _, owner = cKDTree(seeds).query(np.column_stack([yy.ravel(), xx.ravel()]))
    return owner_boundaries(owner.reshape(shape))


def owner_boundaries(owner):
    """1-px boundaries where the owner changes between 4-neighbours."""
    b = np.zeros(owner.shape, bool)
    b[:, :-1] |= owner[:, :-1] != owner[:, 1:]
    b[:-1, :] |= owner[:-1, :] != owner[1:, :]
    return b


@functools.lru_cache(maxsize=None)
def hex_tiling(size=512, a=20.0, rotation_deg=0.0):
    """Voronoi of a hexagonal lattice (nearest centres a px apart): regular hexagons
    of side a / sqrt(3) and area sqrt(3) / 2 a^2. The nearest centre of a point is a
    corner of the lattice rhombus holding it."""
    yy, xx = np.mgrid[:size, :size].astype(float)
    c, s = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    x, y = xx - size / 2 - 0.31, yy - size / 2 - 0.17
    u, v = (c * x + s * y) / a, (-s * x + c * y) / a
    j0 = np.floor(v / (SQRT3 / 2))
    i0 = np.floor(u - j0 / 2)
    best, owner = np.full(u.shape, np.inf), np.zeros(u.shape, np.int64)
    for di in (0, 1):
        for dj in (0, 1):
            i, j = i0 + di, j0 + dj
            d2 = (u - i - j / 2) ** 2 + (v - j * SQRT3 / 2) ** 2
            closer = d2 < best
            best[closer] = d2[closer]
            owner[closer] = ((i * 100003 + j)[closer]).astype(np.int64)
    return owner_boundaries(owner)


def hex_intercept_at(angles_deg, a, rotation_deg):
    """Exact L / P of a hexagonal tiling for equal line lengths at each angle.

    Edges (length s, one of each of 3 orientations per cell of area A) lie at
    rotation + 30 + 60 k degrees; a line at theta crosses s |sin(theta - edge)| / A
    edges per unit length."""
    s, area = a / SQRT3, SQRT3 / 2 * a * a
    p_l = [sum(abs(math.sin(math.radians(t - rotation_deg - 30 - 60 * k))) for k in range(3))
           * s / area for t in angles_deg]
    return 1.0 / np.mean(p_l)


# --- bands: intercept = d / |sin(theta)| -------------------------------------------

def test_bands_vertical_lines_give_the_spacing_exactly():
    ic = grainsize.intercepts(bands(d=10), angles=(90,), spacing=10)
    assert ic.dtype == np.float64 and ic.ndim == 1 and ic.size > 0
    np.testing.assert_array_equal(ic, 10.0)


def test_bands_lines_parallel_to_them_cross_nothing():
    b = bands(d=10)  # boundary rows 5, 15, ...; lines at rows 100 + 10 k
    assert grainsize.intercepts(b, angles=(0,), spacing=10).size == 0
    with pytest.raises(ValueError, match="no test line crosses"):
        grainsize.measure(b, angles=(0,), spacing=10)


@pytest.mark.parametrize("angle", [30, 45, 60, 120, 135, 150])
def test_bands_oblique_lines_give_d_over_sin(angle):
    d = 10
    expected = d / abs(math.sin(math.radians(angle)))
    ic = grainsize.intercepts(bands(d=d), angles=(angle,), spacing=7)
    assert abs(ic.mean() - expected) < 0.3
    assert np.all(np.abs(ic - expected) < 1.0)  # each within a pixel
    # L / P also holds the partial intercepts at the frame: a little looser.
    m = grainsize.measure(bands(d=d), angles=(angle,), spacing=7)
    assert m["mean_intercept"] == pytest.approx(expected, rel=0.02)


def test_bands_grid_mean_intercept_is_the_analytic_average():
    # Equal line length per angle: L / P = 4 d / sum |sin theta|; theta = 0 adds none.
    d = 10
    expected = 4 * d / (0 + 2 * math.sin(math.radians(45)) + 1)
    m = grainsize.measure(bands(d=d), spacing=10)
    assert m["mean_intercept"] == pytest.approx(expected, rel=0.005)


@pytest.mark.parametrize("thickness", [3, 5])
def test_thick_bands_count_as_one_intersection(thickness):
    # size 195: the last band (rows 185-187 when 3 thick) stays clear of the frame.
    thin = bands(size=195, d=12, offset=6)
    thick = bands(size=195, d=12, offset=6, thickness=thickness)
    for spacing in (5, 7, 10, None):
        assert (grainsize.measure(thick, angles=(90,), spacing=spacing)["n_intersections"]
                == grainsize.measure(thin, angles=(90,), spacing=spacing)["n_intersections"])
    np.testing.assert_allclose(grainsize.intercepts(thick, angles=(90,)), 12.0)
    # Oblique lines may also end inside a band at the left / right frame (1/2 each).
    assert grainsize.measure(thick, spacing=7)["mean_intercept"] == pytest.approx(
        grainsize.measure(thin, spacing=7)["mean_intercept"], rel=0.02)


@pytest.mark.parametrize("rotation", [10.0, 25.0, 40.0])
@pytest.mark.parametrize("dilation", [1, 2])
def test_thick_hexagon_boundaries_keep_the_intercept(rotation, dilation):
    thin = hex_tiling(a=20.0, rotation_deg=rotation)
    thick = ndimage.binary_dilation(thin, iterations=dilation)  # 3 or 5 px bands
    assert grainsize.measure(thick, spacing=5)["mean_intercept"] == pytest.approx(
        grainsize.measure(thin, spacing=5)["mean_intercept"], rel=0.015)


def test_line_ends_inside_grains_add_length_only_and_on_boundary_score_half():
    # Rows 5, 15, ..., 95: a vertical line of 100 px crosses 10 bands, ends in grains.
    m = grainsize.measure(bands(size=100, d=10, offset=5), angles=(90,), spacing=10)
    assert m["test_line_length"] == pytest.approx(10 * 100)
    assert m["n_intersections"] == 10 * 10
    # Rows 0, 10, ..., 90: each line starts on the band of row 0 -> 9 + 1/2.
    m = grainsize.measure(bands(size=100, d=10, offset=0), angles=(90,), spacing=10)
    assert m["n_intersections"] == 10 * 9.5


# --- square grid ------------------------------------------------------------------

def test_square_grid_intercept_along_rows_and_columns_is_the_side():
    # Intercepts run centre to centre of the 1-px boundaries: a, not a - 1.
    b = square_grid(a=10)
    np.testing.assert_array_equal(grainsize.intercepts(b, angles=(0, 90), spacing=10), 10.0)
    m = grainsize.measure(b, angles=(0, 90), spacing=10)
    assert m["mean_intercept"] == pytest.approx(10.0, abs=1e-9)


@pytest.mark.parametrize("oy, ox, rel", [(5, 5, 1e-9), (3, 7, 1e-9), (0, 4, 0.03)])
def test_square_grid_grains_per_area_is_one_over_a_squared(oy, ox, rel):
    m = grainsize.measure(square_grid(a=10, oy=oy, ox=ox))
    assert m["grains_per_area"] == pytest.approx(1 / 100, rel=rel)


@pytest.mark.parametrize("oy, ox", [(5, 5), (3, 7), (2, 6)])
def test_square_grid_four_angle_intercept(oy, ox):
    # 0 / 90: a; 45 / 135: a / sqrt(2)  ->  L / P = 4 a / (2 + 2 sqrt(2)).
    m = grainsize.measure(square_grid(a=10, oy=oy, ox=ox))
    assert m["mean_intercept"] == pytest.approx(40 / (2 + 2 * SQRT2), rel=0.05)


# --- hexagonal tiling: l = pi A / P_hexagon, N_A = 1 / A --------------------------

@pytest.mark.parametrize("rotation", [10.0, 25.0, 40.0, 53.0])
def test_hex_tiling_mean_intercept(rotation):
    a = 20.0
    s, area = a / SQRT3, SQRT3 / 2 * a * a
    m = grainsize.measure(hex_tiling(a=a, rotation_deg=rotation), spacing=5)
    assert m["mean_intercept"] == pytest.approx(
        hex_intercept_at(grainsize.DEFAULT_ANGLES, a, rotation), rel=0.02)
    assert m["mean_intercept"] == pytest.approx(math.pi * area / (6 * s), rel=0.03)


@pytest.mark.parametrize("rotation", [0.0, 25.0])
def test_hex_tiling_grains_per_area(rotation):
    a = 20.0
    m = grainsize.measure(hex_tiling(a=a, rotation_deg=rotation))
    assert m["grains_per_area"] == pytest.approx(1 / (SQRT3 / 2 * a * a), rel=0.03)


@pytest.mark.parametrize("rotation", [0.0, 25.0])
def test_intercept_and_planimetric_g_agree_on_hexagons(rotation):
    # E112's two formulas agree when N_A l^2 = 0.7936; hexagons: pi^2 sqrt(3) / 24 =
    # 0.712, so G_intercept - G_planimetric = +0.155 analytically.
    m = grainsize.measure(hex_tiling(a=20.0, rotation_deg=rotation), pixel_size=0.5, spacing=5)
    assert abs(m["G_intercept"] - m["G_planimetric"]) < 0.3


def test_poisson_voronoi_mean_intercept():
    # Poisson-Voronoi with density lam: L_A = 2 sqrt(lam), l = pi / (4 sqrt(lam)).
    size, cell, pad = 512, 400.0, 60
    rng = np.random.default_rng(1)
    n = int((size + 2 * pad) ** 2 / cell)
    b = voronoi((size, size), rng.uniform(-pad, size + pad, (n, 2)))
    m = grainsize.measure(b, spacing=5)
    assert m["mean_intercept"] == pytest.approx(math.pi / 4 * math.sqrt(cell), rel=0.04)
    assert m["grains_per_area"] == pytest.approx(1 / cell, rel=0.04)


# --- E112 test pattern --------------------------------------------------------------

@pytest.mark.parametrize("b", [square_grid(a=10), hex_tiling(a=20.0, rotation_deg=25.0)],
                         ids=["square", "hex"])
def test_e112_pattern_agrees_with_grid(b):
    grid = grainsize.measure(b)["mean_intercept"]
    e112 = grainsize.measure(b, pattern="e112")
    assert e112["mean_intercept"] == pytest.approx(grid, rel=0.10)
    ic = grainsize.intercepts(b, pattern="e112")
    assert ic.size > 0 and np.all(ic > 0)
    assert ic.mean() == pytest.approx(e112["mean_intercept"], rel=0.10)


def spokes(size=301, k=7):
    """k straight boundaries from the frame centre, one along the row to the right."""
    yy, xx = np.mgrid[:size, :size]
    c = (size - 1) / 2
    angle = np.mod(np.arctan2(-(yy - c), xx - c), 2 * np.pi)
    return owner_boundaries(np.floor(angle / (2 * np.pi / k)).astype(int))


def test_e112_circles_are_closed():
    # Each circle crosses the 7 spokes once: 7 arcs of 2 pi r / 7, the arc over the
    # circle's start (which lies on a spoke) included. Lines only meet at the centre.
    size, k = 301, 7
    b = spokes(size, k)
    ic = grainsize.intercepts(b, pattern="e112")
    radii = np.array([79.58, 53.05, 26.53]) / (500 / (2 + 2 * SQRT2)) * size / 2
    for arc in 2 * np.pi * radii / k:
        assert np.count_nonzero(np.abs(ic - arc) < 2.5) == k
    # Per circle exactly k intersections, also for the spoke under the circle's start
    # (private helpers: the public counts mix circles with lines).
    xy, n, step, closed = grainsize.sample_paths(b.shape, "e112", (), None)
    hit_path, _, hit_count = grainsize.intersections_along(grainsize.grain_labels(b), xy, n, step, closed)
    per_path = np.bincount(hit_path, weights=hit_count, minlength=n.size)
    np.testing.assert_array_equal(per_path[closed], k)


def test_e112_pattern_total_length():
    # Four lines of a square of side min(H, W) plus circles 3 : 2 : 1 totalling the same.
    m = grainsize.measure(hex_tiling(a=20.0, rotation_deg=25.0), pattern="e112")
    assert m["test_line_length"] == pytest.approx(2 * 512 * (2 + 2 * SQRT2), rel=0.01)


# --- astm_g -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, g", [
    ({"mean_intercept_mm": 0.32}, 0.0),      # E112 Table 4, G = 0
    ({"mean_intercept_mm": 0.0200}, 8.0),    # G = 8
    ({"grains_per_mm2": 7.75}, 0.0),
    ({"grains_per_mm2": 15.50}, 1.0),
    ({"grains_per_mm2": 1984.0}, 8.0),
])
def test_astm_g_table_values(kwargs, g):
    assert grainsize.astm_g(**kwargs) == pytest.approx(g, abs=0.005)


def test_astm_g_steps():
    l = np.array([0.01, 0.05, 0.2])
    np.testing.assert_allclose(grainsize.astm_g(mean_intercept_mm=l / 2)
                               - grainsize.astm_g(mean_intercept_mm=l), 2.0, atol=1e-6)
    n_a = np.array([10.0, 100.0])
    np.testing.assert_allclose(grainsize.astm_g(grains_per_mm2=2 * n_a)
                               - grainsize.astm_g(grains_per_mm2=n_a), 1.0, atol=1e-6)
    assert grainsize.astm_g(grains_per_mm2=n_a).shape == (2,)
    assert isinstance(grainsize.astm_g(mean_intercept_mm=0.1), float)


@pytest.mark.parametrize("kwargs, match", [
    ({}, "exactly one"),
    ({"mean_intercept_mm": 0.1, "grains_per_mm2": 10.0}, "exactly one"),
    ({"mean_intercept_mm": 0.0}, "mean_intercept_mm must be finite and > 0"),
    ({"mean_intercept_mm": [0.1, -1.0]}, "mean_intercept_mm must be finite and > 0"),
    ({"grains_per_mm2": float("nan")}, "grains_per_mm2 must be finite and > 0"),
])
def test_astm_g_refuses(kwargs, match):
    with pytest.raises(ValueError, match=match):
        grainsize.astm_g(**kwargs)


# --- units --------------------------------------------------------------------------

def test_pixel_size_scaling():
    b = hex_tiling(a=20.0, rotation_deg=25.0)
    one, two = grainsize.measure(b, pixel_size=1.0), grainsize.measure(b, pixel_size=2.0)
    assert two["mean_intercept"] == pytest.approx(2 * one["mean_intercept"], rel=1e-12)
    assert two["G_intercept"] == pytest.approx(one["G_intercept"] - 2.0, abs=1e-5)
    assert two["grains_per_area"] == pytest.approx(one["grains_per_area"] / 4, rel=1e-12)
    assert two["G_planimetric"] == pytest.approx(one["G_planimetric"] - 2.0, abs=1e-5)


def test_without_pixel_size_lengths_are_pixels_and_g_is_nan():
    b = square_grid(a=10)
    px, um = grainsize.measure(b), grainsize.measure(b, pixel_size=0.5)
    assert px["unit"] == "px" and um["unit"] == "um"
    assert math.isnan(px["G_intercept"]) and math.isnan(px["G_planimetric"])
    assert um["mean_intercept"] == pytest.approx(0.5 * px["mean_intercept"])
    # 1 grain per 100 px^2 of 0.25 um^2 = 1 per 25e-6 mm^2.
    assert um["grains_per_area"] == pytest.approx(1 / 25e-6)
    assert um["G_planimetric"] == pytest.approx(3.321928 * math.log10(4e4) - 2.954)


@pytest.mark.parametrize("encode", [lambda b: b.astype(np.uint8),
                                    lambda b: b.astype(np.int64) * 255],
                         ids=["uint8 0/1", "int64 0/255"])
def test_integer_maps_read_like_bool(encode):
    b = hex_tiling(a=20.0, rotation_deg=25.0)
    assert grainsize.measure(encode(b)) == grainsize.measure(b)


# --- bad input ----------------------------------------------------------------------

@pytest.mark.parametrize("b, match", [
    (np.zeros((50, 50), bool), "no boundaries"),
    (np.ones((50, 50), bool), "no grains"),
    (square_grid(size=50).astype(float), "dtype float64"),
    (square_grid(size=50).astype(np.uint8) * 2, r"values \{0, 1\} or \{0, 255\}"),
    (np.zeros((4, 50, 50), bool), "2D"),
    (np.zeros((0, 50), bool), "empty"),
])
def test_bad_maps_are_refused(b, match):
    with pytest.raises(ValueError, match=match):
        grainsize.measure(b)
    with pytest.raises(ValueError, match=match):
        grainsize.intercepts(b)


@pytest.mark.parametrize("pixel_size", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_bad_pixel_size_is_refused(pixel_size):
    with pytest.raises(ValueError, match="pixel_size"):
        grainsize.measure(square_grid(size=50), pixel_size=pixel_size)


@pytest.mark.parametrize("kwargs, match", [
    ({"pattern": "circles"}, "pattern"),
    ({"spacing": 0}, "spacing"),
    ({"spacing": float("nan")}, "spacing"),
    ({"angles": ()}, "angles"),
])
def test_bad_pattern_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        grainsize.measure(square_grid(size=50), **kwargs)


def test_error_messages_are_one_line():
    for bad in (np.zeros((9, 9), bool), np.zeros((9, 9)), np.full((9, 9), 2)):
        with pytest.raises(ValueError) as err:
            grainsize.measure(bad)
        assert "\n" not in str(err.value)


def test_input_is_not_modified():
    b = square_grid(size=50)
    before = b.copy()
    grainsize.measure(b)
    np.testing.assert_array_equal(b, before)


# --- size ---------------------------------------------------------------------------

def test_2048_map_runs():
    big = hex_tiling(size=2048, a=20.0, rotation_deg=25.0)
    m = grainsize.measure(big, pixel_size=0.5)
    assert m["mean_intercept"] == pytest.approx(0.5 * 20.0 * math.pi / 4, rel=0.05)
    assert np.isfinite(m["G_intercept"]) and np.isfinite(m["G_planimetric"])


def test_compare_gives_the_grain_size_error_without_a_pixel_size():
    """A prediction with twice the grain spacing of the label: its mean intercept is
    twice the label's, so G is 2.0 lower (E112: halving l raises G by 2); a prediction
    with no boundary at all has no grain size (NaN), not an error."""
    truth = np.zeros((120, 120), bool)
    truth[:, ::10] = truth[::10, :] = True
    coarse = np.zeros_like(truth)
    coarse[:, ::20] = coarse[::20, :] = True
    table = grainsize.compare([coarse, np.zeros_like(truth), truth], [truth] * 3)
    assert list(table.columns) == ["intercept", "intercept_true", "intercept_error", "dG",
                                   "dG_planimetric"]
    assert table.loc[0, "intercept_error"] == pytest.approx(1.0, abs=0.1)  # frame effects
    assert table.loc[0, "dG"] == pytest.approx(-2.0, abs=0.15)
    assert table.loc[0, "dG_planimetric"] == pytest.approx(-2.0, abs=0.15)
    assert table.loc[1].isna().all()
    assert table.loc[2, ["intercept_error", "dG", "dG_planimetric"]].tolist() == [0.0, 0.0, 0.0]
