"""Patches: the train/test split by image, patch cutting, and the nested real fractions.

The protocol (`docs/method.md` section 3):

- the split is by *image*: a test image never feeds training or tuning;
- training patches are cut at random positions, test patches on a regular grid;
- the real fraction X % is X % of the training *images* (with all their patches),
  nested: one seeded permutation of the training images, X % = its first
  ``ceil(X / 100 * n_train)`` images (at least one);
- every boundary map is drawn from grain ids with :func:`grainlib.core.grains.boundaries`,
  one width for every source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from grainlib.core import grains


@dataclass
class PatchSet:
    """A stack of patches with where each came from.

    Attributes
    ----------
    images : (M, S, S) uint8 micrographs.
    grain_ids : (M, S, S) int32 grain ids.
    boundaries : (M, S, S) bool, True on boundary pixels.
    image_index : (M,) int64 index of the source image (or section) of each patch.
    origin : (M, 2) int64 (row, column) of each patch's top-left corner in its source.
    axis : (M,) int64 axis of the section a simulated patch was cut from, -1 for images.
    """

    images: np.ndarray
    grain_ids: np.ndarray
    boundaries: np.ndarray
    image_index: np.ndarray
    origin: np.ndarray
    axis: np.ndarray = field(default=None)

    def __post_init__(self):
        if self.axis is None:
            self.axis = np.full(len(self.images), -1, np.int64)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        """Patch side S in pixels."""
        return int(self.images.shape[-1])

    def subset(self, indices) -> "PatchSet":
        """The patches at ``indices`` ((K,) int or (M,) bool), as a new PatchSet."""
        return PatchSet(**{f.name: getattr(self, f.name)[indices] for f in fields(self)})

    def from_images(self, image_indices) -> "PatchSet":
        """The patches cut from the given source images."""
        return self.subset(np.isin(self.image_index, np.asarray(image_indices)))

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def split_by_image(n_images: int, test_fraction: float, seed: int = 0):
    """A random split of image indices into train and test.

    Parameters
    ----------
    n_images : number of images N (>= 2).
    test_fraction : share of images held out for testing, in (0, 1); the number of test
        images is ``round(test_fraction * N)``, kept between 1 and N - 1
        (paper: 36 of 136).
    seed : seed of the permutation.

    Returns
    -------
    train, test : sorted int64 arrays of image indices, disjoint, together 0..N-1.
    """
    if n_images < 2:
        raise ValueError(f"a train/test split needs at least 2 images, got {n_images}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = min(max(int(round(test_fraction * n_images)), 1), n_images - 1)
    order = np.random.default_rng(seed).permutation(n_images)
    return np.sort(order[n_test:]).astype(np.int64), np.sort(order[:n_test]).astype(np.int64)


def fraction_images(train_indices, percent: float, seed: int = 0) -> np.ndarray:
    """The training images of the real fraction ``percent`` %.

    One seeded permutation of ``train_indices``; the fraction is its first
    ``max(1, ceil(percent / 100 * n_train))`` images, so a larger fraction always
    contains a smaller one (nested) for the same seed.

    Parameters
    ----------
    train_indices : (n_train,) int image indices of the training set.
    percent : in (0, 100].
    seed : seed of the permutation.

    Returns
    -------
    (k,) int64 sorted image indices, a subset of ``train_indices``.
    """
    train_indices = np.asarray(train_indices, np.int64)
    if train_indices.size == 0:
        raise ValueError("no training images to take a fraction of")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    order = np.random.default_rng(seed).permutation(train_indices)
    # round before ceil so that e.g. 35 % of 100 images is 35, not 36 (float noise)
    k = max(1, math.ceil(round(percent / 100 * train_indices.size, 9)))
    return np.sort(order[:k])


def _check_stacks(images, grain_ids, size):
    images, grain_ids = np.asarray(images), np.asarray(grain_ids)
    if images.ndim != 3 or images.shape != grain_ids.shape:
        raise ValueError(f"images and grain_ids must be (N, H, W) stacks of one shape, got "
                         f"{images.shape} and {grain_ids.shape}")
    if size < 2 or size > min(images.shape[1:]):
        raise ValueError(f"patch size {size} does not fit images of {images.shape[1]} x "
                         f"{images.shape[2]} px")
    return images, grain_ids


def cut(images, grain_ids, image_index, origin, size: int, boundary_width: int = 2) -> PatchSet:
    """Cut square patches at given positions and draw their boundary maps.

    Parameters
    ----------
    images : (N, H, W) uint8.
    grain_ids : (N, H, W) integer.
    image_index : (M,) int, which image each patch comes from.
    origin : (M, 2) int, top-left (row, column) of each patch.
    size : patch side S.
    boundary_width : width passed to :func:`grainlib.core.grains.boundaries`, applied to each
        patch's own grain ids (the same for every source).

    Returns
    -------
    PatchSet of M patches.
    """
    image_index = np.asarray(image_index, np.int64)
    origin = np.asarray(origin, np.int64).reshape(-1, 2)
    patch_images = np.empty((len(image_index), size, size), np.uint8)
    patch_ids = np.empty((len(image_index), size, size), np.int32)
    for k, (i, (r, c)) in enumerate(zip(image_index, origin)):
        patch_images[k] = images[i, r:r + size, c:c + size]
        patch_ids[k] = grain_ids[i, r:r + size, c:c + size]
    boundary = np.stack([grains.boundaries(p, boundary_width) for p in patch_ids]) \
        if len(patch_ids) else np.zeros((0, size, size), bool)
    return PatchSet(patch_images, patch_ids, boundary, image_index, origin)


def random_crops(images, grain_ids, size: int, per_image: int, seed: int = 0,
                 image_indices=None, boundary_width: int = 2) -> PatchSet:
    """Training patches: ``per_image`` crops at uniformly random positions in each image.

    Parameters
    ----------
    images : (N, H, W) uint8.
    grain_ids : (N, H, W) integer.
    size : patch side S (<= H, W).
    per_image : crops per image.
    seed : seed of the positions.
    image_indices : the images to crop (e.g. the training split); default all.
    boundary_width : see :func:`cut`.

    Returns
    -------
    PatchSet of ``len(image_indices) * per_image`` patches, image by image.
    """
    images, grain_ids = _check_stacks(images, grain_ids, size)
    if image_indices is None:
        image_indices = np.arange(len(images))
    image_indices = np.asarray(image_indices, np.int64)
    rng = np.random.default_rng(seed)
    h, w = images.shape[1:]
    index = np.repeat(image_indices, per_image)
    origin = np.stack([rng.integers(0, h - size + 1, index.size),
                       rng.integers(0, w - size + 1, index.size)], axis=1)
    return cut(images, grain_ids, index, origin, size, boundary_width)


def grid_shape(image_shape, per_image: int) -> tuple[int, int]:
    """Rows x columns of a grid of ``per_image`` patches closest to the image's aspect.

    E.g. 28 patches on a 1600 x 2800 image -> (4, 7), the paper's test grid.
    """
    if per_image < 1:
        raise ValueError(f"per_image must be >= 1, got {per_image}")
    h, w = image_shape
    options = [(r, per_image // r) for r in range(1, per_image + 1) if per_image % r == 0]
    return min(options, key=lambda rc: (abs(math.log((rc[0] / rc[1]) / (h / w))), rc[0]))


def grid_crops(images, grain_ids, size: int, per_image: int, image_indices=None,
               boundary_width: int = 2) -> PatchSet:
    """Test patches: a regular grid of ``per_image`` patches over each image.

    The grid has :func:`grid_shape` rows and columns; its patches are spread evenly from
    edge to edge (they tile the image exactly when it is a multiple of the patch size,
    overlap when the grid is denser, and leave even gaps when sparser).

    Parameters and returns as :func:`random_crops` (no seed: the grid is fixed).
    """
    images, grain_ids = _check_stacks(images, grain_ids, size)
    if image_indices is None:
        image_indices = np.arange(len(images))
    image_indices = np.asarray(image_indices, np.int64)
    h, w = images.shape[1:]
    rows, cols = grid_shape((h, w), per_image)
    ys = np.round(np.linspace(0, h - size, rows)).astype(np.int64)
    xs = np.round(np.linspace(0, w - size, cols)).astype(np.int64)
    cells = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
    index = np.repeat(image_indices, len(cells))
    origin = np.tile(cells, (len(image_indices), 1))
    return cut(images, grain_ids, index, origin, size, boundary_width)


def periodic_crops(volume, size: int, count: int, seed: int = 0, boundary_width: int = 2,
                   zoom: int = 1):
    """Square patches of sections of a periodic 3D grain-id volume, along all three axes.

    Sections are taken along axes 0, 1, 2 in turn; section indices are drawn without
    repetition per axis (one permutation per axis, repeated when ``count`` exceeds the
    sections available) and the top-left corner uniformly on the torus. The lattice is
    periodic, so a patch may wrap around the section's edges, and a patch larger than the
    section repeats it periodically.

    Parameters
    ----------
    volume : (Z, Y, X) integer grain ids, periodic in every direction.
    size : patch side S.
    count : number of patches M.
    seed : seed of the sections and positions.
    boundary_width : see :func:`cut`.
    zoom : pixels per lattice site along each side: a patch covers ``ceil(S / zoom)``
        sites, each enlarged to ``zoom x zoom`` pixels (nearest neighbour) before the
        boundaries are drawn, so grains are ``zoom**2`` times larger in area while the
        boundaries keep the one width of every source.

    Returns
    -------
    PatchSet of M patches with ``images`` all zero (render them with a style of choice),
    ``image_index`` the section index, ``axis`` its axis and ``origin`` its corner.
    """
    volume = np.asarray(volume)
    if not (isinstance(zoom, (int, np.integer)) and zoom >= 1):
        raise ValueError(f"zoom must be an integer >= 1, got {zoom!r}")
    if volume.ndim != 3 or not np.issubdtype(volume.dtype, np.integer):
        raise ValueError(f"volume must be a (Z, Y, X) integer array, got {volume.dtype} "
                         f"{volume.shape}")
    rng = np.random.default_rng(seed)
    axis = np.arange(count, dtype=np.int64) % 3
    index = np.empty(count, np.int64)
    for a in range(3):
        slots = np.flatnonzero(axis == a)
        length = volume.shape[a]
        draws = np.concatenate([rng.permutation(length)
                                for _ in range(-(-slots.size // length))]) if slots.size else []
        index[slots] = draws[:slots.size]
    origin = np.empty((count, 2), np.int64)
    ids = np.empty((count, size, size), np.int32)
    for k in range(count):
        plane = grains.section(volume, int(axis[k]), int(index[k]))
        origin[k] = rng.integers(0, plane.shape[0]), rng.integers(0, plane.shape[1])
        rows = (origin[k, 0] + np.arange(size) // zoom) % plane.shape[0]
        cols = (origin[k, 1] + np.arange(size) // zoom) % plane.shape[1]
        ids[k] = plane[np.ix_(rows, cols)]
    boundary = np.stack([grains.boundaries(p, boundary_width) for p in ids]) \
        if count else np.zeros((0, size, size), bool)
    return PatchSet(np.zeros_like(ids, dtype=np.uint8), ids, boundary, index, origin, axis)


def render_flat(grain_ids, boundaries, grey_range=(120, 230), boundary_grey: int = 40,
                seed: int = 0) -> np.ndarray:
    """Simulated images: each grain one flat grey level, boundaries dark, no texture.

    A grain's grey is drawn uniformly from ``grey_range`` by a seeded lookup table over
    grain ids, so one 3D grain has the same grey in every section and patch.

    Parameters
    ----------
    grain_ids : (M, S, S) non-negative integer grain ids.
    boundaries : (M, S, S) bool boundary maps.
    grey_range : (low, high) inclusive grey levels of grains, 0..255.
    boundary_grey : grey level of boundary pixels.
    seed : seed of the lookup table.

    Returns
    -------
    (M, S, S) uint8 images.
    """
    grain_ids = np.asarray(grain_ids)
    low, high = (int(v) for v in grey_range)
    if not 0 <= low <= high <= 255 or not 0 <= boundary_grey <= 255:
        raise ValueError(f"grey levels must lie in 0..255 with low <= high, got "
                         f"grey_range={grey_range}, boundary_grey={boundary_grey}")
    if grain_ids.size and grain_ids.min() < 0:
        raise ValueError("grain ids must be non-negative to render them")
    top = int(grain_ids.max()) + 1 if grain_ids.size else 1
    table = np.random.default_rng(seed).integers(low, high + 1, top).astype(np.uint8)
    images = table[grain_ids]
    images[np.asarray(boundaries, bool)] = boundary_grey
    return images
