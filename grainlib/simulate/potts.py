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
``grainlib.simulate.mcs_clock`` measures the two clocks.

Checkpoints. :func:`simulate` can write its state (volume, MCS done, snapshots so far and
the arguments of the run) to an HDF5 file at intervals, atomically; a later call with the
same arguments resumes from it. The random numbers depend on (seed, MCS, site) only and
the marks are recomputed from the volume, so a resumed run ends with the volume of an
uninterrupted one.

Snapshots. :func:`simulate` keeps a copy of the volume at each snapshot MCS, or hands it
to a snapshot sink that writes it out as it is taken; its checkpoints then record which
snapshots were handed on instead of holding them. :func:`run`, the profile's step,
writes each snapshot to its own file beside the checkpoint, gathers them into the stored
artifact at the end and reads them back one at a time, when asked
(:class:`StoredSnapshots`): at any time it holds about one volume, not one per snapshot.

Memory: the int32 volume (4 bytes a site), 1.125 bytes a site of marks, the wavefront's
rows (32 bytes per row of a sublattice: 2 Ly Lz rows) and small per-axis tables;
snapshots kept in memory (no sink) are copies of the volume.

>>> result = simulate((16, 16, 16), 5, seed=1, progress=False)
>>> result.volume.shape, result.volume.dtype
((16, 16, 16), dtype('int32'))
"""

from __future__ import annotations

import json
import math
import numbers
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from grainlib.core.store import Store, atomic_h5, fingerprint, write_array
from grainlib.simulate import _kernels

# Bump when a change to the kernel changes its output for the same parameters: the
# stored artifact of an older kernel is then recomputed.
KERNEL_VERSION = 1

# Seconds between the checkpoints of the profile-driven step (:func:`run`).
CHECKPOINT_EVERY = 300.0

_TRIAL_CHOICES = (18, 26)


@dataclass
class PottsResult:
    """The outcome of :func:`simulate`.

    Attributes
    ----------
    volume : (Lz, Ly, Lx) int32 grain ids after the last MCS.
    snapshots : {mcs: (Lz, Ly, Lx) int32 copy of the volume after that MCS}: a dict of
        copies from :func:`simulate`, a :class:`StoredSnapshots` (read from the stored
        artifact one at a time, when asked) from :func:`run`.
    seconds : wall time of the simulation (NaN when unknown, e.g. read from an older file).
    """

    volume: np.ndarray
    snapshots: Mapping = field(default_factory=dict)
    seconds: float = float("nan")


class StoredSnapshots(Mapping):
    """``{mcs: (Lz, Ly, Lx) int32 volume}`` of a stored run, sorted by MCS, each read from
    the artifact when asked and not kept (one volume in memory at a time, as a loop over
    them holds it).

    Parameters
    ----------
    stored : {str(mcs): array} read on access
        (:meth:`grainlib.core.store.Store.lazy`).
    extra : {mcs: int32 array} held in memory, for the MCS not stored (the final volume).
    """

    def __init__(self, stored: Mapping, extra: Mapping):
        self._stored, self._extra = stored, dict(extra)
        self._steps = sorted({int(k) for k in stored} | {int(k) for k in extra})

    def __getitem__(self, step) -> np.ndarray:
        if step not in self:
            raise KeyError(step)
        if str(int(step)) in self._stored:
            return np.asarray(self._stored[str(int(step))], dtype=np.int32)
        return self._extra[int(step)]

    def __contains__(self, step) -> bool:  # without reading the data
        return is_int(step) and int(step) in self._steps

    def __iter__(self):
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    def __repr__(self) -> str:
        return f"StoredSnapshots(MCS {self._steps}, read when asked)"


def is_int(value) -> bool:
    """Whether ``value`` is an integer (Python or numpy), bools excluded."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _check_shape(shape):
    try:
        dims = tuple(shape)
    except TypeError:
        dims = None
    if dims is None or len(dims) != 3 or not all(is_int(d) and d >= 2 for d in dims):
        raise ValueError(f"shape must be 3 integers >= 2 (Lz, Ly, Lx), got {shape!r}")
    return tuple(int(d) for d in dims)


