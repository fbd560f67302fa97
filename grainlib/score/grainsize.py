"""ASTM E112 grain size from boundary maps.

A boundary map is an (H, W) array, True (or 1, or 255) on boundary pixels; grains are
its 4-connected components of non-boundary pixels. Methods of ASTM E112-13 (Standard
Test Methods for Determining Average Grain Size) as automated by ASTM E1382-97
(... Using Semiautomatic and Automatic Image Analysis):

Heyn lineal intercept procedure
    l = L / P, test-line length over boundary intersections. Lines are sampled at
    ~1 px steps, nearest pixel; a boundary sample reads as its nearest grain pixel.
    A run of boundary samples between two different grains scores (grains it
    touches - 1): 1 however thick the band, 2 where the line passes a junction
    (E112's manual count gives a triple point 1.5, the expected value). A run with
    the same grain on both sides scores 0: on a pixel map it is a staircase graze, a
    tangent or a dangling boundary (E112 counts a true tangent 1). A run holding an
    open line end scores 1/2 (line end on a boundary); a line end inside a grain
    scores nothing, its partial intercept adds length only (E112's half intercept,
    in the L / P form). Circles have no ends.
Jeffries planimetric procedure
    N_A = (N_inside + N_intercepted / 2) / frame area, grains cut by the frame counted
    1/2 except one holding a frame corner pixel, 1/4 (E112-13, rectangular field).
Grain size number (E112-13, Table 4)
    G = -6.643856 log10(l / mm) - 3.288;  G = 3.321928 log10(N_A mm^2) - 2.954.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
from scipy import ndimage

from grainlib.score import metrics

DEFAULT_ANGLES = (0, 45, 90, 135)

# E112-13 Fig. 5 in mm: circles of diameter 79.58, 53.05, 26.53 (500 mm of circumference
# together) over the medians and diagonals of a square, here sized so that the four
# lines also total 500 mm.
_E112_DIAMETERS_MM = np.array([79.58, 53.05, 26.53])
_E112_SIDE_MM = 500.0 / (2.0 + 2.0 * math.sqrt(2.0))

# A boundary sample reads as the nearest grain pixel within 5 px (ties in a fixed
# order); samples deeper inside thicker bands are skipped.
_DY, _DX = np.mgrid[-5:6, -5:6].reshape(2, -1)
_D2 = _DY * _DY + _DX * _DX
_NEAR_OFFSETS = [(_DY[i], _DX[i]) for i in np.lexsort((_DX, _DY, _D2)) if 0 < _D2[i] <= 25]


def _check_pixel_size(pixel_size):
    if pixel_size is None:
        return None
    if isinstance(pixel_size, (bool, np.bool_)) or not isinstance(pixel_size, numbers.Real):
        raise ValueError(f"pixel_size must be a number (um per pixel), got {pixel_size!r}")
    if not (math.isfinite(pixel_size) and pixel_size > 0):
        raise ValueError(f"pixel_size must be finite and > 0 (um per pixel), "
                         f"got {pixel_size!r}")
    return float(pixel_size)


def grain_labels(boundary):
    """(H, W) int32 grain labels of an (H, W) bool boundary map: its 4-connected
    non-boundary components, 0 on boundary pixels."""
    if not boundary.any():
        raise ValueError("boundary map has no boundaries: no grain size to measure")
    labels, n_grains = ndimage.label(~boundary)  # default structure: 4-connectivity
    if n_grains == 0:
        raise ValueError("boundary map has no grains: every pixel is boundary")
    return labels


def _ragged(n):
    """Path index and index within the path of each sample of paths of n samples."""
    path = np.repeat(np.arange(n.size), n)
    return path, np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)


def _segments(start, direction, length):
    """Samples at the midpoints of ~1 px pieces of straight segments (x, y)."""
    n = np.maximum(np.rint(length), 1).astype(np.intp)
    step = length / n
    path, k = _ragged(n)
    xy = start[path] + ((k + 0.5) * step[path])[:, None] * direction[path]
    return xy, n, step


def _circles(centre, radii):
    n = np.maximum(np.rint(2 * np.pi * radii), 3).astype(np.intp)
    path, k = _ragged(n)
    phi = 2 * np.pi * k / n[path]
    xy = centre + radii[path, None] * np.column_stack([np.cos(phi), -np.sin(phi)])
    return xy, n, 2 * np.pi * radii / n


def _grid_lines(shape, angles, spacing):
    """Parallel lines per angle, clipped to the frame [-0.5, W-0.5] x [-0.5, H-0.5]."""
    h, w = shape
    lo, hi = np.array([-0.5, -0.5]), np.array([w - 0.5, h - 0.5])
    centre = np.array([w // 2, h // 2], dtype=float)
    corners = np.array([lo, [hi[0], lo[1]], [lo[0], hi[1]], hi])
    starts, dirs, lengths = [], [], []
    for angle in np.deg2rad(angles):
        u = np.array([math.cos(angle), -math.sin(angle)])  # rows grow downwards
        u[np.abs(u) < 1e-12] = 0.0  # exact rows and columns
        normal = np.array([-u[1], u[0]])
        proj = (corners - centre) @ normal
        k = np.arange(math.ceil(proj.min() / spacing), math.floor(proj.max() / spacing) + 1)
        p = centre + np.outer(k * spacing, normal)
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (lo - p) / u, (hi - p) / u
        t_in = np.where(u != 0, np.minimum(t1, t2), -np.inf).max(axis=1)
        t_out = np.where(u != 0, np.maximum(t1, t2), np.inf).min(axis=1)
        keep = t_out - t_in >= 1.0
        starts.append(p[keep] + t_in[keep, None] * u)
        dirs.append(np.broadcast_to(u, (keep.sum(), 2)))
        lengths.append((t_out - t_in)[keep])
    return np.concatenate(starts), np.concatenate(dirs), np.concatenate(lengths)


def sample_paths(shape, pattern, angles, spacing):
    """The test lines (and circles) of ``pattern`` over an image of ``shape``, sampled
    every ~1 px: samples (S, 2) float as (x, y), samples per path (M,), step in px (M,),
    closed (M,) bool (circles)."""
    if pattern == "grid":
        spacing = max(3, min(shape) // 10) if spacing is None else spacing
        if not (isinstance(spacing, numbers.Real) and math.isfinite(spacing) and spacing > 0):
            raise ValueError(f"spacing must be a finite number > 0 px, got {spacing!r}")
        angles = np.atleast_1d(np.asarray(angles, dtype=float))
        if angles.size == 0 or not np.all(np.isfinite(angles)):
            raise ValueError(f"angles must be one or more finite degrees, got {angles.tolist()}")
        xy, n, step = _segments(*_grid_lines(shape, angles, float(spacing)))
        return xy, n, step, np.zeros(n.size, bool)
    if pattern != "e112":
        raise ValueError(f"pattern must be 'grid' or 'e112', got {pattern!r}")
    side = float(min(shape))
    centre = np.array([(shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0])
    ends = np.array([[-1, 0, 1, 0], [0, -1, 0, 1], [-1, -1, 1, 1], [-1, 1, 1, -1]]) * side / 2
    vec = ends[:, 2:] - ends[:, :2]
    length = np.hypot(vec[:, 0], vec[:, 1])
    lines = _segments(centre + ends[:, :2], vec / length[:, None], length)
    rings = _circles(centre, _E112_DIAMETERS_MM / _E112_SIDE_MM * side / 2)
    closed = np.r_[np.zeros(4, bool), np.ones(3, bool)]
    return (*(np.concatenate(p) for p in zip(lines, rings)), closed)


def _nearest_grain(labels, yi, xi):
    """Label of the nearest grain pixel within 5 px of each point, else 0."""
    h, w = labels.shape
    out = np.zeros(yi.size, labels.dtype)
    todo = np.arange(yi.size)
    for dy, dx in _NEAR_OFFSETS:
        if todo.size == 0:
            break
        y, x = yi[todo] + dy, xi[todo] + dx
        inside = (y >= 0) & (y < h) & (x >= 0) & (x < w)
        found = np.zeros(todo.size, labels.dtype)
        found[inside] = labels[y[inside], x[inside]]
        out[todo[found > 0]] = found[found > 0]
        todo = todo[found == 0]
    return out


def _read_paths(labels, xy, n, closed):
    """Pixel and grain label (0 on boundary) of each sample, paths as ragged arrays.

    A circle repeats its first sample at its end (n + 1 samples): a band over its
    start then splits into two runs that each see one side of it and score once."""
    h, w = labels.shape
    yi = np.clip(np.rint(xy[:, 1]).astype(np.intp), 0, h - 1)
    xi = np.clip(np.rint(xy[:, 0]).astype(np.intp), 0, w - 1)
    path, k = _ragged(n + closed)
    take = (np.cumsum(n) - n)[path] + k % n[path]
    return path, k, yi[take], xi[take], labels[yi[take], xi[take]]


def _band_scores(labels, path, k, m, yi, xi, lab, opened):
    """Runs of boundary samples: first and last sample index and score (see module)."""
    band = lab == 0
    first, last = k == 0, k == m[path] - 1
    is_start = band & (first | ~np.roll(band, 1))
    run_start = np.flatnonzero(is_start)
    run_end = np.flatnonzero(band & (last | ~np.roll(band, -1)))
    before, after = ~first[run_start], ~last[run_end]
    g_before = np.where(before, lab[run_start - before], -1)
    g_after = np.where(after, lab[np.minimum(run_end + 1, lab.size - 1)], -2)

    runs = np.arange(run_start.size, dtype=np.int64)
    run_of = np.r_[(np.cumsum(is_start) - 1)[band], runs[before], runs[after]]
    seen = np.r_[_nearest_grain(labels, yi[band], xi[band]), g_before[before], g_after[after]]
    base = np.int64(labels.max()) + 1
    pairs = np.unique(run_of[seen > 0] * base + seen[seen > 0])
    distinct = np.bincount(pairs // base, minlength=runs.size)

    ends = (first[run_start] & opened[run_start]).astype(float) + (last[run_end] & opened[run_end])
    at_end = np.where(distinct > 1, distinct - 1.0, 0.5 * ends)
    inner = np.where(g_before != g_after, distinct - 1.0, 0.0)
    return run_start, run_end, np.where(before & after, inner, at_end)


def intersections_along(labels, xy, n, step, closed):
    """Path (M,), position along it (px) and count (1 or 1/2) of each intersection,
    ordered by path and position."""
    path, k, yi, xi, lab = _read_paths(labels, xy, n, closed)
    m = n + closed
    run_start, run_end, score = _band_scores(labels, path, k, m, yi, xi, lab, ~closed[path])
    pos = (k + 0.5) * step[path]
    # A step straight from one grain to another: a 1-px diagonal boundary jumped over.
    jump = np.flatnonzero((k[:-1] < m[path[:-1]] - 1) & (lab[:-1] > 0) & (lab[1:] > 0)
                          & (lab[:-1] != lab[1:]))
    # A run scoring c >= 1 is c intersections spread evenly over it.
    copies = np.ceil(score).astype(np.intp)
    run, q = _ragged(copies)
    a, b = run_start[run], run_end[run]
    centre, span = (pos[a] + pos[b]) / 2, pos[b] - pos[a] + step[path[a]]
    band_pos = centre + ((q + 0.5) / copies[run] - 0.5) * span
    order = np.argsort(np.r_[jump + 0.5, a + q / copies[run]], kind="stable")
    hit_path = np.r_[path[jump], path[a]][order]
    hit_pos = np.r_[(pos[jump] + pos[jump + 1]) / 2, band_pos][order]
    hit_count = np.r_[np.ones(jump.size), np.minimum(score[run], 1.0)][order]
    return hit_path, hit_pos, hit_count


def _complete_intercepts(hit_path, hit_pos, n, step, closed):
    same = hit_path[1:] == hit_path[:-1]
    chords = np.diff(hit_pos)[same]
    firsts = np.flatnonzero(np.r_[True, ~same])[: hit_path.size]
    lasts = np.r_[firsts[1:] - 1, hit_path.size - 1][: firsts.size]
    ring = closed[hit_path[firsts]]
    p = hit_path[firsts[ring]]
    # On a circle, the arc from the last intersection round to the first.
    arcs = hit_pos[firsts[ring]] + n[p] * step[p] - hit_pos[lasts[ring]]
    return np.concatenate([chords, arcs]).astype(np.float64)


def intercepts(boundaries, *, pattern="grid", angles=DEFAULT_ANGLES, spacing=None):
    """Complete intercept lengths along test lines, in px.

    Parameters
    ----------
    boundaries : (H, W) array of bool, or of integers in {0, 1} or {0, 255}
        Boundary map, True on boundary pixels.
    pattern : {'grid', 'e112'}
        'grid': at each angle, parallel lines `spacing` px apart across the frame.
        'e112': E112 Fig. 5 (medians and diagonals of the largest centred square,
        three concentric circles of diameters 0.77, 0.51, 0.26 times its side).
    angles : sequence of float
        'grid' line directions, degrees counter-clockwise from the +x (column) axis
        as displayed: 0 runs along a row, 90 along a column.
    spacing : float, optional
        'grid' line spacing in px; default ``max(3, min(H, W) // 10)`` (about ten
        lines per angle). One line per angle passes through pixel (H // 2, W // 2).

    Returns
    -------
    (K,) float64 array
        Distances between consecutive intersections on the same line or circle,
        each intersection taken at the middle of its band. Partial intercepts (from
        a line end inside a grain to the first intersection) are left out.
    """
    boundary = metrics.as_boundary_map(boundaries, "boundaries")
    labels = grain_labels(boundary)
    xy, n, step, closed = sample_paths(boundary.shape, pattern, angles, spacing)
    hit_path, hit_pos, _ = intersections_along(labels, xy, n, step, closed)
    return _complete_intercepts(hit_path, hit_pos, n, step, closed)


def _jeffries_count(labels):
    """Grains inside count 1, cut by the frame 1/2, holding a frame corner 1/4."""
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    cut = np.unique(edge[edge > 0]).size
    corner = np.unique(labels[[0, 0, -1, -1], [0, -1, 0, -1]])
    corner = np.count_nonzero(corner)
    return float(labels.max() - cut) + 0.5 * (cut - corner) + 0.25 * corner


def measure(boundaries, pixel_size=None, *, pattern="grid", angles=DEFAULT_ANGLES,
            spacing=None):
    """E112 mean lineal intercept, planimetric grain density and G numbers.

    Parameters
    ----------
    boundaries : (H, W) array of bool, or of integers in {0, 1} or {0, 255}
        Boundary map, True on boundary pixels.
    pixel_size : float, optional
        Micrometres per pixel. Without it, lengths are in px, densities per px^2 and
        the G numbers NaN (G is defined in millimetres).
    pattern, angles, spacing
        Test lines, as in :func:`intercepts`.

    Returns
    -------
    dict
        ``mean_intercept`` L / P (um, or px); ``G_intercept``; ``grains_per_area``
        Jeffries N over the frame area (per mm^2, or per px^2); ``G_planimetric``;
        ``n_intersections`` P (float, halves at line ends); ``test_line_length`` L
        (um, or px); ``n_grains`` (4-connected grains); ``n_grains_jeffries`` N;
        ``unit`` ('um' or 'px').
    """
    boundary = metrics.as_boundary_map(boundaries, "boundaries")
    scale = _check_pixel_size(pixel_size)
    labels = grain_labels(boundary)
    xy, n, step, closed = sample_paths(boundary.shape, pattern, angles, spacing)
    p = float(intersections_along(labels, xy, n, step, closed)[2].sum())
    if p == 0:
        raise ValueError("no test line crosses a boundary: add angles or lower spacing")
    n_jeffries = _jeffries_count(labels)
    length = float((n * step).sum()) * (scale or 1.0)
    density = n_jeffries / boundary.size / (1.0 if scale is None else (scale / 1e3) ** 2)
    physical = scale is not None
    return {
        "mean_intercept": length / p,
        "G_intercept": astm_g(mean_intercept_mm=length / p / 1e3) if physical else math.nan,
        "grains_per_area": float(density),
        "G_planimetric": astm_g(grains_per_mm2=density) if physical else math.nan,
        "n_intersections": p,
        "test_line_length": length,
        "n_grains": int(labels.max()),
        "n_grains_jeffries": float(n_jeffries),
        "unit": "um" if physical else "px",
    }


def astm_g(mean_intercept_mm=None, grains_per_mm2=None):
    """ASTM E112 grain size number G.

    Parameters
    ----------
    mean_intercept_mm : float or array_like, optional
        Mean lineal intercept l in mm: ``G = -6.643856 log10(l) - 3.288``.
    grains_per_mm2 : float or array_like, optional
        Grains per mm^2 N_A: ``G = 3.321928 log10(N_A) - 2.954``.
        Exactly one of the two must be given, finite and > 0.

    Returns
    -------
    float, or float64 array of the input's shape
    """
    if (mean_intercept_mm is None) == (grains_per_mm2 is None):
        raise ValueError("give exactly one of mean_intercept_mm or grains_per_mm2")
    name = "mean_intercept_mm" if grains_per_mm2 is None else "grains_per_mm2"
    value = np.asarray(mean_intercept_mm if grains_per_mm2 is None else grains_per_mm2,
                       dtype=np.float64)
    bad = value[~(np.isfinite(value) & (value > 0))]
    if bad.size:
        raise ValueError(f"{name} must be finite and > 0, got {bad[:3].tolist()}")
    if name == "mean_intercept_mm":
        g = -6.643856 * np.log10(value) - 3.288
    else:
        g = 3.321928 * np.log10(value) - 2.954
    return float(g) if g.ndim == 0 else g


def compare(preds, truths) -> pd.DataFrame:
    """Grain size of predicted boundary maps against true ones, image by image.

    The difference of two G numbers needs no pixel size: from the mean intercepts,
    G_pred - G_true = -6.643856 log10(l_pred / l_true), and from the grain densities,
    3.321928 log10(N_pred / N_true).

    Parameters
    ----------
    preds, truths : sequences of N (H, W) boundary maps (bool, or 0/1 or 0/255 integers),
        image i of one against image i of the other.

    Returns
    -------
    DataFrame, one row per image: ``intercept``, ``intercept_true`` (mean lineal
    intercept, px), ``intercept_error`` ((l_pred - l_true) / l_true), ``dG`` (from the
    intercepts) and ``dG_planimetric``; NaN for an image whose prediction (or label)
    has no boundary a test line crosses, so that no grain size can be read from it.
    """
    rows = []
    for pred, truth in zip(preds, truths, strict=True):
        sizes = []
        for boundary in (pred, truth):
            try:
                sizes.append(measure(boundary))
            except ValueError:
                sizes.append(None)
        if None in sizes:
            rows.append({"intercept": math.nan, "intercept_true": math.nan})
            continue
        found, true = sizes
        rows.append({"intercept": found["mean_intercept"],
                     "intercept_true": true["mean_intercept"],
                     "density": found["grains_per_area"], "density_true": true["grains_per_area"]})
    table = pd.DataFrame(rows, columns=["intercept", "intercept_true", "density",
                                        "density_true"], dtype=np.float64)
    ratio = table["intercept"] / table["intercept_true"]
    return pd.DataFrame({
        "intercept": table["intercept"], "intercept_true": table["intercept_true"],
        "intercept_error": ratio - 1.0,
        "dG": -6.643856 * np.log10(ratio),
        "dG_planimetric": 3.321928 * np.log10(table["density"] / table["density_true"])})


def summary(boundaries, pixel_size=None) -> dict:
    """The grain size of one boundary map as a row of a table: ``mean_intercept_px``,
    and with ``pixel_size`` (micrometres per pixel) also ``mean_intercept_um``,
    ``grains_per_mm2``, ``G_intercept`` and ``G_planimetric`` (:func:`measure`)."""
    in_px = measure(boundaries)
    row = {"mean_intercept_px": in_px["mean_intercept"]}
    if pixel_size is not None:
        physical = measure(boundaries, pixel_size)
        row.update({"mean_intercept_um": physical["mean_intercept"],
                    "grains_per_mm2": physical["grains_per_area"],
                    "G_intercept": physical["G_intercept"],
                    "G_planimetric": physical["G_planimetric"]})
    return row
