import numpy as np
import pytest
import torch

from grainlib.core import config, grains
from grainlib.learn import postprocess, segment
from grainlib.score import metrics

from conftest import voronoi_labels

TINY = {"width": 4, "depth": 2, "batch_size": 4, "crop": None, "steps": 6, "device": "cpu",
        "checkpoint_every": 0}


def tiny_data(n=6, size=32, seed=0):
    ids = np.stack([voronoi_labels((size, size), 6, seed + k) for k in range(n)])
    labels = np.stack([grains.boundaries(i) for i in ids])
    rng = np.random.default_rng(seed)
    images = np.where(labels, 50, 210) + rng.integers(-10, 10, labels.shape)
    return images.astype(np.uint8), labels


def same_weights(a, b) -> bool:
    sa, sb = a.net.state_dict(), b.net.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def model():
    return segment.train(tiny_data(), params=TINY, progress=False)


def test_training_lowers_the_loss():
    trained = segment.train(tiny_data(), params={**TINY, "steps": 40, "lr": 3e-3},
                            progress=False)
    loss = np.array(trained.history["loss"])
    assert trained.steps == 40
    assert loss[-5:].mean() < 0.8 * loss[:3].mean()
    assert 0 < trained.std and 0 < trained.mean < 1


@pytest.mark.parametrize("shape", [(37, 45), (16, 16), (5, 33, 19)])
def test_probability_and_predict_keep_the_shape(model, shape):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, shape).astype(np.uint8)
    prob = segment.probability(model, images, batch_size=2)
    assert prob.shape == shape and prob.dtype == np.float32
    assert prob.min() >= 0 and prob.max() <= 1
    pred = segment.predict(model, images, batch_size=2)
    assert pred.shape == shape and pred.dtype == bool


def test_predict_follows_the_label_convention():
    # a probability that is a clean boundary map gives back that map, up to ties at
    # triple junctions (a pixel or two) and the flat two-pixel lines of the watershed
    ids = voronoi_labels((40, 40), 7, 3)
    truth = grains.boundaries(ids)
    for how in ("threshold", "watershed"):
        found = postprocess.grain_ids(truth.astype(np.float32), how, min_grain=0)
        assert found.max() == ids.max() + 1, how
        redrawn = grains.boundaries(found)
        assert (redrawn != truth).sum() <= 0.05 * truth.sum(), how
        assert metrics.map_score(redrawn, truth) == 1.0, how
    with pytest.raises(ValueError, match="postprocess"):
        postprocess.grain_ids(truth.astype(np.float32), "magic")


def test_grain_ids_are_numbered_without_gaps():
    # grains of 6, 27, 60, 4 and 18 px; the two small ones dropped: ids 1..3 remain
    prob = np.zeros((12, 12), np.float32)
    prob[:, 3] = prob[2, :3] = prob[:, 9] = prob[2, 10:] = 1
    found = postprocess.grain_ids(prob, "threshold", min_grain=7)
    assert set(np.unique(found)) == {1, 2, 3} and found.dtype == np.int32
    assert len(np.unique(postprocess.grain_ids(prob, "threshold", min_grain=0))) == 5


def test_mixed_batches_are_half_real_half_synthetic(monkeypatch):
    counts = []
    original = segment.mixed_batch

    def spy(rng, sizes, batch_size):
        chosen = original(rng, sizes, batch_size)
        counts.append([len(c) for c in chosen])
        return chosen

    monkeypatch.setattr(segment, "mixed_batch", spy)
    real, synthetic = tiny_data(3), tiny_data(9, seed=5)
    segment.train(real, synthetic, {**TINY, "batch_size": 8, "steps": 3}, progress=False)
    assert counts == [[4, 4]] * 3
    counts.clear()
    segment.train(real, None, {**TINY, "batch_size": 8, "steps": 2}, progress=False)
    assert counts == [[8]] * 2
    assert [len(c) for c in original(np.random.default_rng(0), (3, 9), 7)] == [4, 3]


def test_same_seed_same_model_other_seed_other():
    data = tiny_data()
    a = segment.train(data, params=TINY, seed=3, progress=False)
    b = segment.train(data, params=TINY, seed=3, progress=False)
    c = segment.train(data, params=TINY, seed=4, progress=False)
    assert same_weights(a, b) and a.history["loss"] == b.history["loss"]
    assert not same_weights(a, c)


