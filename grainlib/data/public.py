"""Public data sets, fetched by name, verified and cached.

Each data set is a list of files at a pinned commit of a public repository, each with
its SHA256. :func:`fetch` downloads the missing ones with ``pooch``, refuses any file
whose checksum differs, and keeps them in one cache folder:

- ``GRAINLIB_DATA``, when set: a folder of your choice. A folder that already holds the
  files under their relative paths (e.g. ``Original/001.tif``) is used as it is, with no
  network access.
- otherwise the user cache folder, ``pooch.os_cache("grainlib")``
  (``~/.cache/grainlib`` on Linux, or ``$XDG_CACHE_HOME/grainlib``).

``GRAINLIB_DATA_URL`` replaces the base URL of every data set (a mirror that serves
the same relative paths; the tests use a local server). Files already in the cache
are never overwritten: a file with a wrong checksum is refused with an error.

Data sets
---------
``iron-sections``
    Five consecutive serial sections (about 1.8 um apart) of polycrystalline pure iron,
    optical microscope, 4 vol% nital etch, 800 x 800 px, with human grain labels:
    ``Original/00N.tif`` (8-bit grey) and ``GroundTruth/00N.tif`` (RGB, one colour a
    grain) of the Fast-FineCut repository (MIT licence). Cite B. Ma et al.,
    "Fast-FineCut: Grain boundary detection in microscopic images considering 3D
    information", Micron 116 (2019) 5-14. Read with :func:`iron_sections`.

Command line::

    python -m grainlib data                        # data sets, licence, size, cached or not
    python -m grainlib data fetch iron-sections    # download (or check) the files
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping
from urllib.parse import urlparse

import numpy as np

from grainlib.data.labels import grains_from_colours

# bump when the way the arrays are made from the files changes (stored artifacts follow)
VERSION = 1
ENV_DIR = "GRAINLIB_DATA"
ENV_URL = "GRAINLIB_DATA_URL"


class DataError(ValueError):
    """A public data set that cannot be fetched, verified or read.

    The first line of the message says what went wrong; the following lines say how
    to fix it.
    """


@dataclass(frozen=True)
class DataSet:
    """A public data set: files at a pinned commit of a repository, with checksums.

    Attributes
    ----------
    name : the name users fetch it by.
    title : one line saying what it is.
    licence : its licence.
    citation : what to cite when using it.
    repository : where it comes from (with the commit), for people.
    base_url : URL the relative paths are appended to.
    files : relative path -> (SHA256 hex digest, size in bytes).
    """

    name: str
    title: str
    licence: str
    citation: str
    repository: str
    base_url: str
    files: Mapping[str, tuple[str, int]]

    @property
    def size(self) -> int:
        """Total size of the files in bytes."""
        return sum(size for _, size in self.files.values())


_FAST_FINECUT_COMMIT = "c9690d72bfa368257a33ce8f0d2d55d0672fec8b"

IRON_SECTIONS = DataSet(
    name="iron-sections",
    title="Pure iron, 5 serial optical sections of 800 x 800 px with grain labels",
    licence="MIT",
    citation="B. Ma et al., Fast-FineCut: Grain boundary detection in microscopic images "
             "considering 3D information, Micron 116 (2019) 5-14",
    repository=f"https://github.com/clovermini/Fast-FineCut/tree/{_FAST_FINECUT_COMMIT}/images",
    base_url="https://raw.githubusercontent.com/clovermini/Fast-FineCut/"
             f"{_FAST_FINECUT_COMMIT}/images/",
    files={
        "Original/001.tif":
            ("3e0f2bbb39d02f4529a027ea58f3f001f03d6bb73475c7239f53d6b48957dd26", 640122),
        "Original/002.tif":
            ("14904fe1c1a3ee95301cf9b293081f27e02c963968b526bd758878badbf78052", 640122),
        "Original/003.tif":
            ("67f783de679f2ad14b36218a063a70c4dfc35b9fb3d4023caec504795a6555b8", 640122),
        "Original/004.tif":
            ("b2647be2dfb7e42def5d1522f96741a251773b941e15c9c8960886dd5d826132", 640122),
        "Original/005.tif":
            ("e9ffee71b9e96bb971aedb8ce6336ac83758275dad9742f7c48a61faf5329a94", 640122),
        "GroundTruth/001.tif":
            ("5e1315860aa5f4fc7a097ecb5d944c9dc8b535072f2d141829a4282fb9e1d48a", 100798),
        "GroundTruth/002.tif":
            ("391d7005162ce0ba80ebac54517bfc4960eca8833104ffdf8470cd77b5b9a851", 99798),
        "GroundTruth/003.tif":
            ("300b7dc49e6874bf339a7d1815af60f6d731879af784060d2767e02606eb14a1", 99258),
        "GroundTruth/004.tif":
            ("b3ef30d30c45acef7a91733241d0c1055b17b4e3cbfa9383789d1d8c1b5a01a3", 99238),
        "GroundTruth/005.tif":
            ("dd73ce24cc5acc97eac3d5768e6efe19e6cdb167f88e5dd4ed4aa23952c147e3", 98634),
    },
)

DATASETS: dict[str, DataSet] = {IRON_SECTIONS.name: IRON_SECTIONS}


# --------------------------------------------------------------------------- where


def dataset(name: str) -> DataSet:
    """The data set of that name; a :class:`DataError` lists the known names."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; known data sets: "
                        f"{', '.join(sorted(DATASETS))}")
    return DATASETS[name]


