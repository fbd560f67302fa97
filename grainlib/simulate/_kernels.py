"""The numba kernels of the Potts model (:mod:`grainlib.simulate.potts` drives them).

A package-private module: :class:`Stepper` advances a volume MCS by MCS, and the other
names without a leading underscore serve the driver, :mod:`grainlib.simulate.mcs_clock`,
the tests and the benchmarks. The model, its checks and its checkpoints are the driver's.

Random numbers come from a counter-based generator: a splitmix64 mix (Steele, Lea & Flood,
OOPSLA 2014) of (seed, MCS, site index) gives the neighbour choice (low 32 bits) and the
acceptance draw (high 32 bits). There is no shared generator state, so a seed gives the
same volume whatever the number of threads.

Wavefront order. Sweeping sublattice after sublattice through the whole volume reads it
from memory once per sublattice. The default sweep (:func:`_sweep_wavefront`) runs them
plane by plane instead, the sublattices of the odd planes one plane behind those of the
even ones (:func:`wavefront`): a plane is read once per MCS, while it is in cache for all
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
"""

from __future__ import annotations

import itertools
import math

import numba
import numpy as np
from numba import get_thread_id, njit, prange


def neighbour_offsets() -> np.ndarray:
    """(26, 3) int64 offsets (dz, dy, dx): 6 first, 12 second, 8 third nearest."""
    offsets = [d for d in itertools.product((-1, 0, 1), repeat=3) if any(d)]
    offsets.sort(key=lambda d: sum(map(abs, d)))  # stable: shells in lexicographic order
    return np.array(offsets, dtype=np.int64)


# Columns 0..2 of the wrapped-index tables hold the coordinate - 1, itself, + 1, so an
# offset d is looked up in column d + 1.
TRIAL_COLUMNS = neighbour_offsets() + 1

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S27, _S31, _S30, _S32 = np.uint64(27), np.uint64(31), np.uint64(30), np.uint64(32)


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
    """:func:`_sweep` in wavefront order (:func:`wavefront`): bitwise the same volume.

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
    independent (:func:`wavefront`), so any thread may take any of them.
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
def delta_energy_at(flat, z_rows, y_rows, x_cols, z, y, x, new):
    old = flat[z_rows[z, 1] + y_rows[y, 1] + x_cols[x, 1]]
    if new == old:
        return 0
    return _site_delta(flat, z_rows, y_rows, x_cols, z, y, x, old, new)


# --------------------------------------------------------------------------- helpers


def wrapped_tables(shape):
    """Per-axis (L, 3) int64 flat offsets of coordinate - 1, itself, + 1 (periodic)."""
    lz, ly, lx = shape
    tables = []
    for length, stride in ((lz, ly * lx), (ly, lx), (lx, 1)):
        coords = np.arange(length)[:, None] + np.array([-1, 0, 1])[None, :]
        tables.append(np.ascontiguousarray((coords % length) * stride, dtype=np.int64))
    return tables


def _flat_offsets(shape):
    """(26,) int64: the neighbour offsets (:func:`neighbour_offsets` order) as offsets
    in the flat C-order volume of ``shape``, valid for sites off its faces."""
    ly, lx = shape[1], shape[2]
    return np.ascontiguousarray(neighbour_offsets() @ np.array([ly * lx, lx, 1]),
                                dtype=np.int64)


def wavefront(shape, colours):
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
    z_classes = axis_colours(lz)  # even planes, odd planes, and the last for odd Lz
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


class Stepper:
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
        self.tables = wrapped_tables(volume.shape)
        self.offsets = _flat_offsets(volume.shape)
        self.colours = sublattices(volume.shape)
        self.thresholds = acceptance_thresholds(kT)
        self.seed = np.uint64(seed % (1 << 64))
        self.trial_neighbors = trial_neighbors
        self.active_only = active_only
        self.fraction = 1.0  # share of marked sites at the last count
        if active_only:
            self.marked_below = _MARKED_BELOW if marked_below is None else float(marked_below)
            self.check_every = _CHECK_EVERY if check_every is None else int(check_every)
            self.refresh_every = _REFRESH_EVERY if refresh_every is None else int(refresh_every)
            self.rows, self.starts = wavefront(volume.shape, self.colours)
            self.marks = np.ones(volume.size, dtype=np.uint8)
            self.groups = np.ones(-(-volume.size // 8), dtype=np.uint8)
            self.proposing = np.zeros((numba.config.NUMBA_NUM_THREADS, volume.shape[2]),
                                      dtype=np.int64)
            self._refresh()

    def _refresh(self):
        marked = _refresh_marks(self.flat, *self.tables, TRIAL_COLUMNS, self.offsets,
                                self.trial_neighbors, self.marks, self.groups)
        self.fraction = marked / self.marks.size
        self.marked_only = self.fraction < self.marked_below
        self.since_refresh = 0

    def step(self, step):
        """Run MCS number ``step`` (1-based; it picks the random numbers)."""
        key = np.uint64(_step_key(self.seed, np.uint64(step)))
        if not self.active_only:
            _sweep(self.flat, *self.tables, self.colours, TRIAL_COLUMNS, self.offsets,
                   self.trial_neighbors, self.thresholds, key)
            return
        _sweep_wavefront(self.flat, *self.tables, self.rows, self.starts, TRIAL_COLUMNS,
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


def axis_colours(length):
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
    shape : (Lz, Ly, Lx) ints >= 2 (checked by the caller,
        :func:`grainlib.simulate.potts.sublattices`).

    Returns
    -------
    (n, 6) int64 array, one row (z0, nz, y0, ny, x0, nx) per sublattice: its sites are
    (z0 + 2 i, y0 + 2 j, x0 + 2 k) for i < nz, j < ny, k < nx. n = 8 for even sides,
    up to 27 when all sides are odd. Together they cover every site exactly once.
    """
    rows = [(z0, nz, y0, ny, x0, nx)
            for (z0, nz), (y0, ny), (x0, nx) in itertools.product(*map(axis_colours, shape))]
    return np.array(rows, dtype=np.int64)


def acceptance_thresholds(kT):
    """(27,) uint64: floor(exp(-dE / kT) * 2**32) for dE = 0..26; all 0 above dE 0 at kT = 0."""
    thresholds = np.zeros(27, dtype=np.uint64)
    thresholds[0] = 1 << 32
    if kT > 0:
        for de in range(1, 27):
            thresholds[de] = min(int(math.exp(-de / kT) * 2.0**32), (1 << 32) - 1)
    return thresholds


