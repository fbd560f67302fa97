"""Models shipped with the project: U-Nets trained on public data, ready for
``python -m grainlib segment`` without a run of the chapters.

Each model of :data:`MODELS` is two files in ``models/``: ``<name>.pt``, the U-Net as
:func:`grainlib.learn.segment.save` writes it (with the post-processing it predicts
with), and ``<name>.json``, its record (:func:`record`): what made it (profile, every
``segment`` parameter, training set, steps, seed, threads, torch version, seconds), the
data (name, licence and pinned checksums) and its scores. Both are made again from the
fetched data by ``make iron-model`` (``python -m grainlib model train iron``,
:func:`train`); a second run re-reads the stored U-Nets (their fingerprints match) and
only scores them again.

The scores a record holds:

- ``held_out``: an honest estimate. A second U-Net, trained the same way without the
  held-out section (the profile's test section), scored on that section's grid of
  patches beside the four classical baselines. It is not shipped.
- ``training_sections``: the shipped U-Net itself on every section's grid. It was trained
  on all of them, so these are no estimate of its accuracy on new micrographs; they pin
  what the shipped file predicts (the tests check it against them).

:func:`path` turns ``--model`` (a name of :data:`MODELS` or a file) into a file, with an
error that lists what exists; :func:`undertrained` is the warning for a U-Net trained for
only a handful of steps.

>>> path("iron")                              # doctest: +SKIP
PosixPath('.../models/iron.pt')
>>> record = train("iron", threads=1)          # doctest: +SKIP  (15 CPU minutes)
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from grainlib import __version__
from grainlib.core import config
from grainlib.data import patches, public
from grainlib.learn import segment
from grainlib.run.chapters import shown
from grainlib.score import baselines, metrics

MODELS_DIR = config.PROJECT_ROOT / "models"
"""The folder of the shipped models (``<name>.pt`` and ``<name>.json``)."""

DEFAULT = "iron"
"""The model ``segment`` uses when none is given."""

MIN_STEPS = 100
"""Below this many training steps a U-Net is a smoke model: using one warns
(:func:`undertrained`). The smoke profile trains 20 steps and finds a tenth of the
grains; the demo profile's 200 steps at lr 1e-3 are enough for its micrographs
(params/demo.yaml: 120 steps MAP 0.541, 150 steps 0.579)."""


class ModelNotFound(FileNotFoundError, ValueError):
    """No model of that name or file; the message lists the models that exist."""


@dataclass(frozen=True)
class Recipe:
    """How a shipped model is made.

    Attributes
    ----------
    name : the name ``--model`` takes; the files are ``models/<name>.pt`` and ``.json``.
    title : one line: what it segments.
    profile : the profile whose ``segment`` and ``data`` sections (patch size, patches
        per section, boundary width) and baselines it uses, unchanged.
    dataset : the public data set it learns from (:data:`grainlib.data.public.DATASETS`).
    training_set : a training set of :data:`grainlib.learn.segment.TRAINING_SETS`, applied
        to every section of the data set.
    held_out : the section (numbered from 1) left out of the held-out estimate's
        training: the profile's test section.
    """

    name: str
    title: str
    profile: str
    dataset: str
    training_set: str
    held_out: int

    @property
    def augment(self) -> bool:
        return self.training_set == "real+flips"


MODELS: dict[str, Recipe] = {
    "iron": Recipe(
        name="iron",
        title="pure iron, optical micrographs, dark boundaries, grains about 67 px across",
        profile="iron-sections", dataset="iron-sections", training_set="real+flips",
        held_out=3),  # the iron-sections profile's test section (its split by image, seed 0)
}
"""The shipped models by name."""

_LOADERS = {"iron-sections": public.iron_sections}


# --------------------------------------------------------------------------- use


def model_file(name: str, folder=None) -> Path:
    """``<folder>/<name>.pt`` (folder: :data:`MODELS_DIR`), whether it exists or not."""
    return Path(MODELS_DIR if folder is None else folder) / f"{name}.pt"


def record_file(name: str, folder=None) -> Path:
    """``<folder>/<name>.json``, the record beside :func:`model_file`."""
    return model_file(name, folder).with_suffix(".json")


def shipped() -> list[str]:
    """The names of :data:`MODELS` whose file is in :data:`MODELS_DIR`."""
    return [name for name in MODELS if model_file(name).is_file()]


def run_models() -> list[Path]:
    """U-Nets the chapters trained: ``runs/<profile>/segment/*.pt``, sorted."""
    return sorted(config.runs_root().glob("*/segment/*.pt"))


def available() -> str:
    """One clause naming the models that exist: the shipped ones and those of runs."""
    names = shipped()
    text = ("shipped models: " + ", ".join(f"{n} ({shown(model_file(n))})" for n in names)
            if names else f"no shipped model in {shown(MODELS_DIR)} (make iron-model)")
    found = run_models()
    if found:
        text += (f"; U-Nets trained by runs ({len(found)}): "
                 + ", ".join(shown(p) for p in found[:3]) + (", ..." if len(found) > 3 else ""))
    else:
        text += "; U-Nets trained by runs go to runs/<profile>/segment/ (none yet)"
    return text


def path(model) -> Path:
    """The file of ``model``: a name of :data:`MODELS` (``models/<name>.pt``) or a path.
    A name wins over a file of that name in the working folder (``./iron`` is the file).

    Raises
    ------
    ModelNotFound (a FileNotFoundError and a ValueError): a shipped model whose file is
    missing, or neither a name nor an existing path; the message lists what exists
    (:func:`available`). A path that exists is returned as it is, file or not
    (:func:`grainlib.learn.segment.load` says what is wrong with it).
    """
    text = str(model)
    if text in MODELS:
        file = model_file(text)
        if not file.is_file():
            raise ModelNotFound(f"the shipped model {text} is missing: {shown(file)} "
                                f"(make iron-model makes it again); {available()}")
        return file
    if Path(text).exists():
        return Path(text)
    raise ModelNotFound(f"segmentation model not found: {text}; give a U-Net file or a "
                        f"name; {available()}")


def load(model) -> segment.Segmenter:
    """The U-Net of ``model`` (a name of :data:`MODELS` or a file): :func:`path`, read."""
    return segment.load(path(model))


def undertrained(model: segment.Segmenter) -> str | None:
    """The warning for a U-Net trained for fewer than :data:`MIN_STEPS` steps, else None."""
    if model.steps >= MIN_STEPS:
        return None
    return (f"this U-Net was trained for only {model.steps} steps (a smoke model): it will "
            f"not segment well; use the shipped model (--model {DEFAULT}) or one of "
            f"make demo")


def describe() -> str:
    """The shipped models as text: name, file, size, training and held-out score."""
    lines = []
    for name, recipe in MODELS.items():
        file, made = model_file(name), record_file(name)
        lines.append(f"{name}  {recipe.title}")
        if not file.is_file():
            lines.append(f"    missing: {shown(file)} (make iron-model)")
            continue
        lines.append(f"    {shown(file)}, {file.stat().st_size / 1e6:.1f} MB")
        if made.is_file():
            info = json.loads(made.read_text())
            held = info["scores"]["held_out"]
            unet = held["methods"]["U-Net"]
            lines.append(f"    trained on {info['training']['description']}, "
                         f"{info['training']['steps']} steps")
            lines.append(f"    held out: MAP {unet['MAP']:.3f}, ARI {unet['ARI']:.3f} on "
                         f"section {held['section']:03d} (a U-Net trained without it); "
                         f"record: {shown(made)}")
    lines += ["", f"use: python -m grainlib segment --model NAME IMAGE ... --out FOLDER "
                  f"(default {DEFAULT}); models trained by runs: runs/<profile>/segment/"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- make


def _scores(preds, truths) -> dict:
    table, _ = metrics.evaluate(list(preds), list(truths))
    return {"MAP": round(float(table["map"].mean()), 4),
            "ARI": round(float(table["ari"].mean()), 4)}


def grid(cfg, images, grain_ids, section: int):
    """The test grid of one section (numbered from 1): ``data.test_per_image`` patches of
    ``data.patch_size`` (a PatchSet)."""
    d = cfg["data"]
    return patches.grid_crops(images, grain_ids, size=d["patch_size"],
                              per_image=d["test_per_image"], image_indices=[section - 1],
                              boundary_width=d["boundary_width"])


def section_scores(model: segment.Segmenter, cfg, images, grain_ids, section: int) -> dict:
    """MAP and ARI (means over the grid patches, :func:`grid`) of a U-Net on a section."""
    cut = grid(cfg, images, grain_ids, section)
    return _scores(segment.predict(model, cut.images, device="cpu"), cut.boundaries)


def _fit(recipe: Recipe, cfg, images, grain_ids, sections, params, seed, folder, stem,
         progress) -> tuple[segment.Segmenter, str]:
    """The U-Net of ``recipe`` trained on ``sections`` (from 1), stored as
    ``<folder>/<stem>.pt`` and re-read when its fingerprint matches."""
    d = cfg["data"]
    fit = patches.random_crops(images, grain_ids, size=d["patch_size"],
                               per_image=d["train_per_image"], seed=seed,
                               image_indices=[s - 1 for s in sections],
                               boundary_width=d["boundary_width"])
    key = segment.model_key(params, seed, [fit.images, fit.boundaries],
                            training_set=recipe.training_set, sections=list(sections),
                            dataset=public.signature(recipe.dataset))
    model = segment.stored_model(Path(folder) / f"{stem}.pt", key,
                                 (fit.images, fit.boundaries), None, params, seed, progress,
                                 recipe.augment)
    return model, key


def compact(model: segment.Segmenter) -> segment.Segmenter:
    """A copy of a U-Net whose weights are rounded to float16, as the shipped file stores
    them (half the size; :func:`grainlib.learn.segment.load` reads them back as float32)."""
    net = copy.deepcopy(model.net).half().float().eval()
    return segment.Segmenter(net, dict(model.params), model.history, model.mean, model.std)


def save_compact(model: segment.Segmenter, file, key: str) -> segment.Segmenter:
    """Write ``model`` with float16 weights to ``file`` (as :func:`grainlib.learn.segment.save`
    does, with its fingerprint ``key``); returns the U-Net read back from it."""
    small = segment.Segmenter(copy.deepcopy(model.net).half(), model.params, model.history,
                              model.mean, model.std)
    segment.save(small, file, {"fingerprint": key, "weights": "float16"})
    return segment.load(file)


def train(name: str = DEFAULT, out_dir=None, threads: int = 1, progress: bool = False,
          say=None) -> dict:
    """Make a shipped model and its record from the fetched data (``make iron-model``).

    Trains two U-Nets with the profile's ``segment`` section on the CPU, each on
    ``data.train_per_image`` random patches of every section it uses (the profile's
    patch size and seed), and keeps them, full precision, in ``runs/models/``: the
    held-out one (every section but ``held_out``, ``<name>-without-<section>.pt``) and
    the shipped one (every section, ``<name>.pt``). Each is re-read when stored with the
    same fingerprint. The shipped one is written to ``<out_dir>/<name>.pt`` with float16
    weights (:func:`save_compact`); both are scored as so rounded, and the record is
    written to ``<out_dir>/<name>.json`` (:func:`record_file`).

    Parameters
    ----------
    name : a name of :data:`MODELS`.
    out_dir : the folder of the model and its record (None: :data:`MODELS_DIR`).
    threads : torch threads while training and scoring (the record says how many;
        the weights depend on it).
    progress : progress bars of the trainings.
    say : called with a line of text at each stage (None: silent).

    Returns
    -------
    The record, as written.
    """
    if name not in MODELS:
        raise ModelNotFound(f"no recipe for a model {name!r}; known: {', '.join(MODELS)}")
    recipe, say = MODELS[name], say or (lambda line: None)
    out_dir = Path(MODELS_DIR if out_dir is None else out_dir)
    cfg = config.load(recipe.profile)
    seed = int(cfg["seed"])
    params = {**cfg["segment"], "device": "cpu"}
    images, grain_ids = _LOADERS[recipe.dataset](progress=progress)
    sections = list(range(1, len(images) + 1))
    others = [s for s in sections if s != recipe.held_out]
    kept = config.runs_root() / "models"
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        say(f"{name}: held-out U-Net, sections {_listed(others)} ({params['steps']} steps)")
        held, _ = _fit(recipe, cfg, images, grain_ids, others, params, seed, kept,
                       f"{name}-without-{recipe.held_out:03d}", progress)
        say(f"{name}: trained in {held.train_seconds:.0f} s; scoring it and the baselines "
            f"on section {recipe.held_out:03d}")
        held_out = _held_out_scores(recipe, cfg, images, grain_ids, compact(held), others)
        say(f"{name}: shipped U-Net, sections {_listed(sections)} ({params['steps']} steps)")
        full, key = _fit(recipe, cfg, images, grain_ids, sections, params, seed, kept, name,
                         progress)
        out_dir.mkdir(parents=True, exist_ok=True)
        model = save_compact(full, model_file(name, out_dir), key)
        say(f"{name}: trained in {model.train_seconds:.0f} s; scoring it on every section")
        own = {f"{s:03d}": section_scores(model, cfg, images, grain_ids, s)
               for s in sections}
    finally:
        torch.set_num_threads(previous)
    info = record(recipe, cfg, model, key, threads, sections, held_out, own,
                  model_file(name, out_dir))
    record_file(name, out_dir).write_text(json.dumps(info, indent=2) + "\n")
    say(f"{name}: {shown(model_file(name, out_dir))} and {shown(record_file(name, out_dir))}")
    return info


def _listed(sections, without=None) -> str:
    return ", ".join(f"{s:03d}" for s in sections if s != without)


def _held_out_scores(recipe, cfg, images, grain_ids, model, trained_on) -> dict:
    cut = grid(cfg, images, grain_ids, recipe.held_out)
    methods = {"U-Net": _scores(segment.predict(model, cut.images, device="cpu"),
                                cut.boundaries)}
    for method, find in baselines.configured(cfg).items():
        methods[method] = _scores([find(i) for i in cut.images], cut.boundaries)
    d = cfg["data"]
    return {
        "what": ("a U-Net trained as the shipped one but without this section, and the "
                 "four classical baselines with the profile's parameters, on the section's "
                 "grid of patches: an estimate of the shipped model on a new micrograph "
                 "of this specimen"),
        "section": recipe.held_out, "trained_on": list(trained_on),
        "patches": len(cut), "patch_size": d["patch_size"],
        "seconds": round(model.train_seconds, 1), "methods": methods}


def record(recipe: Recipe, cfg, model: segment.Segmenter, key: str, threads: int,
           sections, held_out: dict, own: dict, file: Path) -> dict:
    """The JSON record of a shipped model (see the module docstring)."""
    d, ds = cfg["data"], public.dataset(recipe.dataset)
    return {
        "name": recipe.name, "file": file.name, "title": recipe.title,
        "use": f"python -m grainlib segment --model {recipe.name} IMAGE ... --out FOLDER",
        "made_by": f"make {recipe.name}-model (python -m grainlib model train {recipe.name})",
        "made": time.strftime("%Y-%m-%d"), "grainlib": __version__,
        "torch": torch.__version__, "numpy": np.__version__, "threads": threads,
        "device": "cpu", "fingerprint": key, "bytes": file.stat().st_size,
        "training": {
            "profile": recipe.profile, "training_set": recipe.training_set,
            "description": (f"all {len(sections)} {recipe.dataset} sections, "
                            f"{d['train_per_image']} random {d['patch_size']}-px patches "
                            f"each" + (", with random flips and 90-degree rotations"
                                       if recipe.augment else "")),
            "sections": list(sections), "patches_per_section": d["train_per_image"],
            "patch_size": d["patch_size"], "boundary_width": d["boundary_width"],
            "crop": model.params["crop"], "steps": model.steps, "lr": model.params["lr"],
            "seed": int(cfg["seed"]), "seconds": round(model.train_seconds, 1),
            "final_loss": round(float(np.mean(model.history["loss"][-100:])), 4),
            "segment": model.params},
        "data": {**public.signature(recipe.dataset), "licence": ds.licence,
                 "citation": ds.citation, "source": ds.repository},
        "scores": {
            "held_out": held_out,
            "training_sections": {
                "what": ("the shipped U-Net on each section's grid of patches; it was "
                         "trained on every one of them, so these are no estimate of its "
                         "accuracy: they pin what this file predicts"),
                "patches": d["test_per_image"], "patch_size": d["patch_size"],
                "sections": own}},
    }
