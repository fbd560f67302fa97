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
