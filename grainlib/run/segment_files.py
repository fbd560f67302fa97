"""Segment your own micrographs: a trained U-Net on image files, grain maps and grain
statistics written to a folder (``python -m grainlib segment``).

The U-Net is a shipped model by name (:mod:`grainlib.run.models`; ``iron``, the
default of the command) or a file written by :func:`grainlib.learn.segment.save`, such as
those chapter 04 keeps in ``runs/<profile>/segment/``. One trained for only a handful of
steps (:func:`grainlib.run.models.undertrained`) is used, with a warning.

For each micrograph ``<stem>.<ext>`` (read by :func:`grainlib.data.sources.read_micrograph`:
grey or RGB, 8 or 16 bit) the U-Net predicts at the image's own size
(:func:`grainlib.learn.segment.predict`) and the output folder receives

- ``<stem>_boundaries.png``: the boundary map, 8-bit grey, 255 on boundary pixels and 0
  elsewhere, the image's height and width;
- ``<stem>_grains.tif``: the grain ids, 1..K, every pixel in a grain (all 0 when no grain
  was found); a lossless TIFF (deflate), 16-bit unsigned, or 32-bit signed beyond 65,535
  grains; ``<stem>_boundaries.png`` is :func:`grainlib.core.grains.boundaries` of it;
- ``<stem>_grains.csv``: one row per grain (:func:`grainlib.core.grains.grain_table`): id,
  area and equivalent diameter in pixels, centroid, whether the frame cuts it;

and, for all images, ``grains.csv`` (:data:`SUMMARY`): one row per image with its
height, width, number of grains, mean grain area and mean equivalent diameter in pixels
(every grain counted, those cut by the frame too: their sizes are in the per-grain
tables).

Files of these names in the output folder are replaced; an input is never: an output
that would land on an input file is refused before anything is written. Inputs that are
themselves outputs of an earlier run, by name (``a_boundaries.png`` with
``a_grains.tif`` and ``a_grains.csv`` beside ``a.png`` when segmenting into the images'
own folder a second time), are skipped (:func:`own_outputs`) and replaced like any other
output. A failure leaves no empty output folder behind.

>>> summary = segment_files("iron", ["a.png"], "out")  # doctest: +SKIP
>>> summary = segment_files("runs/demo/segment/real-100-seed0.pt", ["a.png"], "out")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from grainlib.core import config, grains
from grainlib.data import sources
from grainlib.learn import segment, training
from grainlib.run import models
from grainlib.score import grainsize

SUMMARY = "grains.csv"
"""The file of one row per image, in the output folder."""

SUMMARY_COLUMNS = ("image", "height", "width", "grains", "mean_area_px",
                   "mean_equivalent_diameter_px")
GRAIN_SIZE_COLUMNS = ("mean_intercept_px", "mean_intercept_um", "grains_per_mm2",
                      "G_intercept", "G_planimetric")
"""The grain size columns of ``grains.csv`` after :data:`SUMMARY_COLUMNS`: the first
always, the others with a pixel size."""

FLOAT_FORMAT = "%.3f"
"""Decimals of the CSV files' lengths and areas (pixels): a thousandth of a pixel."""


def output_paths(image, out_dir) -> dict[str, Path]:
    """The files written for one micrograph: ``{"boundaries", "grains", "table"}`` ->
    ``<out_dir>/<stem>_boundaries.png``, ``<stem>_grains.tif``, ``<stem>_grains.csv``."""
    stem, out_dir = Path(image).stem, Path(out_dir)
    return {"boundaries": out_dir / f"{stem}_boundaries.png",
            "grains": out_dir / f"{stem}_grains.tif",
            "table": out_dir / f"{stem}_grains.csv"}


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, plural unless ``n`` is 1: ``"1 grain"``, ``"3 grains"``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _named(path) -> Path:
    """A path by its name: its folder resolved, the file itself not followed."""
    path = Path(path)
    return path.parent.resolve() / path.name


def own_outputs(images, out_dir) -> dict[Path, Path | None]:
    """The inputs that are this command's outputs, by name: each -> the input whose
    output it is (None for ``grains.csv``).

    They are what segmenting into the images' own folder leaves there, and a second
    run's ``*.png`` picks up again: ``a_boundaries.png`` given with ``a.png``, when
    ``out_dir`` holds every output of ``a.png`` (``a_boundaries.png``, ``a_grains.tif``,
    ``a_grains.csv``). A file of such a name without the others beside it may be a
    micrograph of the user's: it stays an input (and :func:`plan` refuses to overwrite it).
    """
    images = [Path(p) for p in images]
    made = {_named(Path(out_dir) / SUMMARY): None}
    for image in images:
        paths = output_paths(image, out_dir).values()
        if all(path.is_file() for path in paths):
            made.update({_named(path): image for path in paths})
    return {image: made[_named(image)] for image in images if _named(image) in made}


