"""Tests of the MCS clock (grainlib.simulate.mcs_clock): the random-site kernel, the normalised
distributions, the pairing at equal size, and the comparison with the sublattice sweep."""

import numpy as np
import pandas as pd
import pytest

from grainlib.core import config
from grainlib.simulate import mcs_clock, potts

# --------------------------------------------------------------------------- the kernel


def _one_trial(volume, site, pick, draw, kT):
    boltzmann = np.array([1.0] + [np.exp(-de / kT) if kT > 0 else 0.0 for de in range(1, 27)])
    mcs_clock.random_site_mcs(volume, np.array([site]), np.array([pick]), np.array([draw]),
                              mcs_clock.OFFSETS, boltzmann)


def test_one_trial_follows_the_metropolis_rule():
    volume = np.zeros((5, 5, 5), np.int32)
    volume[2, 2, 2] = 7
    lone = np.ravel_multi_index((2, 2, 2), volume.shape)
    beside = np.ravel_multi_index((2, 2, 1), volume.shape)
    towards_lone = [tuple(o) for o in mcs_clock.OFFSETS].index((0, 0, 1))
    _one_trial(volume, beside, towards_lone, 0.0, kT=0)   # dE = +24 > 0 at kT 0: refused
    assert volume[2, 2, 1] == 0 and volume[2, 2, 2] == 7
    _one_trial(volume, beside, towards_lone, 0.0, kT=100)  # hot, a draw of 0: taken
    assert volume[2, 2, 1] == 7
    volume[2, 2, 1] = 0
    _one_trial(volume, lone, 0, 0.99, kT=0)                # dE = -26: taken whatever the draw
    assert not volume.any()


def test_random_site_at_kT0_never_raises_the_energy_and_keeps_starting_ids():
    shape, steps = (12, 13, 14), list(range(1, 9))
    result = mcs_clock.simulate_random_site(shape, 8, kT=0, seed=2, snapshots=steps)
    start = np.arange(np.prod(shape)).reshape(shape)
    energies = [potts.energy(start)] + [potts.energy(result.snapshots[s]) for s in steps]
    assert all(b <= a for a, b in zip(energies, energies[1:])), energies
    assert energies[-1] < 0.7 * energies[0]
    assert result.volume.dtype == np.int32 and result.volume.shape == shape
    assert np.isin(result.volume, start).all()
    assert len(np.unique(result.volume)) < np.prod(shape) / 5      # grains grew
    assert np.array_equal(result.snapshots[8], result.volume)


def test_random_site_is_deterministic_per_seed():
    first = mcs_clock.simulate_random_site((10, 10, 10), 5, seed=3)
    assert np.array_equal(mcs_clock.simulate_random_site((10, 10, 10), 5, seed=3).volume,
                          first.volume)
    assert not np.array_equal(mcs_clock.simulate_random_site((10, 10, 10), 5, seed=4).volume,
                              first.volume)
    assert not np.array_equal(
        mcs_clock.simulate_random_site((10, 10, 10), 5, seed=3, trial_neighbors=26).volume,
        first.volume)


def test_random_site_stops_when_asked():
    asked = []

    def stop(step, volume):
        asked.append(step)
        return step >= 4

    result = mcs_clock.simulate_random_site((8, 8, 8), 10, snapshots=[2, 4, 6], stop=stop)
    assert asked == [2, 4] and sorted(result.snapshots) == [2, 4]
    assert np.array_equal(result.volume, result.snapshots[4])


def test_random_site_refuses_bad_arguments():
    with pytest.raises(ValueError, match="shape must be 3 integers"):
        mcs_clock.simulate_random_site((8, 8), 2)
    with pytest.raises(ValueError, match="mcs must be an integer >= 1"):
        mcs_clock.simulate_random_site((8, 8, 8), 0)
    with pytest.raises(ValueError, match="trial_neighbors"):
        mcs_clock.simulate_random_site((8, 8, 8), 2, trial_neighbors=6)


# --------------------------------------------------------------------------- distributions


def test_spread_counts_keeps_the_mean_and_spreads_ties_evenly():
    assert mcs_clock.spread_counts(np.array([3, 1, 3])).tolist() == [2.75, 1.0, 3.25]
    counts = np.random.default_rng(0).integers(1, 6, 500)
    spread = mcs_clock.spread_counts(counts)
    assert spread.mean() == pytest.approx(counts.mean())
    assert (np.abs(spread - counts) < 0.5).all()
    assert len(np.unique(spread)) == counts.size
    with pytest.raises(ValueError, match="1D integer array"):
        mcs_clock.spread_counts(np.array([1.0, 2.0]))


