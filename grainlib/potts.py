"""3D Monte Carlo Potts normal grain growth (`docs/method.md` section 2).

The model of Anderson, Srolovitz, Grest & Sahni (Acta Metall. 32, 783, 1984): every site
of a simple cubic lattice, periodic in all three directions, holds a grain id. The energy
counts unlike neighbour pairs over the 26-neighbourhood (6 first, 12 second, 8 third
nearest),

    E = J * sum over unordered neighbour pairs (i, j) of (1 - delta(S_i, S_j)),

and a trial at a site proposes the id of a random first or second nearest neighbour
(18; or all 26), accepted with probability 1 if dE <= 0 else exp(-dE / kT). A trial whose
proposal equals the current id changes nothing and is skipped before any energy is
computed: inside grains almost every trial ends there, which is where the speed comes from.

Parallel sweeps. Within one Monte Carlo step (MCS) every site gets exactly one trial,
sublattice after sublattice: a site is coloured by the parity of each coordinate (8
sublattices), and along an axis of odd length the last plane, which wraps onto plane 0,
gets a third colour (up to 27 sublattices). No two sites of one sublattice are neighbours,
so a sublattice is updated in parallel with the same result as any serial order. This is
the sublattice-sweep variant of the paper's random site pick, as used by parallel Potts
codes (e.g. SPPARKS' sweep mode; Plimpton et al., Sandia report SAND2009-6226).

Random numbers come from a counter-based generator: a splitmix64 mix (Steele, Lea & Flood,
OOPSLA 2014) of (seed, MCS, site index) gives the neighbour choice (low 32 bits) and the
acceptance draw (high 32 bits). There is no shared generator state, so a seed gives the
same volume whatever the number of threads.

Memory: the int32 volume (4 bytes a site) plus small per-axis wrapped-index tables.

>>> result = simulate((16, 16, 16), 5, seed=1, progress=False)
>>> result.volume.shape, result.volume.dtype
((16, 16, 16), dtype('int32'))
"""

from __future__ import annotations

import itertools
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
from numba import njit, prange
from tqdm.auto import tqdm

# Bump when a change to the kernel changes its output for the same parameters: the
# stored artifact of an older kernel is then recomputed.
KERNEL_VERSION = 1

_TRIAL_CHOICES = (18, 26)


def _neighbour_offsets() -> np.ndarray:
    """(26, 3) int64 offsets (dz, dy, dx): 6 first, 12 second, 8 third nearest."""
    offsets = [d for d in itertools.product((-1, 0, 1), repeat=3) if any(d)]
    offsets.sort(key=lambda d: sum(map(abs, d)))  # stable: shells in lexicographic order
    return np.array(offsets, dtype=np.int64)


# Columns 0..2 of the wrapped-index tables hold the coordinate - 1, itself, + 1, so an
# offset d is looked up in column d + 1.
_TRIAL_COLUMNS = _neighbour_offsets() + 1

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S27, _S31, _S30, _S32 = np.uint64(27), np.uint64(31), np.uint64(30), np.uint64(32)


@dataclass
class PottsResult:
    """The outcome of :func:`simulate`.

    Attributes
    ----------
    volume : (Lz, Ly, Lx) int32 grain ids after the last MCS.
    snapshots : {mcs: (Lz, Ly, Lx) int32 copy of the volume after that MCS}.
    seconds : wall time of the simulation (NaN when unknown, e.g. read from an older file).
    """

    volume: np.ndarray
    snapshots: dict = field(default_factory=dict)
    seconds: float = float("nan")


# --------------------------------------------------------------------------- kernels


@njit(cache=True, inline="always")
def _mix64(x):
    """splitmix64 finaliser: a bijective 64-bit mix (uint64 -> uint64)."""
    x = (x ^ (x >> _S30)) * _MIX1
    x = (x ^ (x >> _S27)) * _MIX2
    return x ^ (x >> _S31)


@njit(cache=True)
def _step_key(seed, step):
    """The uint64 key of one MCS: mixes the seed and the step index (both uint64)."""
    return _mix64(_mix64(seed * _GOLDEN + _GOLDEN) + (step + np.uint64(1)) * _GOLDEN)


