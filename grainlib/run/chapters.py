"""Chapters executed in batch: the notebooks found, checked profiles, papermill runs with
their failures reported as one line naming the chapter, the cell and the executed notebook.

:func:`execute` runs one chapter (the ``.py`` of a Jupytext pair, parameters injected the
way papermill does) in a fresh kernel; :func:`execute_chapters` runs several one after the
other. The sweep (:mod:`grainlib.run.sweep`) and the command line (:mod:`grainlib.run.cli`)
both run chapters through here.
"""

from __future__ import annotations

import ast
import os
import sys
import time
from pathlib import Path

from grainlib.core import config
from grainlib.data import sources
from grainlib.data.labels import SourceError

NOTEBOOKS_DIR = config.PROJECT_ROOT / "notebooks"

EXIT_FAILED = 1  # a run that started and failed (a chapter raised, the kernel died)
EXIT_USAGE = 2   # a usage or configuration error: nothing was run


class CommandError(Exception):
    """A user error; its message is the one line the user sees."""

    exit_status = EXIT_USAGE


class RunFailed(CommandError):
    """A chapter failed: the run stopped there."""

    exit_status = EXIT_FAILED


def shown(path) -> str:
    """A path as the user should see it: relative to the working folder when inside it."""
    path = Path(path).absolute()
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def select_chapters(selected=None) -> list[Path]:
    """The chapter notebooks (``notebooks/NN_name.py``) in reading order.

    Parameters
    ----------
    selected : chapter numbers (``"01"`` or ``"1"``) or names (``"01_potts"`` or
        ``"potts"``); None or empty: all.
    """
    found = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.py"))
    if not selected:
        return found
    names = {py: {py.name[:2], str(int(py.name[:2])), py.stem, py.stem[3:]} for py in found}
    missing = [name for name in selected if not any(name in n for n in names.values())]
    if missing:
        raise CommandError(f"unknown chapters: {', '.join(sorted(missing))}; chapters are "
                           f"{', '.join(p.stem for p in found)} (by number, 01 or 1, or "
                           f"name, 01_potts or potts)")
    return [py for py in found if names[py] & set(selected)]


def load_profile(profile) -> dict:
    """A profile checked against the schema, with its data source checked to be there.

    The check every command that runs chapters does first, so that a bad profile or a
    missing data folder stops the run before any chapter starts.

    Raises
    ------
    ConfigError for a bad profile; CommandError naming the profile file, the key and the
    path when the data source is missing or unreadable.
    """
    cfg = config.load(profile)
    try:
        sources.check_source(cfg)
    except SourceError as err:
        raise CommandError(f"{shown(config.profile_path(profile))}: {err}") from err
    note_empty(profile)
    return cfg


def note_empty(profile):
    """Say on stderr, in one line, that a profile sets nothing (:func:`grainlib.core.config.
    is_empty`) and so runs on the schema's defaults rather than on another profile's."""
    if config.is_empty(profile):
        print(f"note: {shown(config.profile_path(profile))} is empty: it runs on the "
              f"schema's defaults (python -m grainlib config --schema), not on the "
              f"{config.DEFAULT_PROFILE} profile; add 'extends: {config.DEFAULT_PROFILE}' "
              f"to start from that", file=sys.stderr)


def notebook_parameters(nb) -> list[str]:
    """The names assigned in a notebook's cell tagged ``parameters`` (papermill's)."""
    return list(parameter_defaults(nb))


def parameter_defaults(nb) -> dict:
    """The parameters of a notebook with their default values: its cell tagged
    ``parameters`` (papermill's, plain assignments) executed on its own."""
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            names = []
            for node in ast.parse(cell.source).body:
                targets = node.targets if isinstance(node, ast.Assign) else (
                    [node.target] if isinstance(node, ast.AnnAssign) else [])
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            values: dict = {}
            exec(cell.source, {}, values)
            return {name: values.get(name) for name in names}
    return {}


def profile_overrides(nb) -> dict[str, str]:
    """How a notebook's parameters replace profile values: the mapping its call
    ``config.load(profile, {...})`` passes, as dotted key -> the expression of its value
    (source text, e.g. ``"potts.shape": "[L, L, L] if L else None"``); {} without one."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "load" and len(node.args) == 2
                    and isinstance(node.args[1], ast.Dict)):
                return {ast.literal_eval(k): ast.unparse(v)
                        for k, v in zip(node.args[1].keys, node.args[1].values)}
    return {}


def _run_parameters(cfg) -> dict[str, config.Param]:
    """What the parameters a sweep passes (chapters 03-06: which runs) may be, at ``cfg``."""
    known = sorted(set(cfg["data"]["fractions"]))
    fractions = f"the profile's data.fractions {known}"
    return {
        "fraction": config.Param(None, lambda v: v in known, f"one of {fractions}"),
        "fractions": config.Param(None, lambda v: isinstance(v, list) and v != [] and all(
            x in known for x in v), f"a list of some of {fractions}"),
        "seed": config.integer(0, lo=0),
        "seeds": config.Param(None, lambda v: isinstance(v, list) and v != [] and all(
            config.integer(0, lo=0).check(x) for x in v), "a non-empty list of integers >= 0"),
    }


def _schema_param(key: str) -> config.Param | None:
    """The schema's parameter of a dotted key; None for a section or an unknown key."""
    node = config.SCHEMA
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, config.Param) else None


def parameter_values(pairs, selected: list[Path], profile) -> dict:
    """``-p NAME VALUE`` pairs as notebook parameters, checked before any kernel starts.

    A value is read as YAML (20 is an int, 0.5 a float, [1, 2] a list, null None: the
    profile's). A parameter a chapter maps onto profile keys (:func:`profile_overrides`)
    must give values the schema allows; the parameters that pick a sweep's runs
    (``fraction``, ``fractions``, ``seed``, ``seeds``) must be among the profile's; any
    other must have the type of its default.

    Parameters
    ----------
    pairs : (name, text) as typed.
    selected : the chapters (``.py``) to be executed.
    profile : the profile they run at.

    Raises
    ------
    CommandError naming the ``-p`` as typed: an unknown name, unreadable YAML, a value
    that is not allowed.
    """
    import jupytext
    import yaml

    notebooks = [jupytext.read(py) for py in selected]
    declared = [parameter_defaults(nb) for nb in notebooks]
    names = set().union(*declared)
    values = {}
    for name, text in pairs or []:
        if name == "profile":
            raise CommandError("-p profile: give the profile with --profile")
        if name not in names:
            raise CommandError(f"-p {name}: no such parameter in chapters "
                               f"{', '.join(p.stem for p in selected)}; their parameters: "
                               f"{', '.join(sorted(names - {'profile'}))}")
        try:
            values[name] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise CommandError(f"-p {name}: cannot read the value {text!r}") from None
    cfg = config.load(profile)
    for nb, defaults in zip(notebooks, declared):
        mapping = profile_overrides(nb)
        for name, value in values.items():
            if name in defaults and value is not None:
                typed = next(f"-p {n} {t}" for n, t in reversed(pairs) if n == name)
                _check_parameter(typed, name, value, defaults, mapping, cfg)
    return values


def _check_parameter(typed: str, name, value, defaults: dict, mapping: dict, cfg):
    """Raise a CommandError starting with ``typed`` when ``value`` is not allowed."""
    uses = {key: expr for key, expr in mapping.items()
            if name in {n.id for n in ast.walk(ast.parse(expr, mode="eval"))
                        if isinstance(n, ast.Name)}}
    for key, expr in uses.items():
        try:
            given = eval(expr, {**defaults, name: value})  # the notebook's own expression
        except Exception as err:
            raise CommandError(f"{typed}: not a usable value ({type(err).__name__}: "
                               f"{err})") from None
        param = _schema_param(key)
        if given is None or param is None or param.check(given):
            continue
        if expr == name:
            raise CommandError(f"{typed}: must be {param.expected} (it replaces the "
                               f"profile's {key}), got {given!r}")
        raise CommandError(f"{typed}: gives {key} = {given!r}, which must be "
                           f"{param.expected}")
    if uses:
        return
    param = _run_parameters(cfg).get(name)
    if param is not None:
        if not param.check(value):
            raise CommandError(f"{typed}: must be {param.expected}, got {value!r}")
        return
    default = defaults[name]
    if default is not None and not isinstance(value, type(default)) and not (
            isinstance(default, float) and isinstance(value, int)):
        raise CommandError(f"{typed}: must be a {type(default).__name__}, like its default "
                           f"{default!r}; got {value!r}")


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
        one); ``GRAINLIB_RUNS`` is always set, to :func:`grainlib.core.config.runs_root`
        unless ``env`` says otherwise.
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
    # Kernels run in notebooks/: they get the runs folder this process sees, absolute.
    env = {config.ENV_RUNS: str(config.runs_root()), **(env or {})}
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
    ``env``: variables added to the kernels' environment (:func:`execute`).

    What the kernels print besides the cells' outputs (ipykernel's own log lines, such as
    the "KeyboardInterrupt caught in kernel" of a kernel being shut down) goes to
    ``kernels.log`` beside the executed notebooks (in the runs folder when they are the
    committed ``notebooks/``), not to the terminal."""
    progress = sys.stderr.isatty()
    total = 0.0
    beside = Path(out_dir).resolve() != NOTEBOOKS_DIR.resolve()
    log_path = (Path(out_dir) if beside else config.runs_root()) / "kernels.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        for py in selected:
            output = out_dir / f"{py.stem}.ipynb"
            seconds = execute(py, output, parameters, progress=progress, env=env, log=log)
            total += seconds
            print(f"{py.stem:<16} {seconds:7.1f} s  -> {shown(output)}", flush=True)
    return total
