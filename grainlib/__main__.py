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
    python -m grainlib segment MODEL a.png b.tif --out grains   # your own micrographs

Errors a user can fix (a bad profile or value, a missing file or folder, an unreadable
image, a chapter that fails) are reported as one line, ``error: ...``, naming the file,
key or cell, with exit status 2 for usage and configuration errors and 1 for a run that
failed; ``--debug`` adds the traceback.

Adding a subcommand: write ``add_<name>(commands)``, which registers its parser with
:func:`add_command` (a summary and an example for ``--help``) and its handler with
``parser.set_defaults(handler=...)``, and append it to :data:`SUBCOMMANDS`. A handler takes
the parsed arguments and raises on failure (:class:`CommandError`, ``ConfigError``,
``SourceError``, ``OSError``, ...): :func:`main` turns the exception into the one line.
A command that runs chapters calls :func:`load_profile` first, so that a bad profile or
missing data stop it before any work, and :func:`execute_chapters` for the chapters.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
import traceback
from pathlib import Path

from . import __version__, config

NOTEBOOKS_DIR = config.PROJECT_ROOT / "notebooks"

EXIT_FAILED = 1  # a run that started and failed (a chapter raised, the kernel died)
EXIT_USAGE = 2   # a usage or configuration error: nothing was run


class CommandError(Exception):
    """A user error; its message is the one line the user sees."""

    exit_status = EXIT_USAGE


class RunFailed(CommandError):
    """A chapter failed: the run stopped there."""

    exit_status = EXIT_FAILED


# --------------------------------------------------------------------------- helpers


def shown(path) -> str:
    """A path as the user should see it: relative to the working folder when inside it."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def chapters(selected=None) -> list[Path]:
    """The chapter notebooks (``notebooks/NN_name.py``) in reading order.

    Parameters
    ----------
    selected : chapter numbers (``"01"``) or names (``"01_potts"``); None or empty: all.
    """
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
    if not selected:
        return found
    missing = set(selected) - {p.name[:2] for p in found} - {p.stem for p in found}
    if missing:
        raise CommandError(f"unknown chapters: {', '.join(sorted(missing))}; chapters are "
                           f"{', '.join(p.stem for p in found)}")
    return [p for p in found if p.name[:2] in selected or p.stem in selected]


def load_profile(profile) -> dict:
    """A profile checked against the schema, with its data source checked to be there.

    The check every command that runs chapters does first, so that a bad profile or a
    missing data folder stops the run before any chapter starts.

    Raises
    ------
    ConfigError for a bad profile; CommandError naming the profile file, the key and the
    path when the data source is missing or unreadable.
    """
    from . import sources

    cfg = config.load(profile)
    try:
        sources.check_source(cfg)
    except sources.SourceError as err:
        raise CommandError(f"{shown(config.profile_path(profile))}: {err}") from err
    return cfg


def notebook_parameters(nb) -> list[str]:
    """The names assigned in a notebook's cell tagged ``parameters`` (papermill's)."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            names = []
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) else [])
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return []


def _kernel_config(env: dict | None = None, log=None) -> dict:
    """Kernel manager settings, as keyword arguments of ``papermill.execute_notebook``:
    CurveZMQ transport encryption where the installed jupyter_client and pyzmq support it
    (without it, ipykernel warns on every start that the kernel "is running over TCP
    without encryption"); ``env`` added to the kernel's environment (a value None removes
    the variable); the kernel process's own output (not the cells': ipykernel's log
    lines) to the open file ``log``."""
    from jupyter_client.manager import AsyncKernelManager, KernelManager
    from traitlets.config import Config

    try:
        import zmq
        curve = zmq.has("curve")
    except ImportError:
        curve = False
    config = Config()
    if curve and KernelManager.class_traits().get("transport_encryption") is not None:
        config.KernelManager.transport_encryption = "auto"
    if not env and log is None:
        return {"config": config}
    extra = {k: str(v) for k, v in (env or {}).items() if v is not None}
    unset = {k for k, v in (env or {}).items() if v is None}

    class EnvKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw):
            merged = {**kw.get("env", os.environ), **extra}
            kw["env"] = {k: v for k, v in merged.items() if k not in unset}
            if log is not None:
                kw["stdout"] = kw["stderr"] = log
            await super().start_kernel(**kw)

    return {"config": config, "kernel_manager_class": EnvKernelManager}


