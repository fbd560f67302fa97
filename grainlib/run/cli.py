"""The grainlib command: run the chapters (notebooks) at a profile, show its parameters,
segment micrographs.

    python -m grainlib run --profile demo            # every chapter, executed copies in runs/demo/notebooks
    python -m grainlib run --profile smoke --chapters 01
    python -m grainlib notebooks --inplace           # refresh the outputs of notebooks/*.ipynb (demo)
    python -m grainlib notebooks --profile smoke --out tests/nbval   # nbval reference copies
    python -m grainlib notebooks --profile smoke --chapters 01 --out runs/my -p mcs 20
    python -m grainlib config --profile paper        # the resolved parameters
    python -m grainlib config --schema               # every parameter, its default and range
    python -m grainlib data                          # public data sets; data fetch NAME downloads one
    python -m grainlib sweep --profile smoke         # chapters 03-05 per fraction and seed, then 06
    python -m grainlib sweep --profile smoke --chapters 07   # chapter 07's recipes per run, then 07
    python -m grainlib segment a.png b.tif --out grains   # your own micrographs (iron model)
    python -m grainlib model                         # the shipped models; model train iron remakes one

Errors a user can fix (a bad profile or value, a missing file or folder, an unreadable
image, a chapter that fails) are reported as one line, ``error: ...``, naming the file,
key or cell, with exit status 2 for usage and configuration errors and 1 for a run that
failed; ``--debug`` adds the traceback.

Adding a subcommand: write ``add_<name>(parser)``, which adds its options and its
handler (``parser.set_defaults(handler=...)``), decorated with
``@command(name, summary, example)`` (what ``--help`` shows). A handler takes the parsed
arguments and raises on failure (``chapters.CommandError``, ``ConfigError``,
``SourceError``, ``OSError``, ...): :func:`main` turns the exception into the one line.
A command that runs chapters calls ``chapters.load_profile`` first, so that a bad profile
or missing data stop it before any work, and ``chapters.execute_chapters`` for the
chapters. The library's modules are imported on first use (:class:`_OnFirstUse`) and only
the options of the subcommand given are built, so ``--help`` imports neither torch nor
scikit-learn.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from grainlib import __version__
from grainlib.core import config


class _OnFirstUse:
    """A module imported on its first attribute access, so that ``--help`` and
    ``--version`` do not wait for torch and scikit-learn to import."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self._name), attribute)


augmentation = _OnFirstUse("grainlib.score.augmentation")
chapters = _OnFirstUse("grainlib.run.chapters")
grainsize_files = _OnFirstUse("grainlib.run.grainsize_files")
models = _OnFirstUse("grainlib.run.models")
public = _OnFirstUse("grainlib.data.public")
recipe_sweep = _OnFirstUse("grainlib.run.recipe_sweep")
recipes = _OnFirstUse("grainlib.learn.recipes")
segment_files = _OnFirstUse("grainlib.run.segment_files")
sweep = _OnFirstUse("grainlib.run.sweep")

# --------------------------------------------------------------------------- subcommands


@dataclass(frozen=True)
class Command:
    """A subcommand: its one-line summary and example (shown by ``--help``), and the
    function that adds its options and handler to its parser."""

    summary: str
    example: str
    arguments: Callable[[argparse.ArgumentParser], None]


COMMANDS: dict[str, Command] = {}
"""The subcommands by name, in the order ``--help`` lists them."""


def command(name: str, summary: str, example: str):
    """Register the decorated ``add_<name>(parser)`` as the subcommand ``name``."""
    def register(arguments):
        COMMANDS[name] = Command(summary, example, arguments)
        return arguments
    return register