def _identity(path: Path) -> tuple:
    """What a path names: an existing file by device and inode (so links and other
    spellings of one file are one), any other path by its absolute, resolved form."""
    try:
        stat = path.stat()
        return ("file", stat.st_dev, stat.st_ino)
    except OSError:
        return ("path", str(path.resolve()))


def plan(images, out_dir) -> list[dict[str, Path]]:
    """The outputs of each micrograph (:func:`output_paths`), checked to be safe to write.

    Parameters
    ----------
    images : paths of the micrographs.
    out_dir : the output folder (need not exist).

    Returns
    -------
    list of dicts, one per image, in order.

    Raises
    ------
    ValueError: no image, ``out_dir`` a file, two images of one stem (their outputs
    would clash), or an output (or ``grains.csv``) that is one of the inputs.
    """
    images = [Path(p) for p in images]
    if not images:
        raise ValueError("no micrograph given")
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ValueError(f"--out {out_dir} is a file; expected a folder (created when "
                         f"missing)")
    inputs = {_identity(path): path for path in images}
    seen: dict[str, Path] = {}
    for path in images:
        if path.stem in seen and _identity(seen[path.stem]) != _identity(path):
            raise ValueError(f"{seen[path.stem]} and {path} have the same name stem "
                             f"'{path.stem}': their outputs would overwrite one another; "
                             f"segment them into different --out folders")
        seen[path.stem] = path
    outputs = [output_paths(p, out_dir) for p in images]
    for target in [Path(out_dir) / SUMMARY] + [p for o in outputs for p in o.values()]:
        if _identity(target) in inputs:
            raise ValueError(f"refusing to overwrite the input {inputs[_identity(target)]}: "
                             f"it is also an output of this command; choose another --out "
                             f"folder")
    return outputs


def postprocess_options(postprocess: str | None = None,
                        threshold: float | None = None) -> dict:
    """Overrides of a model's post-processing, checked against the ``segment`` schema;
    None leaves the model's own value. Returns keyword arguments of
    :func:`grainlib.learn.segment.predict`; ValueError for a value out of range."""
    options = {}
    for key, value in (("postprocess", postprocess), ("threshold", threshold)):
        if value is None:
            continue
        param = config.SCHEMA["segment"][key]
        if not param.check(value):
            raise ValueError(f"--{key} must be {param.expected}, got {value!r}")
        options[key] = value
    return options


def check_device(device: str) -> str:
    """``device`` when torch can use it ("auto", "cpu", "cuda", "cuda:1", ...), else a
    ValueError naming it."""
    try:
        training.resolve_device(device)
    except RuntimeError as err:  # torch's word for a name that is no device
        raise ValueError(f"--device {device!r} is not a torch device; use auto, cpu or "
                         f"cuda") from err
    return device


def write_grain_maps(boundaries: np.ndarray, grain_ids: np.ndarray, paths: dict) -> None:
    """Write a boundary map and its grain ids losslessly (see the module docstring).

    Parameters
    ----------
    boundaries : (H, W) bool, True on boundary pixels -> PNG, 0/255 uint8.
    grain_ids : (H, W) integer ids, 0..K -> TIFF, uint16 (int32 when K > 65535).
    paths : ``{"boundaries", "grains"}`` -> file paths (:func:`output_paths`).
    """
    Image.fromarray(np.where(boundaries, 255, 0).astype(np.uint8)).save(paths["boundaries"])
    top = int(grain_ids.max(initial=0))
    ids = grain_ids.astype(np.uint16 if top <= np.iinfo(np.uint16).max else np.int32)
    Image.fromarray(ids).save(paths["grains"], compression="tiff_adobe_deflate")


def summary_row(image, table: pd.DataFrame, shape, boundaries=None,
                pixel_size: float | None = None) -> dict:
    """One row of ``grains.csv``: an image's name, ``shape`` (H, W) and the number, mean
    area and mean equivalent diameter (pixels; NaN without grains) of the grains of its
    per-grain ``table`` (:func:`grainlib.core.grains.grain_table`); with its
    ``boundaries`` (H, W) bool, also its ASTM E112 grain size
    (:func:`grainlib.score.grainsize.summary`: the mean lineal intercept in pixels, and
    with ``pixel_size`` in micrometres per pixel, in micrometres with grains per mm^2 and
    both G numbers; NaN where no test line crosses a boundary)."""
    count = len(table)
    row = dict(zip(SUMMARY_COLUMNS, (
        str(image), int(shape[0]), int(shape[1]), count,
        float(table["area_px"].mean()) if count else float("nan"),
        float(table["equivalent_diameter_px"].mean()) if count else float("nan"))))
    if boundaries is not None:
        columns = GRAIN_SIZE_COLUMNS[:1 if pixel_size is None else None]
        try:
            row.update(grainsize.summary(boundaries, pixel_size))
        except ValueError:  # no boundary on any test line: no grain size
            row.update(dict.fromkeys(columns, float("nan")))
    return row


