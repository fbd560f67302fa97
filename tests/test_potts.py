"""Tests of the 3D Monte Carlo Potts kernel (grainlib.simulate.potts)."""

import itertools

import h5py
import numba
import numpy as np
import pytest

from grainlib.core import config, grains
from grainlib.simulate import _kernels, potts


def _recount_delta(volume, z, y, x, new_id):
    changed = volume.copy()
    changed[z, y, x] = new_id
    return potts.energy(changed) - potts.energy(volume)


# --------------------------------------------------------------------------- energy


def test_energy_of_known_volumes():
    assert potts.energy(np.zeros((4, 5, 6), np.int32)) == 0
    # every site its own grain: each site has 26 unlike neighbours, each pair once
    assert potts.energy(np.arange(64, dtype=np.int32).reshape(4, 4, 4)) == 64 * 13
    assert potts.energy(np.arange(27, dtype=np.int32).reshape(3, 3, 3)) == 27 * 13
    # two slabs along z in a periodic box: 2 interfaces x 16 sites x 9 crossing offsets
    slabs = np.zeros((4, 4, 4), np.int32)
    slabs[2:] = 1
    assert potts.energy(slabs) == 2 * 16 * 9


@pytest.mark.parametrize("shape", [(5, 6, 7), (4, 4, 4), (3, 3, 3), (2, 3, 5), (7, 2, 4)])
def test_delta_energy_matches_full_recount(shape):
    rng = np.random.default_rng(sum(shape))
    for trial in range(40):
        volume = rng.integers(0, 4, shape).astype(np.int32)
        # half the trials on a periodic face or corner, where the wrap matters
        coords = [int(rng.choice([0, n - 1])) if trial % 2 else int(rng.integers(n))
                  for n in shape]
        new_id = int(rng.integers(0, 5))
        assert potts.delta_energy(volume, *coords, new_id) == _recount_delta(volume, *coords, new_id)


def test_delta_energy_same_id_and_lone_site():
    volume = np.zeros((5, 5, 5), np.int32)
    assert potts.delta_energy(volume, 2, 2, 2, 0) == 0
    assert potts.delta_energy(volume, 0, 4, 0, 7) == 26  # a new grain of one site
    volume[0, 0, 0] = 7
    assert potts.delta_energy(volume, 0, 0, 0, 0) == -26
    assert potts.delta_energy(volume, -5, -5, -5, 0) == -26
    with pytest.raises(ValueError, match="z"):
        potts.delta_energy(volume, 5, 0, 0, 1)
    with pytest.raises(ValueError, match="volume"):
        potts.delta_energy(np.zeros((4, 4)), 0, 0, 0, 1)


# --------------------------------------------------------------------------- sublattices


@pytest.mark.parametrize("shape", [(4, 6, 8), (3, 5, 7), (2, 3, 2), (5, 4, 3)])
def test_sublattices_cover_once_and_never_touch(shape):
    colours = potts.sublattices(shape)
    n_odd = sum(n % 2 for n in shape)
    assert len(colours) == 8 * (3 / 2) ** n_odd
    visits = np.zeros(shape, int)
    for z0, nz, y0, ny, x0, nx in colours:
        mask = np.zeros(shape, bool)
        mask[z0:z0 + 2 * nz:2, y0:y0 + 2 * ny:2, x0:x0 + 2 * nx:2] = True
        assert mask.sum() == nz * ny * nx
        visits += mask
        for offset in itertools.product((-1, 0, 1), repeat=3):
            if any(offset):
                assert not (mask & np.roll(mask, offset, axis=(0, 1, 2))).any(), offset
    assert (visits == 1).all()


# --------------------------------------------------------------------------- dynamics


def test_zero_temperature_never_raises_energy_or_id_count():
    steps = list(range(1, 13))
    result = potts.simulate((14, 15, 13), 12, kT=0, seed=5, snapshots=steps, progress=False)
    energies = [potts.energy(result.snapshots[s]) for s in steps]
    counts = [len(np.unique(result.snapshots[s])) for s in steps]
    assert energies[0] < potts.energy(np.arange(14 * 15 * 13).reshape(14, 15, 13))
    assert all(b <= a for a, b in zip(energies, energies[1:])), energies
    assert all(b <= a for a, b in zip(counts, counts[1:])), counts
    assert energies[-1] < energies[0] and counts[-1] < counts[0]


