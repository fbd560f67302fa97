"""Chapter 07's training recipes: classical augmentation, rendered images, the training
sets' batches, pretraining then fine-tuning, the epoch rule, and the paired statistics."""

import numpy as np
import pandas as pd
import pytest

from grainlib.core import grains
from grainlib.data import rendered, specimen
from grainlib.learn import augment, recipes, segment
from grainlib.score import paired


def labelled(n=4, size=64, seed=0):
    ids = specimen.structure(n, (size, size), seed=seed, grain_diameter=14)
    boundaries = np.stack([grains.boundaries(i) for i in ids])
    return ids, boundaries


# --------------------------------------------------------------------------- augment

def test_classical_moves_image_and_boundaries_together_and_shades_the_image_alone():
    _, boundaries = labelled(8)
    drawn = np.where(boundaries, 0, 255).astype(np.uint8)  # the image is its label
    moved, moved_boundaries = augment.classical(np.random.default_rng(3), drawn, boundaries,
                                                grey=False)
    assert moved_boundaries.dtype == bool and not np.array_equal(moved_boundaries, boundaries)
    agree = np.mean((moved < 128) == moved_boundaries)
    assert agree > 0.97  # interpolation blurs the image's edges, the map stays nearest
    shaded, shaded_boundaries = augment.classical(np.random.default_rng(3), drawn, boundaries)
    assert np.array_equal(shaded_boundaries, moved_boundaries)  # grey levels never move them
    assert not np.array_equal(shaded, moved)
    # the shading keeps boundaries dark: darker on the moved map than off it, every patch
    for image, where in zip(shaded, shaded_boundaries):
        assert image[where].mean() + 100 < image[~where].mean()
    # a label moved alone (an image left in place) would not agree
    assert np.mean((drawn < 128) == moved_boundaries) < 0.9


def test_classical_is_the_same_for_the_same_stream_and_checks_its_input():
    _, boundaries = labelled(3)
    images = np.where(boundaries, 40, 220).astype(np.uint8)
    a = augment.classical(np.random.default_rng(5), images, boundaries)
    b = augment.classical(np.random.default_rng(5), images, boundaries)
    c = augment.classical(np.random.default_rng(6), images, boundaries)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    with pytest.raises(ValueError, match="uint8"):
        augment.classical(np.random.default_rng(0), images.astype(float), boundaries)


# --------------------------------------------------------------------------- rendered

def test_rendered_images_differ_in_appearance_and_are_reproducible():
    ids, boundaries = labelled(6)
    images = rendered.render(ids, seed=1)
    assert images.shape == ids.shape and images.dtype == np.uint8
    assert np.array_equal(images, rendered.render(ids, seed=1))
    assert not np.array_equal(images, rendered.render(ids, seed=2))
    # each image its own look: grain greys spread far wider than one rendering's
    grain_grey = [image[~b].mean() for image, b in zip(images, boundaries)]
    assert np.ptp(grain_grey) > 15
    # boundaries darker than grains on average (their depth drawn from 25-200 grey levels)
    assert np.mean([image[b].mean() < image[~b].mean() for image, b in zip(images, boundaries)]) == 1
    with pytest.raises(ValueError, match="integer grain ids"):
        rendered.render(ids.astype(float))


# --------------------------------------------------------------------------- batches

def two_sets():
    real = (np.full((5, 32, 32), 10, np.uint8), np.zeros((5, 32, 32), bool))
    synthetic = (np.full((7, 32, 32), 200, np.uint8), np.zeros((7, 32, 32), bool))
    return real, synthetic


