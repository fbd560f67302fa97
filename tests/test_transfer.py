import numpy as np
import pytest
import torch

from grainlib.core import grains
from grainlib.learn import transfer

from conftest import voronoi_labels

TINY = {"variant": "ours", "width": 8, "depth": 2, "max_width": 16, "disc_width": 8,
        "disc_layers": 2, "batch_size": 4, "crop": None, "steps": 6, "device": "cpu",
        "checkpoint_every": 0}


def tiny_data(n=6, size=32):
    ids = np.stack([voronoi_labels((size, size), 6, seed) for seed in range(n)])
    labels = np.stack([grains.boundaries(i) for i in ids])
    rng = np.random.default_rng(0)
    images = np.where(labels, 50, 210) + rng.integers(-10, 10, labels.shape)
    return labels, images.astype(np.uint8)


def same_weights(a, b) -> bool:
    sa, sb = a.net.state_dict(), b.net.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_training_lowers_the_l1_loss():
    labels, images = tiny_data()
    model = transfer.train(labels, images, {**TINY, "steps": 60, "lr": 1e-3}, progress=False)
    l1 = np.array(model.history["G_L1"])
    assert model.steps == 60
    assert l1[-10:].mean() < 0.6 * l1[:5].mean()


def test_generate_shape_dtype_and_determinism():
    labels, images = tiny_data()
    model = transfer.train(labels, images, TINY, progress=False)
    odd = grains.boundaries(voronoi_labels((37, 45), 5))
    out = transfer.generate(model, odd)
    assert out.dtype == np.uint8 and out.shape == (37, 45)
    stack = transfer.generate(model, labels, batch_size=4)
    assert stack.shape == labels.shape
    assert np.array_equal(stack, transfer.generate(model, labels, batch_size=5))


def test_same_seed_same_generator_other_seed_other():
    labels, images = tiny_data()
    a = transfer.train(labels, images, TINY, seed=3, progress=False)
    b = transfer.train(labels, images, TINY, seed=3, progress=False)
    c = transfer.train(labels, images, TINY, seed=4, progress=False)
    assert same_weights(a, b)
    assert not same_weights(a, c)


