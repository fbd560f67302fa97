"""The HDF5 layout of the authors' published pure-iron dataset, and its other stack order.

A group (``real``, ``simulated``, ...) holds ``image``, ``label`` (grain ids) and
``boundary`` as 3D stacks of one shape, and ``shape``. The authors stack their images
along the LAST axis, H x W x N (``"HWN"``), with ``shape`` = (H, W, N); numpy and h5py
code naturally stacks them along the FIRST axis, N x H x W (``"NHW"``). Read as the
wrong order, a stack is a pile of slices across the images, which no later step can
tell from data, so the order is decided before anything is read
(:func:`stack_layout`):

1. the ``layout`` asked for (the profile key ``data.hdf5_layout``), if any;
2. else the group's attribute ``layout``, which :func:`write_hdf5` sets;
3. else the stack's shape (a, b, c): (N, S, S) with N != S is N x H x W, (S, S, N)
   is H x W x N (the images are square, the image count is the odd one out), unless
   the ``shape`` dataset says otherwise;
4. else the ``shape`` dataset, when it is (H, W, N) of exactly one of the two readings;
5. else the order is ambiguous (a cube, or three different sides with no ``shape``):
   :class:`grainlib.data.labels.SourceError` naming the file and both readings.

:func:`write_hdf5` writes the authors' order; :func:`read_stacks` reads either.
Nothing here writes to a file it reads.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np

from grainlib.core import grains
from grainlib.data.labels import SourceError, grains_from_boundary

# The stack orders: name -> what it means.
LAYOUTS = {"HWN": "H x W x N, the authors' layout", "NHW": "N x H x W"}
STACKS = ("image", "label", "boundary")  # the 3D datasets of a group


def _hwn(shape, layout: str) -> tuple[int, int, int]:
    """(H, W, N) of a stored (a, b, c) stack read in ``layout``."""
    a, b, c = (int(s) for s in shape)
    return (a, b, c) if layout == "HWN" else (b, c, a)


def _reading(shape, layout: str) -> str:
    h, w, n = _hwn(shape, layout)
    return f"read as {layout} ({LAYOUTS[layout]}) it is {n} images of {h} x {w} px"


def stack_layout(shape, where: str, layout=None, group_layout=None, declared=None) -> str:
    """The order of a stored stack: ``"HWN"`` (images along the last axis) or ``"NHW"``.

    Parameters
    ----------
    shape : (a, b, c) ints, the shape of the stored image, label and boundary stacks.
    where : ``"<file>:/<group>"``, for the messages.
    layout : None, ``"HWN"`` or ``"NHW"``: the order asked for; decides when given.
    group_layout : the group's ``layout`` attribute (None when absent); decides next.
    declared : the group's ``shape`` dataset, (H, W, N) in the authors' meaning, or None.

    Returns
    -------
    str, ``"HWN"`` or ``"NHW"``.

    Raises
    ------
    SourceError (one line) naming ``where`` and both readings when the order cannot be
    told; naming the value when ``layout`` or ``group_layout`` is not a known order.
    """
    shape = tuple(int(s) for s in shape)
    asked = ((layout, "data.hdf5_layout"), (group_layout, f"{where} attribute layout"))
    for value, what in asked:
        if value is not None and value not in LAYOUTS:
            raise SourceError(f"{what} must be 'HWN' or 'NHW' (or null), got {value!r}")
        if value is not None:
            return str(value)
    a, b, c = shape
    by_shape = "NHW" if b == c != a else "HWN" if a == b != c else None
    fits = set() if declared is None else {k for k in LAYOUTS if _hwn(shape, k) == declared}
    if by_shape is not None and (not fits or by_shape in fits):
        return by_shape
    if by_shape is None and len(fits) == 1:
        return fits.pop()
    says = "" if declared is None else f" (its shape dataset says {' x '.join(map(str, declared))})"
    raise SourceError(f"{where}: cannot tell the order of its {a} x {b} x {c} stacks{says}: "
                      f"{_reading(shape, 'HWN')}, {_reading(shape, 'NHW')}; set "
                      f"data.hdf5_layout (read_hdf5: layout=) to 'HWN' or 'NHW'")


@contextmanager
def open_group(path: Path, group: str):
    """Open an HDF5 file read-only and yield ``(file, group)``; SourceError naming the
    file when it is missing, not HDF5, or lacks the group."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"HDF5 file not found: {path}")
    if not path.is_file():
        raise SourceError(f"HDF5 file is not a file: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise SourceError(f"{path}: not a readable HDF5 file ({err})") from None
    with f:
        if group not in f:
            raise SourceError(f"{path}: no group '{group}'; groups found: "
                              f"{', '.join(sorted(f)) or '(none)'}")
        yield f, f[group]


def group_layout(g: h5py.Group, where: str, layout=None) -> str:
    """The stack order of an open group: its stacks checked to share one 3D shape, then
    :func:`stack_layout`; the ``shape`` dataset, if any, checked against the result.
    Reads shapes and attributes only, no data.

    Parameters
    ----------
    g : an open group of the layout.
    where : ``"<file>:/<group>"``, for the messages.
    layout : None, ``"HWN"`` or ``"NHW"`` (see :func:`stack_layout`).

    Returns
    -------
    str, ``"HWN"`` or ``"NHW"``.
    """
    shapes = {name: tuple(g[name].shape) for name in STACKS if name in g}
    if not shapes:
        raise SourceError(f"{where} has neither 'label' nor 'boundary'")
    if len(set(shapes.values())) > 1:
        raise SourceError(f"{where}: its stacks differ in shape: " + ", ".join(
            f"{name} {' x '.join(map(str, s))}" for name, s in shapes.items()))
    shape = next(iter(shapes.values()))
    if len(shape) != 3:
        raise SourceError(f"{where}: {', '.join(shapes)} must be 3D stacks, got shape {shape}")
    declared = None
    if "shape" in g:
        declared = tuple(int(v) for v in np.ravel(g["shape"][()])[:3])
    found = stack_layout(shape, where, layout, g.attrs.get("layout"), declared)
    h, w, n = _hwn(shape, found)
    if declared is not None and declared not in ((h, w, n), shape):
        raise SourceError(f"{where}/shape says {' x '.join(map(str, declared))} (H x W x N), "
                          f"the stacks read as {LAYOUTS[found]} are {h} x {w} x {n}")
    return found


def read_stacks(path, group: str = "real", layout=None):
    """Read one group of the layout as stacks of images, N first, data as stored.

    ``label`` is read as grain ids; when a group has only ``boundary``, the grain ids are
    drawn from it with :func:`grainlib.data.labels.grains_from_boundary`.

    Parameters
    ----------
    path : HDF5 file (str or Path).
    group : ``"real"`` or ``"simulated"`` (or any group of that layout).
    layout : None, ``"HWN"`` or ``"NHW"``: the stack order (see :func:`stack_layout`).

    Returns
    -------
    images : (N, H, W) array of the stored dtype, or None when the group holds no ``image``.
    grain_ids : (N, H, W) int32.
    """
    path = Path(path)
    where = f"{path}:/{group}"
    with open_group(path, group) as (_, g):
        order = group_layout(g, where, layout)

        def stack(name):  # (N, H, W)
            array = g[name][()]
            return np.moveaxis(array, -1, 0) if order == "HWN" else array

        if "label" in g:
            labels = stack("label")
            if not np.issubdtype(labels.dtype, np.integer):
                raise SourceError(f"{where}/label must hold integer grain ids, got {labels.dtype}")
            grain_ids = labels.astype(np.int32)
        else:
            grain_ids = np.stack([grains_from_boundary(b) for b in stack("boundary") > 0])
        images = stack("image") if "image" in g else None
    return images, grain_ids


def _stack_hwn(array: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (H, W, N), the published layout."""
    return np.ascontiguousarray(np.moveaxis(array, 0, -1))


def write_hdf5(path, group: str, images, grain_ids, overwrite: bool = False,
               boundary_width: int = 2):
    """Write one group of the published pure-iron layout.

    The group holds ``label`` (grain ids, int32), ``boundary`` (uint8, 255 on boundary
    pixels, from :func:`grainlib.core.grains.boundaries`), ``image`` (uint8, only when images
    are given) - each stacked H x W x N, the authors' order - and ``shape`` = (H, W, N);
    its attribute ``layout`` = ``"HWN"`` says so, so that even a cube of a stack reads
    back without asking. Other groups of the file are left as they are.

    Parameters
    ----------
    path : HDF5 file, created when missing.
    group : group name, e.g. ``"real"`` or ``"simulated"``.
    images : (N, H, W) uint8, or None (the published ``simulated`` group has no images).
    grain_ids : (N, H, W) integer.
    overwrite : replace an existing group of that name; otherwise refuse.
    boundary_width : width of the boundary lines.

    Returns
    -------
    Path of the file.
    """
    path = Path(path)
    grain_ids = np.asarray(grain_ids)
    if grain_ids.ndim != 3 or not np.issubdtype(grain_ids.dtype, np.integer):
        raise ValueError(f"grain_ids must be an (N, H, W) integer stack, got "
                         f"{grain_ids.dtype} {grain_ids.shape}")
    if images is not None:
        images = np.asarray(images)
        if images.shape != grain_ids.shape or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 {grain_ids.shape} like grain_ids, got "
                             f"{images.dtype} {images.shape}")
    boundary = np.stack([grains.boundaries(ids, boundary_width) for ids in grain_ids])
    n, h, w = grain_ids.shape
    with h5py.File(path, "a") as f:
        if group in f:
            if not overwrite:
                raise FileExistsError(f"{path} already holds a group '{group}'; pass "
                                      f"overwrite=True to replace it")
            del f[group]
        g = f.create_group(group)
        g.attrs["layout"] = "HWN"
        options = dict(compression="gzip", compression_opts=4, shuffle=True)
        if images is not None:
            g.create_dataset("image", data=_stack_hwn(images), **options)
        g.create_dataset("label", data=_stack_hwn(grain_ids.astype(np.int32)), **options)
        g.create_dataset("boundary", data=_stack_hwn(boundary.astype(np.uint8) * 255), **options)
        g.create_dataset("shape", data=np.array([h, w, n], np.int64))
    return path