def execute(py: Path, output: Path, parameters: dict | None = None, progress=False,
            env: dict | None = None, log=None, on_cell=None) -> float:
    """Execute the notebook paired with ``py`` into ``output``; return seconds taken.

    Parameters
    ----------
    py : a chapter, ``notebooks/NN_name.py``.
    output : the executed notebook to write (written also when a cell fails).
    parameters : values for the notebook's parameters cell.
    progress : show a progress bar over the cells (on stderr), removed when done.
    env : variables added to the kernel's environment (values made strings; None removes
        one).
    log : an open text file that receives what the cells print (stdout, stderr) and the
        kernel process's own output.
    on_cell : called with no argument after each code cell.

    Raises
    ------
    RunFailed naming the chapter, the cell, the error and the executed notebook.
    """
    import jupytext
    import papermill
    from nbclient.exceptions import DeadKernelError

    output.parent.mkdir(parents=True, exist_ok=True)
    bar = {"desc": f"{py.stem:<16}", "leave": False,
           "bar_format": "{desc} {bar:24} {n_fmt}/{total_fmt} cells {elapsed}"} if progress else False
    hooks = {"on_cell_executed": lambda **_: on_cell()} if on_cell is not None else {}
    start = time.perf_counter()
    try:
        papermill.execute_notebook(jupytext.read(py), str(output), parameters=parameters or {},
                                   kernel_name="python3", cwd=str(NOTEBOOKS_DIR),
                                   progress_bar=bar, stdout_file=log, stderr_file=log,
                                   **_kernel_config(env, log), **hooks)
    except papermill.PapermillExecutionError as err:
        evalue = " ".join(str(err.evalue).split())
        what = f"{err.ename}: {evalue}" if evalue else err.ename
        raise RunFailed(f"chapter {py.stem} failed in cell {err.exec_count}: {what} "
                        f"(executed notebook: {shown(output)})") from err
    except DeadKernelError as err:
        raise RunFailed(f"chapter {py.stem} failed: its kernel died (out of memory?) "
                        f"(executed notebook: {shown(output)})") from err
    finally:
        _name_input(output, py)
    return time.perf_counter() - start


def _name_input(output: Path, py: Path):
    """Papermill records the notebook it was given as its input; given a notebook object
    rather than a path, it stores the whole object. Record the chapter's path instead."""
    import nbformat

    if not output.is_file():
        return
    nb = nbformat.read(output, as_version=4)
    meta = nb.metadata.get("papermill")
    if meta is not None and not isinstance(meta.get("input_path"), (str, type(None))):
        meta["input_path"] = f"notebooks/{py.name}"
        nbformat.write(nb, output)


def execute_chapters(selected: list[Path], out_dir: Path, parameters: dict | None,
                     env: dict | None = None) -> float:
    """Execute chapters one after the other, one line each with its time; return the total.
    ``env``: variables added to the kernels' environment (:func:`execute`)."""
    progress = sys.stderr.isatty()
    total = 0.0
    for py in selected:
        output = out_dir / f"{py.stem}.ipynb"
        seconds = execute(py, output, parameters, progress=progress, env=env)
        total += seconds
        print(f"{py.stem:<16} {seconds:7.1f} s  -> {shown(output)}", flush=True)
    return total


# --------------------------------------------------------------------------- subcommands


def add_command(commands, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    """Register a subcommand: its one-line summary, an example shown by ``--help``, and
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
                        help="chapter numbers or names, e.g. 01 02 (default: all)")


def run_command(args) -> int:
    cfg = load_profile(args.profile)
    total = execute_chapters(chapters(args.chapters), Path(cfg["run_dir"]) / "notebooks",
                             {"profile": args.profile})
    print(f"{'all':<16} {total:7.1f} s  (profile {cfg['profile']}; "
          f"figures in {shown(cfg['figures_dir'])})")
    return 0


def add_run(commands):
    parser = add_command(
        commands, "run", "execute the chapters at a profile into runs/<profile>/notebooks",
        "python -m grainlib run --profile smoke --chapters 01   # seconds")
    _add_profile(parser)
    _add_chapters(parser)
    parser.set_defaults(handler=run_command)


def _parameter_values(pairs, selected) -> dict:
    """``-p NAME VALUE`` pairs as notebook parameters: values read as YAML (20 is an
    int, 0.5 a float, [1, 2] a list, null None), names checked against the chapters'."""
    import jupytext
    import yaml

    declared = {name for py in selected for name in notebook_parameters(jupytext.read(py))}
    values = {}
    for name, text in pairs or []:
        if name == "profile":
            raise CommandError("-p profile: give the profile with --profile")
        if name not in declared:
            raise CommandError(f"-p {name}: no such parameter in chapters "
                               f"{', '.join(p.stem for p in selected)}; their parameters: "
                               f"{', '.join(sorted(declared - {'profile'}))}")
        try:
            values[name] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise CommandError(f"-p {name}: cannot read the value {text!r}") from None
    return values


def notebooks_command(args) -> int:
    if args.inplace and (args.profile != "demo" or args.parameters):
        raise CommandError("--inplace keeps the committed notebooks at the demo profile "
                           "and their defaults; use --out for other profiles or -p values")
    selected = chapters(args.chapters)
    load_profile(args.profile)
    if args.inplace:
        # No parameters, so that papermill injects no cell into the committed notebooks:
        # their `profile = None` reads $GRAINLIB_PROFILE, set to demo for their kernels.
        out_dir, parameters, env = NOTEBOOKS_DIR, None, {config.ENV_PROFILE: "demo"}
    else:
        out_dir, env = args.out, None
        parameters = {"profile": args.profile, **_parameter_values(args.parameters, selected)}
    total = execute_chapters(selected, out_dir, parameters, env)
    print(f"{'all':<16} {total:7.1f} s")
    return 0


def add_notebooks(commands):
    parser = add_command(
        commands, "notebooks",
        "re-execute notebooks/*.ipynb, or write executed copies with other parameters",
        "python -m grainlib notebooks --profile smoke --chapters 01 --out runs/my -p mcs 20")
    _add_profile(parser)
    _add_chapters(parser)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--inplace", action="store_true",
                       help="write the outputs into notebooks/*.ipynb (demo profile only)")
    where.add_argument("--out", type=Path, metavar="FOLDER",
                       help="folder for the executed copies")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", dest="parameters",
                        metavar=("NAME", "VALUE"),
                        help="a value for a notebook parameter (e.g. -p mcs 20 -p L 48), read "
                             "as YAML; repeatable")
    parser.set_defaults(handler=notebooks_command)


