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
codes (e.g. SPPARKS' sweep mode; Plimpton et al., Sandia report SAND2009-6226). Its MCS
runs ahead of the random order's, at the same microstructure for the same grain size:
``grainlib.mcs_clock`` measures the two clocks.

Random numbers come from a counter-based generator: a splitmix64 mix (Steele, Lea & Flood,
OOPSLA 2014) of (seed, MCS, site index) gives the neighbour choice (low 32 bits) and the
acceptance draw (high 32 bits). There is no shared generator state, so a seed gives the
same volume whatever the number of threads.

Wavefront order. Sweeping sublattice after sublattice through the whole volume reads it
from memory once per sublattice. The default sweep (:func:`_sweep_wavefront`) runs them
plane by plane instead, the sublattices of the odd planes one plane behind those of the
even ones (:func:`_wavefront`): a plane is read once per MCS, while it is in cache for all
of them, and every trial still sees its neighbours of earlier sublattices updated and
those of later ones not yet, so the volume is the plain sweep's (:func:`_sweep`), bitwise.
Each row of a sublattice is done in two passes: the proposals, in a short loop without
branches, then the trials of the sites that propose another id.

Skipping what cannot change. A trial can only change a site if one of its trial neighbours
holds another id. One byte per site marks the sites that may: every flip marks the site
and its trial neighbours, and every few MCS the marked sites are checked again and
unmarked where all their trial neighbours hold their id (:func:`_refresh_marks`). Once few
sites are marked (late growth: most lie inside grains), an MCS tries only the marked ones,
passing over unmarked stretches 8 sites at a time (a flag per 8 sites of the flat volume):
a skipped site is one whose trial would have proposed its own id, and since its random
numbers belong to (MCS, site) alone, the volume is the same, bitwise. Early on, when most
sites are marked, every site is tried (checking marks would only cost).

Checkpoints. :func:`simulate` can write its state (volume, MCS done, snapshots so far and
the arguments of the run) to an HDF5 file at intervals, atomically; a later call with the
same arguments resumes from it. The random numbers depend on (seed, MCS, site) only and
the marks are recomputed from the volume, so a resumed run ends with the volume of an
uninterrupted one.

Memory: the int32 volume (4 bytes a site), 1.125 bytes a site of marks, the wavefront's
rows (32 bytes per row of a sublattice: 2 Ly Lz rows) and small per-axis tables;
snapshots are copies of the volume.

>>> result = simulate((16, 16, 16), 5, seed=1, progress=False)
>>> result.volume.shape, result.volume.dtype
((16, 16, 16), dtype('int32'))
"""

from __future__ import annotations

import itertools
import json
import math
import numbers
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np
from numba import get_thread_id, njit, prange
from tqdm.auto import tqdm

# Bump when a change to the kernel changes its output for the same parameters: the
# stored artifact of an older kernel is then recomputed.
KERNEL_VERSION = 1

# Seconds between the checkpoints of the profile-driven step (:func:`run`).
CHECKPOINT_EVERY = 300.0

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


@njit(cache=True, inline="always")
def _inner_delta(flat, site, plane, row, old, new):
    """:func:`_site_delta` for a site off the lattice's faces, whose 3 x 3 x 3 block is
    9 runs of 3 sites, ``plane`` (= Ly * Lx) and ``row`` (= Lx) apart: the same sum,
    no table reads."""
    de = 0
    for dz in (-plane, 0, plane):
        for dy in (-row, 0, row):
            centre = np.uint64(site + dz + dy)  # unsigned: no test for negative indices
            for s in (flat[centre - np.uint64(1)], flat[centre], flat[centre + np.uint64(1)]):
                de += np.int64(s == old) - np.int64(s == new)
    return de - 1


@njit(cache=True, inline="always")
def _trial(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick, thresholds, key,
           z, y, x, inner_row):
    """One trial at site (z, y, x), in place; True when the site took a new id.

    The arguments are those of :func:`_sweep`; ``n_pick`` is ``n_trial`` as uint64 and
    ``inner_row`` whether 0 < z < Lz - 1 and 0 < y < Ly - 1: a site off the faces finds
    its neighbours at fixed flat offsets, others through the wrapped tables.
    """
    site = z_rows[z, 1] + y_rows[y, 1] + x
    h = _mix64(key + np.uint64(site) * _GOLDEN)
    k = ((h & _LOW32) * n_pick) >> _S32
    old = flat[site]
    inner = inner_row and 0 < x < x_cols.shape[0] - 1
    if inner:
        new = flat[site + offsets[k]]
    else:
        new = flat[z_rows[z, trial_columns[k, 0]] + y_rows[y, trial_columns[k, 1]]
                   + x_cols[x, trial_columns[k, 2]]]
    if new == old:
        return False
    if inner:
        de = _inner_delta(flat, site, y_rows.shape[0] * x_cols.shape[0], x_cols.shape[0], old,
                          new)
    else:
        de = _site_delta(flat, z_rows, y_rows, x_cols, z, y, x, old, new)
    # thresholds[0] = 2**32 accepts any dE <= 0; no branch: acceptance is unpredictable
    accepted = (h >> _S32) < thresholds[max(de, 0)]
    flat[site] = new if accepted else old
    return accepted


@njit(parallel=True, cache=True)
def _sweep(flat, z_rows, y_rows, x_cols, colours, trial_columns, offsets, n_trial, thresholds,
           key):
    """One MCS in place: every site one trial, sublattice after sublattice (the plain
    sweep, kept as the reference of :func:`_sweep_wavefront`).

    flat : (Lz*Ly*Lx,) int32 volume, C order. z_rows (Lz, 3), y_rows (Ly, 3), x_cols
    (Lx, 3) int64: flat offsets of plane z-1, z, z+1 / row y-1, y, y+1 / column x-1, x,
    x+1 with periodic wrap. colours (n, 6) int64: per sublattice (z0, nz, y0, ny, x0, nx),
    its coordinates being z0 + 2 i for i < nz (same for y, x). trial_columns (26, 3):
    table columns of the neighbour offsets; the first ``n_trial`` are the trial
    neighbours. offsets (26,) int64: the same neighbours as flat offsets, for sites off
    the lattice's faces (:func:`_flat_offsets`). thresholds (27,) uint64: accept dE > 0
    when the high 32 random bits are below thresholds[dE] (= exp(-dE/kT) * 2**32).
    key: uint64 of this MCS.
    """
    n_pick = np.uint64(n_trial)
    lz, ly = z_rows.shape[0], y_rows.shape[0]
    for colour in range(colours.shape[0]):
        z0, nz = colours[colour, 0], colours[colour, 1]
        y0, ny = colours[colour, 2], colours[colour, 3]
        x0, nx = colours[colour, 4], colours[colour, 5]
        # Rows of one sublattice do not interact: any order, any thread, same result.
        for row in prange(nz * ny):
            z = z0 + 2 * (row // ny)
            y = y0 + 2 * (row % ny)
            inner_row = 0 < z < lz - 1 and 0 < y < ly - 1
            for i in range(nx):
                _trial(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick,
                       thresholds, key, z, y, x0 + 2 * i, inner_row)


# Speed settings of the default stepper, the volume does not depend on them: the share of
# marked sites below which an MCS tries only the marked sites; the MCS between counts of
# the marks while every site is tried; the MCS between refreshes of the marks while only
# marked sites are tried. Chosen on L = 200 states, 2 threads, ms per MCS (every site /
# marked only, refreshed every 40): MCS 1000, 23 % marked: 22.2 / 31.1; MCS 3000, 13.5 %:
# 19.1 / 23.1; MCS 5000, 10.7 %: 18.3 / 19.9; the two meet near 9 % (on 1 thread, near
# 20 %): in the paper's 5000 MCS at L = 400 every site is tried throughout.
_MARKED_BELOW = 0.09
_CHECK_EVERY = 50
_REFRESH_EVERY = 40


@njit(cache=True, inline="always")
def _mark(marks, groups, site):
    marks[site] = 1
    groups[site >> 3] = 1


@njit(cache=True, inline="always")
def _mark_neighbours(marks, groups, z_rows, y_rows, x_cols, trial_columns, offsets, n_trial,
                     z, y, x, site, inner):
    """Mark site (z, y, x), flat index ``site``, and its ``n_trial`` trial neighbours:
    their trials may change them now. ``inner``: the site is off the lattice's faces."""
    _mark(marks, groups, site)
    if inner:
        for j in range(n_trial):
            _mark(marks, groups, site + offsets[j])
    else:
        for j in range(n_trial):
            _mark(marks, groups, z_rows[z, trial_columns[j, 0]] + y_rows[y, trial_columns[j, 1]]
                  + x_cols[x, trial_columns[j, 2]])


@njit(cache=True, inline="always")
def _proposes(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick, key, z, y, x,
              site, inner):
    """Whether the trial of site (z, y, x), flat index ``site``, proposes another id;
    ``inner``: the site is off the lattice's faces. Arguments as in :func:`_trial`."""
    k = ((_mix64(key + np.uint64(site) * _GOLDEN) & _LOW32) * n_pick) >> _S32
    if inner:
        other = site + offsets[k]
    else:
        other = (z_rows[z, trial_columns[k, 0]] + y_rows[y, trial_columns[k, 1]]
                 + x_cols[x, trial_columns[k, 2]])
    return flat[other] != flat[site]


@njit(cache=True, inline="always")
def _proposing(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick, key, z, y, x0,
               nx, inner_row, marks, groups, marked_only, out):
    """The sites (z, y, x0 + 2 i), i < nx, of one sublattice row whose trial proposes
    another id: their x written to out[:n], n returned. marked_only: unmarked sites are
    passed over (a group of 8 unmarked sites at a time). Else every site, those off the
    faces in a loop without branches, the hash of each site one step from the last's.
    """
    lx = x_cols.shape[0]
    base = z_rows[z, 1] + y_rows[y, 1]
    n = 0
    if marked_only:
        i = 0
        while i < nx:
            x = x0 + 2 * i
            site = base + x
            i += 1
            if not groups[site >> 3]:
                i += ((((site >> 3) + 1) << 3) - site - 1) // 2  # to the next group
            elif marks[site]:
                out[n] = x
                n += _proposes(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick,
                               key, z, y, x, site, inner_row and 0 < x < lx - 1)
        return n
    lo, hi = nx, nx  # sites [lo, hi) are off the faces
    if inner_row:
        lo = 1 if x0 == 0 else 0
        hi = max(lo, nx - 1 if x0 + 2 * (nx - 1) == lx - 1 else nx)
    for i in range(lo):
        x = x0 + 2 * i
        out[n] = x
        n += _proposes(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick, key,
                       z, y, x, base + x, False)
    # unsigned indices here: numba then leaves out its test for negative ones (a quarter
    # of this loop's time)
    x = x0 + 2 * lo
    site = np.uint64(base + x)
    u = key + site * _GOLDEN
    for _ in range(lo, hi):
        k = ((_mix64(u) & _LOW32) * n_pick) >> _S32
        out[np.uint64(n)] = x
        n += flat[np.uint64(np.int64(site) + offsets[k])] != flat[site]
        x += 2
        site += np.uint64(2)
        u += _GOLDEN + _GOLDEN
    for i in range(hi, nx):
        x = x0 + 2 * i
        out[n] = x
        n += _proposes(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick, key,
                       z, y, x, base + x, False)
    return n


@njit(parallel=True, cache=True)
def _sweep_wavefront(flat, z_rows, y_rows, x_cols, rows, starts, trial_columns, offsets,
                     n_trial, thresholds, key, marks, groups, marked_only, proposing):
    """:func:`_sweep` in wavefront order (:func:`_wavefront`): bitwise the same volume.

    The arguments are those of :func:`_sweep`, with the sublattices given as rows:
    rows (R, 4) int64, one (z, y, x0, nx) per row of a sublattice in one plane, its sites
    (z, y, x0 + 2 i) for i < nx; starts (P + 1,) int64, the rows of phase p being
    rows[starts[p]:starts[p + 1]], run one phase after the other. marks (Lz*Ly*Lx,)
    uint8: 1 where a trial may change the site (:func:`_refresh_marks`); groups
    (ceil(Lz*Ly*Lx / 8),) uint8: 1 where one of the 8 sites [8 g, 8 g + 8) of the flat
    volume is marked, so that unmarked stretches are passed over 8 sites at a time. marked_only: try only the marked sites,
    and mark every flip's neighbourhood; False: try every site, leave the marks alone.
    proposing (threads, >= max nx) int64: scratch rows, one per thread.

    A row is done in two passes: first the proposals, a short loop without branches that
    notes which sites propose another id, then the trials of those alone. The sites of a
    sublattice row are not neighbours, so no trial of the row changes another's proposal.

    Why skipping is exact: an unmarked site held the id of all its trial neighbours at
    the last refresh, and none of them has flipped since (a flip marks its neighbours),
    so its trial proposes its own id and is skipped anyway; its random numbers, drawn
    per (MCS, site), are not consumed by anything else. The rows of one phase are
    independent (:func:`_wavefront`), so any thread may take any of them.
    """
    n_pick = np.uint64(n_trial)
    lz, ly, lx = z_rows.shape[0], y_rows.shape[0], x_cols.shape[0]
    for phase in range(starts.shape[0] - 1):
        for r in prange(starts[phase], starts[phase + 1]):
            z, y, x0, nx = rows[r, 0], rows[r, 1], rows[r, 2], rows[r, 3]
            inner_row = 0 < z < lz - 1 and 0 < y < ly - 1
            base = z_rows[z, 1] + y_rows[y, 1]
            row = proposing[get_thread_id()]
            n = _proposing(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick, key,
                           z, y, x0, nx, inner_row, marks, groups, marked_only, row)
            for j in range(n):
                x = row[j]
                if _trial(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_pick,
                          thresholds, key, z, y, x, inner_row) and marked_only:
                    _mark_neighbours(marks, groups, z_rows, y_rows, x_cols, trial_columns,
                                     offsets, n_trial, z, y, x, base + x,
                                     inner_row and 0 < x < lx - 1)


@njit(parallel=True, cache=True)
def _refresh_marks(flat, z_rows, y_rows, x_cols, trial_columns, offsets, n_trial, marks,
                   groups):
    """Unmark every marked site whose ``n_trial`` trial neighbours all hold its id; the
    others stay marked. Returns the number of marked sites. Arguments as in
    :func:`_sweep_wavefront`; a marks array of ones gives the exact marks."""
    lz, ly, lx = z_rows.shape[0], y_rows.shape[0], x_cols.shape[0]
    marked = 0
    for row in prange(lz * ly):
        z, y = row // ly, row % ly
        inner_row = 0 < z < lz - 1 and 0 < y < ly - 1
        base = z_rows[z, 1] + y_rows[y, 1]
        for x in range(lx):
            site = base + x
            if not marks[site]:
                continue
            own = flat[site]
            inner = inner_row and 0 < x < lx - 1
            uniform = True
            for j in range(n_trial):
                if inner:
                    other = flat[site + offsets[j]]
                else:
                    other = flat[z_rows[z, trial_columns[j, 0]] + y_rows[y, trial_columns[j, 1]]
                                 + x_cols[x, trial_columns[j, 2]]]
                if other != own:
                    uniform = False
                    break
            if uniform:
                marks[site] = 0
            else:
                marked += 1
    for g in prange(groups.shape[0]):
        groups[g] = marks[8 * g:8 * g + 8].any()
    return marked


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


def _flat_offsets(shape):
    """(26,) int64: the neighbour offsets (:func:`_neighbour_offsets` order) as offsets
    in the flat C-order volume of ``shape``, valid for sites off its faces."""
    ly, lx = shape[1], shape[2]
    return np.ascontiguousarray(_neighbour_offsets() @ np.array([ly * lx, lx, 1]),
                                dtype=np.int64)


def _wavefront(shape, colours):
    """The sublattice sweep as a wavefront over z-planes: the rows of
    :func:`_sweep_wavefront`, in phases.

    A sublattice's sites lie on the even planes, the odd ones or (odd Lz) the last plane
    alone, and a trial reads the planes next to its own. So the sweep, sublattice after
    sublattice, is kept exactly when plane by plane: for t = 0, 1, ..., the sublattices of
    the even planes, one after the other, on plane 2 t; then those of the odd planes on
    plane 2 t - 1, whose neighbours 2 t - 2 and 2 t are then done by the even sublattices
    and not yet touched by later ones; the last plane's sublattices at the end. Every trial
    sees the same neighbours as in :func:`_sweep`, so the volume is the same, bitwise. The
    point: about three planes are in use at a time and stay in cache for all sublattices,
    where the plain sweep reads the volume from memory once per sublattice.

    Parameters
    ----------
    shape : (Lz, Ly, Lx); colours : (n, 6) int64 from :func:`sublattices`.

    Returns
    -------
    rows : (R, 4) int64, one (z, y, x0, nx) per sublattice row, R = sum of nz * ny.
    starts : (P + 1,) int64: phase p, the rows of one sublattice on one plane, owns
        rows[starts[p]:starts[p + 1]]; its rows are independent of each other.
    """
    lz = shape[0]
    z_classes = _axis_colours(lz)  # even planes, odd planes, and the last for odd Lz
    members = [[c for c in colours if (c[0], c[1]) == zc] for zc in z_classes]
    phases = []
    for t in range(lz // 2 + 1):
        if t < lz // 2:
            phases += [(c, 2 * t) for c in members[0]]
        if t >= 1:
            phases += [(c, 2 * t - 1) for c in members[1]]
    if len(members) == 3:
        phases += [(c, lz - 1) for c in members[2]]
    rows, starts = [], [0]
    for (z0, nz, y0, ny, x0, nx), z in phases:
        rows.extend((z, y0 + 2 * j, x0, nx) for j in range(ny))
        starts.append(len(rows))
    return (np.array(rows, dtype=np.int64).reshape(-1, 4),
            np.array(starts, dtype=np.int64))


class _Stepper:
    """Advances one volume MCS by MCS, in place.

    Parameters
    ----------
    volume : (Lz, Ly, Lx) C-contiguous int32, written in place.
    kT, seed, trial_neighbors : as in :func:`simulate` (already checked).
    active_only : True (the default): the wavefront sweep (:func:`_sweep_wavefront`),
        trying only the marked sites once fewer than ``marked_below`` of them are marked
        (counted every ``check_every`` MCS while all are tried; the marks refreshed
        every ``refresh_every`` MCS while only the marked are); False: the plain sweep,
        sublattice after sublattice (:func:`_sweep`), the reference. The volume is the
        same, bitwise, either way.
    marked_below, check_every, refresh_every : default to ``_MARKED_BELOW``,
        ``_CHECK_EVERY``, ``_REFRESH_EVERY`` (tests change them).
    """

    def __init__(self, volume, kT, seed, trial_neighbors, active_only=True,
                 marked_below=None, check_every=None, refresh_every=None):
        self.flat = volume.reshape(-1)  # a view: the kernels write into ``volume``
        self.tables = _wrapped_tables(volume.shape)
        self.offsets = _flat_offsets(volume.shape)
        self.colours = sublattices(volume.shape)
        self.thresholds = _acceptance_thresholds(kT)
        self.seed = np.uint64(seed % (1 << 64))
        self.trial_neighbors = trial_neighbors
        self.active_only = active_only
        self.fraction = 1.0  # share of marked sites at the last count
        if active_only:
            self.marked_below = _MARKED_BELOW if marked_below is None else float(marked_below)
            self.check_every = _CHECK_EVERY if check_every is None else int(check_every)
            self.refresh_every = _REFRESH_EVERY if refresh_every is None else int(refresh_every)
            self.rows, self.starts = _wavefront(volume.shape, self.colours)
            self.marks = np.ones(volume.size, dtype=np.uint8)
            self.groups = np.ones(-(-volume.size // 8), dtype=np.uint8)
            self.proposing = np.zeros((numba.config.NUMBA_NUM_THREADS, volume.shape[2]),
                                      dtype=np.int64)
            self._refresh()

    def _refresh(self):
        marked = _refresh_marks(self.flat, *self.tables, _TRIAL_COLUMNS, self.offsets,
                                self.trial_neighbors, self.marks, self.groups)
        self.fraction = marked / self.marks.size
        self.marked_only = self.fraction < self.marked_below
        self.since_refresh = 0

    def step(self, step):
        """Run MCS number ``step`` (1-based; it picks the random numbers)."""
        key = np.uint64(_step_key(self.seed, np.uint64(step)))
        if not self.active_only:
            _sweep(self.flat, *self.tables, self.colours, _TRIAL_COLUMNS, self.offsets,
                   self.trial_neighbors, self.thresholds, key)
            return
        _sweep_wavefront(self.flat, *self.tables, self.rows, self.starts, _TRIAL_COLUMNS,
                         self.offsets, self.trial_neighbors, self.thresholds, key,
                         self.marks, self.groups, self.marked_only, self.proposing)
        self.since_refresh += 1
        if self.marked_only and self.since_refresh >= self.refresh_every:
            self._refresh()
        elif not self.marked_only and self.since_refresh >= self.check_every:
            self.marks[:] = 1  # not kept while every site is tried: count afresh
            self.groups[:] = 1
            self._refresh()

    def marked_fraction(self):
        """Share of the sites marked at the last refresh (1.0 for the plain sweep)."""
        return self.fraction


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


# --------------------------------------------------------------------------- checkpoints


def _checkpoint_arguments(shape, mcs, kT, seed, trial_neighbors, snapshots) -> dict:
    """What a checkpoint must match to be resumed: the arguments that define the run."""
    return {"shape": list(shape), "mcs": mcs, "kT": kT, "seed": seed,
            "trial_neighbors": trial_neighbors, "snapshots": list(snapshots),
            "kernel_version": KERNEL_VERSION}


def _write_checkpoint(path, run_args, volume, done, kept, seconds):
    """Write the state after MCS ``done`` to ``path`` atomically: a temporary file in the
    same folder, moved into place by ``os.replace`` (a kill leaves the old file or the
    new one, never half of one).

    Layout: attrs ``arguments`` (JSON of :func:`_checkpoint_arguments`), ``done`` and
    ``seconds``; dataset ``volume`` (Lz, Ly, Lx) int32; group ``snapshots`` with one
    int32 dataset per MCS kept so far.
    """
    import h5py

    path = Path(path)
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    big = volume.nbytes > (1 << 20)
    options = {"compression": "lzf", "shuffle": True} if big else {}
    try:
        with h5py.File(partial, "w") as f:
            f.attrs["arguments"] = json.dumps(run_args, sort_keys=True)
            f.attrs["done"] = int(done)
            f.attrs["seconds"] = float(seconds)
            f.create_dataset("volume", data=volume, **options)
            group = f.create_group("snapshots")
            for step, snapshot in kept.items():
                group.create_dataset(str(step), data=snapshot, **options)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _remove_orphans(path):
    """Remove the temporary files that writers of checkpoint ``path`` killed mid-write
    left behind (``.<name>.partial-<pid>`` of a process no longer running)."""
    for partial in path.parent.glob(f".{path.name}.partial-*"):
        pid = partial.name.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
        except PermissionError:  # it exists, under another user
            pass


def _read_checkpoint(path, run_args):
    """The state stored in checkpoint ``path``, after checking that it belongs to the run
    ``run_args`` (:func:`_checkpoint_arguments`).

    Returns (volume (Lz, Ly, Lx) int32, MCS done, {mcs: int32 snapshot}, seconds spent).
    Raises ValueError, naming the file and what is wrong, when it cannot be read or was
    written by another run.
    """
    import h5py

    def refuse(reason):
        return ValueError(f"checkpoint {path} {reason}; delete it to start the run afresh, "
                          f"or pass another checkpoint path")

    try:
        with h5py.File(path, "r") as f:
            stored = json.loads(f.attrs["arguments"])
            done = int(f.attrs["done"])
            seconds = float(f.attrs["seconds"])
            volume = np.asarray(f["volume"][()])
            kept = {int(step): np.asarray(data[()]) for step, data in f["snapshots"].items()}
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise refuse(f"is unreadable or incomplete ({type(error).__name__}: {error})") from None
    differs = [f"{key} {stored.get(key)!r} there, {value!r} here"
               for key, value in run_args.items() if stored.get(key) != value]
    if differs:
        raise refuse("was written by another run: " + "; ".join(differs))
    shape = tuple(run_args["shape"])
    snapshot_steps_done = [s for s in run_args["snapshots"] if s <= done]
    if (not 0 <= done < run_args["mcs"] or volume.shape != shape or volume.dtype != np.int32
            or sorted(kept) != snapshot_steps_done
            or any(v.shape != shape or v.dtype != np.int32 for v in kept.values())):
        raise refuse(f"is inconsistent (MCS done {done}, volume {volume.shape} "
                     f"{volume.dtype}, snapshots {sorted(kept)})")
    return np.ascontiguousarray(volume), done, kept, seconds


# --------------------------------------------------------------------------- public API


def simulate(shape, mcs, *, kT=0.5, seed=0, trial_neighbors=18, snapshots=(),
             progress=True, checkpoint=None, checkpoint_every=300.0,
             active_only=True) -> PottsResult:
    """Grow grains from a lattice where every site is its own grain.

    Parameters
    ----------
    shape : (Lz, Ly, Lx) ints >= 2; any sizes, odd included; periodic in all directions.
    mcs : int >= 1, Monte Carlo steps; one MCS = Lz * Ly * Lx trials, one per site.
    kT : float >= 0, temperature in units of J; 0 never accepts dE > 0.
    seed : int >= 0. The same seed gives the same volume for any number of threads.
    trial_neighbors : 18 (first and second nearest, the paper) or 26 (all).
    snapshots : MCS values in [1, mcs] after which a copy of the volume is kept.
    progress : show a tqdm bar, one tick per MCS, with the estimated time left.
    checkpoint : None, or a file path (HDF5). When the file exists it must hold a
        checkpoint of this very run (same shape, mcs, kT, seed, trial_neighbors,
        snapshots and kernel version; else ValueError) and the run resumes from it,
        ending with the same volume, bitwise, as an uninterrupted run. While running,
        the state is written there (atomically) every ``checkpoint_every`` seconds; the
        file is removed when the run completes.
    checkpoint_every : float >= 0, seconds between checkpoints (0: after every MCS).
    active_only : the wavefront sweep, trying only the sites that can change once they
        are few (the default); False runs the plain sweep, sublattice after sublattice,
        for tests and timings. Same volume either way.

    Returns
    -------
    PottsResult with ``volume`` (Lz, Ly, Lx) int32, ``snapshots`` {mcs: int32 copy} and
    ``seconds`` (wall time, earlier runs resumed from included).
    Grain ids are the starting site indices 0 .. Lz*Ly*Lx - 1 of the survivors.
    """
    shape, mcs, kT, seed, trial_neighbors, keep = _check_arguments(
        shape, mcs, kT, seed, trial_neighbors, snapshots)
    n_sites = shape[0] * shape[1] * shape[2]
    if n_sites > np.iinfo(np.int32).max:
        raise ValueError(f"shape {shape} has {n_sites} sites, more than int32 grain ids hold")
    if (not isinstance(checkpoint_every, numbers.Real) or not checkpoint_every >= 0
            or isinstance(checkpoint_every, (bool, np.bool_))):
        raise ValueError(f"checkpoint_every must be a number of seconds >= 0, got "
                         f"{checkpoint_every!r}")
    start = time.perf_counter()
    run_args = _checkpoint_arguments(shape, mcs, kT, seed, trial_neighbors, keep)
    state = None
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if checkpoint.exists():
            state = _read_checkpoint(checkpoint, run_args)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(checkpoint)
    if state is None:  # every site its own grain, no MCS done, nothing kept, no time spent
        state = (np.arange(n_sites, dtype=np.int32).reshape(shape), 0, {}, 0.0)
    volume, done, kept, earlier = state
    stepper = _Stepper(volume, kT, seed, trial_neighbors, active_only)
    last_write = time.monotonic()
    with tqdm(total=mcs, initial=done, disable=not progress, desc="Potts MCS",
              unit="MCS") as bar:
        for step in range(done + 1, mcs + 1):
            stepper.step(step)
            if step in keep:
                kept[step] = volume.copy()
            bar.update()
            if (checkpoint is not None and step < mcs
                    and time.monotonic() - last_write >= checkpoint_every):
                _write_checkpoint(checkpoint, run_args, volume, step, kept,
                                  earlier + time.perf_counter() - start)
                last_write = time.monotonic()
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return PottsResult(volume=volume, snapshots=kept,
                       seconds=earlier + time.perf_counter() - start)


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


def checkpoint_path(store, name) -> Path:
    """The checkpoint file of artifact ``name`` of ``store`` (a :class:`grainlib.store.Store`):
    ``<name>.checkpoint.h5`` beside ``<name>.h5``. Its name carries the artifact's
    fingerprint, so a checkpoint is only ever resumed by the run it belongs to."""
    return store.path(name).with_name(f"{name}.checkpoint.h5")


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

    While simulating, a checkpoint is written every :data:`CHECKPOINT_EVERY` seconds to
    ``<cache_dir>/potts-<fingerprint>.checkpoint.h5`` (:func:`checkpoint_path`); a run
    killed half-way resumes from it the next time, with the same volume, and the file
    is removed once the volume is computed.
    """
    from grainlib.store import Store, fingerprint

    params = run_parameters(cfg)
    store = Store(cfg["cache_dir"])
    name = f"potts-{fingerprint(params)}"

    def compute():
        result = simulate(params["shape"], params["mcs"], kT=params["kT"], seed=params["seed"],
                          trial_neighbors=params["trial_neighbors"],
                          snapshots=params["snapshots"], progress=progress,
                          checkpoint=checkpoint_path(store, name),
                          checkpoint_every=CHECKPOINT_EVERY)
        return {"volume": result.volume, "seconds": result.seconds,
                "snapshots": {str(step): vol for step, vol in result.snapshots.items()}}

    stored = store.cached(name, params, compute)
    volume = np.asarray(stored["volume"], dtype=np.int32)
    snapshots = {int(step): np.asarray(vol, dtype=np.int32)
                 for step, vol in stored.get("snapshots", {}).items()}
    snapshots.setdefault(params["mcs"], volume)
    return PottsResult(volume=volume, snapshots=dict(sorted(snapshots.items())),
                       seconds=float(stored.get("seconds", float("nan"))))