def test_distributions_of_a_cube_in_a_box():
    """An 8^3 box (id 0) holding a 3^3 cube (id 1) at [2:5]^3: two 3D grains, 485 and 27
    sites; the sections at 2 and 4 along each axis cut the cube in a 3 x 3 square that
    touches only the box's grain (the box's own section grain touches the frame)."""
    volume = np.zeros((8, 8, 8), np.int32)
    volume[2:5, 2:5, 2:5] = 1
    dist = mcs_clock.normalised_distributions(volume, sections_per_axis=4)
    assert sorted(dist["volume"]) == pytest.approx([27 / 256, 485 / 256])
    assert dist["area"].size == 6 and dist["area"].mean() == pytest.approx(1.0)
    assert dist["area"] == pytest.approx((8.5 + (np.arange(6) + 0.5) / 6) / 9)
    assert dist["edges"].tolist() == [1] * 6 and dist["edges"].dtype == np.int64
    # three sections per axis (0, 2, 5) miss the cube but for the one at 2
    assert mcs_clock.normalised_distributions(volume, sections_per_axis=3)["area"].size == 3


def test_distributions_of_a_potts_volume_are_normalised():
    volume = potts.simulate((20, 20, 20), 15, seed=1, progress=False).volume
    dist = mcs_clock.normalised_distributions(volume)
    assert dist["volume"].mean() == pytest.approx(1.0)
    assert dist["area"].mean() == pytest.approx(1.0)
    assert dist["area"].size == dist["edges"].size > 50
    assert dist["volume"].size > 50
    assert (dist["edges"] >= 1).all()


def test_distributions_refuse_bad_volumes():
    with pytest.raises(ValueError, match="volume must be a 3D grain-id array"):
        mcs_clock.normalised_distributions(np.zeros((8, 8), np.int32))
    with pytest.raises(ValueError, match="volume must hold integer grain ids"):
        mcs_clock.normalised_distributions(np.zeros((8, 8, 8)))
    with pytest.raises(ValueError, match=r"sections_per_axis must be an integer in \[1, 6\]"):
        mcs_clock.normalised_distributions(np.zeros((8, 6, 8), np.int32), sections_per_axis=7)


# --------------------------------------------------------------------------- pairing, tables


def test_size_pairs_picks_the_nearest_within_tolerance():
    sweep = {10: 100.0, 20: 210.0, 40: 500.0}
    random = {10: 70.0, 13: 98.0, 15: 104.0, 27: 200.0, 30: 230.0}
    pairs = mcs_clock.size_pairs(sweep, random, tolerance=0.1)
    # 100: 98 (log 0.020) beats 104 (0.039); 210: 200 (0.048) beats 230 (0.091); 500: none
    assert pairs[["sweep MCS", "random-site MCS"]].values.tolist() == [[10, 13], [20, 27]]
    assert pairs["volume ratio"].tolist() == pytest.approx([100 / 98, 210 / 200])
    assert pairs["MCS ratio"].tolist() == pytest.approx([1.3, 1.35])
    assert pairs["sweep MCS"].dtype == np.int64
    wider = mcs_clock.size_pairs(sweep, random, tolerance=1.5)
    assert wider[["sweep MCS", "random-site MCS"]].values.tolist() == [[10, 13], [20, 27],
                                                                       [40, 30]]
    tie = mcs_clock.size_pairs({1: 1.0}, {5: 0.5, 6: 2.0}, tolerance=1.5)  # |log| equal
    assert tie["random-site MCS"].tolist() == [5]
    assert mcs_clock.size_pairs({1: 100.0}, {2: 50.0}).empty
    with pytest.raises(ValueError, match="tolerance must be a number >= 0"):
        mcs_clock.size_pairs(sweep, random, tolerance=-1)
    with pytest.raises(ValueError, match="both kernels need mean volumes"):
        mcs_clock.size_pairs(sweep, {})