def test_save_load_round_trip(model, tmp_path):
    images, _ = tiny_data()
    path = segment.save(model, tmp_path / "u.pt")
    back = segment.load(path)
    assert back.params == model.params and back.history == model.history
    assert (back.mean, back.std) == (model.mean, model.std)
    assert np.array_equal(segment.probability(back, images), segment.probability(model, images))
    assert np.array_equal(segment.predict(back, images), segment.predict(model, images))
    with pytest.raises(FileNotFoundError):
        segment.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable"):
        segment.load(tmp_path / "junk.pt")
    torch.save({"kind": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a segmentation model"):
        segment.load(tmp_path / "other.pt")


def test_killed_then_resumed_training_equals_uninterrupted(tmp_path):
    real, synthetic = tiny_data(), tiny_data(4, seed=9)
    params = {**TINY, "steps": 8}
    whole = segment.train(real, synthetic, params, seed=1, progress=False)

    def die(step, losses):
        if step == 4:
            raise KeyboardInterrupt

    checkpoint = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        segment.train(real, synthetic, params, seed=1, progress=False, checkpoint=checkpoint,
                      callback=die)
    assert torch.load(checkpoint, weights_only=True)["step"] == 5
    seen = []
    resumed = segment.train(real, synthetic, params, seed=1, progress=False,
                            checkpoint=checkpoint, callback=lambda step, _: seen.append(step))
    assert seen == [5, 6, 7]
    assert same_weights(whole, resumed)
    assert resumed.history["loss"] == whole.history["loss"]
    with pytest.raises(ValueError, match="another training"):
        segment.train(real, synthetic, params, seed=2, progress=False, checkpoint=checkpoint)


@pytest.mark.parametrize("change, message", [
    (lambda i, b: (i[:, :16], b), "same shape"),
    (lambda i, b: (i, b.astype(np.uint8)), "bool"),
    (lambda i, b: (i.astype(np.float32), b), "uint8"),
    (lambda i, b: (i[:0], b[:0]), "non-empty"),
    (lambda i, b: (i[0], b[0]), r"\(N, H, W\)"),
])
def test_bad_inputs_raise_clearly(change, message):
    with pytest.raises(ValueError, match=message):
        segment.train(change(*tiny_data()), params=TINY, progress=False)


def test_bad_synthetic_or_parameters_raise(model):
    real = tiny_data()
    with pytest.raises(ValueError, match="synthetic boundary maps must be bool"):
        segment.train(real, (real[0], real[1].astype(int)), TINY, progress=False)
    with pytest.raises(ValueError, match="pair"):
        segment.train(real[0], params=TINY, progress=False)
    with pytest.raises(ValueError, match="differ in size"):
        segment.train(real, tiny_data(size=40), TINY, progress=False)
    with pytest.raises(config.ConfigError, match="segment.widht"):
        segment.train(real, params={"widht": 8}, progress=False)
    with pytest.raises(ValueError, match="multiple of 2\\*\\*depth"):
        segment.train(real, params={**TINY, "crop": 18}, progress=False)
    with pytest.raises(ValueError, match="uint8"):
        segment.predict(model, real[0].astype(float))
    with pytest.raises(TypeError, match="post-processing"):
        segment.predict(model, real[0], treshold=0.3)


def test_unknown_training_set_lists_the_allowed():
    cfg = config.load("smoke")
    with pytest.raises(ValueError, match="real\\+synthetic"):
        segment.build(cfg, "realish", 5)


def test_build_reuses_the_stored_model(runs_dir, monkeypatch):
    from grainlib.data import datasets

    cfg = config.load("smoke")
    datasets.build(cfg, progress=False)
    first = segment.build(cfg, "real", 100, progress=False)
    path = segment.model_path(cfg, "real", 100, cfg["seed"])
    assert path.is_file() and not list(path.parent.glob("*checkpoint.pt"))

    def no_training(*args, **kwargs):
        raise AssertionError("build trained a model it had stored")

    monkeypatch.setattr(segment, "train", no_training)
    again = segment.build(cfg, "real", 100, progress=False)
    assert same_weights(first, again)
    images = datasets.load(cfg).test.images[:2]
    assert np.array_equal(segment.predict(first, images), segment.predict(again, images))


def test_paper_names_of_the_training_sets():
    names = {name: segment.paper_name(name, 5) for name in segment.TRAINING_SETS}
    assert names == {"real": "Real_5%", "simulated": "Simulated_100%",
                     "real+simulated": "Mixed(Real_100% + Simulated_100%)",
                     "real+synthetic": "Mixed(Real_5% + Synthetic^5_100%)",
                     "synthetic": "Synthetic^5_100%", "real+flips": "Real_5% + flips"}
    with pytest.raises(ValueError, match="allowed"):
        segment.paper_name("reel", 5)


def test_checkpoint_for_removes_only_stale_checkpoints(tmp_path):
    from grainlib.learn import training

    model = tmp_path / "real-5-seed0.pt"
    old = [tmp_path / "real-5-seed0.checkpoint.pt", tmp_path / "real-5-seed0.aaaa.checkpoint.pt"]
    other = tmp_path / "real+flips-5-seed0.aaaa.checkpoint.pt"
    for path in [*old, other]:
        path.write_bytes(b"x")
    current = training.checkpoint_for(model, "bbbb")
    assert current == tmp_path / "real-5-seed0.bbbb.checkpoint.pt"
    assert not any(path.exists() for path in old) and other.exists()
    current.write_bytes(b"y")
    assert training.checkpoint_for(model, "bbbb") == current and current.exists()