def sublattices(shape) -> np.ndarray:
    """The sublattices of the parallel sweep, in sweep order: (n, 6) int64 rows
    (z0, nz, y0, ny, x0, nx), n = 8 for even sides, up to 27 when all are odd (see
    :func:`grainlib.simulate._kernels.sublattices`); ``shape`` is checked first."""
    return _kernels.sublattices(_check_shape(shape))


def check_arguments(shape, mcs, kT, seed, trial_neighbors, snapshots):
    shape = _check_shape(shape)
    if not is_int(mcs) or mcs < 1:
        raise ValueError(f"mcs must be an integer >= 1, got {mcs!r}")
    if (not isinstance(kT, numbers.Real) or isinstance(kT, (bool, np.bool_))
            or not math.isfinite(kT) or kT < 0):
        raise ValueError(f"kT must be a finite number >= 0 (units of J), got {kT!r}")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if not is_int(trial_neighbors) or trial_neighbors not in _TRIAL_CHOICES:
        raise ValueError(f"trial_neighbors must be 18 or 26, got {trial_neighbors!r}")
    try:
        steps = list(snapshots)
    except TypeError:
        raise ValueError(f"snapshots must be a list of MCS, got {snapshots!r}") from None
    for step in steps:
        if not is_int(step) or not 1 <= step <= mcs:
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


def _write_checkpoint(path, run_args, volume, done, kept, streamed, seconds):
    """Write the state after MCS ``done`` to ``path`` atomically: a temporary file in the
    same folder, moved into place by ``os.replace`` (a kill leaves the old file or the
    new one, never half of one).

    Layout: attrs ``arguments`` (JSON of :func:`_checkpoint_arguments`), ``done``,
    ``seconds`` and ``streamed`` (JSON list of the snapshot MCS handed to a snapshot
    sink); dataset ``volume`` (Lz, Ly, Lx) int32; group ``snapshots`` with one int32
    dataset per MCS kept so far in memory (none with a sink).
    """
    path = Path(path)
    big = volume.nbytes > (1 << 20)
    options = {"compression": "lzf", "shuffle": True} if big else {}
    with atomic_h5(path) as f:
        f.attrs["arguments"] = json.dumps(run_args, sort_keys=True)
        f.attrs["done"] = int(done)
        f.attrs["seconds"] = float(seconds)
        f.attrs["streamed"] = json.dumps(sorted(streamed))
        f.create_dataset("volume", data=volume, **options)
        group = f.create_group("snapshots")
        for step, snapshot in kept.items():
            group.create_dataset(str(step), data=snapshot, **options)


def _remove_orphans(folder: Path, pattern: str):
    """Remove the temporary files (``pattern``, e.g. ``.<name>.partial-*``) that writers
    killed mid-write left in ``folder``, those of a process no longer running."""
    for partial in folder.glob(pattern):
        pid = partial.name.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            partial.unlink(missing_ok=True)
        except PermissionError:  # it exists, under another user
            pass


def _refusal(path, reason) -> ValueError:
    return ValueError(f"checkpoint {path} {reason}; delete it to start the run afresh, "
                      f"or pass another checkpoint path")