def config_command(args) -> int:
    import yaml

    if args.schema:
        print(config.describe())
    else:
        print(yaml.safe_dump(config.load(args.profile), sort_keys=False), end="")
    return 0


def add_config(commands):
    parser = add_command(commands, "config",
                         "print a profile with every value resolved, or the schema",
                         "python -m grainlib config --profile smoke\n"
                         "python -m grainlib config --schema")
    _add_profile(parser)
    parser.add_argument("--schema", action="store_true",
                        help="every key with its default, allowed values and meaning")
    parser.set_defaults(handler=config_command)


def data_command(args) -> int:
    from . import data

    if getattr(args, "data_command", None) != "fetch":
        print(data.listing())
        return 0
    for name in args.names:
        try:
            paths = data.fetch(name, progress=True)
        except data.DataError as err:
            raise RunFailed(f"data fetch {name}: {' '.join(str(err).split())}") from None
        print(f"{name}: {len(paths)} files verified in {shown(data.data_dir())}")
    return 0


def add_data(commands):
    from . import data

    parser = add_command(commands, "data",
                         "list the public data sets (licence, size, cached or not), or fetch "
                         f"one into the cache folder (${data.ENV_DIR}, else the user cache)",
                         "python -m grainlib data\npython -m grainlib data fetch iron-sections")
    actions = parser.add_subparsers(dest="data_command")
    actions.add_parser("list", help="list the data sets (the default)")
    get = actions.add_parser("fetch", help="download a data set and check its checksums")
    get.add_argument("names", nargs="+", metavar="NAME", choices=sorted(data.DATASETS),
                     help=f"one of: {', '.join(sorted(data.DATASETS))}")
    parser.set_defaults(handler=data_command)


def _sweep_chapters(selected) -> list[Path]:
    """``--chapters`` of the sweep, in the order given: chapter numbers or names, or paths
    of your own notebooks (``.py``, jupytext percent format)."""
    found = []
    for name in selected:
        if name.endswith(".py"):
            if not Path(name).is_file():
                raise CommandError(f"--chapters: no notebook {name}")
            found.append(Path(name).resolve())
        else:
            found += chapters([name])
    return found


def sweep_command(args) -> int:
    from . import sweep

    cfg = load_profile(args.profile)
    if args.workers is not None and args.workers < 1:
        raise CommandError(f"--workers must be at least 1, got {args.workers}")
    selected = None if args.chapters is None else _sweep_chapters(args.chapters)
    runs = sweep.plan(cfg, args.fractions, args.seeds)
    start = time.perf_counter()
    progress = sys.stderr.isatty()
    outcomes = sweep.run(args.profile, args.fractions, args.seeds, selected,
                         workers=args.workers, scheduler=args.scheduler, progress=progress,
                         say=lambda line: print(line, flush=True))
    failed = [o["run"] for o in outcomes if o["status"] == "failed"]
    if failed:
        raise RunFailed(f"{len(failed)} of {len(outcomes)} runs failed ({', '.join(failed)}); "
                        f"chapter 06 not run. The finished runs are kept: run the sweep again "
                        f"to retry the others")
    tables = sweep.execute_tables(args.profile, runs, progress)
    if tables is not None:
        print(f"{tables[0].stem:<10} {tables[1]:7.1f} s  -> {shown(tables[0])}")
    print(f"{'sweep':<10} {time.perf_counter() - start:7.1f} s  (runs in "
          f"{shown(sweep.sweep_dir(cfg))}, tables in {shown(cfg['figures_dir'])})")
    return 0