def add_command(commands, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    """Register a subcommand: its one-line summary, an example chapters.shown by ``--help``, and
    the ``--debug`` option every subcommand takes."""
    parser = commands.add_parser(name, help=summary, description=summary,
                                 epilog="example:\n  " + example.strip().replace("\n", "\n  "),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on error, show the full traceback")
    return parser


def _add_profile(parser):
    known = ", ".join(sorted(p.stem for p in config.PARAMS_DIR.glob("*.yaml")))
    parser.add_argument("--profile", default="demo",
                        help=f"a profile in params/ ({known}) or the path of a YAML file "
                             f"(default: demo)")


def _add_chapters(parser):
    parser.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                        help="chapter numbers or names, e.g. 01 02, 1 2 or potts data "
                             "(default: all)")


def _where(notebooks, figures) -> str:
    """The end of a command's last line: where its notebooks and figures went."""
    return f"notebooks in {chapters.shown(notebooks)}, figures in {chapters.shown(figures)}"


def run_command(args) -> int:
    cfg = chapters.load_profile(args.profile)
    selected = chapters.select_chapters(args.chapters)
    out_dir = Path(cfg["run_dir"]) / "notebooks"
    total = chapters.execute_chapters(selected, out_dir,
                             {"profile": sweep.profile_reference(args.profile)})
    print(f"{'all':<16} {total:7.1f} s  (profile {cfg['profile']}; "
          f"{_where(out_dir, cfg['figures_dir'])})")
    return 0


@command("run",
        "execute the chapters at a profile into runs/<profile>/notebooks",
        "python -m grainlib run --profile smoke --chapters 01   # a minute")
def add_run(parser):
    _add_profile(parser)
    _add_chapters(parser)
    parser.set_defaults(handler=run_command)


def notebooks_command(args) -> int:
    if args.inplace and (args.profile != "demo" or args.parameters):
        raise chapters.CommandError("--inplace keeps the committed notebooks at the demo profile "
                           "and their defaults; use --out for other profiles or -p values")
    if args.out is not None and args.out.resolve() == chapters.NOTEBOOKS_DIR.resolve():
        raise chapters.CommandError(f"--out {args.out}: the chapters themselves are there; choose "
                           f"another folder (--inplace refreshes them at the demo profile)")
    selected = chapters.select_chapters(args.chapters)
    cfg = chapters.load_profile(args.profile)
    if args.inplace:
        # No parameters, so that papermill injects no cell into the committed notebooks:
        # their `profile = None` reads $GRAINLIB_PROFILE, set to demo for their kernels.
        out_dir, parameters, env = chapters.NOTEBOOKS_DIR, None, {config.ENV_PROFILE: "demo"}
        figures = cfg["figures_dir"]
    else:
        # Figures beside the executed copies, never in the profile's folder (figures/).
        out_dir, figures = args.out, args.out.absolute() / "figures"
        env = {config.ENV_FIGURES: str(figures)}
        parameters = {"profile": sweep.profile_reference(args.profile),
                      **chapters.parameter_values(args.parameters, selected, args.profile)}
    total = chapters.execute_chapters(selected, out_dir, parameters, env)
    print(f"{'all':<16} {total:7.1f} s  ({_where(out_dir, figures)})")
    return 0


@command("notebooks",
        "re-execute notebooks/*.ipynb, or write executed copies with other parameters",
        "python -m grainlib notebooks --profile smoke --chapters 01 --out runs/my -p mcs 20")
def add_notebooks(parser):
    _add_profile(parser)
    _add_chapters(parser)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--inplace", action="store_true",
                       help="write the outputs into notebooks/*.ipynb (demo profile only)")
    where.add_argument("--out", type=Path, metavar="FOLDER",
                       help="folder for the executed copies, their figures in FOLDER/figures "
                            "(not notebooks/ itself)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", dest="parameters",
                        metavar=("NAME", "VALUE"),
                        help="a value for a notebook parameter (e.g. -p mcs 20 -p L 48), read "
                             "as YAML and checked before any chapter starts; repeatable")
    parser.set_defaults(handler=notebooks_command)


def config_command(args) -> int:
    import yaml

    if args.schema:
        print(config.describe())
    else:
        print(yaml.safe_dump(config.load(args.profile), sort_keys=False), end="")
        chapters.note_empty(args.profile)
    return 0


@command("config",
        "print a profile with every value resolved, or the schema",
        "python -m grainlib config --profile smoke\n"
        "python -m grainlib config --schema")
def add_config(parser):
    _add_profile(parser)
    parser.add_argument("--schema", action="store_true",
                        help="every key with its default, allowed values and meaning")
    parser.set_defaults(handler=config_command)


def data_command(args) -> int:
    if getattr(args, "data_command", None) != "fetch":
        print(public.listing())
        return 0
    for name in args.names:
        try:
            paths = public.fetch(name, progress=True)
        except public.DataError as err:  # a short first line, then how to fix it
            raise chapters.RunFailed(f"data fetch {name}: {err}") from None
        print(f"{name}: {len(paths)} files verified in {chapters.shown(public.data_dir())}")
    return 0


@command("data",
        "list the public data sets (licence, size, cached or not), or fetch "
        "one into the cache folder ($GRAINLIB_DATA, else the user cache)",
        "python -m grainlib data\npython -m grainlib data fetch iron-sections")
def add_data(parser):
    actions = parser.add_subparsers(dest="data_command")
    actions.add_parser("list", help="list the data sets (the default)")
    get = actions.add_parser("fetch", help="download a data set and check its checksums")
    get.add_argument("names", nargs="+", metavar="NAME", choices=sorted(public.DATASETS),
                     help=f"one of: {', '.join(sorted(public.DATASETS))}")
    parser.set_defaults(handler=data_command)