def _read_checkpoint(path, run_args):
    """The state stored in checkpoint ``path``, after checking that it belongs to the run
    ``run_args`` (:func:`_checkpoint_arguments`). Reads the volume, not the snapshots.

    Returns (volume (Lz, Ly, Lx) int32, MCS done, [MCS of the snapshots the file holds],
    [MCS of the snapshots handed to a sink], seconds spent).
    Raises ValueError, naming the file and what is wrong, when it cannot be read or was
    written by another run.
    """
    try:
        with h5py.File(path, "r") as f:
            stored = json.loads(f.attrs["arguments"])
            done = int(f.attrs["done"])
            seconds = float(f.attrs["seconds"])
            streamed = [int(s) for s in json.loads(f.attrs.get("streamed", "[]"))]
            volume = np.asarray(f["volume"][()])
            kept = {int(step): (data.shape, data.dtype) for step, data in f["snapshots"].items()}
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise _refusal(path, f"is unreadable or incomplete ({type(error).__name__}: "
                             f"{error})") from None
    differs = [f"{key} {stored.get(key)!r} there, {value!r} here"
               for key, value in run_args.items() if stored.get(key) != value]
    if differs:
        raise _refusal(path, "was written by another run: " + "; ".join(differs))
    shape = tuple(run_args["shape"])
    snapshot_steps_done = [s for s in run_args["snapshots"] if s <= done]
    if (not 0 <= done < run_args["mcs"] or volume.shape != shape or volume.dtype != np.int32
            or sorted([*kept, *streamed]) != snapshot_steps_done
            or any(s != shape or d != np.int32 for s, d in kept.values())):
        raise _refusal(path, f"is inconsistent (MCS done {done}, volume {volume.shape} "
                             f"{volume.dtype}, snapshots {sorted(kept)}, handed on "
                             f"{sorted(streamed)})")
    return np.ascontiguousarray(volume), done, sorted(kept), sorted(streamed), seconds


def _checkpoint_snapshot(path, step) -> np.ndarray:
    """The (Lz, Ly, Lx) int32 snapshot at MCS ``step`` that checkpoint ``path`` holds."""
    try:
        with h5py.File(path, "r") as f:
            return np.asarray(f["snapshots"][str(step)][()])
    except (OSError, KeyError) as error:
        raise _refusal(path, f"is unreadable or incomplete ({type(error).__name__}: "
                             f"{error})") from None


def streamed_snapshots(path) -> list[int]:
    """The MCS of the snapshots that checkpoint ``path`` records as handed to a snapshot
    sink; [] when there is no such file or it cannot be read (resuming then says why)."""
    try:
        with h5py.File(path, "r") as f:
            return [int(s) for s in json.loads(f.attrs.get("streamed", "[]"))]
    except (OSError, ValueError, TypeError):
        return []


# --------------------------------------------------------------------------- public API