def data_dir() -> Path:
    """The cache folder: ``$GRAINLIB_DATA`` when set, else ``pooch.os_cache("grainlib")``."""
    import pooch

    folder = os.environ.get(ENV_DIR)
    return Path(os.path.expanduser(folder)) if folder else Path(pooch.os_cache("grainlib"))


def base_url(name: str) -> str:
    """Base URL the data set's files are downloaded from (``$GRAINLIB_DATA_URL`` when set)."""
    url = os.environ.get(ENV_URL) or dataset(name).base_url
    return url.rstrip("/") + "/"


def _hash(path: Path) -> str:
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


def file_states(name: str) -> dict[str, str]:
    """What the cache holds of each file of a data set, without any network access.

    Returns
    -------
    dict : relative path -> ``"ok"`` (present, checksum right), ``"missing"`` or
        ``"corrupt"`` (present, checksum wrong).
    """
    folder = data_dir()
    states = {}
    for relpath, (sha256, _) in dataset(name).files.items():
        path = folder / relpath
        states[relpath] = ("missing" if not path.is_file() else
                           "ok" if _hash(path) == sha256 else "corrupt")
    return states


def is_cached(name: str) -> bool:
    """True when every file of the data set is in the cache with the right checksum."""
    return all(state == "ok" for state in file_states(name).values())


# --------------------------------------------------------------------------- fetch


def _offline_advice(ds: DataSet, folder: Path) -> str:
    """Which files to download from where, and where to put them, to work offline."""
    missing = [relpath for relpath in ds.files if not (folder / relpath).is_file()]
    lines = [f"To work offline, download the {len(missing)} missing file(s) of "
             f"'{ds.name}' ({ds.repository}) and put them in {folder}:"]
    lines += [f"  {ds.base_url}{relpath}  ->  {folder / relpath}" for relpath in missing]
    lines.append(f"or set {ENV_DIR} to a folder that already holds all its files under "
                 f"these relative paths.")
    return "\n".join(lines)


def _reason(err: Exception, url: str) -> str:
    """A short reason for a failed request: no network (no connection to the host, or
    none in time), the HTTP status, or the error's first line."""
    import requests

    host = urlparse(url).netloc or url
    if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return f"no network: no answer from {host}"
    response = getattr(err, "response", None)
    if response is not None:
        return " ".join(filter(None, ("HTTP", str(response.status_code), response.reason,
                                      "from", host)))
    return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"


def _check_local(ds: DataSet, relpath: str, path: Path):
    """Refuse a file already in the cache whose checksum is wrong (never overwrite it)."""
    sha256, size = ds.files[relpath]
    found = _hash(path)
    if found != sha256:
        raise DataError(
            f"{path} is corrupt: its SHA256 is {found} ({path.stat().st_size} bytes), "
            f"expected {sha256} ({size} bytes) for '{relpath}' of data set '{ds.name}'.\n"
            f"Delete it to download it again, or replace it with {ds.base_url}{relpath}.")


def _download(ds: DataSet, relpath: str, folder: Path, progress: bool) -> None:
    """Download one file into the cache folder with pooch, checking its SHA256."""
    import pooch
    import requests

    sha256, _ = ds.files[relpath]
    url = base_url(ds.name)
    made = [parent for parent in (folder / relpath).parents if not parent.exists()]
    fetcher = pooch.create(path=folder, base_url=url, registry={relpath: f"sha256:{sha256}"},
                           retry_if_failed=0, allow_updates=False)
    logger = pooch.get_logger()
    level = logger.level
    if not progress:
        logger.setLevel("WARNING")  # quiet unless the caller asked to see downloads
    try:
        fetcher.fetch(relpath, progressbar=progress)
    except ValueError as err:  # pooch: checksum of the download does not match
        raise DataError(
            f"refused {url}{relpath}: the downloaded file does not have the SHA256 "
            f"expected for '{relpath}' of data set '{ds.name}' ({sha256}); nothing was "
            f"kept.\npooch said: {err}\nCheck the address ({ENV_URL} if set) or try "
            f"again later.") from None
    except PermissionError as err:
        raise DataError(f"cannot write to the cache folder {folder} ({err}).\n"
                        f"Set {ENV_DIR} to a folder you may write to.") from None
    except (requests.exceptions.RequestException, OSError) as err:
        raise DataError(f"cannot download {relpath} into {folder} ({_reason(err, url)})\n"
                        + _offline_advice(ds, folder)) from None
    finally:
        logger.setLevel(level)
        for parent in made:  # innermost first: leave no empty folders after a failure
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()