@njit(cache=True, inline="always")
def _site_delta(flat, z_rows, y_rows, x_cols, z, y, x, old, new):
    """Energy change (in J) of site (z, y, x) going from id ``old`` to ``new`` != old.

    Sums delta(old, n) - delta(new, n) over the 27 sites of the 3x3x3 block; the centre
    holds ``old`` and adds exactly 1, which is taken off at the end. A site seen twice
    through the periodic wrap (a side of length 2) counts twice, as in :func:`energy`.
    """
    de = 0
    for a in range(3):
        za = z_rows[z, a]
        for b in range(3):
            zy = za + y_rows[y, b]
            for c in range(3):
                s = flat[zy + x_cols[x, c]]
                de += np.int64(s == old) - np.int64(s == new)
    return de - 1


@njit(parallel=True, cache=True)
def _sweep(flat, z_rows, y_rows, x_cols, colours, trial_columns, n_trial, thresholds, key):
    """One MCS in place: every site one trial, sublattice after sublattice.

    flat : (Lz*Ly*Lx,) int32 volume, C order. z_rows (Lz, 3), y_rows (Ly, 3), x_cols
    (Lx, 3) int64: flat offsets of plane z-1, z, z+1 / row y-1, y, y+1 / column x-1, x,
    x+1 with periodic wrap. colours (n, 6) int64: per sublattice (z0, nz, y0, ny, x0, nx),
    its coordinates being z0 + 2 i for i < nz (same for y, x). trial_columns (26, 3):
    table columns of the neighbour offsets; the first ``n_trial`` are the trial
    neighbours. thresholds (27,) uint64: accept dE > 0 when the high 32 random bits are
    below thresholds[dE] (= exp(-dE/kT) * 2**32). key: uint64 of this MCS.
    """
    n_pick = np.uint64(n_trial)
    for colour in range(colours.shape[0]):
        z0, nz = colours[colour, 0], colours[colour, 1]
        y0, ny = colours[colour, 2], colours[colour, 3]
        x0, nx = colours[colour, 4], colours[colour, 5]
        # Rows of one sublattice do not interact: any order, any thread, same result.
        for row in prange(nz * ny):
            z = z0 + 2 * (row // ny)
            y = y0 + 2 * (row % ny)
            row_start = z_rows[z, 1] + y_rows[y, 1]
            for i in range(nx):
                x = x0 + 2 * i
                site = row_start + x
                h = _mix64(key + np.uint64(site) * _GOLDEN)
                k = ((h & _LOW32) * n_pick) >> _S32
                old = flat[site]
                new = flat[z_rows[z, trial_columns[k, 0]] + y_rows[y, trial_columns[k, 1]]
                           + x_cols[x, trial_columns[k, 2]]]
                if new == old:
                    continue
                de = _site_delta(flat, z_rows, y_rows, x_cols, z, y, x, old, new)
                if de <= 0 or (h >> _S32) < thresholds[de]:
                    flat[site] = new


@njit(cache=True)
def _delta_energy_at(flat, z_rows, y_rows, x_cols, z, y, x, new):
    old = flat[z_rows[z, 1] + y_rows[y, 1] + x_cols[x, 1]]
    if new == old:
        return 0
    return _site_delta(flat, z_rows, y_rows, x_cols, z, y, x, old, new)


# --------------------------------------------------------------------------- helpers


def _wrapped_tables(shape):
    """Per-axis (L, 3) int64 flat offsets of coordinate - 1, itself, + 1 (periodic)."""
    lz, ly, lx = shape
    tables = []
    for length, stride in ((lz, ly * lx), (ly, lx), (lx, 1)):
        coords = np.arange(length)[:, None] + np.array([-1, 0, 1])[None, :]
        tables.append(np.ascontiguousarray((coords % length) * stride, dtype=np.int64))
    return tables


def _axis_colours(length):
    """(start, count) of each colour along one axis: even / odd coordinates, and for an
    odd length its last plane alone (it neighbours both plane 0 and plane length - 2)."""
    paired = length - length % 2
    colours = [(0, paired // 2), (1, paired // 2)]
    if length % 2:
        colours.append((length - 1, 1))
    return colours


def sublattices(shape) -> np.ndarray:
    """The sublattices of the parallel sweep, in sweep order.

    Parameters
    ----------
    shape : (Lz, Ly, Lx) ints >= 2.

    Returns
    -------
    (n, 6) int64 array, one row (z0, nz, y0, ny, x0, nx) per sublattice: its sites are
    (z0 + 2 i, y0 + 2 j, x0 + 2 k) for i < nz, j < ny, k < nx. n = 8 for even sides,
    up to 27 when all sides are odd. Together they cover every site exactly once.
    """
    shape = _check_shape(shape)
    rows = [(z0, nz, y0, ny, x0, nx)
            for (z0, nz), (y0, ny), (x0, nx) in itertools.product(*map(_axis_colours, shape))]
    return np.array(rows, dtype=np.int64)


def _acceptance_thresholds(kT):
    """(27,) uint64: floor(exp(-dE / kT) * 2**32) for dE = 0..26; all 0 above dE 0 at kT = 0."""
    thresholds = np.zeros(27, dtype=np.uint64)
    thresholds[0] = 1 << 32
    if kT > 0:
        for de in range(1, 27):
            thresholds[de] = min(int(math.exp(-de / kT) * 2.0**32), (1 << 32) - 1)
    return thresholds


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_shape(shape):
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or len(dims) != 3 or not all(_is_int(d) and d >= 2 for d in dims):
        raise ValueError(f"shape must be 3 integers >= 2 (Lz, Ly, Lx), got {shape!r}")
    return tuple(int(d) for d in dims)


def _check_arguments(shape, mcs, kT, seed, trial_neighbors, snapshots):
    shape = _check_shape(shape)
    if not _is_int(mcs) or mcs < 1:
        raise ValueError(f"mcs must be an integer >= 1, got {mcs!r}")
    if (not isinstance(kT, numbers.Real) or isinstance(kT, (bool, np.bool_))
            or not math.isfinite(kT) or kT < 0):
        raise ValueError(f"kT must be a finite number >= 0 (units of J), got {kT!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not _is_int(trial_neighbors) or trial_neighbors not in _TRIAL_CHOICES:
        raise ValueError(f"trial_neighbors must be 18 or 26, got {trial_neighbors!r}")
    try:
        steps = list(snapshots)
    except TypeError:
        raise ValueError(f"snapshots must be a list of MCS, got {snapshots!r}") from None
    for step in steps:
        if not _is_int(step) or not 1 <= step <= mcs:
            raise ValueError(f"snapshots must be integers in [1, mcs={mcs}], got {step!r} "
                             f"in {snapshots!r}")
    return shape, int(mcs), float(kT), int(seed), int(trial_neighbors), sorted(set(map(int, steps)))


def _check_volume(volume):
    volume = np.asarray(volume)
    if volume.ndim != 3 or min(volume.shape) < 2:
        raise ValueError(f"volume must be a 3D array with every side >= 2, got shape "
                         f"{volume.shape}")
    if not np.issubdtype(volume.dtype, np.integer):
        raise ValueError(f"volume must hold integer grain ids, got dtype {volume.dtype}")
    return volume


# --------------------------------------------------------------------------- public API


def simulate(shape, mcs, *, kT=0.5, seed=0, trial_neighbors=18, snapshots=(),
             progress=True) -> PottsResult:
    """Grow grains from a lattice where every site is its own grain.

    Parameters
    ----------
    shape : (Lz, Ly, Lx) ints >= 2; any sizes, odd included; periodic in all directions.
    mcs : int >= 1, Monte Carlo steps; one MCS = Lz * Ly * Lx trials, one per site.
    kT : float >= 0, temperature in units of J; 0 never accepts dE > 0.
    seed : int >= 0. The same seed gives the same volume for any number of threads.
    trial_neighbors : 18 (first and second nearest, the paper) or 26 (all).
    snapshots : MCS values in [1, mcs] after which a copy of the volume is kept.
    progress : show a tqdm bar, one tick per MCS.

    Returns
    -------
    PottsResult with ``volume`` (Lz, Ly, Lx) int32 and ``snapshots`` {mcs: int32 copy}.
    Grain ids are the starting site indices 0 .. Lz*Ly*Lx - 1 of the survivors.
    """
    shape, mcs, kT, seed, trial_neighbors, keep = _check_arguments(
        shape, mcs, kT, seed, trial_neighbors, snapshots)
    n_sites = shape[0] * shape[1] * shape[2]
    if n_sites > np.iinfo(np.int32).max:
        raise ValueError(f"shape {shape} has {n_sites} sites, more than int32 grain ids hold")
    volume = np.arange(n_sites, dtype=np.int32).reshape(shape)
    flat = volume.reshape(-1)  # a view: the kernel writes into ``volume``
    z_rows, y_rows, x_cols = _wrapped_tables(shape)
    colours = sublattices(shape)
    thresholds = _acceptance_thresholds(kT)
    seed_u64 = np.uint64(seed % (1 << 64))
    kept = {}
    for step in tqdm(range(1, mcs + 1), total=mcs, disable=not progress, desc="Potts MCS",
                     unit="MCS"):
        key = np.uint64(_step_key(seed_u64, np.uint64(step)))
        _sweep(flat, z_rows, y_rows, x_cols, colours, _TRIAL_COLUMNS, trial_neighbors,
               thresholds, key)
        if step in keep:
            kept[step] = volume.copy()
    return PottsResult(volume=volume, snapshots=kept)


def delta_energy(volume, z, y, x, new_id) -> int:
    """Energy change (in J) if site (z, y, x) took grain id ``new_id``: the kernel's own
    single-site computation, over the 26 periodic neighbours.

    Parameters
    ----------
    volume : (Lz, Ly, Lx) int32 grain ids (other integer dtypes are converted).
    z, y, x : int coordinates in range (negative values count from the end).
    new_id : int, the proposed grain id.

    Returns
    -------
    int : E(after) - E(before), 0 when ``new_id`` is the current id.
    """
    volume = _check_volume(volume)
    coords = []
    for name, value, length in (("z", z, volume.shape[0]), ("y", y, volume.shape[1]),
                                ("x", x, volume.shape[2])):
        if not _is_int(value) or not -length <= value < length:
            raise ValueError(f"{name} must be an integer in [-{length}, {length}), got {value!r}")
        coords.append(int(value) % length)
    if not _is_int(new_id):
        raise ValueError(f"new_id must be an integer grain id, got {new_id!r}")
    flat = np.ascontiguousarray(volume, dtype=np.int32).reshape(-1)
    z_rows, y_rows, x_cols = _wrapped_tables(volume.shape)
    return int(_delta_energy_at(flat, z_rows, y_rows, x_cols, *coords, np.int32(new_id)))


def energy(volume) -> int:
    """Total boundary energy (in J): unlike pairs over the 26-neighbourhood, each pair once.

    Parameters
    ----------
    volume : (Lz, Ly, Lx) integer grain ids, periodic in all directions.

    Returns
    -------
    int : the number of (site, offset) pairs with different ids, over the 13 offsets of
    one half of the 26-neighbourhood, i.e. every unordered neighbour pair counted once.
    """
    volume = _check_volume(volume)
    total = 0
    for offset in _neighbour_offsets():
        if tuple(-offset) > tuple(offset):  # keep one of each +-offset pair
            continue
        shifted = np.roll(volume, tuple(offset), axis=(0, 1, 2))
        total += int(np.count_nonzero(volume != shifted))
    return total


def snapshot_steps(requested, mcs) -> tuple[list[int], list[int]]:
    """Which requested snapshots a run of ``mcs`` steps reaches.

    A profile's snapshot list is written for its own ``mcs``; a shorter run (``mcs``
    lowered in a notebook or an override) keeps the snapshots it reaches and drops the
    rest, and always ends with a snapshot at ``mcs`` itself, so that any ``mcs`` works
    with any profile.

    Parameters
    ----------
    requested : iterable of ints >= 1, the snapshot MCS asked for (any order, repeats
        allowed).
    mcs : int >= 1, the number of Monte Carlo steps of the run.

    Returns
    -------
    kept : sorted unique MCS in [1, mcs], ending with ``mcs``.
    dropped : sorted unique requested MCS above ``mcs``.

    >>> snapshot_steps([10, 20, 50, 100, 200, 500, 1000], 300)
    ([10, 20, 50, 100, 200, 300], [500, 1000])
    """
    if not _is_int(mcs) or mcs < 1:
        raise ValueError(f"mcs must be an integer >= 1, got {mcs!r}")
    steps = set()
    for step in requested:
        if not _is_int(step) or step < 1:
            raise ValueError(f"snapshots must be integers >= 1, got {step!r} in {requested!r}")
        steps.add(int(step))
    kept = sorted({s for s in steps if s <= mcs} | {int(mcs)})
    dropped = sorted(s for s in steps if s > mcs)
    return kept, dropped


def run_parameters(cfg) -> dict:
    """What a profile's Potts volume depends on: the parameters of :func:`run`'s stored
    artifact, whose fingerprint names its file.

    ``snapshots`` holds the requested MCS that the run reaches (:func:`snapshot_steps`)
    without adding ``mcs``: the final volume is stored anyway, and a snapshot list that
    was already valid keeps its fingerprint, so volumes stored before stay in use.
    """
    potts = cfg["potts"]
    mcs = int(potts["mcs"])
    kept, _ = snapshot_steps(potts["snapshots"], mcs)
    requested = {int(s) for s in potts["snapshots"]}
    return {
        "version": KERNEL_VERSION,
        "shape": [int(d) for d in potts["shape"]],
        "mcs": mcs,
        "snapshots": [s for s in kept if s in requested],
        "kT": float(potts["kT"]),
        "trial_neighbors": int(potts["trial_neighbors"]),
        "seed": int(cfg["seed"]),
    }


def run(cfg, progress=True) -> PottsResult:
    """The notebook step: simulate the profile's Potts volume, or reuse the stored one.

    Parameters
    ----------
    cfg : a profile from :func:`grainlib.config.load`; reads ``cfg["potts"]`` (shape,
        mcs, snapshots, kT, trial_neighbors), ``cfg["seed"]`` and ``cfg["cache_dir"]``.
    progress : show a progress bar while simulating.

    Returns
    -------
    PottsResult, read back from ``<cache_dir>/potts-<fingerprint>.h5`` (dataset
    ``volume``, group ``snapshots`` with one dataset per MCS). The file name carries the
    fingerprint of :func:`run_parameters`, so every profile with the same Potts
    parameters shares one volume, and any change computes a new one.

    Its ``snapshots`` follow :func:`snapshot_steps`: requested MCS beyond ``mcs`` are
    dropped, and the final volume is always the snapshot at ``mcs`` (the same array as
    ``volume`` when ``mcs`` was not requested).
    """
    from grainlib.store import Store, fingerprint

    params = run_parameters(cfg)

    def compute():
        start = time.perf_counter()
        result = simulate(params["shape"], params["mcs"], kT=params["kT"], seed=params["seed"],
                          trial_neighbors=params["trial_neighbors"],
                          snapshots=params["snapshots"], progress=progress)
        return {"volume": result.volume, "seconds": time.perf_counter() - start,
                "snapshots": {str(step): vol for step, vol in result.snapshots.items()}}

    stored = Store(cfg["cache_dir"]).cached(f"potts-{fingerprint(params)}", params, compute)
    volume = np.asarray(stored["volume"], dtype=np.int32)
    snapshots = {int(step): np.asarray(vol, dtype=np.int32)
                 for step, vol in stored.get("snapshots", {}).items()}
    snapshots.setdefault(params["mcs"], volume)
    return PottsResult(volume=volume, snapshots=dict(sorted(snapshots.items())),
                       seconds=float(stored.get("seconds", float("nan"))))