def test_save_load_round_trip(tmp_path):
    labels, images = tiny_data()
    model = transfer.train(labels, images, TINY, progress=False)
    path = transfer.save(model, tmp_path / "g.pt")
    back = transfer.load(path)
    assert back.params == model.params and back.history == model.history
    assert np.array_equal(transfer.generate(back, labels), transfer.generate(model, labels))
    with pytest.raises(FileNotFoundError):
        transfer.load(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a readable"):
        transfer.load(tmp_path / "junk.pt")


def test_killed_then_resumed_training_equals_uninterrupted(tmp_path):
    labels, images = tiny_data()
    params = {**TINY, "steps": 8}
    whole = transfer.train(labels, images, params, seed=1, progress=False)

    def die(step, losses):
        if step == 4:
            raise KeyboardInterrupt

    checkpoint = tmp_path / "ckpt.pt"
    with pytest.raises(KeyboardInterrupt):
        transfer.train(labels, images, params, seed=1, progress=False, checkpoint=checkpoint,
                       callback=die)
    assert torch.load(checkpoint, weights_only=True)["step"] == 5
    seen = []
    resumed = transfer.train(labels, images, params, seed=1, progress=False,
                             checkpoint=checkpoint, callback=lambda step, _: seen.append(step))
    assert seen == [5, 6, 7]  # only the missing steps ran
    assert same_weights(whole, resumed)
    assert resumed.history["G_L1"] == whole.history["G_L1"]


def test_checkpoint_of_another_training_is_refused(tmp_path):
    labels, images = tiny_data()
    checkpoint = tmp_path / "ckpt.pt"
    transfer.train(labels, images, TINY, seed=1, progress=False, checkpoint=checkpoint)
    with pytest.raises(ValueError, match="another training"):
        transfer.train(labels, images, TINY, seed=2, progress=False, checkpoint=checkpoint)
    checkpoint.write_bytes(b"truncated")
    with pytest.raises(ValueError, match="cannot be read"):
        transfer.train(labels, images, TINY, seed=1, progress=False, checkpoint=checkpoint)


@pytest.mark.parametrize("change, message", [
    (lambda l, i: (l[:, :16], i), "same shape"),
    (lambda l, i: (l.astype(np.uint8), i), "bool"),
    (lambda l, i: (l, i.astype(np.float32)), "uint8"),
    (lambda l, i: (l[:0], i[:0]), "non-empty"),
    (lambda l, i: (l[0], i[0]), r"\(N, H, W\)"),
])
def test_bad_inputs_raise_clearly(change, message):
    labels, images = tiny_data()
    with pytest.raises(ValueError, match=message):
        transfer.train(*change(labels, images), TINY, progress=False)


def test_unknown_or_bad_parameters_raise():
    labels, images = tiny_data()
    from grainlib.core.config import ConfigError
    with pytest.raises(ConfigError, match="transfer.widht"):
        transfer.train(labels, images, {"widht": 8}, progress=False)
    with pytest.raises(ConfigError, match="transfer.steps"):
        transfer.train(labels, images, {"steps": 0}, progress=False)
    model = transfer.train(labels, images, TINY, progress=False)
    with pytest.raises(ValueError, match="bool"):
        transfer.generate(model, labels.astype(int))


def test_epochs_set_the_steps():
    params = {**transfer.config.section("transfer"), "epochs": 3, "batch_size": 8}
    assert transfer.steps_for(params, 100) == 38
    assert transfer.steps_for({**params, "epochs": None, "steps": 7}, 100) == 7


def test_build_trains_once_then_reuses(runs_dir):
    from grainlib.core import config
    from grainlib.data import datasets

    cfg = config.load("smoke")
    data = datasets.build(cfg, progress=False)
    assert transfer.trained_fractions(cfg, seed=1) == []
    first = transfer.build(cfg, 5, seed=1, progress=False)
    path = transfer.model_path(cfg, 5, 1)
    stamp = path.stat().st_mtime_ns
    assert transfer.trained_fractions(cfg, seed=1) == [5]
    assert not list(path.parent.glob("*.checkpoint.pt"))
    np.testing.assert_array_equal(first.synthetic.grain_ids, data.simulated.grain_ids)
    np.testing.assert_array_equal(first.synthetic.boundaries, data.simulated.boundaries)
    assert first.synthetic.images.dtype == np.uint8
    assert not np.array_equal(first.synthetic.images, data.simulated.images)
    again = transfer.build(cfg, 5, seed=1, progress=False)
    assert path.stat().st_mtime_ns == stamp  # nothing trained again
    np.testing.assert_array_equal(again.synthetic.images, first.synthetic.images)
    changed = config.load("smoke", {"transfer.steps": 3})
    assert transfer.trained_fractions(changed, seed=1) == []  # other parameters: not reused


# --------------------------------------------------------------------------- variants

AUTHORS = {**TINY, "variant": "authors"}


# Each profile's transfer section before the profiles took the authors' variant.
OURS_BEFORE = {  # and every network in float32, as all were before transfer.precision
    "demo": {"transfer.variant": "ours", "transfer.steps": 300, "transfer.batch_size": 8,
             "transfer.crop": 48, "transfer.precision": "float32"},
    "smoke": {"transfer.variant": "ours", "transfer.precision": "float32"},
    "iron-sections": {"transfer.variant": "ours", "transfer.steps": 2000,
                      "transfer.batch_size": 8, "transfer.crop": 64,
                      "transfer.precision": "float32"},
    "paper": {"transfer.variant": "ours", "transfer.steps": 300, "transfer.precision": "float32"},
}


def test_stored_generators_keep_their_fingerprints():
    """The keys of every profile's generators, as recorded before the variant,
    gan_loss-null, generation, noise and texture keys existed: with the settings of then
    they must not move (a moved key retrains every generator and remakes every synthetic
    set), and the profiles' present generators (the authors' variant) have keys of their own."""
    from grainlib.core import config

    cases = [("demo", 5), ("smoke", 5), ("iron-sections", 25), ("paper", 5)]
    keys = {name: transfer.generator_key(config.load(name, OURS_BEFORE[name]), fraction, 0)
            for name, fraction in cases}
    assert keys == {"demo": "308dc0920e0f2814", "smoke": "83179fc6f1e99cea",
                    "iron-sections": "ee527282f640de20", "paper": "f0e2b70115109c4f"}
    for name, fraction in cases:
        assert config.load(name)["transfer"]["variant"] == "authors"
        assert transfer.generator_key(config.load(name), fraction, 0) != keys[name]
    demo = config.load("demo", OURS_BEFORE["demo"])
    explicit = config.load("demo", {**OURS_BEFORE["demo"], "transfer.gan_loss": "lsgan",
                                    "transfer.generation": "train"})
    assert transfer.generator_key(explicit, 5, 0) == keys["demo"]  # generation: not trained
    for change in [{"transfer.variant": "authors"}, {"transfer.gan_loss": "vanilla"}]:
        changed = config.load("demo", {**OURS_BEFORE["demo"], **change})
        assert transfer.generator_key(changed, 5, 0) != keys["demo"]
    assert transfer.setting(demo["transfer"], "gan_loss") == "lsgan"
    assert transfer.setting(demo["transfer"], "generation") == "eval"
    authors = config.load("demo", {"transfer.variant": "authors"})["transfer"]
    assert transfer.setting(authors, "gan_loss") == "vanilla"
    assert transfer.setting(authors, "generation") == "train"


def test_authors_variant_trains_with_the_vanilla_loss(tmp_path, monkeypatch):
    functional = torch.nn.functional
    calls = {"bce": 0, "mse": 0}

    def spy(name, function):
        def counted(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)
        return counted

    monkeypatch.setattr(functional, "binary_cross_entropy_with_logits",
                        spy("bce", functional.binary_cross_entropy_with_logits))
    monkeypatch.setattr(functional, "mse_loss", spy("mse", functional.mse_loss))
    labels, images = tiny_data()
    model = transfer.train(labels, images, {**AUTHORS, "steps": 2}, progress=False)
    assert calls == {"bce": 6, "mse": 0}  # per step: D on fake and real, G on fake
    kinds = {type(m).__name__ for m in model.net.modules()}
    assert model.net.variant == "authors"
    assert "ConvTranspose2d" in kinds and "Dropout" not in kinds
    assert np.isfinite(model.history["D"]).all() and np.isfinite(model.history["G_GAN"]).all()
    explicit = transfer.train(labels, images, {**AUTHORS, "steps": 2, "gan_loss": "vanilla"},
                              progress=False)
    assert same_weights(model, explicit)  # null: the variant's own loss
    calls.update(bce=0, mse=0)
    ours = transfer.train(labels, images, {**TINY, "steps": 1}, progress=False)
    assert ours.net.variant == "ours" and calls == {"bce": 0, "mse": 3}
    back = transfer.load(transfer.save(model, tmp_path / "g.pt"))
    assert back.net.variant == "authors" and same_weights(back, model)


@pytest.mark.parametrize("crop", [96, 128, None])
def test_authors_variant_on_crops_and_whole_patches(crop):
    """Crops wider than the PatchGAN's 70 px window, and whole 128 px patches (a crop
    the size of the patch is the whole patch)."""
    labels, images = tiny_data(n=2, size=128)
    params = {**AUTHORS, "width": 4, "depth": 4, "max_width": 16, "disc_width": 4,
              "disc_layers": 3, "batch_size": 2, "steps": 1, "crop": crop}
    model = transfer.train(labels, images, params, progress=False)
    assert np.isfinite(model.history["D"]).all()
    assert transfer.generate(model, labels[:1]).shape == (1, 128, 128)


def test_training_mode_generation_is_deterministic_and_leaves_the_model():
    labels, images = tiny_data()
    model = transfer.train(labels, images, {**AUTHORS, "steps": 2}, progress=False)
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    first = transfer.generate(model, labels)  # the authors' variant: train mode by default
    assert np.array_equal(first, transfer.generate(model, labels, mode="train", seed=5,
                                                   batch_size=4))
    assert all(torch.equal(before[k], v) for k, v in model.net.state_dict().items())
    assert not model.net.training
    # each image on its own statistics: alone or among others, the same image
    assert np.array_equal(first[2], transfer.generate(model, labels[2]))
    assert not np.array_equal(first, transfer.generate(model, labels, mode="eval"))
    with pytest.raises(ValueError, match="mode"):
        transfer.generate(model, labels, mode="test")


def test_training_mode_generation_of_ours_seeds_its_dropout():
    labels, images = tiny_data()
    model = transfer.train(labels, images, {**TINY, "depth": 3, "max_width": 32},
                           progress=False)
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = transfer.generate(model, labels, mode="train", seed=1)
    assert torch.equal(torch.get_rng_state(), state)  # the caller's random stream untouched
    assert np.array_equal(a, transfer.generate(model, labels, mode="train", seed=1,
                                               batch_size=2))
    assert not np.array_equal(a, transfer.generate(model, labels, mode="train", seed=2))
    assert all(torch.equal(before[k], v) for k, v in model.net.state_dict().items())
    eval_mode = transfer.generate(model, labels)  # ours: eval by default
    assert np.array_equal(eval_mode, transfer.generate(model, labels, mode="eval"))


def test_models_saved_before_the_variants_still_load(tmp_path):
    labels, images = tiny_data()
    model = transfer.train(labels, images, TINY, progress=False)
    old = {k: v for k, v in model.params.items() if k not in ("variant", "generation")}
    model.params = {**old, "gan_loss": "lsgan"}
    back = transfer.load(transfer.save(model, tmp_path / "old.pt"))
    assert back.net.variant == "ours"
    assert np.array_equal(transfer.generate(back, labels), transfer.generate(model, labels))


# --------------------------------------------------------------------------- stochastic


def test_snapshots_are_the_generator_at_those_steps():
    labels, images = tiny_data()
    model = transfer.train(labels, images, {**TINY, "steps": 5}, progress=False,
                           snapshots=(2, 5))
    assert sorted(model.snapshots) == [2, 5]
    last, early = transfer.at_step(model, 5), transfer.at_step(model, 2)
    assert same_weights(last, model)
    assert not same_weights(early, model)
    assert early.steps == 2 and early.history["G_L1"] == model.history["G_L1"][:2]
    with pytest.raises(KeyError, match="kept: \\[2, 5\\]"):
        transfer.at_step(model, 3)
    with pytest.raises(ValueError, match="snapshots"):
        transfer.train(labels, images, TINY, progress=False, snapshots=(7,))


def test_noise_makes_one_label_many_images_reproducibly():
    labels, images = tiny_data()
    params = {**TINY, "noise": True, "texture_weight": 10.0, "l1_weight": 10.0}
    model = transfer.train(labels, images, params, progress=False)
    assert "G_texture" in model.history and np.isfinite(model.history["G_texture"]).all()
    injected = [m for m in model.net.modules() if type(m).__name__ == "NoiseInjection"]
    assert len(injected) == TINY["depth"]  # every level but the outermost
    with torch.no_grad():
        for m in injected:
            m.weight.fill_(0.5)
    a = transfer.generate(model, labels, seed=1)
    assert np.array_equal(a, transfer.generate(model, labels, seed=1, batch_size=4))
    assert not np.array_equal(a, transfer.generate(model, labels, seed=2))
    with torch.no_grad():
        for m in injected:
            m.weight.zero_()
    quiet = transfer.generate(model, labels, seed=1)
    assert np.array_equal(quiet, transfer.generate(model, labels, seed=2))  # no noise: no seed


def test_the_texture_term_rewards_texture_statistics_not_pixels():
    """The Gram matrices of the discriminator's features do not care where a texture lies:
    another draw of the real image's texture is as good as the real image itself, a
    fainter one worse, a flat one worst, while L1 prefers the flat image."""
    from grainlib.learn.nets import PatchDiscriminator

    torch.manual_seed(0)
    disc = PatchDiscriminator(8, 2)
    rng = np.random.default_rng(0)
    real, other = (torch.from_numpy(rng.normal(0, 0.5, (1, 1, 128, 128)).astype(np.float32))
                   for _ in range(2))
    label = torch.full_like(real, -1.0)
    loss = {name: transfer.texture_loss(disc, label, fake, real).item()
            for name, fake in [("other", other), ("fainter", 0.5 * other),
                               ("flat", torch.zeros_like(real))]}
    assert loss["other"] < 0.5 * loss["fainter"] < 0.5 * loss["flat"]
    l1 = torch.nn.functional.l1_loss
    assert l1(torch.zeros_like(real), real) < l1(other, real)


def test_noise_and_texture_keys_leave_the_stored_fingerprints_at_their_defaults():
    from grainlib.core import config

    demo = config.load("demo", OURS_BEFORE["demo"])
    assert demo["transfer"]["noise"] is False and demo["transfer"]["texture_weight"] == 0
    key = transfer.generator_key(demo, 5, 0)
    assert key == "308dc0920e0f2814"
    for change in [{"transfer.noise": True}, {"transfer.texture_weight": 1.0}]:
        changed = config.load("demo", {**OURS_BEFORE["demo"], **change})
        assert transfer.generator_key(changed, 5, 0) != key