def test_finite_temperature_id_count_never_rises_and_kT_matters():
    steps = [1, 2, 4, 8]
    hot = potts.simulate((12, 12, 12), 8, kT=0.5, seed=2, snapshots=steps, progress=False)
    counts = [len(np.unique(hot.snapshots[s])) for s in steps]
    assert all(b <= a for a, b in zip(counts, counts[1:])), counts
    cold = potts.simulate((12, 12, 12), 8, kT=0, seed=2, progress=False)
    assert not np.array_equal(hot.volume, cold.volume)


def test_acceptance_thresholds_are_boltzmann_factors():
    thresholds = _kernels.acceptance_thresholds(0.5)
    assert thresholds.dtype == np.uint64 and thresholds.shape == (27,)
    for de in (1, 2, 5, 26):
        assert abs(int(thresholds[de]) / 2**32 - np.exp(-de / 0.5)) < 2**-31
    assert (_kernels.acceptance_thresholds(0.0)[1:] == 0).all()


def test_grain_across_periodic_boundary_counts_once():
    volume = potts.simulate((24, 24, 24), 40, seed=1, progress=False).volume
    labels = grains.grains_3d(volume, periodic=True)
    # a grain id on both faces z = 0 and z = -1 at the same (y, x) is one grain
    same = volume[0] == volume[-1]
    assert same.any()
    assert (labels[0][same] == labels[-1][same]).all()
    n_periodic = grains.grain_count_3d(volume, periodic=True)
    assert n_periodic < grains.grain_count_3d(volume, periodic=False)
    # translating a periodic volume changes no grain
    assert grains.grain_count_3d(np.roll(volume, (12, 5, 17), axis=(0, 1, 2))) == n_periodic
    # every surviving id is at least one 6-connected grain (a few small ones are split,
    # joined only along edges or corners, which the 26-neighbour energy allows)
    assert len(np.unique(volume)) <= n_periodic <= 1.25 * len(np.unique(volume))


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")
def test_same_seed_same_volume_for_any_thread_count():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = potts.simulate((17, 20, 22), 12, seed=3, progress=False).volume
        numba.set_num_threads(2)
        two = potts.simulate((17, 20, 22), 12, seed=3, progress=False).volume
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, two)
    other = potts.simulate((17, 20, 22), 12, seed=4, progress=False).volume
    assert not np.array_equal(one, other)
    again = potts.simulate((17, 20, 22), 12, seed=3, progress=False).volume
    assert np.array_equal(one, again)


@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 2, 2), (9, 2, 5), (11, 13, 10)])
@pytest.mark.parametrize("trial_neighbors", [18, 26])
def test_odd_shapes_stay_valid(shape, trial_neighbors):
    result = potts.simulate(shape, 6, seed=1, trial_neighbors=trial_neighbors, progress=False)
    volume = result.volume
    assert volume.shape == shape and volume.dtype == np.int32
    assert volume.min() >= 0 and volume.max() < np.prod(shape)
    # flips only copy ids from neighbours: every surviving id is a site of its own grain
    # or sits next to one, and at least one id has grown
    assert len(np.unique(volume)) < np.prod(shape)


def test_snapshots_are_copies_at_their_mcs():
    shape = (10, 11, 12)
    result = potts.simulate(shape, 6, seed=9, snapshots=[4, 2, 6], progress=False)
    assert sorted(result.snapshots) == [2, 4, 6]
    for step in (2, 4):
        alone = potts.simulate(shape, step, seed=9, progress=False).volume
        assert np.array_equal(result.snapshots[step], alone)
    assert not np.array_equal(result.snapshots[2], result.snapshots[6])
    assert np.array_equal(result.snapshots[6], result.volume)
    assert not np.shares_memory(result.snapshots[6], result.volume)
    assert all(v.dtype == np.int32 for v in result.snapshots.values())


