"""The MCS clock: the sublattice sweep of ``grainlib.simulate.potts`` against the random-site order.

The paper's protocol picks sites at random, one after another: one MCS is N = Lz*Ly*Lx
trials at sites drawn uniformly with repeats, each trial seeing every flip before it.
``grainlib.simulate.potts`` gives every site exactly one trial per MCS instead, sublattice after
sublattice. Both run the same trials (energy over 26 neighbours, the id of a random first
or second nearest neighbour offered, Metropolis at kT), but not in the same order, and
so not at the same speed: at equal MCS the sweep's grains are larger. What matters for
the simulated data is whether, at equal mean grain size, the two grow the same
microstructure; if they do, MCS is a rescaled clock and only the grain size counts
(`docs/method.md` section 2; chapter 01, "The MCS clock").

:func:`simulate_random_site` is the plain random-site kernel, serial (numba), with its
random numbers drawn by numpy's generator: its volumes are not the sweep's, only their
statistics compare. :func:`normalised_distributions` gives the three statistics compared
(3D grain volume / mean, section grain area / mean, section grain edge counts),
:func:`compare` the two tables (mean grain volume at equal MCS; KS statistics at equal
mean grain volume) and :func:`run` the notebook step, stored like ``potts.run``.

>>> result = simulate_random_site((8, 8, 8), 2, seed=1, snapshots=[1])
>>> result.volume.shape, result.volume.dtype, sorted(result.snapshots)
((8, 8, 8), dtype('int32'), [1])
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from numba import njit
from scipy import stats

from grainlib.core import grains
from grainlib.core.store import Store, fingerprint
from grainlib.simulate import _kernels, potts

# Bump when a change here changes the stored comparison for the same parameters.
CLOCK_VERSION = 1

# Pairs at equal size: the nearest random-site snapshot must have a mean grain volume
# within this relative distance of the sweep snapshot's, |log(ratio)| <= log(1 + it).
TOLERANCE = 0.1

# The random-site snapshots :func:`run` looks among for a pair: MCS on a geometric grid
# of this factor (mean volume steps of about 8 %), from the first compared MCS up to
# REACH times the last, cut short once the random-site grains outgrow the sweep's.
GRID_FACTOR = 1.05
REACH = 4

# Sections per axis of :func:`normalised_distributions` (evenly spaced over the period).
SECTIONS_PER_AXIS = 4

KERNELS = ("sweep", "random site")
QUANTITIES = ("volume / mean", "area / mean", "edges")
_KEYS = dict(zip(QUANTITIES, ("volume", "area", "edges")))

# (26, 3) offsets (dz, dy, dx): 6 first, 12 second, 8 third nearest, as the sweep's.
OFFSETS = _kernels.neighbour_offsets()


# --------------------------------------------------------------------------- the kernel


@njit(cache=True)
def random_site_mcs(volume, sites, picks, draws, offsets, boltzmann):
    """One MCS in place: a trial at each of ``sites``, in that order, serially.

    Parameters
    ----------
    volume : (Lz, Ly, Lx) int32 grain ids, periodic; written in place.
    sites : (N,) int64 flat (C-order) indices of the trial sites, N = Lz * Ly * Lx.
    picks : (N,) int64, which of ``offsets`` each trial takes its proposed id from.
    draws : (N,) float64 in [0, 1), each trial's acceptance draw.
    offsets : (26, 3) int64 neighbour offsets (:data:`OFFSETS`).
    boltzmann : (27,) float64, exp(-dE / kT) for dE = 0..26 (0 above dE = 0 at kT = 0).
    """
    lz, ly, lx = volume.shape
    for t in range(sites.shape[0]):
        z, rest = divmod(sites[t], ly * lx)
        y, x = divmod(rest, lx)
        k = picks[t]
        old = volume[z, y, x]
        new = volume[(z + offsets[k, 0]) % lz, (y + offsets[k, 1]) % ly,
                     (x + offsets[k, 2]) % lx]
        if new == old:
            continue
        de = 0  # sum over the 26 neighbours of [s == old] - [s == new]
        for j in range(26):
            s = volume[(z + offsets[j, 0]) % lz, (y + offsets[j, 1]) % ly,
                       (x + offsets[j, 2]) % lx]
            de += int(s == old) - int(s == new)
        if de <= 0 or draws[t] < boltzmann[de]:
            volume[z, y, x] = new


def simulate_random_site(shape, mcs, *, kT=0.5, seed=0, trial_neighbors=18, snapshots=(),
                         stop: Callable[[int, np.ndarray], bool] | None = None
                         ) -> potts.PottsResult:
    """Grow grains from a lattice where every site is its own grain, in the random-site
    order of the paper's protocol (:func:`random_site_mcs`).

    Parameters
    ----------
    shape, mcs, kT, seed, trial_neighbors, snapshots : as in
        :func:`grainlib.simulate.potts.simulate`.
        The random numbers come from ``numpy.random.default_rng(seed)``: a seed gives one
        volume, not the sweep's.
    stop : None, or a function ``(mcs, volume) -> bool`` asked after each snapshot; True
        ends the run there, before ``mcs``.

    Returns
    -------
    PottsResult with ``volume`` (Lz, Ly, Lx) int32 after the last MCS run, ``snapshots``
    {mcs: int32 copy} and ``seconds``. Grain ids are starting site indices, as the sweep's.
    """
    shape, mcs, kT, seed, trial_neighbors, keep = potts.check_arguments(
        shape, mcs, kT, seed, trial_neighbors, snapshots)
    start = time.perf_counter()
    n_sites = shape[0] * shape[1] * shape[2]
    volume = np.arange(n_sites, dtype=np.int32).reshape(shape)
    boltzmann = np.array([1.0] + [math.exp(-de / kT) if kT > 0 else 0.0
                                  for de in range(1, 27)])
    rng = np.random.default_rng(seed)
    kept = {}
    for step in range(1, mcs + 1):
        random_site_mcs(volume, rng.integers(0, n_sites, n_sites),
                        rng.integers(0, trial_neighbors, n_sites), rng.random(n_sites),
                        OFFSETS, boltzmann)
        if step in keep:
            kept[step] = volume.copy()
            if stop is not None and stop(step, volume):
                break
    return potts.PottsResult(volume=volume, snapshots=kept,
                             seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- statistics


def spread_counts(counts) -> np.ndarray:
    """Whole counts (sites, pixels) read as values spread evenly over the unit interval
    each rounds from: the c entries equal to n become n - 1/2 + (i + 1/2) / c, i < c, in
    their order. The mean is unchanged.

    Why: divided by their means, two samples of small whole counts put their steps at
    slightly different places (a grain of 1 px is 1 / mean), and a KS statistic reads
    the offset steps as a difference of distributions; spread, they compare as the
    continuous quantities they approximate.

    Parameters
    ----------
    counts : (N,) integer array.

    Returns
    -------
    (N,) float64.

    >>> spread_counts(np.array([3, 1, 3])).tolist()
    [2.75, 1.0, 3.25]
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"counts must be a 1D integer array, got shape {counts.shape} and "
                         f"dtype {counts.dtype}")
    order = np.argsort(counts, kind="stable")
    ranked = counts[order]
    first = np.searchsorted(ranked, ranked, side="left")
    tied = np.searchsorted(ranked, ranked, side="right") - first
    spread = np.empty(counts.size, np.float64)
    spread[order] = ranked - 0.5 + (np.arange(counts.size) - first + 0.5) / tied
    return spread