def simulate(shape, mcs, *, kT=0.5, seed=0, trial_neighbors=18, snapshots=(),
             progress=True, checkpoint=None, checkpoint_every=300.0,
             active_only=True, snapshot_sink=None) -> PottsResult:
    """Grow grains from a lattice where every site is its own grain.

    Parameters
    ----------
    shape : (Lz, Ly, Lx) ints >= 2; any sizes, odd included; periodic in all directions.
    mcs : int >= 1, Monte Carlo steps; one MCS = Lz * Ly * Lx trials, one per site.
    kT : float >= 0, temperature in units of J; 0 never accepts dE > 0.
    seed : int >= 0. The same seed gives the same volume for any number of threads.
    trial_neighbors : 18 (first and second nearest, the paper) or 26 (all).
    snapshots : MCS values in [1, mcs] after which a copy of the volume is kept (or
        handed to ``snapshot_sink``).
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
    snapshot_sink : None, or a callable ``sink(mcs, volume)`` that takes each snapshot
        instead of a copy being kept: it gets the live (Lz, Ly, Lx) int32 volume, which
        it must write out or copy before it returns, never keep. A checkpoint written
        after records the snapshot as handed on, and a run resumed from it does not hand
        it again: the sink must have stored it for good when it returns (:func:`run`'s
        sink writes one file per snapshot). A checkpoint of a run without a sink, which
        holds its snapshots, hands them to the sink on resuming; one written with a
        sink is refused by a run without one (ValueError).

    Returns
    -------
    PottsResult with ``volume`` (Lz, Ly, Lx) int32, ``snapshots`` {mcs: int32 copy}
    (empty with a sink) and ``seconds`` (wall time, earlier runs resumed from included).
    Grain ids are the starting site indices 0 .. Lz*Ly*Lx - 1 of the survivors.
    """
    shape, mcs, kT, seed, trial_neighbors, keep = check_arguments(
        shape, mcs, kT, seed, trial_neighbors, snapshots)
    n_sites = shape[0] * shape[1] * shape[2]
    if n_sites > np.iinfo(np.int32).max:
        raise ValueError(f"shape {shape} has {n_sites} sites, more than int32 grain ids hold")
    if (not isinstance(checkpoint_every, numbers.Real) or not checkpoint_every >= 0
            or isinstance(checkpoint_every, (bool, np.bool_))):
        raise ValueError(f"checkpoint_every must be a number of seconds >= 0, got "
                         f"{checkpoint_every!r}")
    if snapshot_sink is not None and not callable(snapshot_sink):
        raise ValueError(f"snapshot_sink must be None or a callable sink(mcs, volume), got "
                         f"{snapshot_sink!r:.80}")
    start = time.perf_counter()
    run_args = _checkpoint_arguments(shape, mcs, kT, seed, trial_neighbors, keep)
    state = None
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        if checkpoint.exists():
            state = _read_checkpoint(checkpoint, run_args)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        _remove_orphans(checkpoint.parent, f".{checkpoint.name}.partial-*")
    if state is None:  # every site its own grain, no MCS done, nothing kept, no time spent
        state = (np.arange(n_sites, dtype=np.int32).reshape(shape), 0, [], [], 0.0)
    volume, done, held, streamed, earlier = state
    kept = {}
    if snapshot_sink is None:
        if streamed:
            raise _refusal(checkpoint, f"handed its snapshots at MCS {streamed} to a snapshot "
                                       f"sink; resume it with one (potts.run does)")
        kept = {step: _checkpoint_snapshot(checkpoint, step) for step in held}
    else:  # snapshots an older checkpoint holds are handed on, one at a time
        for step in held:
            snapshot_sink(step, _checkpoint_snapshot(checkpoint, step))
        streamed = sorted([*streamed, *held])
    stepper = _kernels.Stepper(volume, kT, seed, trial_neighbors, active_only)
    last_write = time.monotonic()
    with tqdm(total=mcs, initial=done, disable=not progress, desc="Potts MCS",
              unit="MCS") as bar:
        for step in range(done + 1, mcs + 1):
            stepper.step(step)
            if step in keep and snapshot_sink is None:
                kept[step] = volume.copy()
            elif step in keep:
                snapshot_sink(step, volume)
                streamed.append(step)
            bar.update()
            if (checkpoint is not None and step < mcs
                    and time.monotonic() - last_write >= checkpoint_every):
                _write_checkpoint(checkpoint, run_args, volume, step, kept, streamed,
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
        if not is_int(value) or not -length <= value < length:
            raise ValueError(f"{name} must be an integer in [-{length}, {length}), got {value!r}")
        coords.append(int(value) % length)
    if not is_int(new_id):
        raise ValueError(f"new_id must be an integer grain id, got {new_id!r}")
    flat = np.ascontiguousarray(volume, dtype=np.int32).reshape(-1)
    z_rows, y_rows, x_cols = _kernels.wrapped_tables(volume.shape)
    return int(_kernels.delta_energy_at(flat, z_rows, y_rows, x_cols, *coords, np.int32(new_id)))


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
    for offset in _kernels.neighbour_offsets():
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
    if not is_int(mcs) or mcs < 1:
        raise ValueError(f"mcs must be an integer >= 1, got {mcs!r}")
    steps = set()
    for step in requested:
        if not is_int(step) or step < 1:
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
    """The checkpoint file of artifact ``name`` of ``store`` (a :class:`grainlib.core.store.Store`):
    ``<name>.checkpoint.h5`` beside ``<name>.h5``. Its name carries the artifact's
    fingerprint, so a checkpoint is only ever resumed by the run it belongs to."""
    return store.path(name).with_name(f"{name}.checkpoint.h5")


def snapshot_folder(store, name) -> Path:
    """Where :func:`run` writes the snapshots of artifact ``name`` while it simulates:
    ``<name>.snapshots/`` beside the checkpoint, one file ``<mcs>.h5`` (dataset
    ``volume``) per snapshot, each written atomically as it is taken; removed once the
    artifact holds them."""
    return store.path(name).with_name(f"{name}.snapshots")


def _simulate_into(store, name, params, progress):
    """Simulate the run ``params`` (:func:`run_parameters`) and store it as artifact
    ``name``, its snapshots streamed to :func:`snapshot_folder` and copied from there
    into the artifact one at a time (the artifact's layout: dataset ``volume``, dataset
    ``seconds``, group ``snapshots`` with one dataset per MCS)."""
    folder, checkpoint = snapshot_folder(store, name), checkpoint_path(store, name)
    lost = [s for s in streamed_snapshots(checkpoint) if not (folder / f"{s}.h5").is_file()]
    if lost:
        raise ValueError(f"checkpoint {checkpoint} records the snapshots at MCS {lost} as "
                         f"written to {folder}, which does not hold them; delete the "
                         f"checkpoint to start the run afresh")
    if folder.is_dir():
        _remove_orphans(folder, ".*.partial-*")

    def sink(step, volume):
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_h5(folder / f"{step}.h5") as f:
            write_array(f, "volume", volume)

    result = simulate(params["shape"], params["mcs"], kT=params["kT"], seed=params["seed"],
                      trial_neighbors=params["trial_neighbors"], snapshots=params["snapshots"],
                      progress=progress, checkpoint=checkpoint,
                      checkpoint_every=CHECKPOINT_EVERY, snapshot_sink=sink)
    with store.writing(name, params) as f:
        write_array(f, "volume", result.volume)
        write_array(f, "seconds", result.seconds)
        group = f.create_group("snapshots")
        for step in params["snapshots"]:
            with h5py.File(folder / f"{step}.h5", "r") as snapshot:
                group.copy(snapshot["volume"], group, name=str(step))
    for step in params["snapshots"]:
        (folder / f"{step}.h5").unlink(missing_ok=True)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def run(cfg, progress=True) -> PottsResult:
    """The notebook step: simulate the profile's Potts volume, or reuse the stored one.

    Parameters
    ----------
    cfg : a profile from :func:`grainlib.core.config.load`; reads ``cfg["potts"]`` (shape,
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
    ``volume`` when ``mcs`` was not requested). They are a :class:`StoredSnapshots`,
    each read from the file when asked: loop over them to hold one at a time.

    While simulating, each snapshot is written as it is taken to its own file in
    ``<cache_dir>/potts-<fingerprint>.snapshots/`` (:func:`snapshot_folder`) and a
    checkpoint every :data:`CHECKPOINT_EVERY` seconds to
    ``<cache_dir>/potts-<fingerprint>.checkpoint.h5`` (:func:`checkpoint_path`); a run
    killed half-way resumes from them the next time, with the same volume, and both are
    removed once the artifact is written.
    """
    params = run_parameters(cfg)
    store = Store(cfg["cache_dir"])
    name = f"potts-{fingerprint(params)}"
    if not store.has(name, params):
        _simulate_into(store, name, params, progress)
    with h5py.File(store.path(name), "r") as f:
        volume = np.asarray(f["volume"][()], dtype=np.int32)
        seconds = float(f["seconds"][()]) if "seconds" in f else float("nan")
    snapshots = StoredSnapshots(store.lazy(name, "snapshots"), {params["mcs"]: volume})
    return PottsResult(volume=volume, snapshots=snapshots, seconds=seconds)