def segment_files(model, images, out_dir, *, postprocess: str | None = None,
                  threshold: float | None = None, device: str = "auto",
                  pixel_size: float | None = None, progress: bool = False, say=None,
                  warn=None) -> pd.DataFrame:
    """Segment micrograph files and write their grain maps and statistics to ``out_dir``.

    Parameters
    ----------
    model : a :class:`grainlib.learn.segment.Segmenter`, a shipped model's name
        (:data:`grainlib.run.models.MODELS`, e.g. ``"iron"``) or the path of a U-Net
        written by :func:`grainlib.learn.segment.save`.
    images : paths of the micrographs (any size; grey or RGB; 8 or 16 bit).
    out_dir : output folder, created when missing.
    postprocess, threshold : overrides of the model's post-processing (None: its own).
    device : torch device for the U-Net ("auto": CUDA when present).
    pixel_size : micrometres per pixel: ``grains.csv`` then gives the grain size in
        micrometres, grains per mm^2 and ASTM E112 G (:data:`GRAIN_SIZE_COLUMNS`);
        without it, the mean lineal intercept in pixels and no G.
    progress : show a progress bar over the images (on stderr).
    say : called with one line of text per image written or skipped (None: silent).
    warn : called with the warning of a U-Net trained for too few steps
        (:func:`grainlib.run.models.undertrained`), once, before any image (None: silent).

    Returns
    -------
    pandas.DataFrame: the rows of ``grains.csv`` (:data:`SUMMARY_COLUMNS`, then the grain
    size), one per image.

    Raises
    ------
    Before anything is written: :class:`grainlib.run.models.ModelNotFound` (a
    FileNotFoundError) for an unknown name or a missing file, listing the models that
    exist; ValueError for a file that is no U-Net; ValueError for a bad option or unsafe outputs (:func:`plan`);
    :class:`grainlib.data.labels.SourceError` for a missing image. While segmenting:
    SourceError naming an image that cannot be read as a micrograph.
    """
    images = [Path(p) for p in images]
    skipped = own_outputs(images, out_dir)
    images = [p for p in images if p not in skipped]
    if skipped and not images:
        raise ValueError(f"no micrograph among the {len(skipped)} files given: each is an "
                         f"output of this command into {out_dir}")
    outputs = plan(images, out_dir)
    options = postprocess_options(postprocess, threshold)
    check_device(device)
    if not isinstance(model, segment.Segmenter):
        model = models.path(model)  # a name, or a file that exists: read below
    for path in images:  # cheap checks first; decoding an image waits for its turn
        if not path.is_file():
            sources.read_micrograph(path)  # raises, naming the file
    if not isinstance(model, segment.Segmenter):
        model = segment.load(model)
    if warn is not None and models.undertrained(model):
        warn(models.undertrained(model))
    if say is not None:
        for path, source in skipped.items():
            say(f"{path}: skipped, this command's "
                + (f"output for {source}" if source is not None else "summary"))
    out_dir = Path(out_dir)
    made = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _segment_all(model, images, outputs, out_dir, options, device, pixel_size,
                            progress, say)
    finally:
        for folder in made:  # innermost first: a failure leaves no empty folder behind
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def _segment_all(model, images, outputs, out_dir: Path, options: dict, device: str,
                 pixel_size: float | None, progress: bool, say) -> pd.DataFrame:
    """The loop of :func:`segment_files`, once everything is checked."""
    from tqdm.auto import tqdm

    rows = []
    for path, paths in zip(tqdm(images, desc="segment", unit="image", disable=not progress,
                                leave=False), outputs):
        image = sources.read_micrograph(path)
        boundaries, ids = segment.predict(model, image, device=device, return_ids=True,
                                          **options)
        write_grain_maps(boundaries, ids, paths)
        table = grains.grain_table(ids)
        table.to_csv(paths["table"], index=False, float_format=FLOAT_FORMAT)
        rows.append(summary_row(path, table, ids.shape, boundaries, pixel_size))
        if say is not None:
            say(f"{path}: {counted(len(table), 'grain')} -> {paths['boundaries'].name}, "
                f"{paths['grains'].name}, {paths['table'].name}")
    columns = SUMMARY_COLUMNS + GRAIN_SIZE_COLUMNS[:1 if pixel_size is None else None]
    summary = pd.DataFrame(rows, columns=list(columns))
    summary.to_csv(Path(out_dir) / SUMMARY, index=False, float_format=FLOAT_FORMAT)
    return summary