def normalised_distributions(volume, sections_per_axis: int = SECTIONS_PER_AXIS) -> dict:
    """The three grain statistics that :func:`compare` puts side by side.

    Parameters
    ----------
    volume : (Lz, Ly, Lx) integer grain ids, periodic.
    sections_per_axis : sections taken along each axis, at indices ``i * L // n`` (evenly
        spaced over the periodic box), 1 to the shortest side.

    Returns
    -------
    dict of 1D arrays:

    - ``volume`` (G,) float64: each periodic 3D grain's volume over their mean
      (:func:`grainlib.core.grains.grains_3d`, 26-connected; mean 1);
    - ``area`` (A,) float64: each section grain's area over their mean, pooled over the
      ``3 * sections_per_axis`` sections; grains cut by a section's frame are left out,
      as :func:`grainlib.core.grains.grain_areas` does (mean 1; empty when none is left);
    - ``edges`` (A,) int64: the number of grains each of those section grains touches
      (:func:`grainlib.core.grains.edge_counts`), in the same order.

    Volumes and areas are whole counts, read as spread over the unit interval each
    rounds from (:func:`spread_counts`) before they are divided by their mean.
    """
    volume = grains.check_labels(volume, 3, "volume")
    if (not potts.is_int(sections_per_axis)
            or not 1 <= sections_per_axis <= min(volume.shape)):
        raise ValueError(f"sections_per_axis must be an integer in [1, {min(volume.shape)}] "
                         f"(the shortest side of the volume), got {sections_per_axis!r}")
    sizes = spread_counts(np.bincount(grains.grains_3d(volume).ravel()))
    areas, edges = [], []
    for axis, length in enumerate(volume.shape):
        for index in np.arange(sections_per_axis) * length // sections_per_axis:
            ids = grains.section(volume, axis, int(index))
            areas.append(grains.grain_areas(ids))
            edges.append(grains.edge_counts(ids))
    areas = spread_counts(np.concatenate(areas))
    return {"volume": sizes / sizes.mean(),
            "area": areas / areas.mean() if areas.size else areas,
            "edges": np.concatenate(edges).astype(np.int64)}


def _check_snapshots(snapshots, name) -> dict[int, np.ndarray]:
    if not isinstance(snapshots, Mapping) or not snapshots:
        raise ValueError(f"{name} must be a non-empty mapping {{MCS: (Lz, Ly, Lx) grain "
                         f"ids}}, got {snapshots!r:.80}")
    checked = {}
    for step, volume in snapshots.items():
        if not potts.is_int(step) or step < 1:
            raise ValueError(f"{name}: MCS must be integers >= 1, got {step!r}")
        checked[int(step)] = grains.check_labels(volume, 3, f"{name}[{step}]")
    return dict(sorted(checked.items()))


def mean_volumes(snapshots) -> dict[int, float]:
    """{MCS: mean 3D grain volume in sites} of {MCS: (Lz, Ly, Lx) integer grain ids}
    (:func:`grainlib.core.grains.mean_grain_volume`, periodic)."""
    snapshots = _check_snapshots(snapshots, "snapshots")
    return {step: grains.mean_grain_volume(volume) for step, volume in snapshots.items()}


def mcs_table(sweep_means: Mapping[int, float], random_means: Mapping[int, float]
              ) -> pd.DataFrame:
    """Mean grain volume at equal MCS.

    Parameters
    ----------
    sweep_means, random_means : {MCS: mean 3D grain volume} of each kernel.

    Returns
    -------
    DataFrame indexed by ``MCS`` (those of both, increasing) with columns ``sweep``,
    ``random site`` (mean grain volume, sites) and ``ratio`` (sweep / random site).
    """
    steps = sorted(set(sweep_means) & set(random_means))
    if not steps:
        raise ValueError(f"no MCS in common: the sweep has {sorted(sweep_means)}, the "
                         f"random-site kernel {sorted(random_means)}")
    table = pd.DataFrame({"MCS": steps, "sweep": [float(sweep_means[s]) for s in steps],
                          "random site": [float(random_means[s]) for s in steps]})
    table["ratio"] = table["sweep"] / table["random site"]
    return table.set_index("MCS")


def size_pairs(sweep_means: Mapping[int, float], random_means: Mapping[int, float],
               tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Pairs at equal mean grain size: for each sweep snapshot, the random-site snapshot
    whose mean grain volume is nearest (in log ratio; the earlier on a tie), kept when
    within ``tolerance``.

    Parameters
    ----------
    sweep_means, random_means : {MCS: mean 3D grain volume} of each kernel.
    tolerance : float >= 0, the largest relative distance kept: |log(ratio)| <=
        log(1 + tolerance).

    Returns
    -------
    DataFrame, one row per pair kept, by increasing sweep MCS: ``sweep MCS``,
    ``random-site MCS`` (int64), ``MCS ratio`` (random site / sweep: how many random-site
    MCS make one sweep MCS at that size), ``sweep``, ``random site`` (mean grain volumes)
    and ``volume ratio`` (sweep / random site).
    """
    if not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0, got {tolerance!r}")
    if not sweep_means or not random_means:
        raise ValueError(f"both kernels need mean volumes: the sweep has "
                         f"{len(sweep_means)} MCS, the random-site kernel {len(random_means)}")
    candidates = sorted(random_means)
    logs = np.log([random_means[s] for s in candidates])
    rows = []
    for step in sorted(sweep_means):
        nearest = int(np.argmin(np.abs(logs - math.log(sweep_means[step]))))
        match = candidates[nearest]
        ratio = sweep_means[step] / random_means[match]
        if abs(math.log(ratio)) <= math.log1p(tolerance):
            rows.append({"sweep MCS": step, "random-site MCS": match, "MCS ratio": match / step,
                         "sweep": float(sweep_means[step]),
                         "random site": float(random_means[match]), "volume ratio": ratio})
    columns = ["sweep MCS", "random-site MCS", "MCS ratio", "sweep", "random site",
               "volume ratio"]
    return pd.DataFrame(rows, columns=columns).astype({"sweep MCS": np.int64,
                                                       "random-site MCS": np.int64})


def ks_table(pairs: pd.DataFrame, sweep_distributions: Mapping[int, dict],
             random_distributions: Mapping[int, dict]) -> pd.DataFrame:
    """Two-sample Kolmogorov-Smirnov tests (:func:`scipy.stats.ks_2samp`) of the three
    normalised distributions at each pair.

    Parameters
    ----------
    pairs : from :func:`size_pairs`.
    sweep_distributions, random_distributions : {MCS: :func:`normalised_distributions`}
        holding at least the MCS of ``pairs``.

    Returns
    -------
    DataFrame indexed by (``sweep MCS``, ``random-site MCS``, ``quantity``), quantity one
    of :data:`QUANTITIES`, with columns ``KS statistic``, ``p-value``, ``sweep n`` and
    ``random-site n`` (sample sizes: 3D grains, or section grains). The p-values take
    the samples as independent; grains of one volume are not quite, so they read as a
    guide. A pair with an empty sample gets NaN.
    """
    rows = []
    for sweep_mcs, random_mcs in zip(pairs["sweep MCS"], pairs["random-site MCS"]):
        a, b = sweep_distributions[sweep_mcs], random_distributions[random_mcs]
        for quantity in QUANTITIES:
            x, y = a[_KEYS[quantity]], b[_KEYS[quantity]]
            test = stats.ks_2samp(x, y) if len(x) and len(y) else None
            rows.append({"sweep MCS": sweep_mcs, "random-site MCS": random_mcs,
                         "quantity": quantity,
                         "KS statistic": test.statistic if test else np.nan,
                         "p-value": test.pvalue if test else np.nan,
                         "sweep n": len(x), "random-site n": len(y)})
    columns = ["sweep MCS", "random-site MCS", "quantity", "KS statistic", "p-value",
               "sweep n", "random-site n"]
    return pd.DataFrame(rows, columns=columns).set_index(columns[:3])


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """The outcome of :func:`compare` (and :func:`run`).

    Attributes
    ----------
    by_mcs : :func:`mcs_table`, mean grain volume at equal MCS.
    pairs : :func:`size_pairs`, the snapshots paired at equal mean grain volume.
    ks : :func:`ks_table` of those pairs.
    means : {kernel: {MCS: mean 3D grain volume}} of every snapshot, kernel one of
        :data:`KERNELS` ("sweep", "random site").
    distributions : {kernel: {MCS: :func:`normalised_distributions`}} of the paired
        snapshots.
    seconds : {kernel: wall time of its simulation} (empty when snapshots were given).
    """

    by_mcs: pd.DataFrame
    pairs: pd.DataFrame
    ks: pd.DataFrame
    means: dict
    distributions: dict
    seconds: dict = field(default_factory=dict)


def _assemble(means, distributions, tolerance, seconds=None) -> Comparison:
    """The tables of a :class:`Comparison` from its means and distributions."""
    sweep, random = (means[k] for k in KERNELS)
    pairs = size_pairs(sweep, random, tolerance)
    return Comparison(by_mcs=mcs_table(sweep, random), pairs=pairs,
                      ks=ks_table(pairs, *(distributions[k] for k in KERNELS)),
                      means=means, distributions=distributions, seconds=dict(seconds or {}))


def compare(sweep_snapshots, random_snapshots, tolerance: float = TOLERANCE,
            sections_per_axis: int = SECTIONS_PER_AXIS) -> Comparison:
    """The sweep's MCS clock against the random-site order's.

    Parameters
    ----------
    sweep_snapshots, random_snapshots : {MCS: (Lz, Ly, Lx) integer grain ids} of each
        kernel, one lattice shape for all. The MCS both have give the equal-MCS table;
        every random-site snapshot is a candidate partner at equal size.
    tolerance : see :func:`size_pairs`.
    sections_per_axis : see :func:`normalised_distributions`.

    Returns
    -------
    :class:`Comparison`.
    """
    sweep_snapshots = _check_snapshots(sweep_snapshots, "sweep_snapshots")
    random_snapshots = _check_snapshots(random_snapshots, "random_snapshots")
    shapes = {v.shape for v in (*sweep_snapshots.values(), *random_snapshots.values())}
    if len(shapes) > 1:
        raise ValueError(f"every snapshot must have one lattice shape, got {sorted(shapes)}")
    means = {"sweep": mean_volumes(sweep_snapshots),
             "random site": mean_volumes(random_snapshots)}
    pairs = size_pairs(means["sweep"], means["random site"], tolerance)
    distributions = {
        "sweep": {int(s): normalised_distributions(sweep_snapshots[s], sections_per_axis)
                  for s in pairs["sweep MCS"]},
        "random site": {int(s): normalised_distributions(random_snapshots[s], sections_per_axis)
                        for s in pairs["random-site MCS"]}}
    return _assemble(means, distributions, tolerance)


# --------------------------------------------------------------------------- notebook step


def random_site_grid(steps, factor: float = GRID_FACTOR, reach: float = REACH) -> list[int]:
    """The MCS of the random-site snapshots :func:`run` keeps: ``steps`` and a geometric
    grid of ``factor`` from the first of them to ``reach`` times the last.

    >>> random_site_grid([10, 30], factor=2, reach=2)
    [10, 20, 30, 40]
    """
    first, last = min(steps), max(steps)
    count = int(math.floor(math.log(reach * last / first) / math.log(factor))) + 1
    grid = {int(round(first * factor**i)) for i in range(count)}
    return sorted(grid | {int(s) for s in steps})


def run_parameters(cfg) -> dict:
    """What :func:`run`'s stored comparison depends on (its fingerprint names the file):
    ``cfg["clock"]`` (size, snapshots), the Potts ``kT`` and ``trial_neighbors``, the
    seed, and this module's settings and versions."""
    clock, potts_cfg = cfg["clock"], cfg["potts"]
    return {"version": CLOCK_VERSION, "kernel_version": potts.KERNEL_VERSION,
            "size": int(clock["size"]), "snapshots": sorted({int(s) for s in clock["snapshots"]}),
            "kT": float(potts_cfg["kT"]), "trial_neighbors": int(potts_cfg["trial_neighbors"]),
            "seed": int(cfg["seed"]), "tolerance": TOLERANCE, "grid_factor": GRID_FACTOR,
            "reach": REACH, "sections_per_axis": SECTIONS_PER_AXIS}


def simulate_both(params) -> tuple[potts.PottsResult, potts.PottsResult]:
    """The sweep at the compared MCS, and the random-site kernel on its grid
    (:func:`random_site_grid`) until its mean grain volume passes the sweep's last."""
    shape, steps = (params["size"],) * 3, params["snapshots"]
    physics = {"kT": params["kT"], "seed": params["seed"],
               "trial_neighbors": params["trial_neighbors"]}
    sweep = potts.simulate(shape, max(steps), snapshots=steps, progress=False, **physics)
    target = max(mean_volumes(sweep.snapshots).values())

    def outgrown(step, volume):
        return step >= max(steps) and grains.mean_grain_volume(volume) > target

    grid = random_site_grid(steps, params["grid_factor"], params["reach"])
    random = simulate_random_site(shape, grid[-1], snapshots=grid, stop=outgrown, **physics)
    return sweep, random


def run(cfg) -> Comparison:
    """The notebook step: simulate both kernels at ``cfg["clock"]`` and compare them, or
    reuse the stored comparison.

    Parameters
    ----------
    cfg : a profile from :func:`grainlib.core.config.load`; reads ``cfg["clock"]`` (size: the
        lattice edge L of both L^3 volumes; snapshots: the MCS compared), the Potts
        ``kT`` and ``trial_neighbors``, ``cfg["seed"]`` and ``cfg["cache_dir"]``.

    Returns
    -------
    :class:`Comparison`, read back from ``<cache_dir>/mcs-clock-<fingerprint>.h5``
    (:func:`run_parameters`), which holds per kernel (groups ``sweep``, ``random site``)
    the mean grain volume of every snapshot (``mcs`` int64, ``mean_volume`` float64),
    the distributions of the paired snapshots (one group per MCS) and ``seconds``; the
    tables are rebuilt from them. The same parameters give the same comparison.
    """
    params = run_parameters(cfg)
    if not params["snapshots"]:
        raise ValueError("clock.snapshots is empty: give the MCS to compare")

    def compute():
        results = dict(zip(KERNELS, simulate_both(params)))
        comparison = compare(*(results[k].snapshots for k in KERNELS), params["tolerance"],
                             params["sections_per_axis"])
        return {kernel: {"mcs": np.array(list(comparison.means[kernel]), np.int64),
                         "mean_volume": np.array(list(comparison.means[kernel].values())),
                         "distributions": {str(s): d for s, d in
                                           comparison.distributions[kernel].items()},
                         "seconds": results[kernel].seconds}
                for kernel in KERNELS}

    stored = Store(cfg["cache_dir"]).cached(f"mcs-clock-{fingerprint(params)}", params, compute)
    means = {k: dict(zip(stored[k]["mcs"].tolist(), stored[k]["mean_volume"].tolist()))
             for k in KERNELS}
    distributions = {k: {int(s): {q: np.asarray(v) for q, v in d.items()}
                         for s, d in stored[k].get("distributions", {}).items()}
                     for k in KERNELS}
    return _assemble(means, distributions, params["tolerance"],
                     {k: float(stored[k]["seconds"]) for k in KERNELS})
