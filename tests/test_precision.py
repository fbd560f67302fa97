"""The fast path (grainlib.learn.precision): resolution per device, determinism, float32
unchanged, fingerprints, the learning-rate schedule and snapshots of the U-Net."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grainlib.core import config
from grainlib.learn import precision as amp
from grainlib.learn import segment, training, transfer
from grainlib.learn.nets import crop_to, pad_to_multiple

CPU = torch.device("cpu")
TINY = {"width": 4, "depth": 2, "steps": 6, "batch_size": 4, "crop": 32, "lr": 1e-3,
        "checkpoint_every": 1e9, "device": "cpu"}


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(3)
    boundaries = rng.random((6, 48, 48)) < 0.15
    images = np.clip(np.where(boundaries, 60, 190) + rng.normal(0, 10, boundaries.shape),
                     0, 255).astype(np.uint8)
    return images, boundaries


def weights(model):
    return {k: v.detach().clone() for k, v in model.net.state_dict().items()}


def same(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------------------- resolution


def test_auto_is_bfloat16_where_the_cpu_has_it_else_float32(monkeypatch):
    monkeypatch.setattr(amp, "cpu_has_bfloat16", lambda: True)
    assert amp.resolve("auto", CPU) == "bfloat16"
    monkeypatch.setattr(amp, "cpu_has_bfloat16", lambda: False)
    assert amp.resolve("auto", CPU) == "float32"
    assert amp.resolve("bfloat16", CPU) == "bfloat16"  # asked for: emulated if need be
    assert amp.resolve("float32", CPU) == "float32"


def test_float16_on_a_cpu_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="float16 needs a CUDA device"):
        amp.resolve("float16", CPU)
    with pytest.raises(ValueError, match="precision must be one of auto, float32"):
        amp.resolve("half", CPU)
    with pytest.raises(config.ConfigError, match="segment.precision"):
        config.load("demo", {"segment.precision": "half"})


def test_float32_models_predict_at_float32_and_the_others_at_the_fast_path():
    assert amp.inference({"precision": "float32"}) == "float32"
    assert amp.inference({}) == "float32"  # stored before the key existed
    assert amp.inference({"precision": "bfloat16"}) == "auto"


# --------------------------------------------------------------------------- training


def test_float32_training_is_the_plain_loop(pairs):
    """precision float32 trains exactly what a plain float32 loop of the same batches
    trains (the path of every network made before the key existed), bit for bit."""
    images, boundaries = pairs
    params = config.section("segment", {**TINY, "precision": "float32"})
    model = segment.train(pairs, params=params, seed=5, progress=False)

    torch.manual_seed(5)
    net = segment.network(params)
    optimizer = torch.optim.Adam(net.parameters(), lr=params["lr"])
    weight = torch.tensor([1.0, params["boundary_weight"]])
    pixels = images.astype(np.float64).ravel() / 255.0
    mean, std = float(pixels.mean()), float(pixels.std())
    net.train()
    for i in range(params["steps"]):
        image, label, _ = segment.training_batch(training.step_rng(5, i), [pairs],
                                                 params["batch_size"], params["crop"], False)
        x, size = pad_to_multiple(segment.standardised(image, mean, std, CPU), net.multiple)
        loss = F.cross_entropy(crop_to(net(x), size), torch.from_numpy(label.astype(np.int64)),
                               weight=weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    assert same(weights(model), {k: v.detach() for k, v in net.state_dict().items()})
    assert model.params["precision"] == "float32"


def test_the_fast_path_is_deterministic_per_seed_and_not_float32(pairs):
    runs = [segment.train(pairs, params={**TINY, "precision": "bfloat16"}, seed=seed,
                          progress=False) for seed in (0, 0, 1)]
    assert runs[0].params["precision"] == "bfloat16"
    assert same(weights(runs[0]), weights(runs[1]))
    assert runs[0].history["loss"] == runs[1].history["loss"]
    assert not same(weights(runs[0]), weights(runs[2]))
    plain = segment.train(pairs, params={**TINY, "precision": "float32"}, seed=0,
                          progress=False)
    assert not same(weights(runs[0]), weights(plain))
    # the same network, within bfloat16's rounding
    assert np.allclose(runs[0].history["loss"], plain.history["loss"], rtol=0.05)


def test_a_bfloat16_generator_trains_and_generates_deterministically(pairs):
    images, boundaries = pairs
    params = {"width": 4, "depth": 2, "max_width": 8, "disc_width": 4, "disc_layers": 2,
              "steps": 3, "batch_size": 2, "crop": 32, "precision": "bfloat16",
              "variant": "authors", "checkpoint_every": 1e9, "device": "cpu"}
    a, b = (transfer.train(boundaries, images, params, seed=2, progress=False)
            for _ in range(2))
    losses = [{k: v for k, v in run.history.items() if k != "seconds"} for run in (a, b)]
    assert losses[0] == losses[1] and a.params["precision"] == "bfloat16"
    assert same({k: v for k, v in a.net.state_dict().items()},
                {k: v for k, v in b.net.state_dict().items()})
    made = transfer.generate(a, boundaries[:2], mode="eval")
    assert made.dtype == np.uint8 and made.shape == boundaries[:2].shape
    assert np.array_equal(made, transfer.generate(b, boundaries[:2], mode="eval"))


def test_probability_of_a_bfloat16_model_is_close_to_its_float32_reading(pairs):
    images, _ = pairs
    model = segment.train(pairs, params={**TINY, "precision": "bfloat16"}, seed=0,
                          progress=False)
    fast = segment.probability(model, images, device="cpu", precision="bfloat16")
    exact = segment.probability(model, images, device="cpu", precision="float32")
    assert fast.dtype == exact.dtype == np.float32
    assert np.abs(fast - exact).max() < 0.05


# --------------------------------------------------------------------------- fingerprints


def test_precision_enters_a_fingerprint_only_when_not_float32(monkeypatch):
    params = {**config.load("demo")["segment"], "line_width": 2}
    plain = {**params, "precision": "float32"}
    before_the_keys = {k: v for k, v in plain.items()
                       if k not in ("precision", "lr_schedule", "warmup_steps")}
    key = segment.model_key(plain, 0, [])
    assert segment.model_key(before_the_keys, 0, []) == key
    assert segment.model_key({**params, "precision": "bfloat16"}, 0, []) != key
    monkeypatch.setattr(amp, "cpu_has_bfloat16", lambda: False)
    auto = {**params, "precision": "auto", "device": "cpu"}
    assert segment.model_key(auto, 0, []) == key
    monkeypatch.setattr(amp, "cpu_has_bfloat16", lambda: True)
    assert segment.model_key(auto, 0, []) == segment.model_key(
        {**params, "precision": "bfloat16"}, 0, [])
    # the generators: float32 keeps the key of before (the values pinned in test_transfer)
    demo = config.load("demo", {"transfer.precision": "float32"})
    fast = config.load("demo", {"transfer.precision": "bfloat16"})
    assert transfer.generator_key(demo, 5, 0) != transfer.generator_key(fast, 5, 0)


def test_the_committed_profiles_train_in_float32_and_the_gpu_profile_fast():
    for name in ("demo", "smoke", "iron-sections"):
        cfg = config.load(name)
        assert cfg["segment"]["precision"] == cfg["transfer"]["precision"] == "float32"
    paper = config.load("paper")
    assert paper["segment"]["precision"] == paper["transfer"]["precision"] == "auto"


# --------------------------------------------------------------------------- schedule


def test_cosine_factor_warms_up_then_falls_to_zero():
    assert training.cosine_factor(0, 100, 10) == pytest.approx(0.1)
    assert training.cosine_factor(9, 100, 10) == pytest.approx(1.0)
    assert training.cosine_factor(10, 100, 10) == pytest.approx(1.0)
    assert training.cosine_factor(55, 100, 10) == pytest.approx(0.5)
    assert training.cosine_factor(100, 100, 10) == pytest.approx(0.0)
    assert training.cosine_factor(0, 4) == pytest.approx(1.0)


def test_the_cosine_schedule_sets_the_rate_and_refuses_a_second_schedule(pairs, monkeypatch):
    seen, original = [], torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    params = {**TINY, "precision": "float32", "steps": 5, "lr_schedule": "cosine",
              "warmup_steps": 1}
    segment.train(pairs, params=params, progress=False)
    expected = [1e-3 * training.cosine_factor(i, 5, 1) for i in range(5)]
    assert seen == pytest.approx(expected)
    with pytest.raises(ValueError, match="two schedules"):
        segment.train(pairs, params={**params, "lr_decay_every": 2}, progress=False)
    full = {**config.load("demo")["segment"], "precision": "float32"}
    assert segment.model_key(full, 0, []) != segment.model_key(
        {**full, "lr_schedule": "cosine"}, 0, [])
    assert segment.model_key(full, 0, []) == segment.model_key({**full, "warmup_steps": 50}, 0, [])


def test_a_snapshot_is_the_shorter_training(pairs):
    """At a constant rate, the weights kept after 3 of 6 steps are those of a 3-step
    training, and the last snapshot is the trained network."""
    params = {**TINY, "precision": "float32"}
    long = segment.train(pairs, params=params, seed=1, progress=False, snapshots=[3, 6])
    short = segment.train(pairs, params={**params, "steps": 3}, seed=1, progress=False)
    third = segment.at_step(long, 3)
    assert same(weights(third), weights(short)) and third.steps == 3
    assert same(weights(segment.at_step(long, 6)), weights(long))
    with pytest.raises(KeyError, match="no snapshot at step 4"):
        segment.at_step(long, 4)
    with pytest.raises(ValueError, match="snapshots must be step counts in 1..6"):
        segment.train(pairs, params=params, progress=False, snapshots=[7])


# --------------------------------------------------------------------------- GPU


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_the_gpu_path_trains_at_its_own_autocast_type(pairs):
    cuda = torch.device("cuda")
    expected = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    assert amp.resolve("auto", cuda) == expected
    params = {**TINY, "device": "cuda", "precision": "auto"}
    runs = [segment.train(pairs, params=params, seed=0, progress=False) for _ in range(2)]
    assert runs[0].params["precision"] == expected
    assert np.isfinite(runs[0].history["loss"]).all()
    prob = segment.probability(runs[0], pairs[0], device="cuda")
    assert prob.shape == pairs[0].shape and 0 <= prob.min() <= prob.max() <= 1
    images, boundaries = pairs
    generator = transfer.train(boundaries, images, {
        "width": 4, "depth": 2, "max_width": 8, "disc_width": 4, "disc_layers": 2,
        "steps": 2, "batch_size": 2, "crop": 32, "precision": "float16", "device": "cuda",
        "checkpoint_every": 1e9}, progress=False)
    assert np.isfinite(generator.history["G_L1"]).all()