@pytest.mark.parametrize("augment_mode", [False, True, "classical"])
def test_a_mixed_batch_holds_half_real_half_synthetic(augment_mode):
    real, synthetic = two_sets()
    images, labels, source = segment.training_batch(np.random.default_rng(0),
                                                    [real, synthetic], 8, 16, augment_mode)
    assert images.shape == (8, 16, 16) and labels.shape == (8, 16, 16)
    assert np.bincount(source).tolist() == [4, 4]
    means = images.reshape(8, -1).mean(axis=1)
    if augment_mode == "classical":  # shaded, but real patches stay far darker
        assert means[source == 0].max() < 60 < 100 < means[source == 1].min()
    else:
        assert np.all(means[source == 0] == 10) and np.all(means[source == 1] == 200)


def test_each_recipe_names_its_sets_and_augmentation(monkeypatch):
    real, synthetic = two_sets()
    rendered_pair = (np.full((3, 32, 32), 120, np.uint8), np.zeros((3, 32, 32), bool))

    class Data:
        def real_fraction(self, x):
            return type("P", (), {"images": real[0], "boundaries": real[1]})()

    monkeypatch.setattr(recipes.datasets, "load", lambda cfg: Data())
    monkeypatch.setattr(recipes.transfer, "build", lambda *a, **k: type(
        "B", (), {"synthetic": type("P", (), {"images": synthetic[0],
                                              "boundaries": synthetic[1]})()})())
    monkeypatch.setattr(recipes, "rendered_set", lambda cfg, seed: rendered_pair)
    grey = {}
    for name in recipes.ARMS:
        first, second, how = recipes.arm_data({}, name, 5, 0)
        grey[name] = (int(first[0][0, 0, 0]), None if second is None else int(second[0][0, 0, 0]),
                      how)
    assert grey == {
        "real": (10, None, False), "real+flips": (10, None, True),
        "real+synthetic": (10, 200, False), "synthetic": (200, None, False),
        "real+flips+synthetic": (10, 200, True), "synthetic>real": (10, 200, False),
        "real+classical": (10, None, "classical"),
        "real+classical+synthetic": (10, 200, "classical"),
        "real+rendered": (10, 120, False)}
    with pytest.raises(ValueError, match=r"unknown training set 'real\+magic'"):
        recipes.arm_data({}, "real+magic", 5, 0)


# --------------------------------------------------------------------------- fine-tuning

def test_fine_tuning_starts_from_the_pretrained_weights():
    ids, boundaries = labelled(4, 32)
    images = np.where(boundaries, 30, 220).astype(np.uint8)
    params = {"width": 4, "depth": 2, "steps": 3, "batch_size": 2, "crop": None,
              "checkpoint_every": 0, "lr": 1e-3}
    pretrained = segment.train((images, boundaries), None, params, seed=0, progress=False)
    tuned = segment.train((images[:2], boundaries[:2]), None, {**params, "steps": 1}, seed=1,
                          progress=False, init=pretrained)
    fresh = segment.train((images[:2], boundaries[:2]), None, {**params, "steps": 1}, seed=1,
                          progress=False)

    def distance(a, b):
        return sum(float((x - y).abs().sum()) for x, y in
                   zip(a.net.state_dict().values(), b.net.state_dict().values()))

    assert distance(tuned, pretrained) < 0.1 * distance(fresh, pretrained)
    assert (tuned.mean, tuned.std) == (pretrained.mean, pretrained.std)


def test_the_learning_rate_decays_in_steps():
    _, boundaries = labelled(2, 32)
    images = np.where(boundaries, 30, 220).astype(np.uint8)
    seen = []
    params = {"width": 4, "depth": 2, "steps": 7, "batch_size": 2, "crop": None,
              "checkpoint_every": 0, "lr": 1e-3, "lr_decay_every": 3, "lr_decay_factor": 0.5}
    model = segment.train((images, boundaries), None, params, progress=False)
    assert model.steps == 7
    original = segment.torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    segment.torch.optim.Adam.step = spy
    try:
        segment.train((images, boundaries), None, params, progress=False)
    finally:
        segment.torch.optim.Adam.step = original
    assert seen == pytest.approx([1e-3] * 3 + [5e-4] * 3 + [2.5e-4])
    # off (the default), the fingerprint of a model is what it was before the key existed
    assert "lr_decay_every" not in segment.model_key({**params, "lr_decay_every": 0}, 0, [])


