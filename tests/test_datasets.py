"""grainlib.data.datasets: the chapter-02 step on small hand-made data (no Potts run)."""

import numpy as np
import pytest

from grainlib.core import config
from grainlib.data import datasets, sources
from grainlib.simulate import potts


def block_volume(side, block):
    z, y, x = np.mgrid[:side, :side, :side] // block
    n = side // block
    return (z * n * n + y * n + x + 1).astype(np.int32)


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """A profile reading 8 images of 8-px square grains; Potts snapshots of 4/8/16-px cubes."""
    monkeypatch.setenv("GRAINLIB_RUNS", str(tmp_path / "runs"))
    yy, xx = np.mgrid[:64, :80]
    ids = np.stack([((yy + k) // 8) * 20 + (xx + 2 * k) // 8 + 1 for k in range(8)])
    images = np.random.default_rng(0).integers(0, 256, ids.shape).astype(np.uint8)
    sources.write_hdf5(tmp_path / "real.h5", "real", images, ids.astype(np.int32))

    calls = []

    def fake_run(cfg, progress=True):
        calls.append(cfg["seed"])
        snapshots = {10: block_volume(32, 4), 20: block_volume(32, 8), 40: block_volume(32, 16)}
        return potts.PottsResult(volume=snapshots[40], snapshots=snapshots)

    monkeypatch.setattr(potts, "run", fake_run)
    overrides = {"data.source": "hdf5", "data.hdf5_path": str(tmp_path / "real.h5"),
                 "data.patch_size": 32, "data.train_per_image": 3, "data.test_per_image": 4,
                 "data.simulated_patches": 30, "data.test_fraction": 0.25,
                 "data.fractions": [5, 35, 50, 100]}
    return lambda **more: config.load("smoke", {**overrides, **more}), calls


def test_build_counts_split_and_fractions(cfg):
    make, _ = cfg
    data = datasets.build(make(), progress=False)
    assert data.real_images.shape == (8, 64, 80)
    assert len(data.test_indices) == 2 and len(data.train_indices) == 6
    assert len(data.train) == 18 and data.train.images.shape == (18, 32, 32)
    assert len(data.test) == 8 and data.test.grain_ids.dtype == np.int32
    assert set(data.train.image_index) <= set(data.train_indices)
    assert set(data.test.image_index) <= set(data.test_indices)
    assert not set(data.train_indices) & set(data.test_indices)
    sizes = {p: len(v) for p, v in data.fractions.items()}
    assert sizes == {5: 1, 35: 3, 50: 3, 100: 6}
    for small, large in zip([5, 35, 50], [35, 50, 100]):
        assert set(data.fractions[small]) <= set(data.fractions[large])
    for p in data.fractions:
        part = data.real_fraction(p)
        assert len(part) == 3 * sizes[p] and not set(part.image_index) & set(data.test_indices)
    assert list(data.summary()["patches"])[:3] == ["-", 18, 8]


def test_simulated_patches_match_real_grain_size(cfg):
    make, calls = cfg
    data = datasets.build(make(), progress=False)
    assert data.real_mean_area == pytest.approx(64.0)  # 8 x 8 grains
    assert data.simulated_mcs == 20  # the 8-px cubes
    table = data.snapshot_areas
    assert list(table["mcs"]) == [10, 20, 40] and table["chosen"].tolist() == [False, True, False]
    assert table.loc[1, "mean_area"] == pytest.approx(64.0)
    sim = data.simulated
    assert sim.images.shape == (30, 32, 32) and sim.images.dtype == np.uint8
    assert np.bincount(sim.axis).tolist() == [10, 10, 10]
    assert np.all(sim.images[sim.boundaries] == 40)
    grey = sim.images[~sim.boundaries]
    assert grey.min() >= 120 and grey.max() <= 230
    unmatched = datasets.build(make(**{"data.match_snapshot": False}), progress=False)
    assert unmatched.simulated_mcs == 40


def test_build_is_stored_reused_and_deterministic(cfg, tmp_path):
    make, calls = cfg
    first = datasets.build(make(), progress=False)
    run_dir = tmp_path / "runs" / "smoke"
    stamps = {p.name: p.stat().st_mtime_ns for p in run_dir.glob("data_*.h5")}
    assert len(stamps) == 6
    again = datasets.build(make(), progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.glob("data_*.h5")} == stamps
    assert len(calls) == 1  # the simulated patches were reused, not remade
    loaded = datasets.load(make())
    for other in (again, loaded):
        np.testing.assert_array_equal(other.train.images, first.train.images)
        np.testing.assert_array_equal(other.simulated.grain_ids, first.simulated.grain_ids)
        np.testing.assert_array_equal(other.fractions[35], first.fractions[35])
    # a changed patch count remakes the training patches and what depends on them only
    datasets.build(make(**{"data.train_per_image": 2}), progress=False)
    changed = {p.name for p in run_dir.glob("data_*.h5") if p.stat().st_mtime_ns != stamps[p.name]}
    assert changed == {"data_train.h5", "data_simulated.h5"}
    # a fresh run folder with the same profile gives the same arrays
    fresh = make()
    fresh["run_dir"] = str(tmp_path / "elsewhere")
    same = datasets.build(fresh, progress=False)
    np.testing.assert_array_equal(same.train.origin, first.train.origin)
    np.testing.assert_array_equal(same.simulated.images, first.simulated.images)
    other_seed = datasets.build(make(seed=5), progress=False)
    assert not np.array_equal(other_seed.train.origin, first.train.origin)


def test_load_before_build_says_what_to_do(cfg):
    make, _ = cfg
    with pytest.raises(FileNotFoundError, match="datasets.build"):
        datasets.load(make())


def test_export_published_layout(cfg, tmp_path):
    make, _ = cfg
    data = datasets.build(make(**{"data.export_hdf5": True}), progress=False)
    path = tmp_path / "runs" / "smoke" / "published_layout.h5"
    images, ids = sources.read_hdf5(path, "real")
    np.testing.assert_array_equal(images, data.real_images)
    no_images, sim_ids = sources.read_hdf5(path, "simulated")
    assert no_images is None
    np.testing.assert_array_equal(sim_ids, data.simulated.grain_ids)


def test_grain_statistics_and_ks():
    ids = np.stack([block_volume(32, 8)[0], block_volume(32, 4)[0]])
    table = datasets.grain_statistics(ids)
    # 8-px grains: 2 x 2 inside the frame; 4-px grains: 6 x 6 inside
    assert len(table) == 4 + 36 and set(table["area"]) == {64, 16}
    assert table["normalised_area"].mean() == pytest.approx(1.0)
    assert set(table["edges"]) == {4}
    ks = datasets.ks_table(table, table)
    assert ks.loc["normalised_area", "KS statistic"] == 0
    assert ks.loc["edges", "p-value"] == pytest.approx(1.0)


# The bytes of every dataset, recorded on 2026-12-06 (datasets.digests). The data are the
# same on every machine (the surrogate, the Potts kernel and the patch cutting are exact
# integer or seeded computations), so a change here is a change of the data pipeline:
# update these only on purpose, with the version bump that change needs.
SMOKE_DIGESTS = {"real": "7e0bccf2eee2c5e4", "train": "8a85246ed68b9cca",
                 "test": "3299a9e74677a615", "simulated": "b6eebaad95868373",
                 "fractions": "d44204bcf9ad40b2"}
DEMO_DIGESTS = {"real": "a5a47e5bc055c9b1", "train": "e3a4fa5c9e4596db",
                "test": "f84a30bffe9feba6", "simulated": "b1bf0013d21682d7",
                "fractions": "72b2286ccbd9b072"}


@pytest.mark.slow
def test_the_smoke_datasets_are_the_recorded_bytes(runs_dir):
    data = datasets.build(config.load("smoke"), progress=False)
    assert datasets.digests(data) == SMOKE_DIGESTS


def test_the_demo_datasets_are_the_recorded_bytes_where_stored():
    """Checks the demo's stored datasets (runs/demo, after make demo); skipped before."""
    cfg = config.load("demo")
    try:
        data = datasets.load(cfg)
    except (FileNotFoundError, KeyError, OSError) as err:
        pytest.skip(f"no stored demo datasets in {cfg['run_dir']} ({type(err).__name__})")
    assert datasets.digests(data) == DEMO_DIGESTS
