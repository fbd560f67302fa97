import os
from pathlib import Path

import numpy as np
import pytest

from grainlib.config import PROJECT_ROOT

IRON = PROJECT_ROOT.parent / "shared" / "data" / "iron-serial-sections"


@pytest.fixture
def iron_dir():
    """The five real pure-iron sections, when ../shared is there."""
    if not (IRON / "images").is_dir():
        pytest.skip(f"real iron sections not found at {IRON} (../shared is absent)")
    return IRON


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
