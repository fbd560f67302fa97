import numpy as np
import pandas as pd
import pytest

from grainlib.core import config
from grainlib.data import datasets
from grainlib.score import evaluate, metrics


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
    from grainlib.core import grains
    from grainlib.view import report

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
    long = "Mixed(Real_5% + Synthetic^5_100%)"
    fig = report.fig4_segmentation(images, truths, {"a": truths, long: np.stack([none, extra])},
                                   scores={"a": [1.0, 1.0], long: [0.0, 0.5]}, n=2, path=path)
    assert path.is_file()
    assert len(fig.axes) == 2 * 4
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert report.wrap_title(long) in texts and "truth" in texts
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["predicted boundary", "missed true boundary", "spurious predicted boundary"]
    drawn = fig.axes[3].images[0].get_array()  # row 0, column "long": no prediction at all
    assert (drawn[truth] == report.MISSED_RGB).all(axis=-1).all()


# --------------------------------------------------------------------------- Supp. Table 1


def z_coded_patches(depth=40, side=24, size=16, count=60, zoom=1, seed=0):
    """Simulated patches of a volume whose grain id is the plane index z, so each patch's
    ids are exactly the planes it shows."""
    from grainlib.data import patches

    volume = np.broadcast_to(np.arange(depth, dtype=np.int32)[:, None, None],
                             (depth, side, side)).copy()
    return patches.periodic_crops(volume, size, count, seed, zoom=zoom)


def periodic_distance(a, b, depth):
    d = np.abs(np.asarray(a)[:, None] - np.asarray(b)[None])
    return np.minimum(d, depth - d)