# --------------------------------------------------------------------------- epoch rule

def test_the_official_epoch_rule_at_the_papers_sizes():
    assert recipes.official_epochs(140, 8) == 100           # Real_5% alone: capped
    assert recipes.official_iterations(5, mixed=False) == 100 * 18      # 1,800
    assert recipes.official_epochs(28800, 4) == 5            # Mixed: 4 synthetic per batch
    assert recipes.official_iterations(5, mixed=True) == 5 * 7200       # 36,000
    assert recipes.official_iterations(100, mixed=False) == 100 * 350   # Real_100%: 35,000


def test_epoch_rule_steps_keep_the_papers_ratio_for_our_sizes():
    # the demo's Real_5%: 16 patches, batches of 8: 100 epochs of 2 steps, rate x0.8 every 10
    assert recipes.epoch_rule_steps("real", 16, 5, 8) == (200, 20)
    assert recipes.epoch_rule_steps("real+classical", 16, 5, 8) == (200, 20)
    assert recipes.epoch_rule_steps("real+synthetic", 16, 5, 8) == (4000, 0)  # 36,000 / 1,800
    assert recipes.epoch_rule_steps("synthetic>real", 16, 5, 8) == (4000, 0)
    # iron's Real_25%: one section, 36 patches; the paper's 700 patches ran 8,800 iterations
    assert recipes.epoch_rule_steps("real", 36, 25, 8) == (500, 50)
    assert recipes.epoch_rule_steps("real+rendered", 36, 25, 8) == (round(500 * 36000 / 8800), 0)


def test_long_steps_train_every_set_as_long_as_mixed_and_reuse_its_u_nets(runs_dir):
    from grainlib.core import config

    # the demo's Real_5%: every set the 4000 steps of Mixed, at a constant rate
    assert recipes.long_steps(16, 5, 8) == (4000, 0)
    assert recipes.long_steps(36, 25, 8) == recipes.epoch_rule_steps("real+synthetic", 36, 25, 8)
    cfg = config.load("smoke")
    for name in recipes.ARMS:
        long, epoch = (recipes.model_path(cfg, name, 5, 0, b) for b in ("long-steps",
                                                                        "epoch-rule"))
        assert (long == epoch) == (name not in recipes.REAL_ONLY), name
    with pytest.raises(ValueError, match="unknown budget 'longer'; allowed: equal-steps, "
                                         "epoch-rule, long-steps"):
        recipes.check_budget("longer")


# --------------------------------------------------------------------------- statistics

def test_the_interval_against_a_hand_computed_case():
    mean, low, high = paired.interval([0.02, 0.03, 0.01])
    half = 4.302652729911275 * 0.01 / np.sqrt(3)  # t(2) at 97.5 %, sd 0.01
    assert mean == pytest.approx(0.02)
    assert (low, high) == pytest.approx((0.02 - half, 0.02 + half))
    assert np.isnan(paired.interval([0.5])[1])
    assert paired.verdict(0.001, 0.02) == "helps"
    assert paired.verdict(-0.02, -0.001) == "hurts"
    assert paired.verdict(-0.01, 0.02) == "no detectable effect"