def _sweep_chapters(selected) -> list[Path]:
    """``--chapters`` of the sweep, in the order given: chapter numbers or names, or paths
    of your own notebooks (``.py``, jupytext percent format)."""
    found = []
    for name in selected:
        if name.endswith(".py"):
            if not Path(name).is_file():
                raise chapters.CommandError(f"--chapters: no notebook {name}")
            found.append(Path(name).resolve())
        else:
            found += chapters.select_chapters([name])
    return found


def sweep_command(args) -> int:
    cfg = chapters.load_profile(args.profile)
    if args.workers is not None and args.workers < 1:
        raise chapters.CommandError(f"--workers must be at least 1, got {args.workers}")
    selected = None if args.chapters is None else _sweep_chapters(args.chapters)
    recipes_too = selected is not None and any(map(recipe_sweep.is_recipe_chapter, selected))
    if recipes_too:
        selected = [py for py in selected if not recipe_sweep.is_recipe_chapter(py)]
    for option, given in (("--budgets", args.budgets), ("--test-sets", args.test_sets),
                          ("--training-sets", args.training_sets)):
        if given and not recipes_too:
            raise chapters.CommandError(f"{option} is for chapter 07's training recipes: add "
                               f"--chapters 07")
    if args.training_sets and "real" not in args.training_sets:
        raise chapters.CommandError("--training-sets: add real, the set every gain is paired with")
    if args.fractions and "all" in args.fractions:
        if len(args.fractions) > 1:
            raise chapters.CommandError("--fractions: either real fractions or 'all', not both")
        args.fractions = "all"
    runs = sweep.plan(cfg, args.fractions, args.seeds)
    args.fractions = sorted({r.fraction for r in runs})
    start = time.perf_counter()
    progress = sys.stderr.isatty()

    def say(line):
        print(line, flush=True)

    if selected is None or selected:
        outcomes = sweep.run(args.profile, args.fractions, args.seeds, selected,
                             workers=args.workers, scheduler=args.scheduler,
                             progress=progress, say=say)
        _stop_if_failed(outcomes, "chapter 06")
        tables = sweep.execute_tables(args.profile, runs, progress)
        if tables is not None:
            print(f"{tables[0].stem:<10} {tables[1]:7.1f} s  -> {chapters.shown(tables[0])}")
    if recipes_too:
        budgets = args.budgets or ["equal-steps"]
        test_sets = args.test_sets or ["test"]
        training_sets = args.training_sets or list(recipes.ARMS)
        outcomes = recipe_sweep.run(args.profile, args.fractions, args.seeds, budgets,
                                    test_sets, training_sets, workers=args.workers,
                                    scheduler=args.scheduler, progress=progress, say=say)
        _stop_if_failed(outcomes, "chapter 07")
        for test_set in test_sets:
            print(recipe_sweep.summary_line(*recipe_sweep.execute_chapter(
                args.profile, runs, budgets, test_set, progress, training_sets)))
    print(f"{'sweep':<10} {time.perf_counter() - start:7.1f} s  (runs and their notebooks in "
          f"{chapters.shown(sweep.sweep_dir(cfg))}, tables and figures in {chapters.shown(cfg['figures_dir'])})")
    return 0


def _stop_if_failed(outcomes, chapter: str):
    failed = [o["run"] for o in outcomes if o["status"] == "failed"]
    if failed:
        raise chapters.RunFailed(f"{len(failed)} of {len(outcomes)} runs failed ({', '.join(failed)}); "
                        f"{chapter} not run. The finished runs are kept: run the sweep again "
                        f"to retry the others")


def _fractions_word(text: str):
    """One word of ``--fractions``: a whole number of per cent, or ``all``."""
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a real fraction in % or 'all', got {text!r}") from None


@command("sweep",
        "execute chapters 03-05 once per real fraction and seed, in parallel (Dask), "
        "into runs/<profile>/sweep/<fraction>-<seed>, then chapter 06 (the tables)",
        "python -m grainlib sweep --profile smoke --fractions 5 100 --seeds 0 1   # a minute\n"
        "python -m grainlib sweep --profile demo --seeds 0 1 2 --scheduler tcp://host:8786\n"
        "python -m grainlib sweep --profile demo --chapters 07 --fractions 5 35 --seeds 0 1 2")
