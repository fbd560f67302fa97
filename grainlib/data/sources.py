"""Where micrographs come from: one interface, four sources.

Every source returns ``(images, grain_ids)``: a uint8 ``(N, H, W)`` stack of grey
micrographs and an int32 ``(N, H, W)`` stack of grain ids. Boundary maps are drawn from
the grain ids later, with the one convention of :func:`grainlib.core.grains.boundaries`.

- :func:`surrogate_sections`: the embedded surrogate specimen (:mod:`grainlib.data.specimen`).
- :func:`read_folder`: images and labels from two folders, matched by file stem.
- :func:`read_hdf5` / :func:`write_hdf5`: the layout of the authors' published pure-iron
  dataset (groups ``real`` and ``simulated``; datasets ``image``, ``label``, ``boundary``,
  stacked H x W x N, and ``shape``), read also stacked N x H x W
  (:mod:`grainlib.data.hdf5` tells the two apart).
- ``iron-sections``: five public pure-iron sections, fetched by name
  (:func:`grainlib.data.public.iron_sections`).

:func:`load_real` picks the source named in the profile (``data.source``);
:func:`read_micrograph` reads one micrograph without a label, to segment it.
Readers never write to the user's files or folders.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import io as skio
from skimage.color import rgb2gray

from grainlib.core.config import PROJECT_ROOT
from grainlib.data import hdf5, public, specimen
from grainlib.data.labels import SourceError, label_to_grain_ids

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


# --------------------------------------------------------------------------- surrogate


def surrogate_sections(n: int, shape, *, seed: int = 0, **rendering):
    """Sections of the embedded surrogate specimen.

    Parameters
    ----------
    n : number of sections.
    shape : (H, W) of each section in pixels.
    seed : seed of the specimen.
    **rendering : the profile's ``surrogate`` section (grain size, contrast, ...), passed
        on to :func:`grainlib.data.specimen.sections`.

    Returns
    -------
    images : (n, H, W) uint8.
    grain_ids : (n, H, W) int32.
    """
    images, grain_ids = specimen.sections(int(n), tuple(int(s) for s in shape),
                                          seed=int(seed), **rendering)
    return _checked_stack(np.asarray(images), np.asarray(grain_ids), "surrogate specimen")


# --------------------------------------------------------------------------- folders


def _listing(folder: Path, what: str) -> dict[str, Path]:
    if not folder.exists():
        raise SourceError(f"{what} folder not found: {folder}")
    if not folder.is_dir():
        raise SourceError(f"{what} folder is not a folder: {folder}")
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SourceError(f"{what} folder {folder} holds no image files "
                          f"(expected {', '.join(IMAGE_SUFFIXES)})")
    by_stem: dict[str, Path] = {}
    for path in files:
        if path.stem in by_stem:
            raise SourceError(f"{what} folder {folder}: two files with the stem "
                              f"'{path.stem}': {by_stem[path.stem].name} and {path.name}")
        by_stem[path.stem] = path
    return by_stem


def _pair(image_files: dict, label_files: dict, images_dir: Path, labels_dir: Path):
    """Refuse an image without a label or a label without an image (listings by stem)."""
    lonely_images = sorted(set(image_files) - set(label_files))
    lonely_labels = sorted(set(label_files) - set(image_files))
    if lonely_images:
        raise SourceError(f"image {image_files[lonely_images[0]]} has no label in {labels_dir} "
                          f"({len(lonely_images)} images without a label)")
    if lonely_labels:
        raise SourceError(f"label {label_files[lonely_labels[0]]} has no image in {images_dir} "
                          f"({len(lonely_labels)} labels without an image)")


def _read(path: Path) -> np.ndarray:
    """An image file as an array: scikit-image first, then Pillow (which also decodes
    LZW-compressed TIFFs without the optional ``imagecodecs`` package)."""
    try:
        with warnings.catch_warnings():
            # imageio tries its legacy plugins on a file it cannot place, with deprecations
            warnings.simplefilter("ignore", DeprecationWarning)
            return np.asarray(skio.imread(path))
    except Exception as err:  # the imaging plugins raise many kinds of errors
        if isinstance(err, OSError) and err.strerror:  # permission denied, a folder, ...
            raise SourceError(f"cannot read {path}: {err.strerror}") from err
        first = err
    try:
        with Image.open(path) as image:
            return np.asarray(image)
    except Exception:
        raise _unreadable(path) from first


def _unreadable(path: Path) -> SourceError:
    # The plugins' own messages mostly advise installing other plugins: not the problem.
    return SourceError(f"cannot read {path}: not a readable {path.suffix[1:].upper()} image "
                       f"(damaged, or another format under this name)")


def _grey(image: np.ndarray, path: Path) -> np.ndarray:
    """A 2D grey image from grey, RGB or RGBA input (RGB by luminance, rgb2gray)."""
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        rgb = image[..., :3]
        scale = 255.0 if image.dtype == np.uint8 else float(np.iinfo(image.dtype).max) \
            if np.issubdtype(image.dtype, np.integer) else 1.0
        grey = rgb2gray(rgb.astype(np.float64) / scale) * scale
        if np.issubdtype(image.dtype, np.integer):  # rounded: grey stored as RGB stays itself
            return np.clip(np.round(grey), 0, scale).astype(image.dtype)
        return grey
    if image.ndim != 2:
        raise SourceError(f"{path}: expected a 2D grey (or RGB) image, got shape {image.shape}")
    return image


def read_micrograph(path) -> np.ndarray:
    """One micrograph file as a grey uint8 image, e.g. to segment it.

    Any format scikit-image or Pillow reads (PNG, TIFF, JPEG, ...), grey, RGB or RGBA
    (RGB -> grey by luminance, rounded; alpha ignored). 8-bit images are returned as
    stored; deeper ones (16 bit, float) are scaled by :func:`to_uint8`, the image's
    own min..max onto 0..255, rounded, as :func:`read_folder` scales a training folder.
    Nothing is written.

    Parameters
    ----------
    path : str or Path of the image file.

    Returns
    -------
    (H, W) uint8 array.

    Raises
    ------
    SourceError naming the file: missing, a folder, unreadable or not an image, or an
    image that is not 2D grey or RGB (a stack, two channels, ...).
    """
    path = Path(path)
    expected = "expected a micrograph file (PNG, TIFF, JPEG; grey or RGB)"
    if not path.exists():
        raise SourceError(f"image not found: {path}")
    if path.is_dir():
        raise SourceError(f"{path} is a folder; {expected}")
    try:
        image = _read(path)
    except SourceError as err:
        raise SourceError(f"{err}; {expected}") from None
    image = _grey(image, path)
    usable = image.dtype == bool or np.issubdtype(image.dtype, np.integer) or (
        np.issubdtype(image.dtype, np.floating) and np.isfinite(image).all())
    if image.size == 0 or not usable:
        raise SourceError(f"{path}: an empty image, or values that are not grey levels "
                          f"({image.dtype} {image.shape}); {expected}")
    return to_uint8([image])[0]


def to_uint8(images: list[np.ndarray]) -> list[np.ndarray]:
    """Grey images of any depth as uint8.

    8-bit images are returned unchanged. Deeper images (16 bit, float) are scaled
    linearly with ONE mapping for the whole list, from the smallest to the largest value
    found in any of them onto 0..255, so the relative brightness of the images is kept.

    Parameters
    ----------
    images : list of (H, W) arrays.

    Returns
    -------
    list of (H, W) uint8 arrays.
    """
    if all(im.dtype == np.uint8 for im in images):
        return list(images)
    lo = min(float(im.min()) for im in images)
    hi = max(float(im.max()) for im in images)
    span = hi - lo if hi > lo else 1.0
    return [im if im.dtype == np.uint8 else
            np.round((im.astype(np.float64) - lo) * (255.0 / span)).astype(np.uint8)
            for im in images]


def read_folder(images_dir, labels_dir, return_kinds: bool = False):
    """Micrographs with labels from two folders, matched by file stem.

    Images: PNG or TIFF, 8 or 16 bit (or float), grey or RGB (RGB -> grey by luminance).
    Deeper than 8 bit: scaled to uint8 by :func:`to_uint8` (one linear map, min..max of
    the whole folder -> 0..255). Labels: boundary maps (0/1 or 0/255, either polarity),
    grain-id maps or colour-coded grains; see :func:`label_to_grain_ids`.
    Files are sorted by stem. Nothing is written to either folder.

    Parameters
    ----------
    images_dir, labels_dir : folders (str or Path).
    return_kinds : also return the kind of each label file.

    Returns
    -------
    images : (N, H, W) uint8.
    grain_ids : (N, H, W) int32.
    kinds : list of N strings, only with ``return_kinds``.

    Raises
    ------
    SourceError naming the file: missing or empty folder, an image without a label or a
    label without an image, images of different sizes, an image and label of different
    size, a label that is neither a boundary map nor grain ids, an ambiguous boundary map.
    """
    images_dir, labels_dir = Path(images_dir), Path(labels_dir)
    image_files = _listing(images_dir, "images")
    label_files = _listing(labels_dir, "labels")
    _pair(image_files, label_files, images_dir, labels_dir)
    images, ids, kinds = [], [], []
    shape = None
    for stem in sorted(image_files):
        image_path, label_path = image_files[stem], label_files[stem]
        image = _grey(_read(image_path), image_path)
        label = _read(label_path)
        if label.shape[:2] != image.shape:
            raise SourceError(f"size mismatch: image {image_path} is {image.shape[0]} x "
                              f"{image.shape[1]}, its label {label_path} is "
                              f"{label.shape[0]} x {label.shape[1]}")
        if shape is None:
            shape = image.shape
        elif image.shape != shape:
            raise SourceError(f"image {image_path} is {image.shape[0]} x {image.shape[1]}, "
                              f"expected {shape[0]} x {shape[1]} like the first image")
        grain_ids, kind = label_to_grain_ids(label, label_path)
        images.append(image)
        ids.append(grain_ids)
        kinds.append(kind)
    stack = np.stack(to_uint8(images)), np.stack(ids).astype(np.int32)
    return (*stack, kinds) if return_kinds else stack


# --------------------------------------------------------------------------- HDF5

# The writer of the published layout, kept here beside its reader (:mod:`grainlib.data.hdf5`).
write_hdf5 = hdf5.write_hdf5


def read_hdf5(path, group: str = "real", layout=None):
    """Read one group of the published pure-iron layout (see :mod:`grainlib.data.hdf5`).

    The stacks may be stored H x W x N (the authors' order, :func:`write_hdf5`) or
    N x H x W; the order is told from the stacks' shapes, the group's ``layout``
    attribute or its ``shape`` dataset, or taken from ``layout``
    (:func:`grainlib.data.hdf5.stack_layout`). ``label`` is read as grain ids; when a
    group has only ``boundary``, the grain ids are drawn from it with
    :func:`grainlib.data.labels.grains_from_boundary`. Images deeper than 8 bit are
    scaled by :func:`to_uint8`.

    Parameters
    ----------
    path : HDF5 file.
    group : ``"real"`` or ``"simulated"`` (or any group of that layout).
    layout : None (tell the order from the file), ``"HWN"`` or ``"NHW"``.

    Returns
    -------
    images : (N, H, W) uint8, or None when the group holds no ``image``.
    grain_ids : (N, H, W) int32.

    Raises
    ------
    SourceError naming the file and group: missing, not HDF5, no such group, stacks of
    different shapes, or an order that cannot be told (naming both readings).
    """
    images, grain_ids = hdf5.read_stacks(Path(path), group, layout)
    if images is not None and images.dtype != np.uint8:
        images = np.stack(to_uint8(list(images)))
    return images, grain_ids


# --------------------------------------------------------------------------- dispatch


def resolve(path) -> Path:
    """A profile's path: absolute as given, relative ones against the project root."""
    path = Path(os.path.expanduser(str(path)))
    return path if path.is_absolute() else (PROJECT_ROOT / path).resolve()


def _checked_stack(images, grain_ids, what):
    if images.ndim != 3 or images.shape != grain_ids.shape:
        raise SourceError(f"{what}: images {images.shape} and grain ids {grain_ids.shape} "
                          f"must be (N, H, W) stacks of one shape")
    if images.dtype != np.uint8:
        raise SourceError(f"{what}: images must be uint8, got {images.dtype}")
    return images, grain_ids.astype(np.int32, copy=False)


def load_real(cfg):
    """The real micrographs of a profile, from the source named in ``cfg["data"]["source"]``.

    - ``surrogate``: :func:`surrogate_sections` with ``data.n_images``,
      ``data.image_shape``, ``cfg["seed"]`` and the ``surrogate`` section;
    - ``folder``: :func:`read_folder` of ``data.images_dir`` and ``data.labels_dir``;
    - ``hdf5``: :func:`read_hdf5` of ``data.hdf5_path``, group ``data.hdf5_group``, in
      the stack order ``data.hdf5_layout`` (null: told from the file);
    - ``iron-sections``: the five public pure-iron sections,
      :func:`grainlib.data.public.iron_sections` (fetched and cached on first use).

    Relative paths are resolved against the project root.

    Returns
    -------
    images : (N, H, W) uint8.
    grain_ids : (N, H, W) int32.
    """
    data = cfg["data"]
    source = data["source"]
    if source == "surrogate":
        return surrogate_sections(data["n_images"], data["image_shape"], seed=cfg["seed"],
                                  **cfg.get("surrogate", {}))
    if source == "folder":
        for key in ("images_dir", "labels_dir"):
            if not data.get(key):
                raise SourceError(f"data.source is 'folder' but data.{key} is not set")
        return read_folder(resolve(data["images_dir"]), resolve(data["labels_dir"]))
    if source == "hdf5":
        if not data.get("hdf5_path"):
            raise SourceError("data.source is 'hdf5' but data.hdf5_path is not set")
        path = resolve(data["hdf5_path"])
        images, grain_ids = read_hdf5(path, data["hdf5_group"], data.get("hdf5_layout"))
        if images is None:
            raise SourceError(f"{path}:/{data['hdf5_group']} holds no 'image' dataset: real "
                              f"data need micrographs")
        return _checked_stack(images, grain_ids, str(path))
    if source == "iron-sections":
        return public.iron_sections()
    raise SourceError(f"data.source must be 'surrogate', 'folder', 'hdf5' or "
                      f"'iron-sections', got {source!r}")


def _check_folder_source(data) -> None:
    """``folder``: both folders set, present, readable, holding image files that pair up."""
    listings = {}
    for key, what in (("images_dir", "images"), ("labels_dir", "labels")):
        if not data.get(key):
            raise SourceError(f"data.source is 'folder' but data.{key} is not set")
        folder = resolve(data[key])
        if folder.is_dir() and not os.access(folder, os.R_OK | os.X_OK):
            raise SourceError(f"data.{key}: {what} folder not readable: {folder}")
        try:
            listings[key] = _listing(folder, what)
        except SourceError as err:
            raise SourceError(f"data.{key}: {err}") from None
    _pair(listings["images_dir"], listings["labels_dir"], resolve(data["images_dir"]),
          resolve(data["labels_dir"]))
    for listing in listings.values():
        for path in listing.values():
            if not os.access(path, os.R_OK):
                raise SourceError(f"file not readable: {path}")
    _check_sizes(listings["images_dir"], listings["labels_dir"], resolve(data["images_dir"]))


def _header_size(path: Path):
    """(H, W) of an image file from its header (Pillow decodes no pixel to tell it), or
    None when Pillow cannot place the file: reading it later names it then."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except Exception:  # Pillow raises many kinds of errors on files it cannot place
        return None
    return int(height), int(width)


def _check_sizes(image_files: dict, label_files: dict, images_dir: Path) -> None:
    """Every image of a folder source one size, each label the size of its image, told
    from the file headers: the datasets hold the real images as one (N, H, W) stack."""
    by_size: dict[tuple[int, int], list[str]] = {}
    for stem in sorted(image_files):
        size, label_size = _header_size(image_files[stem]), _header_size(label_files[stem])
        if size and label_size and size != label_size:
            raise SourceError(f"size mismatch: image {image_files[stem]} is {size[0]} x "
                              f"{size[1]}, its label {label_files[stem]} is {label_size[0]} x "
                              f"{label_size[1]}")
        if size:
            by_size.setdefault(size, []).append(image_files[stem].name)
    if len(by_size) > 1:
        def files(names):
            return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

        sizes = sorted(by_size.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        raise SourceError(f"data.images_dir: images of {len(sizes)} sizes in {images_dir}: "
                          + "; ".join(f"{h} x {w} px: {files(names)}" for (h, w), names in sizes)
                          + "; every image (and its label) of one source must be one size: "
                            "crop or scale them to one")


def _check_hdf5_source(data) -> None:
    """``hdf5``: the file is there, is HDF5, its group holds images and labels, stacks of
    one shape whose order (H x W x N or N x H x W) can be told."""
    if not data.get("hdf5_path"):
        raise SourceError("data.source is 'hdf5' but data.hdf5_path is not set")
    path, group = resolve(data["hdf5_path"]), data["hdf5_group"]
    try:
        with hdf5.open_group(path, group) as (_, g):
            missing = [name for name in ("image",) if name not in g]
            if "label" not in g and "boundary" not in g:
                missing.append("label (or boundary)")
            if not missing:  # shapes and attributes only: the stack order can be told
                hdf5.group_layout(g, f"{path}:/{group}", data.get("hdf5_layout"))
    except SourceError as err:
        raise SourceError(f"data.hdf5_path: {err}") from None
    if missing:
        raise SourceError(f"data.hdf5_path: {path}:/{group} has no {' and no '.join(missing)} "
                          f"dataset; real data need micrographs and labels")


# Sources whose data are files named in the profile, and the check of each. A source not
# listed here (the surrogate) needs no files; a new source that reads files adds its check.
SOURCE_CHECKS = {"folder": _check_folder_source, "hdf5": _check_hdf5_source}


def check_source(cfg) -> None:
    """Check, before any chapter runs, that the profile's real data are there.

    Cheap: folders are listed, image headers and HDF5 files opened, no image is decoded.
    Checks the folders of ``folder`` (present, readable, image files with matching
    labels, all of one size) and the file of ``hdf5`` (an HDF5 file whose group holds
    images and labels, stacks of one shape in an order that can be told, see
    :func:`grainlib.data.hdf5.stack_layout`); other sources need no files and pass (see
    :data:`SOURCE_CHECKS`).

    Parameters
    ----------
    cfg : a profile from :func:`grainlib.core.config.load`.

    Raises
    ------
    SourceError naming the key (``data.images_dir``, ...) and the path.
    """
    data = cfg["data"]
    check = SOURCE_CHECKS.get(data["source"])
    if check is not None:
        check(data)


def source_signature(cfg) -> dict:
    """What the real data of a profile depend on, for fingerprinting stored artifacts.

    For folders and files this includes each file's name, size and modification time, so
    edited data are read again; for the surrogate, the renderer's version
    (:data:`grainlib.data.specimen.VERSION`); for a public data set, the pinned checksums
    of its files.
    """
    data = cfg["data"]
    source = data["source"]
    if source == "iron-sections":
        return {"source": source, **public.signature(source)}
    if source == "surrogate":
        return {"source": source, "n_images": data["n_images"],
                "image_shape": list(data["image_shape"]), "seed": cfg["seed"],
                "surrogate": cfg.get("surrogate", {}), "specimen_code": specimen.VERSION}

    def stat(path: Path):
        s = path.stat()
        return [path.name, s.st_size, s.st_mtime_ns]

    if source == "folder":
        listing = []
        for key in ("images_dir", "labels_dir"):
            folder = resolve(data[key] or "")
            if folder.is_dir():
                listing.append([stat(p) for p in sorted(folder.iterdir()) if p.is_file()])
        return {"source": source, "images_dir": data["images_dir"],
                "labels_dir": data["labels_dir"], "files": listing}
    path = resolve(data["hdf5_path"] or "")
    layout = {"layout": data["hdf5_layout"]} if data.get("hdf5_layout") else {}
    return {"source": source, "hdf5_path": data["hdf5_path"], "group": data["hdf5_group"],
            **layout, "file": stat(path) if path.is_file() else None}