def test_gains_are_paired_per_patch_and_averaged_per_seed():
    rows = []
    for seed, shift in [(0, 0.02), (1, 0.03), (2, 0.025)]:
        for patch in range(4):
            base = 0.5 + 0.1 * patch  # patches differ far more than the arms do
            rows += [{"fraction": 5, "budget": "equal-steps", "seed": seed, "patch": patch,
                      "training_set": "real", "MAP": base, "ARI": 0.8},
                     {"fraction": 5, "budget": "equal-steps", "seed": seed, "patch": patch,
                      "training_set": "real+flips", "MAP": base + shift, "ARI": 0.8}]
    table = paired.summary(pd.DataFrame(rows))
    flips = table.set_index("training_set").loc["real+flips"]
    assert flips["gain_map"] == pytest.approx(0.025)
    assert (flips["gain_map_ci_low"], flips["gain_map_ci_high"]) == pytest.approx(
        paired.interval([0.02, 0.03, 0.025])[1:])
    assert flips["verdict"] == "helps" and flips["n_seeds"] == 3
    assert list(table.columns[:13]) == paired.COLUMNS
    with pytest.raises(ValueError, match="no 'real' scores to pair with"):
        paired.summary(pd.DataFrame(rows).query("training_set != 'real' or seed != 1"))


# --------------------------------------------------------------------------- end to end

def test_recipes_train_store_and_score_at_the_smoke_profile(runs_dir, monkeypatch):
    from grainlib.core import config
    from grainlib.data import datasets
    from grainlib.learn import training
    from grainlib.score import augmentation

    cfg = config.load("smoke", {"segment.steps": 6})
    datasets.build(cfg, progress=False)
    # the epoch rule at a tenth of its epochs and a ratio of 2, for seconds, not minutes
    monkeypatch.setitem(recipes.PAPER, "epochs_cap", 10)
    monkeypatch.setattr(recipes, "official_iterations", lambda x, mixed: 200 if mixed else 100)
    sets = ["real", "synthetic>real", "real+classical", "real+rendered"]
    table = augmentation.scores(cfg, 5, 0, sets, ["equal-steps", "epoch-rule"])
    n_test = len(datasets.load(cfg).test)
    assert len(table) == 2 * len(sets) * n_test
    assert table[["MAP", "ARI"]].notna().all().all()
    # equal steps: chapter 04's own file for the paper's sets; the others in recipes/
    assert recipes.model_path(cfg, "real", 5, 0, "equal-steps") == segment.model_path(
        cfg, "real", 5, 0)
    tuned = recipes.model_path(cfg, "synthetic>real", 5, 0, "equal-steps")
    assert tuned.is_file() and tuned.with_name(tuned.stem + "-pretrained.pt").is_file()
    pretrained = segment.load(tuned.with_name(tuned.stem + "-pretrained.pt"))
    assert pretrained.steps == 3 and segment.load(tuned).steps == 3  # 6 steps split 0.5
    # the epoch rule: Real_5% alone 100 epochs of its own patches, the others x the ratio
    n_real = len(datasets.load(cfg).real_fraction(5))
    steps, every = recipes.epoch_rule_steps("real", n_real, 5, cfg["segment"]["batch_size"])
    assert segment.load(recipes.model_path(cfg, "real", 5, 0, "epoch-rule")).steps == steps
    assert segment.load(recipes.model_path(cfg, "real+rendered", 5, 0, "epoch-rule")).steps \
        == 2 * steps
    assert every == steps // 10
    # the unseen images: a grid over every training image outside Real_5%, scored apart
    data = datasets.load(cfg)
    unseen = augmentation.test_patches(cfg, 5, "unseen")
    expected = sorted(set(data.train_indices) - set(data.fractions[5]))
    assert expected and sorted(set(unseen.image_index)) == expected
    assert len(unseen) == len(expected) * cfg["data"]["test_per_image"]
    assert np.array_equal(unseen.images[0], augmentation.test_patches(cfg, 5, "unseen").images[0])
    test_table = augmentation.scores_path(cfg, 5, 0).read_text()
    on_unseen = augmentation.scores(cfg, 5, 0, ["real"], ["equal-steps"], test_set="unseen")
    assert len(on_unseen) == len(unseen) and on_unseen["MAP"].notna().all()
    assert augmentation.scores_path(cfg, 5, 0, "unseen").name == "augmentation-5-seed0-unseen.csv"
    assert augmentation.scores_path(cfg, 5, 0).read_text() == test_table
    with pytest.raises(ValueError, match="Real_100% holds every training image"):
        augmentation.test_patches(cfg, 100, "unseen")
    with pytest.raises(ValueError, match="unknown test set 'validation'; allowed: test, unseen"):
        augmentation.scores(cfg, 5, 0, ["real"], ["equal-steps"], test_set="validation")
    # a second call trains nothing and re-scores nothing
    monkeypatch.setattr(segment, "train", lambda *a, **k: pytest.fail("trained again"))
    monkeypatch.setattr(augmentation.metrics, "evaluate",
                        lambda *a, **k: pytest.fail("scored again"))
    again = augmentation.scores(cfg, 5, 0, sets[:2], ["equal-steps"])
    assert len(again) == 2 * n_test
    stored = pd.read_csv(augmentation.scores_path(cfg, 5, 0))
    assert len(stored) == len(table)
    assert training.stored_fingerprint(tuned) in set(stored["model"])


def test_the_gain_figure_and_the_findings_follow_the_numbers():
    from grainlib.view import findings, gains

    rows = []
    for seed in range(3):
        for patch in range(3):
            for name, shift in [("real", 0.0), ("real+flips", 0.05 + 0.01 * seed),
                                ("real+synthetic", -0.05 - 0.01 * seed),
                                ("real+rendered", 0.02 * (seed - 1))]:
                rows.append({"fraction": 5, "budget": "equal-steps", "seed": seed,
                             "patch": patch, "training_set": name, "MAP": 0.5 + shift,
                             "ARI": 0.8})
    summary = paired.summary(pd.DataFrame(rows))
    verdicts = summary.set_index("training_set")["verdict"].to_dict()
    assert verdicts == {"real": "baseline", "real+flips": "helps", "real+synthetic": "hurts",
                        "real+rendered": "no detectable effect"}
    [sentence] = findings.augmentation(summary)
    assert "best recipe is real+flips, +0.060" in sentence
    assert "Verdicts: helps: real+flips; hurts: real+synthetic; no detectable effect: " \
        "real+rendered." in sentence
    assert "95 % interval" in sentence
    figure = gains.gain_plot(summary)
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == [
        "real+flips", "real+synthetic", "real+rendered"]

    longer = pd.DataFrame(rows).assign(budget="epoch-rule")
    longer["MAP"] += 0.2 * (longer["training_set"] != "real")  # gains far off the other panel
    both = paired.summary(pd.concat([longer, pd.DataFrame(rows).assign(budget="equal-steps")]))
    panels = gains.gain_plot(both).axes
    assert [ax.get_title() for ax in panels] == ["equal-steps", "epoch-rule"]
    assert panels[0].get_xlim() == panels[1].get_xlim()  # one scale to compare budgets on
    assert [line.split(" (")[0] for line in findings.augmentation(both)] == [
        "Real_5%, equal-steps", "Real_5%, epoch-rule"]  # the budgets' order, not the table's

    # the epoch rule's control: real alone trained long gains 0.04, real+synthetic's gain
    # shrinks by as much
    control = pd.DataFrame(rows).query("training_set in ['real', 'real+synthetic']")
    longer = control.assign(budget="long-steps",
                            MAP=control["MAP"] + 0.04 * (control["training_set"] == "real"))
    three = paired.summary(pd.concat([control.assign(budget="epoch-rule"), longer]))
    sentences = findings.augmentation(three)
    assert sentences[-2] == ("Real_5%, the epoch rule's control: trained as long as Mixed "
                             "(long-steps), real alone scores MAP 0.540 against 0.500 in its "
                             "short decaying run (+0.040).")
    assert sentences[-1].startswith("real+synthetic: -0.060 over real under the epoch rule, "
                                    "-0.100 (95 % interval -0.125 to -0.075, hurts) once real "
                                    "trains as long.")