def add_sweep(parser):
    _add_profile(parser)
    parser.add_argument("--fractions", nargs="+", type=_fractions_word, metavar="X",
                        help="real fractions in %%, or 'all': every one of the profile's "
                             "data.fractions (default: the profile's sweep.fractions, else "
                             "every one of data.fractions)")
    parser.add_argument("--seeds", nargs="+", type=int, metavar="SEED",
                        help="training seeds (default: the profile's sweep.seeds)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="processes of the local Dask cluster (default: the profile's "
                             "sweep.workers, else cores / sweep.threads)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on an existing Dask cluster, e.g. tcp://host:8786; its "
                             "workers must see this project and its runs/ folder")
    parser.add_argument("--chapters", nargs="+", metavar="CHAPTER",
                        help="what each run executes before scoring: chapter numbers or "
                             "names, or .py notebooks of your own (default: 03 to 05); 07 "
                             "trains and scores every training recipe of chapter 07 per run "
                             "instead, then executes chapter 07 over all runs")
    parser.add_argument("--budgets", nargs="+", choices=recipes.BUDGETS, metavar="BUDGET",
                        help="with --chapters 07: the step budgets, any of equal-steps, "
                             "epoch-rule, long-steps (default: equal-steps)")
    parser.add_argument("--training-sets", nargs="+", choices=list(recipes.ARMS),
                        metavar="SET",
                        help="with --chapters 07: the training sets, any of "
                             + ", ".join(recipes.ARMS) + " (default: all nine)")
    parser.add_argument("--test-sets", nargs="+", choices=list(augmentation.TEST_SETS),
                        metavar="SET",
                        help="with --chapters 07: the real patches scored, test (the "
                             "profile's test images) and/or unseen (the training images "
                             "Real_X%% leaves out; default: test)")
    parser.set_defaults(handler=sweep_command)


def segment_command(args) -> int:
    for image in args.images:
        if image.suffix == ".pt":  # the model as the first argument, as before --model
            raise chapters.CommandError(f"{image} is a model file, not a micrograph: give it with "
                               f"--model {image}")
    summary = segment_files.segment_files(
        args.model, args.images, args.out, postprocess=args.postprocess,
        threshold=args.threshold, device=args.device, pixel_size=args.pixel_size,
        progress=sys.stderr.isatty(),
        say=lambda line: print(line, flush=True),
        warn=lambda line: print(f"warning: {line}", file=sys.stderr, flush=True))
    print(f"{segment_files.counted(len(summary), 'image')}, "
          f"{segment_files.counted(int(summary['grains'].sum()), 'grain')}: "
          f"{chapters.shown(Path(args.out) / segment_files.SUMMARY)}")
    return 0


@command("segment",
        "segment your own micrographs with a trained U-Net into a folder: boundary maps, "
        "grain ids and grain statistics",
        "python -m grainlib segment a.png b.tif --out runs/my-grains   # the iron model\n"
        "python -m grainlib segment --model runs/demo/segment/real-100-seed0.pt a.png "
        "--out runs/my-grains")
def add_segment(parser):
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                        help="micrographs: PNG, TIFF or JPEG, grey or RGB, 8 or 16 bit "
                             "(16 bit: the image's min..max scaled to 0..255), any size")
    parser.add_argument("--model", default=models.DEFAULT, metavar="NAME|FILE",
                        help=f"a shipped model ({', '.join(models.MODELS)}: "
                             f"python -m grainlib model lists them) or a U-Net file, e.g. "
                             f"runs/<profile>/segment/real-100-seed0.pt (written by chapter "
                             f"04 or grainlib.learn.segment.save); default: {models.DEFAULT}")
    parser.add_argument("--out", type=Path, required=True, metavar="FOLDER",
                        help="folder for the outputs, created when missing: per image "
                             "<stem>_boundaries.png (0/255), <stem>_grains.tif (grain ids "
                             "1..K, 16 bit) and <stem>_grains.csv (one row per grain), and "
                             "grains.csv (one row per image); files of these names are "
                             "replaced, an input never")
    parser.add_argument("--postprocess", choices=("threshold", "watershed"),
                        help="how boundary probabilities become grains (default: the "
                             "model's own; iron: watershed)")
    parser.add_argument("--threshold", type=float, metavar="P",
                        help="boundary probability above which a pixel is boundary, in "
                             "[0, 1] (default: the model's own; iron: 0.95)")
    parser.add_argument("--device", default="auto",
                        help="torch device: auto (CUDA when present, the default), cpu, cuda")
    parser.add_argument("--pixel-size", type=_positive, metavar="UM",
                        help="micrometres per pixel: grains.csv then gives the ASTM E112 "
                             "grain size (mean intercept in um, grains per mm^2, G by both "
                             "methods); without it, the mean intercept in pixels and no G")
    parser.set_defaults(handler=segment_command)


