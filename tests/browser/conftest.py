"""The browser suite's fixtures: one JupyterLab server and one headless Chromium per session.

The suite needs Debian's Chromium (``/usr/bin/chromium``) and Playwright for Python
(the ``test`` extra); without either, every test here that drives them is skipped, with
the reason shown (``pytest -rs``).

``lab``: JupyterLab from this project's environment (``sys.executable -m jupyterlab``) on
127.0.0.1, a free port and a random token, rooted in a temporary folder that holds copies
of the chapter notebooks. Its environment, which the kernels inherit, sets
``GRAINLIB_PROFILE=smoke`` (the notebooks' ``profile = None`` reads it), ``GRAINLIB_RUNS``
to a temporary runs folder shared by every chapter, and ``PYTHONPATH`` to this checkout.
Chapter 06 tabulates a sweep, so that runs folder starts as a copy of a smoke sweep
(``python -m grainlib sweep --profile smoke``, minutes): in ``make test`` the one the rest
of the suite made (the browser tests run last); alone (``make browser-test``) one made in
``runs/browser/runs`` and kept there: the sweep resumes, so a later session reuses it
(seconds) while the chapters and the profile are unchanged; delete ``runs/browser/runs``
to start afresh. Chapters 01-05
then reuse its stored datasets, generator, U-Nets and scores, as after ``make demo``.

The screenshots of every widget check go to ``runs/browser/`` (``$GRAINLIB_RUNS/browser``
when set), beside the page of any notebook that failed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from grainlib.core.config import PROJECT_ROOT

from .labpage import new_page

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a closed-network machine, run as root: no sandbox, no GPU, nothing fetched.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
HERE = Path(__file__).parent
# What the suite keeps after the session: screenshots, and the smoke sweep chapter 06 reads.
SHOTS = Path(os.environ.get("GRAINLIB_RUNS", PROJECT_ROOT / "runs")).absolute() / "browser"
SWEEP_CACHE = SHOTS / "runs"
NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# JupyterLab settings of the session: every cell in the page (no windowing, so that the
# checks see cells out of view), and no news or update prompts over the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


def missing() -> str | None:
    """Why the browser suite cannot run here, or None."""
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


def pytest_collection_modifyitems(config, items):
    """Skip the tests that need the browser or the server, saying why, where they cannot run."""
    reason = missing()
    if reason:
        for item in items:
            if HERE in item.path.parents and {"browser", "lab"} & set(item.fixturenames):
                item.add_marker(pytest.mark.skip(reason=f"browser tests: {reason}"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab server: its address, token and folders."""

    def __init__(self, root: Path, runs: Path, port: int, token: str, process, log: Path):
        self.root, self.runs, self.port, self.token = root, runs, port, token
        self.process, self.log = process, log
        self.url = f"http://127.0.0.1:{port}"

    def page_url(self, name: str) -> str:
        """The address that opens notebook ``name`` in a fresh workspace."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def kernels(self) -> set[str]:
        """The ids of the server's running kernels."""
        return {kernel["id"] for kernel in self.api("kernels")}

    def shutdown_kernels(self, keep=()):
        """Shut down the server's kernels but those in ``keep``."""
        for kernel in self.kernels() - set(keep):
            self.api(f"kernels/{kernel}", "DELETE")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def smoke_sweep(env: dict, made: Path | None = None) -> Path:
    """The runs folder of a finished smoke sweep: ``made`` (the test session's, when the
    whole suite runs), or one made or resumed in :data:`SWEEP_CACHE`."""
    if made is not None:
        return made
    result = subprocess.run([sys.executable, "-m", "grainlib", "sweep", "--profile", "smoke"],
                            cwd=PROJECT_ROOT, env={**env, "GRAINLIB_RUNS": str(SWEEP_CACHE)},
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, "smoke sweep failed:\n" + result.stdout + result.stderr
    return SWEEP_CACHE


def wait_until_up(lab: Lab, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with status {lab.process.returncode}:\n"
                               + lab.log_tail())
        try:
            lab.api("status")
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n" + lab.log_tail())


def stop(lab: Lab):
    """Shut the kernels down (each runs in a process group of its own), then stop the
    server's process group: SIGTERM, and SIGKILL if it is still there after 15 s."""
    process = lab.process
    if process.poll() is None:
        try:
            lab.shutdown_kernels()
        except OSError:
            pass
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def lab(tmp_path_factory, sweep_if_made):
    """JupyterLab serving copies of the chapter notebooks, at the smoke profile."""
    if missing():
        pytest.skip(missing())
    tmp = tmp_path_factory.mktemp("browser")
    root, runs, jupyter = tmp / "lab", tmp / "runs", tmp / "jupyter"
    root.mkdir()
    for notebook in NOTEBOOKS:
        shutil.copy(notebook, root)
    for plugin, values in LAB_SETTINGS.items():
        path = jupyter / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    path = [str(PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "GRAINLIB_PROFILE": "smoke",
           "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
           "JUPYTER_DATA_DIR": str(jupyter / "data"),
           "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
           "IPYTHONDIR": str(jupyter / "ipython")}
    env.pop("GRAINLIB_FIGURES", None)  # figures stay in the runs folder
    shutil.copytree(smoke_sweep(env, sweep_if_made), runs)
    env["GRAINLIB_RUNS"] = str(runs)
    port, token = free_port(), secrets.token_hex(24)
    log = tmp / "jupyterlab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
             f"--port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             f"--LabApp.user_settings_dir={jupyter / 'settings'}",
             f"--LabApp.workspaces_dir={jupyter / 'workspaces'}",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Lab(root, runs, port, token, process, log)
    try:
        wait_until_up(server)
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright, with a fresh profile."""
    if missing():
        pytest.skip(missing())
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab):
    """See :func:`new_page`."""
    with new_page(browser, lab) as page:
        yield page


@pytest.fixture(scope="session")
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS
