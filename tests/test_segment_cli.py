"""``python -m grainlib segment --model FILE``: a user's micrographs through a trained
U-Net (the shipped models and the default one: tests/test_models.py).

A tiny U-Net is trained in seconds on synthetic Voronoi micrographs (dark boundaries on
bright grains), enough to find their grains, and saved as chapter 04 saves one. The
command runs on micrographs of an odd size, as 8-bit grey, RGB and 16-bit files; its
outputs are checked against :func:`grainlib.learn.segment.predict` and recomputed statistics,
its errors for a one-line message naming the file, and its inputs for being untouched.
"""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skimage import io as skio

from grainlib.core import grains
from grainlib.core.config import PROJECT_ROOT
from grainlib.learn import segment
from grainlib.run import cli, segment_files

from conftest import voronoi_labels

SHAPE = (97, 130)  # odd, and no multiple of the U-Net's 2**depth


def micrograph(ids: np.ndarray, seed: int) -> np.ndarray:
    """A uint8 micrograph of a grain map: dark 2-px boundaries on bright grains, noise."""
    rng = np.random.default_rng(seed)
    image = np.where(grains.boundaries(ids), 60, 200) + rng.integers(-20, 20, ids.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def digests(paths) -> dict:
    return {Path(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny U-Net file that finds Voronoi grains (30 steps, seconds)."""
    ids = np.stack([voronoi_labels((64, 64), 12, k) for k in range(6)])
    images = np.stack([micrograph(i, k) for k, i in enumerate(ids)])
    boundaries = np.stack([grains.boundaries(i) for i in ids])
    model = segment.train((images, boundaries), params={
        "width": 4, "depth": 2, "steps": 30, "batch_size": 4, "crop": 32, "lr": 3e-3,
        "device": "cpu", "checkpoint_every": 0}, progress=False)
    path = segment.save(model, tmp_path_factory.mktemp("model") / "unet.pt")
    return path, segment.load(path)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """The same micrograph as 8-bit grey PNG, RGB PNG and 16-bit TIFF, SHAPE in size."""
    folder = tmp_path_factory.mktemp("micrographs")
    grey = micrograph(voronoi_labels(SHAPE, 15, 9), 9)
    grey[0, 0], grey[-1, -1] = 0, 255  # the full range: the 16-bit copy reads the same
    files = {"grey.png": grey, "colour.png": np.stack([grey] * 3, -1),
             "deep.tif": grey.astype(np.uint16) * 257}
    for name, image in files.items():
        skio.imsave(folder / name, image, check_contrast=False)
    return grey, [folder / name for name in files]


@pytest.fixture(scope="module")
def segmented(trained, inputs, tmp_path_factory):
    """The command run once on the three files: (out folder, exit status, input digests
    before)."""
    out = tmp_path_factory.mktemp("segmented") / "new" / "out"  # created by the command
    before = digests([trained[0], *inputs[1]])
    status = cli.main(["segment", "--model", str(trained[0]), *map(str, inputs[1]), "--out", str(out),
                       "--device", "cpu"])
    return out, status, before


def test_outputs_are_written_at_the_inputs_size(segmented, inputs):
    out, status, _ = segmented
    assert status == 0
    for path in inputs[1]:
        boundary = skio.imread(out / f"{path.stem}_boundaries.png")
        assert boundary.shape == SHAPE and boundary.dtype == np.uint8
        assert set(np.unique(boundary)) == {0, 255}
        ids = skio.imread(out / f"{path.stem}_grains.tif")
        assert ids.shape == SHAPE and ids.dtype == np.uint16
        assert set(np.unique(ids)) == set(range(1, ids.max() + 1))  # 1..K, no pixel left out
        assert ids.max() > 5
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["grains.csv"] + [f"{p.stem}_{kind}" for p in inputs[1]
                          for kind in ("boundaries.png", "grains.tif", "grains.csv")])


def test_outputs_are_the_prediction_of_the_model(segmented, inputs, trained):
    out, _, _ = segmented
    grey, paths = inputs
    expected_boundaries, expected_ids = segment.predict(trained[1], grey, return_ids=True,
                                                        device="cpu")
    for path in paths:  # grey, RGB and 16-bit copies of one micrograph: one result
        ids = skio.imread(out / f"{path.stem}_grains.tif")
        boundary = skio.imread(out / f"{path.stem}_boundaries.png") == 255
        np.testing.assert_array_equal(ids, expected_ids, err_msg=path.name)
        np.testing.assert_array_equal(boundary, expected_boundaries, err_msg=path.name)
        line_width = trained[1].params["line_width"]
        np.testing.assert_array_equal(boundary, grains.boundaries(ids.astype(np.int32),
                                                                  line_width))


def test_statistics_are_those_of_the_grain_maps(segmented, inputs):
    out, _, _ = segmented
    summary = pd.read_csv(out / "grains.csv")
    assert list(summary.columns) == ["image", "height", "width", "grains", "mean_area_px",
                                     "mean_equivalent_diameter_px", "mean_intercept_px"]
    assert list(summary["image"]) == [str(p) for p in inputs[1]]
    for path, row in zip(inputs[1], summary.itertuples()):
        ids = skio.imread(out / f"{path.stem}_grains.tif").astype(np.int64)
        areas = np.bincount(ids.ravel())[1:]
        count = len(np.unique(ids))
        assert (row.height, row.width, row.grains) == (*SHAPE, count)
        assert row.mean_area_px == pytest.approx(SHAPE[0] * SHAPE[1] / count, abs=1e-3)
        assert row.mean_equivalent_diameter_px == pytest.approx(
            np.sqrt(4 * areas / np.pi).mean(), abs=1e-3)
        table = pd.read_csv(out / f"{path.stem}_grains.csv")
        np.testing.assert_array_equal(table["grain"], np.arange(1, count + 1))
        np.testing.assert_array_equal(table["area_px"], areas)
        frame = np.unique(np.concatenate([ids[0], ids[-1], ids[:, 0], ids[:, -1]]))
        np.testing.assert_array_equal(table["touches_frame"], np.isin(table["grain"], frame))


def test_inputs_are_left_as_they_were(segmented):
    _, _, before = segmented
    assert digests(before) == before


def test_the_installed_command_with_other_post_processing(trained, inputs, tmp_path):
    grey, paths = inputs
    result = subprocess.run(
        [sys.executable, "-m", "grainlib", "segment", "--model", str(trained[0]), str(paths[0]),
         "--out", str(tmp_path), "--postprocess", "watershed", "--threshold", "0.5"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    # the one warning: the tiny test U-Net's 30 steps (tests/test_models.py)
    warnings = [line for line in result.stderr.splitlines() if "warning" in line.lower()]
    assert warnings == ["warning: this U-Net was trained for only 30 steps (a smoke model): "
                        "it will not segment well; use the shipped model (--model iron) or "
                        "one of make demo"], result.stderr
    assert f"grains -> {paths[0].stem}_boundaries.png" in result.stdout
    _, expected = segment.predict(trained[1], grey, return_ids=True, device="cpu",
                                  postprocess="watershed", threshold=0.5)
    np.testing.assert_array_equal(skio.imread(tmp_path / f"{paths[0].stem}_grains.tif"),
                                  expected)


def test_segmenting_into_the_images_folder_again_skips_the_outputs(trained, inputs, tmp_path,
                                                                   capsys):
    """``segment MODEL folder/*.png --out folder`` twice: the second run takes the first
    one's outputs for what they are, skips them and writes the same files again."""
    grey = inputs[0]
    for name in ("a.png", "b.png"):
        skio.imsave(tmp_path / name, grey, check_contrast=False)
    args = ["segment", "--model", str(trained[0]), "--out", str(tmp_path), "--device", "cpu"]
    assert cli.main(args[:3] + sorted(map(str, tmp_path.glob("*.png"))) + args[3:]) == 0
    first = digests(tmp_path.iterdir())
    capsys.readouterr()
    again = sorted(map(str, tmp_path.glob("*.png")))
    assert len(again) == 4
    assert cli.main(args[:3] + again + args[3:]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'a_boundaries.png'}: skipped, this command's output for " \
           f"{tmp_path / 'a.png'}" in out
    assert out.splitlines()[-1].startswith("2 images, ")
    assert digests(tmp_path.iterdir()) == first


def test_counts_are_singular_or_plural(trained, tmp_path, capsys):
    skio.imsave(tmp_path / "one.png", np.full((40, 40), 200, np.uint8), check_contrast=False)
    assert cli.main(["segment", "--model", str(trained[0]), str(tmp_path / "one.png"), "--out",
                     str(tmp_path / "out"), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"1 image, (1 grain|\d+ grains): .*grains\.csv", lines[-1]), lines
    count = int(pd.read_csv(tmp_path / "out" / "grains.csv")["grains"][0])
    assert f": {count} grain{'' if count == 1 else 's'} -> one_boundaries.png" in lines[0]


def test_more_than_65535_grains_are_kept_exactly(tmp_path):
    ids = np.arange(1, 70_001, dtype=np.int32).reshape(280, 250)
    paths = segment_files.output_paths("many.png", tmp_path)
    segment_files.write_grain_maps(grains.boundaries(ids), ids, paths)
    np.testing.assert_array_equal(skio.imread(paths["grains"]), ids)


# --------------------------------------------------------------------------- errors


def run_failing(args, capsys, status=2) -> str:
    """Run the command with ``args``, the model first; check the exit status and the one
    error line (beside the tiny U-Net's warning, when it was read)."""
    assert cli.main(["segment", "--model", *map(str, args)]) == status
    lines = [line for line in capsys.readouterr().err.splitlines()
             if not line.startswith("warning: this U-Net was trained for only")]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_a_missing_or_wrong_model_file_is_named(inputs, tmp_path, capsys):
    image = inputs[1][0]
    (tmp_path / "notes.pt").write_text("not a model")
    for model, says in [(tmp_path / "nosuch.pt", "segmentation model not found"),
                        (image, "is not a segmentation model written by grainlib"),
                        (tmp_path / "notes.pt", "is not a segmentation model"),
                        (tmp_path, "found a folder")]:
        line = run_failing([model, image, "--out", tmp_path / "out"], capsys)
        assert says in line and str(model) in line, line
    assert not (tmp_path / "out").exists()


def test_a_missing_or_unreadable_image_is_named(trained, tmp_path, capsys):
    (tmp_path / "text.png").write_text("not an image")
    skio.imsave(tmp_path / "stack.tif", np.zeros((5, 20, 20), np.uint8), check_contrast=False)
    for name, says in [("nosuch.png", "image not found"),
                       ("text.png", r"cannot read .* expected a micrograph"),
                       ("stack.tif", r"expected a 2D grey \(or RGB\) image, got shape")]:
        line = run_failing([trained[0], tmp_path / name, "--out", tmp_path / "new" / "out"],
                           capsys)
        assert re.search(says, line) and str(tmp_path / name) in line, line
        assert not (tmp_path / "new").exists()  # no empty folder left behind


def test_bad_options_are_refused_before_any_work(trained, inputs, tmp_path, capsys):
    image = inputs[1][0]
    line = run_failing([trained[0], image, "--out", tmp_path / "out", "--threshold", "1.5"],
                       capsys)
    assert line == "error: --threshold must be a number in [0, 1], got 1.5"
    line = run_failing([trained[0], image, "--out", tmp_path / "out", "--device", "gpu"],
                       capsys)
    assert "--device 'gpu'" in line
    (tmp_path / "file").write_text("")
    line = run_failing([trained[0], image, "--out", tmp_path / "file"], capsys)
    assert "is a file; expected a folder" in line
    assert not (tmp_path / "out").exists()


def test_an_input_is_never_overwritten(trained, inputs, tmp_path, capsys):
    grey = inputs[0]
    victim = tmp_path / "a_boundaries.png"   # an input where an output of a.png would go
    skio.imsave(victim, grey, check_contrast=False)
    skio.imsave(tmp_path / "a.png", grey, check_contrast=False)
    before = digests([victim, tmp_path / "a.png"])
    line = run_failing([trained[0], tmp_path / "a.png", victim, "--out", tmp_path], capsys)
    assert f"refusing to overwrite the input {victim}" in line
    assert digests(before) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a_boundaries.png"]
    out = tmp_path / "out"            # an output name that is a second name of an input
    out.mkdir()
    os.link(victim, out / "a_grains.tif")
    line = run_failing([trained[0], tmp_path / "a.png", victim, "--out", out], capsys)
    assert f"refusing to overwrite the input {victim}" in line
    assert digests(before) == before and sorted(p.name for p in out.iterdir()) == [
        "a_grains.tif"]
    (tmp_path / "b").mkdir()
    skio.imsave(tmp_path / "b" / "a.tif", grey, check_contrast=False)
    line = run_failing([trained[0], tmp_path / "a.png", tmp_path / "b" / "a.tif",
                        "--out", tmp_path / "elsewhere"], capsys)
    assert "the same name stem 'a'" in line


def test_a_missing_model_reads_as_one_line_for_any_command():
    try:
        segment.load("/no/such/unet.pt")
    except FileNotFoundError as err:
        assert cli.error_line(err) == ("segmentation model not found: /no/such/unet.pt", 2)
    else:
        pytest.fail("no error for a missing model")


def test_a_pixel_size_adds_the_astm_grain_size_to_grains_csv(trained, inputs, tmp_path):
    """grains.csv: the mean lineal intercept in pixels always; with --pixel-size also
    micrometres, grains per mm^2 and G, those of the boundary map written beside it."""
    from grainlib.run import grainsize_files
    from grainlib.score import grainsize

    grey = inputs[1][0]
    assert cli.main(["segment", "--model", str(trained[0]), str(grey), "--out",
                     str(tmp_path / "px"), "--device", "cpu"]) == 0
    assert cli.main(["segment", "--model", str(trained[0]), str(grey), "--out",
                     str(tmp_path / "um"), "--device", "cpu", "--pixel-size", "0.5"]) == 0
    plain = pd.read_csv(tmp_path / "px" / segment_files.SUMMARY)
    sized = pd.read_csv(tmp_path / "um" / segment_files.SUMMARY)
    assert list(plain.columns) == [*segment_files.SUMMARY_COLUMNS, "mean_intercept_px"]
    assert list(sized.columns) == [*segment_files.SUMMARY_COLUMNS,
                                   *segment_files.GRAIN_SIZE_COLUMNS]
    boundary = grainsize_files.read_boundary_map(tmp_path / "um" / "grey_boundaries.png")
    for column, value in grainsize.summary(boundary, 0.5).items():
        assert sized.loc[0, column] == pytest.approx(value, rel=1e-3), column
    assert sized.loc[0, "mean_intercept_um"] == pytest.approx(
        0.5 * plain.loc[0, "mean_intercept_px"], rel=1e-3)
