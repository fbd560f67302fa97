"""Segment your own micrographs: a trained U-Net on image files, grain maps and grain
statistics written to a folder (``python -m grainlib segment``).

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
that would land on an input file is refused before anything is written.

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

SUMMARY = "grains.csv"
"""The file of one row per image, in the output folder."""

SUMMARY_COLUMNS = ("image", "height", "width", "grains", "mean_area_px",
                   "mean_equivalent_diameter_px")

FLOAT_FORMAT = "%.3f"
"""Decimals of the CSV files' lengths and areas (pixels): a thousandth of a pixel."""


def output_paths(image, out_dir) -> dict[str, Path]:
    """The files written for one micrograph: ``{"boundaries", "grains", "table"}`` ->
    ``<out_dir>/<stem>_boundaries.png``, ``<stem>_grains.tif``, ``<stem>_grains.csv``."""
    stem, out_dir = Path(image).stem, Path(out_dir)
    return {"boundaries": out_dir / f"{stem}_boundaries.png",
            "grains": out_dir / f"{stem}_grains.tif",
            "table": out_dir / f"{stem}_grains.csv"}


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


def summary_row(image, table: pd.DataFrame, shape) -> dict:
    """One row of ``grains.csv``: an image's name, ``shape`` (H, W) and the number, mean
    area and mean equivalent diameter (pixels; NaN without grains) of the grains of its
    per-grain ``table`` (:func:`grainlib.core.grains.grain_table`)."""
    count = len(table)
    return dict(zip(SUMMARY_COLUMNS, (
        str(image), int(shape[0]), int(shape[1]), count,
        float(table["area_px"].mean()) if count else float("nan"),
        float(table["equivalent_diameter_px"].mean()) if count else float("nan"))))


def segment_files(model, images, out_dir, *, postprocess: str | None = None,
                  threshold: float | None = None, device: str = "auto",
                  progress: bool = False, say=None) -> pd.DataFrame:
    """Segment micrograph files and write their grain maps and statistics to ``out_dir``.

    Parameters
    ----------
    model : a :class:`grainlib.learn.segment.Segmenter`, or the path of one written by
        :func:`grainlib.learn.segment.save`.
    images : paths of the micrographs (any size; grey or RGB; 8 or 16 bit).
    out_dir : output folder, created when missing.
    postprocess, threshold : overrides of the model's post-processing (None: its own).
    device : torch device for the U-Net ("auto": CUDA when present).
    progress : show a progress bar over the images (on stderr).
    say : called with one line of text per image written (None: silent).

    Returns
    -------
    pandas.DataFrame: the rows of ``grains.csv`` (:data:`SUMMARY_COLUMNS`), one per image.

    Raises
    ------
    Before anything is written: FileNotFoundError or ValueError for a missing or wrong
    model file; ValueError for a bad option or unsafe outputs (:func:`plan`);
    :class:`grainlib.data.labels.SourceError` for a missing image. While segmenting:
    SourceError naming an image that cannot be read as a micrograph.
    """
    from tqdm.auto import tqdm

    images = [Path(p) for p in images]
    outputs = plan(images, out_dir)
    options = postprocess_options(postprocess, threshold)
    check_device(device)
    for path in images:  # cheap checks first; decoding an image waits for its turn
        if not path.is_file():
            sources.read_micrograph(path)  # raises, naming the file
    if not isinstance(model, segment.Segmenter):
        model = segment.load(model)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    rows = []
    for path, paths in zip(tqdm(images, desc="segment", unit="image", disable=not progress,
                                leave=False), outputs):
        image = sources.read_micrograph(path)
        boundaries, ids = segment.predict(model, image, device=device, return_ids=True,
                                          **options)
        write_grain_maps(boundaries, ids, paths)
        table = grains.grain_table(ids)
        table.to_csv(paths["table"], index=False, float_format=FLOAT_FORMAT)
        rows.append(summary_row(path, table, ids.shape))
        if say is not None:
            say(f"{path}: {len(table)} grains -> {paths['boundaries'].name}, "
                f"{paths['grains'].name}, {paths['table'].name}")
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    summary.to_csv(Path(out_dir) / SUMMARY, index=False, float_format=FLOAT_FORMAT)
    return summary
