import numpy as np
import pytest

from grainlib import config, datasets, evaluate, metrics


def test_score_table_is_tidy_and_stored(runs_dir, monkeypatch):
    cfg = config.load("smoke")
    test = datasets.build(cfg, progress=False).test
    table = evaluate.score(cfg, 5, training_sets=("real", "simulated"), progress=False)
    assert list(table.columns) == evaluate.COLUMNS
    methods = {"U-Net", "OTSU", "Canny", "Watershed", "K-Means"}
    assert set(table["method"]) == methods
    assert len(table) == (2 + 4) * len(test)
    unet = table[table["method"] == "U-Net"]
    assert set(unet["training_set"]) == {"real", "simulated"}
    assert set(unet.loc[unet["training_set"] == "simulated", "fraction"]) == {100}
    assert (table.loc[table["method"] != "U-Net", "training_set"] == evaluate.BASELINE).all()
    assert table["MAP"].between(0, 1).all() and table["ARI"].between(-1, 1).all()
    for (method, _), group in table.groupby(["method", "training_set"]):
        assert list(group["patch"]) == list(range(len(test))), method
    path = evaluate.scores_path(cfg, 5, cfg["seed"])
    assert path.is_file()

    def no_scoring(*args, **kwargs):
        raise AssertionError("scores recomputed although stored")

    monkeypatch.setattr(metrics, "evaluate", no_scoring)
    again = evaluate.score(cfg, 5, training_sets=("real", "simulated"), progress=False)
    assert again.equals(table)
    summary = evaluate.summary(table)
    assert ("MAP", "mean") in summary.columns and len(summary) == 6


def test_score_rejects_unknown_training_sets(runs_dir):
    with pytest.raises(ValueError, match="allowed"):
        evaluate.score(config.load("smoke"), 5, training_sets=("reel",))


def test_boundary_errors_and_fig4(tmp_path):
    from grainlib import grains, report

    from conftest import voronoi_labels

    truth = grains.boundaries(voronoi_labels((40, 40), 6, 1))
    missed, spurious = report.boundary_errors(truth, truth)
    assert not missed.any() and not spurious.any()
    shifted = np.zeros_like(truth)  # one pixel off: within the tolerance
    shifted[:, 1:] = truth[:, :-1]
    assert not any(m.any() for m in report.boundary_errors(shifted, truth))
    none = np.zeros_like(truth)
    missed, spurious = report.boundary_errors(none, truth)
    assert np.array_equal(missed, truth) and not spurious.any()
    extra = truth.copy()
    extra[20, :] = True
    missed, spurious = report.boundary_errors(extra, truth)
    assert not missed.any() and spurious.any() and not (spurious & truth).any()
    with pytest.raises(ValueError, match="same shape"):
        report.boundary_errors(truth[:, :10], truth)
    images = np.full((2, 40, 40), 200, np.uint8)
    truths = np.stack([truth, truth])
    path = tmp_path / "fig4.png"
    report.fig4_segmentation(images, truths, {"a": truths, "b": np.stack([none, extra])},
                             scores={"a": [1.0, 1.0], "b": [0.0, 0.5]}, n=2, path=path)
    assert path.is_file()
