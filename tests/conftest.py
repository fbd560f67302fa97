import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from grainlib.core.config import PROJECT_ROOT
from grainlib.data import public as data

# The shared copy of the public iron sections (the files exactly as published), when the
# checkout sits beside it: tests (and the notebook kernels nbval starts, which inherit
# this environment) read it as the data cache, with no network. Otherwise the cache the
# environment names (GRAINLIB_DATA, or the user cache) is used when it holds them.
SHARED_IRON = PROJECT_ROOT.parent / "shared" / "data" / "iron-serial-sections"
if (SHARED_IRON / "raw").is_dir():
    os.environ[data.ENV_DIR] = str(SHARED_IRON / "raw")


def closed_port_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens: downloads from it fail at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# Tests never download from the internet: a test that downloads serves the files itself.
os.environ[data.ENV_URL] = closed_port_url()


@pytest.fixture(scope="session")
def iron():
    """The five real pure-iron sections ``(images, grain_ids)``, (5, 800, 800) uint8 and
    int32, when the data cache holds them (the shared copy, or a fetched cache)."""
    if not data.is_cached("iron-sections"):
        pytest.skip(f"real iron sections not in the data cache {data.data_dir()} "
                    f"(python -m grainlib data fetch iron-sections)")
    return data.iron_sections()


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    """Run folders go to a temporary directory instead of runs/."""
    monkeypatch.setenv("GRAINLIB_RUNS", str(tmp_path / "runs"))
    return tmp_path / "runs"


def voronoi_labels(shape, n, seed=0) -> np.ndarray:
    """A (H, W) int32 Voronoi grain map with ``n`` seeds, for tests."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 1, (n, 2)) * shape
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    d = (yy[..., None] - points[:, 0]) ** 2 + (xx[..., None] - points[:, 1]) ** 2
    return d.argmin(-1).astype(np.int32)


# --------------------------------------------------------------------------- the smoke sweep

_SWEEP: dict = {}


def smoke_sweep() -> Path:
    """The runs folder (``GRAINLIB_RUNS``) of one smoke sweep, ``python -m grainlib sweep
    --profile smoke`` (2 fractions x 2 seeds, then chapter 06), made once per test session
    in a temporary folder."""
    if "runs" not in _SWEEP:
        runs = Path(tempfile.mkdtemp(prefix="grainlib-sweep-"))
        atexit.register(shutil.rmtree, runs, ignore_errors=True)
        result = subprocess.run([sys.executable, "-m", "grainlib", "sweep", "--profile", "smoke"],
                                cwd=PROJECT_ROOT, env={**os.environ, "GRAINLIB_RUNS": str(runs)},
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout + result.stderr
        _SWEEP["runs"], _SWEEP["output"] = runs, result.stdout + result.stderr
    return _SWEEP["runs"]


@pytest.fixture(scope="session")
def swept() -> Path:
    """See :func:`smoke_sweep`."""
    return smoke_sweep()


@pytest.fixture(scope="session")
def sweep_if_made():
    """The runs folder of this session's smoke sweep when some test has made it, else None
    (the browser suite then makes its own, kept between sessions)."""
    return _SWEEP.get("runs")


def pytest_collection_modifyitems(items):
    """Chapter 06 tabulates a sweep: its notebook's cells run last but for the browser
    suite, which comes after them all and so finds the session's sweep made (a stable
    sort)."""
    items.sort(key=lambda item: ("tests/browser/" in item.nodeid.replace("\\", "/"),
                                 "06_tables" in item.nodeid))


def _is_nbval(item) -> bool:
    return "tests/nbval/" in item.nodeid.replace("\\", "/")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a chapter's kernel starts (nbval), point it at the session's smoke sweep:
    chapter 06 tabulates it, and chapters 01-05 find their Potts volume, datasets and
    models there (the profile, fraction and seed of the reference notebooks are the
    sweep's) instead of making them again."""
    if _is_nbval(item):
        _SWEEP.setdefault("environment", os.environ.get("GRAINLIB_RUNS"))
        os.environ["GRAINLIB_RUNS"] = str(smoke_sweep())


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    """After a notebook cell, the other tests see GRAINLIB_RUNS as it was (a kernel keeps
    the environment it started with)."""
    if _is_nbval(item):
        previous = _SWEEP.pop("environment", None)
        if previous is None:
            os.environ.pop("GRAINLIB_RUNS", None)
        else:
            os.environ["GRAINLIB_RUNS"] = previous
