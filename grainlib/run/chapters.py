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
    cfg = config.load(profile)
    try:
        sources.check_source(cfg)
    except SourceError as err:
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