def fetch(name: str = "iron-sections", progress: bool = False) -> dict[str, Path]:
    """The files of a data set, downloaded into the cache folder when missing.

    Files already in the cache (:func:`data_dir`) are checked against their SHA256 and
    used without network access; missing files are downloaded with ``pooch`` from
    :func:`base_url`, verified, and only then moved into the cache. Nothing is written
    outside the cache folder.

    Parameters
    ----------
    name : the data set, a key of :data:`DATASETS`.
    progress : show a progress bar per download.

    Returns
    -------
    dict : relative path -> absolute Path of each file in the cache.

    Raises
    ------
    DataError : an unknown name; a cached file with a wrong checksum; a download that
        fails (saying which file to download from where and where to put it) or whose
        checksum is wrong.
    """
    ds = dataset(name)
    folder = data_dir()
    paths = {}
    for relpath in ds.files:
        path = folder / relpath
        if path.is_file():
            _check_local(ds, relpath, path)
        else:
            _download(ds, relpath, folder, progress)
        paths[relpath] = path
    return paths


# --------------------------------------------------------------------------- read


def _read_tiff(path: Path, mode: str) -> np.ndarray:
    """A TIFF as an array, checking its pixel mode (``"L"`` grey, ``"RGB"`` colour)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.mode != mode:
                raise DataError(f"{path}: expected a {mode} image, found mode {image.mode}")
            return np.asarray(image)
    except OSError as err:
        raise DataError(f"cannot read {path}: {err}") from None


def iron_sections(progress: bool = False):
    """The five pure-iron serial sections with their grain ids (data set ``iron-sections``).

    Fetched by :func:`fetch` on first use (about 3.7 MB), then read from the cache.
    The grain ids are the 4-connected regions of each colour of the colour-coded
    labels (:func:`grainlib.data.labels.grains_from_colours`), numbered 1..N per section in
    scan order; 172 to 192 grains a section. A grain boundary lies where the id changes;
    boundary maps are drawn from the ids with :func:`grainlib.core.grains.boundaries`.

    The sections are about 1.8 um apart: strongly correlated slices of one specimen.
    Licence MIT; cite B. Ma et al., Micron 116 (2019) 5-14.

    Parameters
    ----------
    progress : show download progress.

    Returns
    -------
    images : (5, 800, 800) uint8 grey micrographs (sections 001..005).
    grain_ids : (5, 800, 800) int32 grain ids 1..N.

    Raises
    ------
    DataError : the files cannot be fetched or read (see :func:`fetch`).
    """
    paths = fetch(IRON_SECTIONS.name, progress=progress)
    stems = sorted(Path(p).stem for p in paths if p.startswith("Original/"))
    images, grain_ids = [], []
    for stem in stems:
        image = _read_tiff(paths[f"Original/{stem}.tif"], "L")
        colours = _read_tiff(paths[f"GroundTruth/{stem}.tif"], "RGB")
        if image.shape != colours.shape[:2]:
            raise DataError(f"section {stem}: image {image.shape} and labels "
                            f"{colours.shape[:2]} differ in size")
        images.append(image)
        grain_ids.append(grains_from_colours(colours, paths[f"GroundTruth/{stem}.tif"]))
    return np.stack(images).astype(np.uint8), np.stack(grain_ids).astype(np.int32)


def signature(name: str) -> dict:
    """What a data set's arrays depend on, for fingerprinting stored artifacts: the
    pinned checksums (the files cannot change without these changing) and
    :data:`VERSION` of the conversion."""
    ds = dataset(name)
    return {"dataset": ds.name, "version": VERSION,
            "files": {p: sha for p, (sha, _) in ds.files.items()}}


# --------------------------------------------------------------------------- command line


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def listing() -> str:
    """The known data sets as text: name, size, licence, cached or not, and title."""
    folder = data_dir()
    lines = [f"cache folder: {folder}" + (f" (from {ENV_DIR})" if os.environ.get(ENV_DIR)
                                          else f" (set {ENV_DIR} to change it)"), ""]
    for ds in DATASETS.values():
        states = file_states(ds.name)
        ok = sum(state == "ok" for state in states.values())
        corrupt = [p for p, state in states.items() if state == "corrupt"]
        cached = ("cached" if ok == len(states) else
                  f"{ok} of {len(states)} files cached" if ok else "not cached")
        if corrupt:
            cached += f", {len(corrupt)} corrupt ({', '.join(corrupt)})"
        lines += [f"{ds.name}  {_megabytes(ds.size)}  {ds.licence} licence  {cached}",
                  f"    {ds.title}",
                  f"    source: {ds.repository}",
                  f"    cite: {ds.citation}"]
    lines += ["", "fetch one with: python -m grainlib data fetch NAME"]
    return "\n".join(lines)