def model_command(args) -> int:
    if getattr(args, "model_command", None) != "train":
        print(models.describe())
        return 0
    models.train(args.name, args.out, threads=args.threads, progress=sys.stderr.isatty(),
                 say=lambda line: print(line, flush=True))
    return 0


@command("model",
        "list the U-Nets shipped in models/ (what they learnt from, their held-out "
        "scores), or make one again from the fetched data",
        "python -m grainlib model\n"
        "python -m grainlib model train iron   # two trainings, 10-30 CPU min (make iron-model)")
def add_model(parser):
    actions = parser.add_subparsers(dest="model_command")
    actions.add_parser("list", help="list the shipped models (the default)")
    make = actions.add_parser("train", help="train a shipped model and its held-out "
                                            "estimate, score them, write models/NAME.pt "
                                            "and models/NAME.json")
    make.add_argument("name", metavar="NAME", choices=sorted(models.MODELS),
                      help=f"one of: {', '.join(sorted(models.MODELS))}")
    make.add_argument("--out", type=Path, metavar="FOLDER", default=None,
                      help="folder for NAME.pt and NAME.json (default: models/)")
    make.add_argument("--threads", type=int, default=1, metavar="N",
                      help="torch threads (default 1: the recorded weights were made so)")
    parser.set_defaults(handler=model_command)


# In the order --help lists them.
def grainsize_command(args) -> int:
    table = grainsize_files.measure_files(args.maps, args.pixel_size)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.out is not None:
        table.to_csv(args.out, index=False, float_format="%.4f")
        print(f"table written to {chapters.shown(args.out)}")
    return 0


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of micrometres per pixel, got {text!r}")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


@command("grainsize",
        "ASTM E112 grain size of boundary maps made elsewhere (255/0 or 0/1, either "
        "polarity): mean lineal intercept, grains per mm^2 and G",
        "python -m grainlib grainsize my-grains/*_boundaries.png --pixel-size 0.5")
def add_grainsize(parser):
    parser.add_argument("maps", nargs="+", type=Path, metavar="MAP",
                        help="boundary map image files (PNG, TIFF)")
    parser.add_argument("--pixel-size", type=_positive, metavar="UM",
                        help="micrometres per pixel: lengths in um, grains per mm^2 and the "
                             "grain size numbers G; without it, pixels and no G")
    parser.add_argument("--out", type=Path, metavar="CSV", help="also write the table here")
    parser.set_defaults(handler=grainsize_command)


# --------------------------------------------------------------------------- main


def build_parser(full: Iterable[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser: every subcommand with its summary; the options of those
    named in ``full`` (None: of all of them). ``main`` builds only the options of the
    subcommand given, so that listing the subcommands imports nothing heavy."""
    parser = argparse.ArgumentParser(
        prog="grainlib", description=__doc__.split("\n\n")[0],
        epilog="examples:\n" + __doc__.split("\n\n")[1],
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog,
                                                                          max_help_position=18))
    parser.add_argument("--version", action="version", version=f"grainlib {__version__}")
    parser.add_argument("--debug", action="store_true", help="on error, show the full traceback")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, spec in COMMANDS.items():
        sub = add_command(commands, name, spec.summary, spec.example)
        if full is None or name in full:
            spec.arguments(sub)
    return parser


def error_line(err: BaseException) -> tuple[str, int]:
    """The one line that reports an exception, and the exit status.

    chapters.CommandError: its message and status. ValueError (ConfigError, SourceError, a bad
    value) and OSError (a missing or unreadable file): the message, status 2. Anything
    else is unexpected: its type and message, status 1, with a pointer to ``--debug``.
    """
    if isinstance(err, chapters.CommandError):
        return str(err), err.exit_status
    if isinstance(err, ValueError):
        return " ".join(str(err).split()), chapters.EXIT_USAGE
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.strerror or err}: {err.filename}", chapters.EXIT_USAGE
    message = " ".join(str(err).split())
    return (f"{type(err).__name__}{': ' + message if message else ''} "
            f"(unexpected; run again with --debug for the traceback)", chapters.EXIT_FAILED)


def main(argv=None) -> int:
    """Parse the command line, run the subcommand, report any error as one line."""
    argv = sys.argv[1:] if argv is None else list(argv)
    named = next((word for word in argv if not word.startswith("-")), None)
    args = build_parser([named] if named in COMMANDS else []).parse_args(argv)
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            traceback.print_exc()
        message, status = error_line(err)
        print(f"error: {message}", file=sys.stderr)
        return status
