"""grainlib.run.grainsize_files and ``python -m grainlib grainsize``: boundary maps made
elsewhere, either polarity, measured by ASTM E112."""

import numpy as np
import pytest
from PIL import Image

from grainlib.data.labels import SourceError
from grainlib.run import grainsize_files
from grainlib.score import grainsize


def square_grid(side=200, spacing=20) -> np.ndarray:
    boundary = np.zeros((side, side), bool)
    boundary[:, ::spacing] = boundary[::spacing, :] = True
    boundary[:, 1::spacing] = boundary[1::spacing, :] = True  # 2 px wide, as ours
    return boundary


def test_either_polarity_and_depth_gives_the_same_grain_size(tmp_path):
    boundary = square_grid()
    Image.fromarray(np.where(boundary, 255, 0).astype(np.uint8)).save(tmp_path / "white.png")
    Image.fromarray(np.where(boundary, 0, 255).astype(np.uint8)).save(tmp_path / "black.png")
    Image.fromarray(boundary.astype(np.uint8)).save(tmp_path / "ones.png")
    for name in ("white.png", "black.png", "ones.png"):
        assert (grainsize_files.read_boundary_map(tmp_path / name) == boundary).all(), name
    table = grainsize_files.measure_files(sorted(tmp_path.glob("*.png")))
    assert table["mean_intercept_px"].nunique() == 1
    assert list(table.columns) == ["image", "height", "width", "mean_intercept_px"]


def test_a_pixel_size_gives_micrometres_grains_per_mm2_and_g(tmp_path):
    Image.fromarray(np.where(square_grid(), 255, 0).astype(np.uint8)).save(tmp_path / "a.png")
    table = grainsize_files.measure_files([tmp_path / "a.png"], pixel_size=0.5)
    row = table.iloc[0]
    assert row["mean_intercept_um"] == pytest.approx(0.5 * row["mean_intercept_px"])
    assert row["G_intercept"] == pytest.approx(
        grainsize.astm_g(mean_intercept_mm=row["mean_intercept_um"] / 1000))
    assert row["G_planimetric"] == pytest.approx(
        grainsize.astm_g(grains_per_mm2=row["grains_per_mm2"]))
    # 10 um grains: about 10,000 per mm^2, G about 10 (E112 Table 4)
    assert row["grains_per_mm2"] == pytest.approx(1e4, rel=0.1)
    assert 9.5 < row["G_planimetric"] < 10.5


def test_maps_that_are_not_boundary_maps_are_named(tmp_path):
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(tmp_path / "empty.png")
    Image.fromarray(np.arange(2500).reshape(50, 50).astype(np.uint8)).save(tmp_path / "grey.png")
    with pytest.raises(SourceError, match=r"empty\.png: a single value \(0\): no boundaries"):
        grainsize_files.measure_files([tmp_path / "empty.png"])
    with pytest.raises(SourceError, match=r"grey\.png: 256 grey levels"):
        grainsize_files.measure_files([tmp_path / "grey.png"])
    with pytest.raises(FileNotFoundError):
        grainsize_files.measure_files([tmp_path / "missing.png"])


def test_the_grainsize_command_prints_and_writes_the_table(tmp_path):
    from test_cli import assert_one_error, grainlib

    Image.fromarray(np.where(square_grid(), 0, 255).astype(np.uint8)).save(tmp_path / "a.png")
    result = grainlib("grainsize", str(tmp_path / "a.png"), "--pixel-size", "0.5",
                      "--out", str(tmp_path / "sizes.csv"), runs=tmp_path / "runs")
    assert result.returncode == 0, result.stderr
    assert "G_intercept" in result.stdout and "a.png" in result.stdout
    assert (tmp_path / "sizes.csv").read_text().startswith(
        "image,height,width,mean_intercept_px,mean_intercept_um,grains_per_mm2,G_intercept,")
    bad = grainlib("grainsize", str(tmp_path / "a.png"), "--pixel-size", "0",
                   runs=tmp_path / "runs")
    assert bad.returncode == 2 and "--pixel-size: must be a finite number > 0, got 0" in bad.stderr
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "blank.png")
    assert_one_error(grainlib("grainsize", str(tmp_path / "blank.png"), runs=tmp_path / "runs"),
                     2, r"error: .*blank\.png: a single value \(0\): no boundaries.*")