@pytest.mark.parametrize("kwargs, name", [
    (dict(shape=(8, 8)), "shape"),
    (dict(shape=(8, 8, 1)), "shape"),
    (dict(shape=(8, 8.0, 8)), "shape"),
    (dict(shape=8), "shape"),
    (dict(mcs=0), "mcs"),
    (dict(mcs=2.0), "mcs"),
    (dict(snapshots=[5]), "snapshots"),
    (dict(snapshots=[0]), "snapshots"),
    (dict(kT=-0.1), "kT"),
    (dict(kT=float("nan")), "kT"),
    (dict(trial_neighbors=6), "trial_neighbors"),
    (dict(seed=-1), "seed"),
])
def test_bad_arguments_name_the_argument(kwargs, name):
    args = dict(shape=(8, 8, 8), mcs=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        potts.simulate(args.pop("shape"), args.pop("mcs"), progress=False, **args)


def test_grains_grow():
    steps = [25, 50, 100, 150]
    result = potts.simulate((48, 48, 48), 150, seed=0, snapshots=steps, progress=False)
    means = [grains.mean_grain_volume(result.snapshots[s]) for s in steps]
    assert all(b > a for a, b in zip(means, means[1:])), means
    # normal grain growth: V ~ t^(3/2); allow a wide band for a small box and noise
    exponent = np.polyfit(np.log(steps), np.log(means), 1)[0]
    assert 1.0 < exponent < 2.0, (exponent, means)


# --------------------------------------------------------------------------- run(cfg)


def test_run_reuses_the_stored_artifact(tmp_path, monkeypatch):
    cfg = config.load("smoke", {"potts.shape": [12, 13, 14], "potts.mcs": 6,
                                "potts.snapshots": [3, 6]})
    cfg["cache_dir"] = str(tmp_path)
    first = potts.run(cfg, progress=False)
    direct = potts.simulate((12, 13, 14), 6, seed=cfg["seed"], kT=cfg["potts"]["kT"],
                            trial_neighbors=cfg["potts"]["trial_neighbors"], progress=False)
    assert np.array_equal(first.volume, direct.volume)
    assert sorted(first.snapshots) == [3, 6] and first.volume.dtype == np.int32
    assert len(list(tmp_path.glob("potts-*.h5"))) == 1

    def no_simulation(*args, **kwargs):
        raise AssertionError("simulate was called")

    monkeypatch.setattr(potts, "simulate", no_simulation)
    again = potts.run(cfg, progress=False)
    assert np.array_equal(again.volume, first.volume)
    other_profile = {**cfg, "profile": "other", "run_dir": str(tmp_path / "other")}
    assert np.array_equal(potts.run(other_profile, progress=False).volume, first.volume)
    assert all(np.array_equal(again.snapshots[s], first.snapshots[s]) for s in (3, 6))

    cfg["potts"]["kT"] = 0.25
    with pytest.raises(AssertionError, match="simulate was called"):
        potts.run(cfg, progress=False)
    monkeypatch.undo()
    changed = potts.run(cfg, progress=False)
    assert not np.array_equal(changed.volume, first.volume)


def test_run_without_snapshots_keeps_the_final_one(tmp_path):
    cfg = config.load("smoke", {"potts.shape": [8, 9, 10], "potts.mcs": 3,
                                "potts.snapshots": []})
    cfg["cache_dir"] = str(tmp_path)
    for _ in range(2):  # computed, then read back
        result = potts.run(cfg, progress=False)
        assert list(result.snapshots) == [3] and result.volume.shape == (8, 9, 10)
        assert np.array_equal(result.snapshots[3], result.volume)


def test_run_reads_artifacts_stored_before_snapshots_were_streamed(tmp_path, monkeypatch):
    """The layout Store.cached wrote (volume, seconds, snapshots/<mcs>) stays valid, under
    the same fingerprint; the snapshots are read from the file when asked."""
    from grainlib.core.store import Store, fingerprint

    cfg = config.load("smoke", {"potts.shape": [8, 9, 10], "potts.mcs": 6,
                                "potts.snapshots": [3, 6]})
    cfg["cache_dir"] = str(tmp_path)
    params = potts.run_parameters(cfg)
    direct = potts.simulate((8, 9, 10), 6, seed=cfg["seed"], kT=cfg["potts"]["kT"],
                            trial_neighbors=cfg["potts"]["trial_neighbors"], snapshots=[3, 6],
                            progress=False)
    name = f"potts-{fingerprint(params)}"
    Store(tmp_path).save(name, params, {"volume": direct.volume, "seconds": 1.5, "snapshots": {
        str(s): v for s, v in direct.snapshots.items()}})
    monkeypatch.setattr(potts, "simulate", lambda *a, **k: pytest.fail("simulate was called"))
    result = potts.run(cfg, progress=False)
    assert np.array_equal(result.volume, direct.volume) and result.seconds == 1.5
    assert isinstance(result.snapshots, potts.StoredSnapshots)
    assert list(result.snapshots) == [3, 6] and 3 in result.snapshots and 4 not in result.snapshots
    for step in (3, 6):
        assert result.snapshots[step].dtype == np.int32
        assert np.array_equal(result.snapshots[step], direct.snapshots[step])
    with pytest.raises(KeyError):
        result.snapshots[4]
    Store(tmp_path).path(name).unlink()
    with pytest.raises(FileNotFoundError, match="removed or replaced"):
        result.snapshots[3]  # read when asked, not held


def test_run_writes_the_artifact_layout_it_always_had(tmp_path):
    cfg = config.load("smoke", {"potts.shape": [8, 9, 10], "potts.mcs": 6,
                                "potts.snapshots": [3, 6]})
    cfg["cache_dir"] = str(tmp_path)
    result = potts.run(cfg, progress=False)
    (path,) = tmp_path.glob("potts-*.h5")
    with h5py.File(path, "r") as f:
        assert sorted(f) == ["seconds", "snapshots", "volume"] and sorted(f["snapshots"]) == [
            "3", "6"]
        assert f["volume"].dtype == f["snapshots/3"].dtype == np.int32
        assert np.array_equal(f["snapshots/6"][()], result.volume)
        assert f.attrs["fingerprint"] == path.stem.removeprefix("potts-")


def test_snapshot_steps_follow_the_run():
    assert potts.snapshot_steps([10, 20, 50, 100, 200, 500, 1000], 300) == (
        [10, 20, 50, 100, 200, 300], [500, 1000])
    assert potts.snapshot_steps([40, 5, 20, 10, 5], 40) == ([5, 10, 20, 40], [])
    assert potts.snapshot_steps([5, 10, 20, 40], 3) == ([3], [5, 10, 20, 40])
    assert potts.snapshot_steps([], 7) == ([7], [])
    for bad in ([0], [2.5], [True]):
        with pytest.raises(ValueError, match="snapshots must be integers >= 1"):
            potts.snapshot_steps(bad, 10)
    with pytest.raises(ValueError, match="mcs must be an integer >= 1"):
        potts.snapshot_steps([1], 0)


@pytest.mark.parametrize("profile", ["smoke", "demo", "paper", "iron-sections"])
def test_mcs_below_every_snapshot_of_a_profile(profile, tmp_path):
    """Any mcs works with any profile: the snapshots it does not reach are dropped."""
    cfg = config.load(profile, {"potts.shape": [8, 8, 8], "potts.mcs": 3})
    assert min(cfg["potts"]["snapshots"]) > 3
    cfg["cache_dir"] = str(tmp_path)
    result = potts.run(cfg, progress=False)
    assert list(result.snapshots) == [3]
    assert np.array_equal(result.snapshots[3], result.volume)


def test_unreached_snapshots_share_the_stored_volume(tmp_path, monkeypatch):
    base = {"potts.shape": [8, 9, 10], "potts.mcs": 6}
    cfg = config.load("smoke", {**base, "potts.snapshots": [3, 6]})
    cfg["cache_dir"] = str(tmp_path)
    first = potts.run(cfg, progress=False)
    monkeypatch.setattr(potts, "simulate", lambda *a, **k: pytest.fail("simulate was called"))
    longer = config.load("smoke", {**base, "potts.snapshots": [6, 3, 50, 100]})
    longer["cache_dir"] = str(tmp_path)
    again = potts.run(longer, progress=False)
    assert sorted(again.snapshots) == [3, 6]
    assert np.array_equal(again.volume, first.volume)


# Fingerprints of the profiles' Potts volumes as computed before snapshots followed the
# run (commit 2263687): valid snapshot lists must keep them, so stored volumes and the
# committed figures stay the same.
_PROFILE_FINGERPRINTS = {"smoke": "7c9236d4f6c061a5", "demo": "5e3901d8cd0f8c80",
                         "paper": "b5f77dce132ef5ff"}


@pytest.mark.parametrize("profile", sorted(_PROFILE_FINGERPRINTS))
def test_profile_fingerprints_are_kept(profile):
    from grainlib.core.store import fingerprint

    params = potts.run_parameters(config.load(profile))
    assert fingerprint(params) == _PROFILE_FINGERPRINTS[profile]