def test_mcs_table_keeps_the_common_mcs():
    table = mcs_clock.mcs_table({10: 150.0, 20: 300.0, 30: 1.0}, {10: 100.0, 20: 200.0, 25: 1.0})
    assert table.index.tolist() == [10, 20]
    assert table["ratio"].tolist() == pytest.approx([1.5, 1.5])
    with pytest.raises(ValueError, match="no MCS in common"):
        mcs_clock.mcs_table({10: 1.0}, {20: 1.0})


def test_random_site_grid():
    grid = mcs_clock.random_site_grid([25, 50, 100], factor=1.05, reach=4)
    assert grid == sorted(set(grid)) and {25, 50, 100} <= set(grid)
    assert grid[0] == 25 and grid[-1] <= 4 * 100 < grid[-1] * 1.05
    assert max(b / a for a, b in zip(grid, grid[1:])) < 1.1


def test_compare_refuses_bad_snapshots():
    volume = np.zeros((8, 8, 8), np.int32)
    with pytest.raises(ValueError, match="sweep_snapshots must be a non-empty mapping"):
        mcs_clock.compare({}, {1: volume})
    with pytest.raises(ValueError, match="random_snapshots: MCS must be integers >= 1"):
        mcs_clock.compare({1: volume}, {0: volume})
    with pytest.raises(ValueError, match=r"sweep_snapshots\[1\] must be a 3D"):
        mcs_clock.compare({1: volume[0]}, {1: volume})
    with pytest.raises(ValueError, match="one lattice shape"):
        mcs_clock.compare({1: volume}, {1: np.zeros((8, 8, 9), np.int32)})


# --------------------------------------------------------------------------- the clock


def test_sweep_runs_ahead_but_grows_the_same_microstructure(runs_dir):
    """L = 32, MCS 20 and 40. Bounds chosen on seeds 0-11 of this comparison: the mean
    volume ratio at equal MCS was 1.23-1.55, the largest KS statistic at equal size 0.14
    (3D volume, about 180 grains), 0.10 (area) and 0.09 (edges); the test takes seed 0
    with margins: ratio > 1.1, every KS statistic < 0.2."""
    cfg = config.load("smoke", {"clock.size": 32, "clock.snapshots": [20, 40], "seed": 0})
    clock = mcs_clock.run(cfg)
    assert clock.by_mcs.index.tolist() == [20, 40]
    assert (clock.by_mcs["ratio"] > 1.1).all(), clock.by_mcs
    assert clock.pairs["sweep MCS"].tolist() == [20, 40]                # every one paired
    assert (clock.pairs["random-site MCS"] > clock.pairs["sweep MCS"]).all()
    assert (np.abs(np.log(clock.pairs["volume ratio"])) <= np.log1p(mcs_clock.TOLERANCE)).all()
    assert len(clock.ks) == 2 * len(mcs_clock.QUANTITIES)
    assert (clock.ks["KS statistic"] < 0.2).all(), clock.ks
    assert (clock.ks[["sweep n", "random-site n"]] > 100).all().all()


def test_run_stores_and_reuses_the_comparison(runs_dir, monkeypatch):
    cfg = config.load("smoke", {"clock.size": 16, "clock.snapshots": [5, 10]})
    first = mcs_clock.run(cfg)
    assert len(list((runs_dir / "cache").glob("mcs-clock-*.h5"))) == 1
    sweep, random = mcs_clock.simulate_both(mcs_clock.run_parameters(cfg))
    direct = mcs_clock.compare(sweep.snapshots, random.snapshots)
    pd.testing.assert_frame_equal(first.ks, direct.ks)
    pd.testing.assert_frame_equal(first.by_mcs, direct.by_mcs)

    def no_simulation(params):
        raise AssertionError("the stored comparison should have been reused")

    monkeypatch.setattr(mcs_clock, "simulate_both", no_simulation)
    again = mcs_clock.run(cfg)
    pd.testing.assert_frame_equal(again.pairs, first.pairs)
    assert again.seconds == first.seconds and set(again.seconds) == set(mcs_clock.KERNELS)
    for kernel in mcs_clock.KERNELS:
        for step, dist in first.distributions[kernel].items():
            for key, values in dist.items():
                assert np.array_equal(again.distributions[kernel][step][key], values)
    with pytest.raises(AssertionError, match="reused"):
        mcs_clock.run(config.load("smoke", {"clock.size": 16, "clock.snapshots": [6]}))
    with pytest.raises(ValueError, match="clock.snapshots is empty"):
        mcs_clock.run(config.load("smoke", {"clock.snapshots": []}))
