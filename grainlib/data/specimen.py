"""The surrogate specimen: serial sections of a 3D grain structure rendered as optical
micrographs of nital-etched pure iron, each with its exact grain-id map.

The paper's 136 iron micrographs are not public; this module stands in for them so the
project runs anywhere without data files.

Structure
    A Laguerre (power) tessellation of 3D space: seeds from a Matern type II hard-core
    process (more regular than Poisson, like grains after growth), each with a weight
    ``r**2`` where the radius ``r`` is lognormal. The power diagram is found with a
    nearest-neighbour search in 4D: a seed ``s`` with weight ``w`` becomes the point
    ``(s, sqrt(w_max - w))`` and a query point ``(p, 0)``, so the squared 4D distance is
    ``|p - s|**2 - w + w_max`` (Aurenhammer, SIAM J. Comput. 16, 78, 1987). Boundaries are
    curved by a smooth random displacement of the query points. Sections are planes
    ``section_spacing * grain_diameter`` pixels apart, so neighbouring sections are
    correlated like the real serial sections (about 1.8 um apart); only one plane is held
    in memory at a time.

Rendering
    Bright grain interiors with a slight grain-to-grain grey variation and uneven
    illumination; dark etched boundaries whose depth and width vary from boundary to
    boundary and along each one, some faint or missing (incomplete etching), some with a
    grey band beside them (an inclined boundary seen through the focus); fine speckle and
    dark specks; pits and inclusions; faint polishing scratches across grains; a slight
    blur; 8-bit quantisation. The grain ids are exact whatever the image shows.

The parameters, their defaults and ranges are the ``surrogate`` section of
:data:`grainlib.core.config.SCHEMA`.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from grainlib.core import config, grains

# Bump when a change alters the rendered specimens for the same parameters: the stored
# data, and every model trained on them, are then made again. The first version is named
# by the digest of the source file that rendered it, the key its artifacts were stored
# under before this constant existed, so that they stay in use; later ones are 2, 3, ...
VERSION = "3e1a78603c0227d5"

_SCHEMA = config.SCHEMA["surrogate"]
STRUCTURE_KEYS = ("grain_diameter", "size_spread", "seed_regularity", "waviness",
                  "waviness_length", "section_spacing", "min_grain_area")
RENDER_KEYS = tuple(k for k in _SCHEMA if k not in STRUCTURE_KEYS)
DEFAULTS = {k: p.default for k, p in _SCHEMA.items()}

# Image area per 2D grain (frame grains counted) in units of (mean seed volume)**(2/3),
# at the default size_spread, seed_regularity, waviness and min_grain_area; measured
# with `structure` on 8 independent 800 x 800 sections of 67-px grains (0.56) and
# 30 of 384 x 384 with 30-px grains (within 2 %).
_AREA_PER_VOLUME_2_3 = 0.56


def _check_params(params: dict, allowed, where: str) -> dict:
    """Defaults overridden by ``params``, each checked against the schema."""
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise TypeError(f"{where}: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(allowed)}")
    values = {k: DEFAULTS[k] for k in allowed}
    for key, value in params.items():
        spec = _SCHEMA[key]
        if not spec.check(value):
            raise ValueError(f"{where}: parameter '{key}' must be {spec.expected}, got {value!r}")
        values[key] = value
    return values


def _check_shape(n, shape) -> tuple[int, int, int]:
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be a positive number of sections, got {n!r}")
    try:
        height, width = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (height, width), got {shape!r}") from None
    if height < 8 or width < 8:
        raise ValueError(f"shape must be at least (8, 8) pixels, got {shape!r}")
    return int(n), height, width


# --------------------------------------------------------------------------- structure

def _hard_core_seeds(rng, lower, upper, density, regularity):
    """Matern type II hard-core points in the box [lower, upper) with the given density.

    The hard-core distance is ``regularity * density**(-1/3)``; a point is kept when no
    other point within that distance has a smaller random mark.
    Returns an (N, 3) float array of (z, y, x) positions.
    """
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    box = float(np.prod(upper - lower))
    if regularity > 0:
        radius = regularity * density ** (-1 / 3)
        ball = 4 / 3 * np.pi * radius ** 3
        # retained density of Matern II is (1 - exp(-lambda0 * ball)) / ball
        density0 = -np.log(1 - density * ball) / ball
    else:
        density0 = density
    points = lower + rng.random((rng.poisson(density0 * box), 3)) * (upper - lower)
    if regularity > 0 and len(points) > 1:
        marks = rng.random(len(points))
        pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
        loser = np.where(marks[pairs[:, 0]] > marks[pairs[:, 1]], pairs[:, 0], pairs[:, 1])
        keep = np.ones(len(points), bool)
        keep[loser] = False
        points = points[keep]
    return points


def _merge_fragments(grain_ids, min_area):
    """Give the pixels of grains smaller than ``min_area`` to the nearest larger grain.

    Digitising a tessellation leaves slivers of a few pixels (cell corners, pixels joined
    to their cell only diagonally); real labelled sections have none that small.
    Returns a new int32 map numbered 1..N by 4-connected grain.
    """
    areas = np.bincount(grain_ids.ravel())
    small = areas[grain_ids] < min_area
    if not small.any() or small.all():
        return grain_ids
    _, (iy, ix) = ndimage.distance_transform_edt(small, return_indices=True)
    return grains.connected_grains(grain_ids[iy, ix])


class _Tessellation:
    """A curved Laguerre tessellation of a box, cut plane by plane."""

    def __init__(self, n, height, width, rng, grain_diameter, size_spread, seed_regularity,
                 waviness, waviness_length, section_spacing, min_grain_area):
        self.height, self.width = height, width
        self.min_area = max(3.0, min_grain_area * np.pi / 4 * grain_diameter ** 2)
        self.spacing = section_spacing * grain_diameter
        mean_area = np.pi / 4 * grain_diameter ** 2
        seed_volume = (mean_area / _AREA_PER_VOLUME_2_3) ** 1.5
        spacing = seed_volume ** (1 / 3)
        self.amplitude = waviness * grain_diameter
        margin = 2 * spacing + 3 * self.amplitude
        depth = (n - 1) * self.spacing
        lower = np.array([-margin, -margin, -margin])
        upper = np.array([depth + margin, height + margin, width + margin])
        seeds = _hard_core_seeds(rng, lower, upper, 1 / seed_volume, seed_regularity)
        # radii relative to the seed spacing; weight = r**2 (sphere-packing Laguerre)
        radii = 0.5 * spacing * rng.lognormal(-size_spread ** 2 / 2, size_spread, len(seeds))
        weights = radii ** 2
        lift = np.sqrt(weights.max() - weights)
        self.tree = cKDTree(np.column_stack([seeds, lift]))
        # displacement field: smooth Gaussian noise on a coarse grid, unit variance
        self.step = max(waviness_length * grain_diameter / 2, 1.0)
        self.origin = lower
        coarse = np.ceil((upper - lower) / self.step).astype(int) + 4
        field = rng.standard_normal((3, *coarse))
        field = np.stack([ndimage.gaussian_filter(f, 1.0, mode="wrap") for f in field])
        field /= field.std(axis=(1, 2, 3), keepdims=True) + 1e-12
        # cubic-spline coefficients, computed once: each cut interpolates one plane of them
        self.coefficients = np.stack([ndimage.spline_filter(f, order=3, mode="nearest")
                                      for f in field.astype(np.float32)])
        yy, xx = np.mgrid[0:height, 0:width]
        self.map_y = ((yy - lower[1]) / self.step).astype(np.float32)
        self.map_x = ((xx - lower[2]) / self.step).astype(np.float32)
        # labels are first found on a grid this many pixels apart; only pixels between
        # grid points of different cells are looked up one by one
        self.query_step = int(np.clip(grain_diameter / 10, 1, 4))

    def _shifts(self, z: float) -> np.ndarray:
        """The (3, H, W) float32 displacement (z, y, x) of the pixels of plane ``z``."""
        zc = (z - self.origin[0]) / self.step
        ny, nx = self.coefficients.shape[2:]
        gy, gx = np.mgrid[0:ny, 0:nx]
        points = np.stack([np.full(gy.shape, zc), gy, gx])
        shifts = []
        for component in self.coefficients:
            plane = ndimage.map_coordinates(component, points, order=3, mode="nearest",
                                            prefilter=False)
            shifts.append(cv2.remap(plane.astype(np.float32), self.map_x, self.map_y,
                                    cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
        return self.amplitude * np.stack(shifts)

    def _nearest(self, z, shifts, y, x) -> np.ndarray:
        """Power-diagram cell of the displaced pixels (y, x) (broadcastable int arrays)."""
        y, x = np.broadcast_arrays(y, x)
        query = np.stack([z + shifts[0][y, x], y + shifts[1][y, x], x + shifts[2][y, x],
                          np.zeros(y.shape)], axis=-1)
        _, cell = self.tree.query(query.reshape(-1, 4), workers=1)
        return cell.reshape(y.shape)

    def cut(self, index: int) -> np.ndarray:
        """Grain ids (int32, (H, W), 1..N, 4-connected) of the plane of section ``index``."""
        z = index * self.spacing
        shifts = self._shifts(z)
        height, width, step = self.height, self.width, self.query_step
        rows = np.unique(np.r_[0:height:step, height - 1])
        cols = np.unique(np.r_[0:width:step, width - 1])
        coarse = self._nearest(z, shifts, rows[:, None], cols[None, :])
        cy = np.clip(np.searchsorted(rows, np.arange(height), "right") - 1, 0, len(rows) - 2)
        cx = np.clip(np.searchsorted(cols, np.arange(width), "right") - 1, 0, len(cols) - 2)
        cell = coarse[cy][:, cx]
        unsure = ((cell != coarse[cy + 1][:, cx]) | (cell != coarse[cy][:, cx + 1])
                  | (cell != coarse[cy + 1][:, cx + 1]))
        yy, xx = np.nonzero(unsure)
        cell[unsure] = self._nearest(z, shifts, yy, xx)
        return _merge_fragments(grains.connected_grains(cell), self.min_area)


def structure(n, shape, *, seed=0, **params) -> np.ndarray:
    """Grain ids of ``n`` serial sections through a 3D surrogate grain structure.

    Parameters
    ----------
    n : number of sections.
    shape : (H, W) of each section in pixels.
    seed : seed (int or numpy SeedSequence) of the numpy random Generator; the same seed
        gives the same sections.
    **params : structure keys of the ``surrogate`` profile section: grain_diameter,
        size_spread, seed_regularity, waviness, waviness_length, section_spacing.

    Returns
    -------
    (n, H, W) int32 array; each section numbered 1..N by 4-connected 2D grain
    (:func:`grainlib.core.grains.connected_grains`), so one 3D grain cut in two pieces is two
    2D grains. Ids are per section: the same number in two sections is not the same grain.
    """
    n, height, width = _check_shape(n, shape)
    values = _check_params(params, STRUCTURE_KEYS, "structure")
    rng = np.random.default_rng(seed)
    tessellation = _Tessellation(n, height, width, rng, **values)
    out = np.empty((n, height, width), np.int32)
    for i in range(n):
        out[i] = tessellation.cut(i)
    return out


# --------------------------------------------------------------------------- rendering

def _smooth_noise(rng, shape, scale) -> np.ndarray:
    """A smooth random field of unit standard deviation and correlation length ~``scale``.

    Gaussian-filtered white noise on a grid of spacing ``scale`` pixels, interpolated to
    ``shape`` with cubic interpolation (cheap even for large images).
    Returns an (H, W) float32 array.
    """
    scale = max(float(scale), 1.0)
    coarse = (int(np.ceil(shape[0] / scale)) + 4, int(np.ceil(shape[1] / scale)) + 4)
    field = ndimage.gaussian_filter(rng.standard_normal(coarse), 1.0).astype(np.float32)
    # pixel (y, x) samples the coarse grid at (y / scale + 2, x / scale + 2)
    map_y = np.broadcast_to((np.arange(shape[0], dtype=np.float32) / scale + 2)[:, None], shape)
    map_x = np.broadcast_to((np.arange(shape[1], dtype=np.float32) / scale + 2)[None, :], shape)
    out = cv2.remap(field, np.ascontiguousarray(map_x), np.ascontiguousarray(map_y),
                    cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return (out - out.mean()) / (out.std() + 1e-12)


def _neighbour_ids(grain_ids: np.ndarray) -> np.ndarray:
    """For each pixel, the id of a 4-neighbour in another grain (0 where there is none)."""
    other = np.zeros_like(grain_ids)
    padded = np.pad(grain_ids, 1, mode="edge")
    h, w = grain_ids.shape
    for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        neighbour = padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        take = (other == 0) & (neighbour != grain_ids)
        other[take] = neighbour[take]
    return other


def _boundary_darkness(grain_ids, rng, grain_size, p):
    """Darkening (grey levels, float32 (H, W)) of the etched boundaries and their bands."""
    shape = grain_ids.shape
    on_boundary = grains.boundaries(grain_ids, 2)
    if not on_boundary.any():
        return np.zeros(shape, np.float32)
    # each interface (pair of grains) gets its own depth, width, faintness and band
    other = _neighbour_ids(grain_ids)
    a, b = grain_ids[on_boundary].astype(np.int64), other[on_boundary].astype(np.int64)
    low, high = np.minimum(a, b), np.maximum(a, b)
    radix = int(grain_ids.max()) + 1
    pairs, pair_of_pixel = np.unique(low * radix + high, return_inverse=True)
    n_pairs = len(pairs)
    spread = p["boundary_variation"]
    depth = p["boundary_depth"] * rng.lognormal(-spread ** 2 / 8, spread / 2, n_pairs)
    faint = rng.random(n_pairs) < p["faint_boundaries"]
    depth[faint] *= rng.uniform(0.0, 0.25, faint.sum())
    width = p["boundary_width"] * rng.lognormal(0, spread / 3, n_pairs)
    banded = rng.random(n_pairs) < p["boundary_bands"]
    band_grain = np.where(rng.random(n_pairs) < 0.5, pairs // radix, pairs % radix)
    band_width = rng.uniform(0.04, 0.1, n_pairs) * grain_size + 2
    band_depth = rng.uniform(0.1, 0.25, n_pairs) * p["boundary_depth"]

    pair_map = np.full(shape, -1, np.int64)
    pair_map[on_boundary] = pair_of_pixel
    distance, (iy, ix) = ndimage.distance_transform_edt(~on_boundary, return_indices=True)
    nearest_pair = pair_map[iy, ix]
    radius = distance + 0.5  # distance to the interface between the two boundary pixels
    # depth and width also wander along each boundary: gaps where the field is low
    along = 1 + spread * _smooth_noise(rng, shape, grain_size / 4)
    along_width = np.exp(spread / 3 * _smooth_noise(rng, shape, grain_size / 4))
    sigma = width[nearest_pair] * along_width
    dark = depth[nearest_pair] * np.clip(along, 0, None) * np.exp(-0.5 * (radius / sigma) ** 2)
    in_band = banded[nearest_pair] & (grain_ids == band_grain[nearest_pair])
    fade = np.clip(1 - radius / band_width[nearest_pair], 0, 1)  # lightens away from it
    dark += np.where(in_band, band_depth[nearest_pair] * fade, 0)
    return dark.astype(np.float32)


def _specks(rng, shape, p) -> np.ndarray:
    """Darkening (grey levels, float32) of the fine etch mottle: small irregular dark specks.

    The specks are where finely smoothed noise exceeds the quantile that leaves the share
    ``specks`` of the area covered; their depth grows with the excess, so they fade out
    at their rims and cluster a little, like the stippling of etched ferrite.
    """
    if p["specks"] <= 0:
        return np.zeros(shape, np.float32)
    noise = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), 0.7)
    noise /= noise.std()
    threshold = float(np.quantile(noise, 1 - p["specks"])) if p["specks"] < 1 else -np.inf
    excess = np.clip(noise - threshold, 0, None)
    return (p["speck_depth"] * excess / (excess[excess > 0].mean() + 1e-12)).astype(np.float32)


def _pits(rng, shape, p) -> np.ndarray:
    """Darkening (grey levels, float32) of round pits and inclusions."""
    canvas = np.zeros(shape, np.uint8)
    count = rng.poisson(p["pits"] * shape[0] * shape[1] / 1e4)
    shift = 4  # cv2 sub-pixel coordinates: 1/16 px
    for _ in range(count):
        y, x = rng.random(2) * shape
        radius = p["pit_radius"] * rng.lognormal(-0.08, 0.4)
        darkness = int(rng.uniform(0.45, 0.9) * 255)
        cv2.circle(canvas, (int(x * 16), int(y * 16)), max(int(radius * 16), 8), darkness,
                   thickness=-1, lineType=cv2.LINE_AA, shift=shift)
    return canvas.astype(np.float32)


def _scratches(rng, shape, grain_size, p) -> np.ndarray:
    """Darkening (grey levels, float32) of thin polishing scratches across the image."""
    canvas = np.zeros(shape, np.uint8)
    count = rng.poisson(p["scratches"] * shape[0] * shape[1] / 1e6)
    polishing = rng.uniform(0, np.pi)  # most scratches follow the last polishing direction
    diagonal = float(np.hypot(*shape))
    for _ in range(count):
        angle = polishing + rng.normal(0, 0.15) if rng.random() < 0.7 else rng.uniform(0, np.pi)
        centre = rng.random(2) * shape
        half = rng.uniform(0.2, 1.0) * diagonal
        step = half * np.array([np.sin(angle), np.cos(angle)])
        (y0, x0), (y1, x1) = centre - step, centre + step
        darkness = int(min(255, rng.exponential(p["scratch_depth"])))
        cv2.line(canvas, (int(x0 * 16), int(y0 * 16)), (int(x1 * 16), int(y1 * 16)), darkness,
                 thickness=1, lineType=cv2.LINE_AA, shift=4)
    if count:
        fade = np.clip(0.6 + 0.6 * _smooth_noise(rng, shape, grain_size), 0, 1)
        return canvas.astype(np.float32) * fade
    return canvas.astype(np.float32)


def _check_grain_ids(grain_ids) -> np.ndarray:
    grain_ids = np.asarray(grain_ids)
    if grain_ids.ndim != 2 or not np.issubdtype(grain_ids.dtype, np.integer):
        raise ValueError("grain_ids must be a 2D integer array of grain ids, got "
                         f"shape {grain_ids.shape} and dtype {grain_ids.dtype}")
    if min(grain_ids.shape) < 2:
        raise ValueError(f"grain_ids must be at least 2 x 2 pixels, got shape {grain_ids.shape}")
    return grain_ids


def render(grain_ids, *, seed=0, **params) -> np.ndarray:
    """Render a 2D grain-id map as an optical micrograph of nital-etched pure iron.

    Parameters
    ----------
    grain_ids : (H, W) integer array of grain ids (any numbering; a boundary lies where
        the id changes between 4-neighbours, :func:`grainlib.core.grains.boundaries`).
    seed : seed (int or numpy SeedSequence) of the random streams.
    **params : rendering keys of the ``surrogate`` profile section (brightness,
        grain_contrast, illumination, boundary_depth, boundary_width,
        boundary_variation, faint_boundaries, boundary_bands, speckle, specks,
        speck_depth, pits, pit_radius, scratches, scratch_depth, blur).

    Returns
    -------
    (H, W) uint8 image. Boundaries are drawn along every change of grain id, but with a
    depth that varies and may vanish (faint boundaries), so the image can hide
    boundaries that ``grain_ids`` holds.
    """
    grain_ids = _check_grain_ids(grain_ids)
    p = _check_params(params, RENDER_KEYS, "render")
    # one independent stream per flaw, so switching one flaw leaves the others unchanged
    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rngs = [np.random.default_rng(s) for s in sequence.spawn(7)]
    shape = grain_ids.shape
    ids, dense = np.unique(grain_ids, return_inverse=True)
    dense = dense.reshape(shape)
    grain_size = float(np.sqrt(4 / np.pi * grain_ids.size / len(ids)))

    base = p["brightness"] + rngs[0].normal(0, p["grain_contrast"], len(ids))[dense]
    base = base + p["illumination"] * _smooth_noise(rngs[1], shape, max(shape) / 3)
    dark_boundary = _boundary_darkness(dense, rngs[2], grain_size, p)
    dark_specks = _specks(rngs[3], shape, p)
    dark_pits = _pits(rngs[4], shape, p)
    dark_scratches = _scratches(rngs[5], shape, grain_size, p)
    # darkenings combine as reflectances: each removes a share of the light left
    reflectance = np.ones(shape, np.float32)
    for dark in (dark_boundary, dark_specks, dark_pits, dark_scratches):
        reflectance *= 1 - np.clip(dark / 255, 0, 1)
    image = base * reflectance + rngs[6].normal(0, p["speckle"], shape)
    if p["blur"] > 0:
        image = ndimage.gaussian_filter(image, p["blur"])
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def sections(n, shape, *, seed=0, **params):
    """Serial sections of the surrogate specimen: micrographs with their exact grain ids.

    Parameters
    ----------
    n : number of sections.
    shape : (H, W) of each section in pixels.
    seed : seed of every random choice (structure and rendering).
    **params : any keys of the ``surrogate`` profile section
        (:data:`grainlib.core.config.SCHEMA`); missing keys take their defaults.

    Returns
    -------
    images : (n, H, W) uint8 micrographs.
    grain_ids : (n, H, W) int32 grain ids, 1..N per section, 4-connected grains.
    """
    n, height, width = _check_shape(n, shape)
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"sections: unknown parameter(s) {', '.join(map(repr, unknown))}; "
                        f"allowed: {', '.join(DEFAULTS)}")
    structure_seed, *render_seeds = np.random.SeedSequence(seed).spawn(n + 1)
    grain_ids = structure(n, shape, seed=structure_seed,
                          **{k: v for k, v in params.items() if k in STRUCTURE_KEYS})
    rendering = {k: v for k, v in params.items() if k in RENDER_KEYS}
    images = np.empty((n, height, width), np.uint8)
    for i in range(n):
        images[i] = render(grain_ids[i], seed=render_seeds[i], **rendering)
    return images, grain_ids
