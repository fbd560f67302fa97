"""The models shipped in models/ (grainlib.run.models): names resolve to files, an unknown
one's error lists those that exist, a smoke model warns when used, the shipped iron U-Net
and its record agree, it scores on real sections what its record says, and
``segment`` uses it by default on a real micrograph.

The checks on real sections need the iron data in the cache (as tests/conftest.py finds
them) and skip cleanly without them.
"""

import json

import numpy as np
import pytest
from skimage import io as skio

from grainlib.core import config, grains
from grainlib.data import public
from grainlib.learn import segment
from grainlib.run import cli, models

from conftest import voronoi_labels

IRON = models.MODELS["iron"]


@pytest.fixture(scope="module")
def record():
    return json.loads(models.record_file("iron").read_text())


@pytest.fixture(scope="module")
def shipped():
    return models.load("iron")


@pytest.fixture(scope="module")
def profile():
    return config.load(IRON.profile)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A U-Net file trained for 12 steps on Voronoi micrographs (a second)."""
    ids = np.stack([voronoi_labels((48, 48), 8, k) for k in range(4)])
    boundaries = np.stack([grains.boundaries(i) for i in ids])
    images = np.where(boundaries, 60, 200).astype(np.uint8)
    model = segment.train((images, boundaries), params={
        "width": 4, "depth": 2, "steps": 12, "batch_size": 2, "crop": 32, "device": "cpu",
        "checkpoint_every": 0}, progress=False)
    return segment.save(model, tmp_path_factory.mktemp("tiny") / "tiny.pt")


# --------------------------------------------------------------------------- names


def test_a_name_resolves_to_the_shipped_file_and_a_path_to_itself(tiny):
    assert models.path("iron") == models.MODELS_DIR / "iron.pt"
    assert models.path(tiny) == tiny and models.path(str(tiny)) == tiny
    assert models.shipped() == ["iron"]


def test_an_unknown_model_lists_those_that_exist(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GRAINLIB_RUNS", str(tmp_path / "runs"))
    with pytest.raises(models.ModelNotFound) as err:
        models.path("steel")
    message = str(err.value)
    assert message.startswith("segmentation model not found: steel; ")
    assert "shipped models: iron (" in message and "models/iron.pt" in message
    assert "runs/<profile>/segment/" in message
    trained = tmp_path / "runs" / "demo" / "segment" / "real-100-seed0.pt"
    trained.parent.mkdir(parents=True)
    trained.write_bytes(b"")
    assert str(trained) in str(models.ModelNotFound(models.available()))
    image = tmp_path / "a.png"
    skio.imsave(image, np.full((32, 32), 200, np.uint8), check_contrast=False)
    assert cli.main(["segment", "--model", "steel", str(image), "--out",
                     str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: segmentation model not found: "
                                                   "steel; "), lines
    assert "shipped models: iron" in lines[0] and "real-100-seed0.pt" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_missing_shipped_file_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    with pytest.raises(models.ModelNotFound, match=r"the shipped model iron is missing: "
                                                   r".*iron\.pt \(make iron-model"):
        models.path("iron")
    assert "no shipped model in" in models.available()


def test_the_model_as_first_argument_says_to_use_model(tiny, tmp_path, capsys):
    assert cli.main(["segment", str(tiny), str(tmp_path / "a.png"), "--out",
                     str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {tiny} is a model file, not a "
                                               f"micrograph: give it with --model {tiny}")


def test_the_listing_names_each_model_and_its_held_out_score(record, capsys):
    assert cli.main(["model"]) == 0
    text = capsys.readouterr().out
    unet = record["scores"]["held_out"]["methods"]["U-Net"]
    assert text.startswith("iron  pure iron") and f"MAP {unet['MAP']:.3f}" in text


# --------------------------------------------------------------------------- warning


def test_a_smoke_model_warns_once_and_a_trained_one_does_not(tiny, tmp_path, capsys):
    image = tmp_path / "a.png"
    skio.imsave(image, np.full((40, 40), 200, np.uint8), check_contrast=False)
    assert cli.main(["segment", "--model", str(tiny), str(image), "--out",
                     str(tmp_path / "out"), "--device", "cpu"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: this U-Net was trained for only 12 steps (a smoke model): it "
                   "will not segment well; use the shipped model (--model iron) or one of "
                   "make demo"]
    model = segment.load(tiny)
    model.history = {key: values * models.MIN_STEPS for key, values in model.history.items()}
    assert model.steps >= models.MIN_STEPS and models.undertrained(model) is None
    longer = segment.save(model, tmp_path / "longer.pt")
    assert cli.main(["segment", "--model", str(longer), str(image), "--out",
                     str(tmp_path / "out"), "--device", "cpu"]) == 0
    assert capsys.readouterr().err == ""


# --------------------------------------------------------------------------- the record


def test_the_shipped_file_is_small_and_its_record_describes_it(record, shipped, profile):
    file = models.model_file("iron")
    assert file.stat().st_size < 5_000_000 and record["bytes"] == file.stat().st_size
    assert record["file"] == "iron.pt" and record["training"]["profile"] == IRON.profile
    assert record["data"] == {**public.signature("iron-sections"), "licence": "MIT",
                              "citation": public.IRON_SECTIONS.citation,
                              "source": public.IRON_SECTIONS.repository}
    training = record["training"]
    assert training["training_set"] == "real+flips" and training["sections"] == [1, 2, 3, 4, 5]
    assert training["steps"] == shipped.steps >= models.MIN_STEPS
    assert training["segment"] == shipped.params and shipped.params["augment"] is True
    # the profile's validated settings, unchanged but for the device; the keys added after
    # it was made (chapter 07's) at values that train as it was trained
    expected = {**profile["segment"], "augment": True, "device": "cpu"}
    added = {k: expected.pop(k) for k in ("lr_decay_every", "lr_decay_factor", "pretrain_share",
                                          "lr_schedule", "warmup_steps", "precision")}
    assert expected == shipped.params and added["lr_decay_every"] == 0
    assert added["lr_schedule"] == "constant" and added["precision"] == "float32"
    held = record["scores"]["held_out"]
    assert held["section"] == IRON.held_out and IRON.held_out not in held["trained_on"]
    assert set(held["methods"]) == {"U-Net", "OTSU", "Canny", "Watershed", "K-Means"}


def test_the_shipped_model_scores_what_its_record_says(iron, record, shipped, profile):
    """On the grid of the profile's test section: the score the record pins (the shipped
    model was trained on every section; its held-out estimate is the record's
    ``held_out``)."""
    images, grain_ids = iron
    recorded = record["scores"]["training_sections"]["sections"]
    section = IRON.held_out
    found = models.section_scores(shipped, profile, images, grain_ids, section)
    assert found["MAP"] == pytest.approx(recorded[f"{section:03d}"]["MAP"], abs=0.005)
    assert found["ARI"] == pytest.approx(recorded[f"{section:03d}"]["ARI"], abs=0.005)


def test_segment_uses_the_iron_model_by_default():
    args = cli.build_parser().parse_args(["segment", "a.png", "--out", "out"])
    assert args.model == models.DEFAULT == "iron"


def test_segment_with_the_iron_model_on_a_real_section(iron, tmp_path, capsys):
    images, grain_ids = iron
    image = tmp_path / "003.png"
    skio.imsave(image, images[2], check_contrast=False)
    assert cli.main(["segment", "--model", "iron", str(image), "--out", str(tmp_path / "out"),
                     "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no warning: a fully trained model
    ids = skio.imread(tmp_path / "out" / "003_grains.tif")
    assert ids.shape == images[2].shape
    true = len(np.unique(grain_ids[2]))
    assert 0.8 * true <= ids.max() <= 1.25 * true, (ids.max(), true)
    assert f"003.png: {ids.max()} grains -> 003_boundaries.png" in captured.out