@pytest.mark.parametrize("zoom", [1, 2])
def test_plane_coverage_is_the_planes_a_patch_shows(zoom):
    crops = z_coded_patches(zoom=zoom)
    cover = evaluate.plane_coverage(crops, 40, zoom)
    assert cover.shape == (60, 40) and cover.dtype == bool
    for k in range(len(crops)):
        assert np.array_equal(np.flatnonzero(cover[k]), np.unique(crops.grain_ids[k])), k
    flat = crops.axis == 0
    assert (cover[flat].sum(1) == 1).all()
    assert (cover[~flat].sum(1) == 16 // zoom).all()  # a patch of 16 px spans 16 / zoom planes


def test_plane_coverage_rejects_real_patches():
    crops = z_coded_patches()
    crops.axis[:] = -1
    with pytest.raises(ValueError, match="sections of a volume"):
        evaluate.plane_coverage(crops, 40)
    with pytest.raises(ValueError, match="outside"):
        evaluate.plane_coverage(z_coded_patches(), 10)


@pytest.mark.parametrize("depth, gap", [(40, 0), (40, 5), (128, 22), (33, 4), (32, 6)])
def test_held_out_planes_are_a_gap_apart_and_split_about_2_8_to_1(depth, gap):
    train, test = evaluate.held_out_planes(depth, gap)
    assert not np.intersect1d(train, test).size
    assert np.array_equal(test, np.arange(test[0], test[-1] + 1))  # one contiguous slab
    assert periodic_distance(train, test, depth).min() == gap + 1
    assert train.size + test.size == depth - 2 * gap
    assert abs(train.size / test.size - 2.8) <= 2.8 / test.size + 1e-9
    assert train.min() >= 0 and train.max() < depth


def test_held_out_planes_reject_a_gap_that_leaves_nothing():
    with pytest.raises(ValueError, match="smaller gap"):
        evaluate.held_out_planes(20, 10)
    with pytest.raises(ValueError, match="gap must be"):
        evaluate.held_out_planes(20, -1)


@pytest.mark.parametrize("zoom", [1, 2])
def test_held_out_split_never_trains_near_a_test_plane(zoom):
    crops = z_coded_patches(depth=60, size=16, count=240, zoom=zoom)
    gap = 5
    train, test = evaluate.held_out_split(crops, 60, gap, zoom)
    train_planes, test_planes = evaluate.held_out_planes(60, gap)
    assert train.size and test.size and not np.intersect1d(train, test).size
    shown_train = np.unique(crops.grain_ids[train])  # the ids are the planes
    shown_test = np.unique(crops.grain_ids[test])
    assert np.isin(shown_train, train_planes).all()
    assert np.isin(shown_test, test_planes).all()
    assert periodic_distance(shown_train, shown_test, 60).min() > gap
    # every patch that lies wholly on one side is used: nothing usable is thrown away
    cover = evaluate.plane_coverage(crops, 60, zoom)
    assert set(np.flatnonzero(cover[:, train_planes].sum(1) == cover.sum(1))) == set(train)
    # sections along y and x (16 / zoom planes deep) train when they fit beside the slab
    assert (crops.axis[train] != 0).any()
    again = evaluate.held_out_split(crops, 60, gap, zoom)
    assert all(np.array_equal(a, b) for a, b in zip(again, (train, test)))


def test_held_out_split_says_when_no_patch_fits():
    crops = z_coded_patches(count=3)  # three patches, one per axis
    with pytest.raises(ValueError, match="held-out slab"):
        evaluate.held_out_split(crops, 40, 15)


def test_section_gap_is_one_mean_grain_diameter():
    area = np.pi * 5.0 ** 2  # grains 10 px across
    assert evaluate.section_gap(area) == 10
    assert evaluate.section_gap(area, zoom=2) == 5
    assert evaluate.section_gap(area * 1.01) == 11
    with pytest.raises(ValueError, match="> 0"):
        evaluate.section_gap(0.0)


def test_shared_grains():
    train = np.array([[1, 2], [2, 3]])
    assert evaluate.shared_grains(train, np.array([3, 4, 5, 6])) == 0.25
    assert evaluate.shared_grains(train, np.array([[1, 1], [2, 3]])) == 1.0
    assert evaluate.shared_grains(train, np.array([7])) == 0.0
    assert np.isnan(evaluate.shared_grains(train, np.zeros((0, 2), int)))


def test_simulated_only_is_held_out_stored_and_reused(runs_dir, monkeypatch):
    from grainlib.learn import segment

    cfg = config.load("smoke")
    data = datasets.build(cfg, progress=False)
    held = evaluate.simulated_only(cfg, progress=False)
    depth = cfg["potts"]["shape"][0]
    assert not np.intersect1d(held.train, held.test).size
    cover = evaluate.plane_coverage(data.simulated, depth, cfg["data"]["simulated_zoom"])
    train_shown = np.flatnonzero(cover[held.train].any(0))
    test_shown = np.flatnonzero(cover[held.test].any(0))
    assert periodic_distance(train_shown, test_shown, depth).min() > held.gap > 0
    assert list(held.table.columns) == evaluate.COLUMNS
    assert list(held.table["patch"]) == list(held.test)
    assert (held.table["training_set"] == evaluate.SIMULATED_ONLY).all()
    assert held.table["MAP"].between(0, 1).all() and 0 <= held.shared_grains <= 1
    assert evaluate.simulated_model_path(cfg, cfg["seed"]).is_file()

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although stored")

    monkeypatch.setattr(segment, "train", no_training)
    again = evaluate.simulated_only(cfg, progress=False)
    assert again.table.equals(held.table)
    with pytest.raises(AssertionError, match="trained again"):  # another gap: another model
        evaluate.simulated_only(cfg, gap=held.gap - 1, progress=False)


# --------------------------------------------------------------------------- label fidelity


def drawn(boundaries):
    """Micrographs that show their boundaries exactly: dark lines on light grains."""
    return np.where(boundaries, 40, 200).astype(np.uint8)


def test_score_sets_rewards_images_that_keep_their_labels():
    from grainlib.core import grains

    from conftest import voronoi_labels

    labels = np.stack([grains.boundaries(voronoi_labels((48, 48), 8, k)) for k in range(4)])
    others = np.stack([grains.boundaries(voronoi_labels((48, 48), 8, 10 + k)) for k in range(3)])
    read_lines = lambda images: images < 100  # noqa: E731  a perfect segmentation
    table = evaluate.score_sets(read_lines, {"faithful": (drawn(labels), labels),
                                            "unfaithful": (drawn(others), labels[:3])})
    assert list(table.columns) == ["images", "patch", "MAP", "ARI"]
    assert list(table["images"]) == ["faithful"] * 4 + ["unfaithful"] * 3
    assert list(table["patch"]) == [0, 1, 2, 3, 0, 1, 2]
    faithful = table[table["images"] == "faithful"]
    unfaithful = table[table["images"] == "unfaithful"]
    assert np.allclose(faithful[["MAP", "ARI"]], 1.0)
    assert unfaithful["MAP"].max() < 0.5 and unfaithful["ARI"].max() < 0.5
    blind = evaluate.score_sets(lambda images: np.zeros(images.shape, bool),
                                {"faithful": (drawn(labels), labels)})
    assert (blind["MAP"] == 0).all()


def test_score_sets_rejects_bad_input():
    labels = np.zeros((2, 16, 16), bool)
    with pytest.raises(ValueError, match="no image sets"):
        evaluate.score_sets(lambda x: x < 100, {})
    with pytest.raises(ValueError, match="pair"):
        evaluate.score_sets(lambda x: x < 100, {"a": drawn(labels)})
    with pytest.raises(ValueError, match="same shape"):
        evaluate.score_sets(lambda x: x < 100, {"a": (drawn(labels), labels[:1])})
    with pytest.raises(ValueError, match="predict returned"):
        evaluate.score_sets(lambda x: x[:, :8] < 100, {"a": (drawn(labels), labels)})


def test_label_fidelity_and_fig4_examples_at_smoke(runs_dir):
    cfg = config.load("smoke")
    data = datasets.build(cfg, progress=False)
    table = evaluate.label_fidelity(cfg, 5, progress=False)
    some = min(len(data.test), len(data.simulated))  # as many as the real test patches
    assert some < len(data.simulated)
    sets = {"real test": len(data.test), "Synthetic^5_100%": some, "simulated (flat)": some}
    assert table.groupby("images", sort=False).size().to_dict() == sets
    assert (table["model"] == "Real_5%").all() and (table["fraction"] == 5).all()
    assert table["MAP"].between(0, 1).all() and table["ARI"].between(-1, 1).all()
    summary = evaluate.summary(table, by=["model", "images"])
    assert list(summary[("patches", "")]) == list(sets.values())
    with pytest.raises(KeyError, match="method"):
        evaluate.summary(table)

    scores = evaluate.score(cfg, 5, training_sets=("real", "simulated"),
                            include_baselines=False, progress=False)
    examples = evaluate.segmentation_examples(cfg, scores, 5, patches=[1, 3])
    assert list(examples["preds"]) == ["Real_5%", "Simulated_100%"]
    assert examples["images"].shape == examples["truths"].shape == (2, 64, 64)
    assert all(p.shape == (2, 64, 64) and p.dtype == bool for p in examples["preds"].values())
    real = scores[scores["training_set"] == "real"].set_index("patch")["MAP"]
    assert np.allclose(examples["scores"]["Real_5%"], real.loc[[1, 3]])
    # the same predictions as the score table was made from
    assert np.isclose(metrics.map_score(examples["preds"]["Real_5%"][0], examples["truths"][0]),
                      real.loc[1])
    with pytest.raises(ValueError, match="index the"):
        evaluate.segmentation_examples(cfg, scores, 5, patches=[len(data.test)])


# --------------------------------------------------------------------------- report


def test_supplementary_table1_sets_ours_beside_the_papers():
    from grainlib.view import report

    ours = pd.DataFrame({"MAP": [0.9, 0.7], "ARI": [0.99, 0.97]})
    table = report.supplementary_table1(ours, 7, "smoke")
    assert list(table.index) == ["ours (smoke)", "paper"]
    assert table.loc["ours (smoke)", "MAP"] == pytest.approx(0.8)
    assert table.loc["ours (smoke)", "ARI"] == pytest.approx(0.98)
    assert table.loc["ours (smoke)", "train patches"] == 7
    assert table.loc["ours (smoke)", "test patches"] == 2
    assert table.loc["ours (smoke)", "split"] == "3.50 : 1"
    assert table.loc["paper", "MAP"] == 0.9591 and table.loc["paper", "ARI"] == 0.9986
    assert pd.isna(table.loc["paper", "train patches"])
    with pytest.raises(ValueError, match="at least one"):
        report.supplementary_table1(ours.iloc[:0], 7)


def test_wrap_title_breaks_the_papers_long_names():
    from grainlib.view import report

    assert report.wrap_title("Real_5%") == "Real_5%"
    assert report.wrap_title("Mixed(Real_5% + Synthetic^5_100%)") == \
        "Mixed(Real_5% +\nSynthetic^5_100%)"
    long = report.wrap_title("a rather long title with many words", width=10)
    assert all(len(line) <= 10 for line in long.split("\n")) and long.count("\n") >= 2