def add_sweep(commands):
    parser = add_command(
        commands, "sweep",
        "execute chapters 03-05 once per real fraction and seed, in parallel (Dask), "
        "into runs/<profile>/sweep/<fraction>-<seed>, then chapter 06 (the tables)",
        "python -m grainlib sweep --profile smoke --fractions 5 100 --seeds 0 1   # a minute\n"
        "python -m grainlib sweep --profile demo --seeds 0 1 2 --scheduler tcp://host:8786")
    _add_profile(parser)
    parser.add_argument("--fractions", nargs="+", type=int, metavar="X",
                        help="real fractions in %% (default: the profile's sweep.fractions, "
                             "else every one of data.fractions)")
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
                             "names, or .py notebooks of your own (default: 03 to 05)")
    parser.set_defaults(handler=sweep_command)


def segment_command(args) -> int:
    from . import segment_files

    summary = segment_files.segment_files(
        args.model, args.images, args.out, postprocess=args.postprocess,
        threshold=args.threshold, device=args.device, progress=sys.stderr.isatty(),
        say=lambda line: print(line, flush=True))
    print(f"{len(summary)} images, {int(summary['grains'].sum())} grains: "
          f"{shown(Path(args.out) / segment_files.SUMMARY)}")
    return 0


def add_segment(commands):
    parser = add_command(
        commands, "segment",
        "segment your own micrographs with a trained U-Net into a folder: boundary maps, "
        "grain ids and grain statistics",
        "python -m grainlib segment runs/demo/segment/real-100-seed0.pt a.png b.tif "
        "--out runs/my-grains")
    parser.add_argument("model", type=Path, metavar="MODEL",
                        help="a U-Net file, e.g. runs/<profile>/segment/real-100-seed0.pt "
                             "(written by chapter 04 or grainlib.segment.save)")
    parser.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                        help="micrographs: PNG, TIFF or JPEG, grey or RGB, 8 or 16 bit "
                             "(16 bit: the image's min..max scaled to 0..255), any size")
    parser.add_argument("--out", type=Path, required=True, metavar="FOLDER",
                        help="folder for the outputs, created when missing: per image "
                             "<stem>_boundaries.png (0/255), <stem>_grains.tif (grain ids "
                             "1..K, 16 bit) and <stem>_grains.csv (one row per grain), and "
                             "grains.csv (one row per image); files of these names are "
                             "replaced, an input never")
    parser.add_argument("--postprocess", choices=("threshold", "watershed"),
                        help="how boundary probabilities become grains (default: the "
                             "model's own, usually threshold)")
    parser.add_argument("--threshold", type=float, metavar="P",
                        help="boundary probability above which a pixel is boundary, in "
                             "[0, 1] (default: the model's own, usually 0.7)")
    parser.add_argument("--device", default="auto",
                        help="torch device: auto (CUDA when present, the default), cpu, cuda")
    parser.set_defaults(handler=segment_command)


# In the order --help lists them.
SUBCOMMANDS = (add_run, add_notebooks, add_config, add_data, add_sweep, add_segment)


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grainlib", description=__doc__.split("\n\n")[0],
        epilog="examples:\n" + __doc__.split("\n\n")[1],
        formatter_class=lambda prog: argparse.RawDescriptionHelpFormatter(prog,
                                                                          max_help_position=18))
    parser.add_argument("--version", action="version", version=f"grainlib {__version__}")
    parser.add_argument("--debug", action="store_true", help="on error, show the full traceback")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(commands)
    return parser


def error_line(err: BaseException) -> tuple[str, int]:
    """The one line that reports an exception, and the exit status.

    CommandError: its message and status. ValueError (ConfigError, SourceError, a bad
    value) and OSError (a missing or unreadable file): the message, status 2. Anything
    else is unexpected: its type and message, status 1, with a pointer to ``--debug``.
    """
    if isinstance(err, CommandError):
        return str(err), err.exit_status
    if isinstance(err, ValueError):
        return " ".join(str(err).split()), EXIT_USAGE
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.strerror or err}: {err.filename}", EXIT_USAGE
    message = " ".join(str(err).split())
    return (f"{type(err).__name__}{': ' + message if message else ''} "
            f"(unexpected; run again with --debug for the traceback)", EXIT_FAILED)


def main(argv=None) -> int:
    """Parse the command line, run the subcommand, report any error as one line."""
    args = build_parser().parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
