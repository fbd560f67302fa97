"""Tests of the Potts kernel at scale: the wavefront sweep, trying only the marked sites,
gives the plain sweep's volume bitwise, and a checkpointed run resumes to the same volume."""

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from grainlib.core import config
from grainlib.simulate import _kernels, potts

ROOT = Path(__file__).resolve().parents[1]


def _digest(volume):
    return hashlib.sha256(np.ascontiguousarray(volume).tobytes()).hexdigest()[:16]


def _voronoi(shape, n_grains, seed):
    """(Lz, Ly, Lx) int32: the periodic Voronoi cells of ``n_grains`` random points, so
    that most sites start unmarked and flips must mark them."""
    rng = np.random.default_rng(seed)
    size = np.array(shape)
    points = rng.integers(0, size, (n_grains, 3))
    grid = np.indices(shape).reshape(3, -1).T
    gap = np.abs(grid[:, None, :] - points[None])
    gap = np.minimum(gap, size - gap)
    return ((gap**2).sum(-1).argmin(1) * 7 + 3).astype(np.int32).reshape(shape)


# --------------------------------------------------------------------------- fast sweep

# Volumes of kernel version 1 (the plain sweep before the fast one existed): the default
# path must keep giving them.
_VERSION_1 = [
    (((17, 20, 22), 12, dict(seed=3)), "960db6a3c84aad8c"),
    (((15, 16, 13), 30, dict(seed=7, kT=0, trial_neighbors=26)), "c8d9340075f5a1ab"),
    (((24, 24, 24), 60, dict(seed=1, kT=0.25)), "cd566a40cf85b770"),
    (((9, 2, 5), 20, dict(seed=2, kT=1.0, trial_neighbors=26)), "a69eda3cc3226d30"),
]


@pytest.mark.parametrize("args, digest", _VERSION_1)
def test_volumes_of_kernel_version_1_are_kept(args, digest):
    shape, mcs, kwargs = args
    assert potts.KERNEL_VERSION == 1
    for active_only in (True, False):
        volume = potts.simulate(shape, mcs, progress=False, active_only=active_only,
                                **kwargs).volume
        assert _digest(volume) == digest, active_only


def _exact_marks(volume, trial_neighbors):
    """(Lz, Ly, Lx) bool: the sites with a trial neighbour of another id (periodic)."""
    marks = np.zeros(volume.shape, bool)
    for offset in _kernels.neighbour_offsets()[:trial_neighbors]:
        marks |= np.roll(volume, tuple(-offset), axis=(0, 1, 2)) != volume
    return marks


@pytest.mark.parametrize("shape, kT, trial_neighbors, seed, refresh_every", [
    ((24, 24, 24), 0.5, 18, 0, 5),
    ((24, 24, 24), 0.0, 26, 1, 1),
    ((21, 22, 23), 0.5, 26, 2, 3),   # odd sides: the wrap colour
    ((15, 16, 13), 1.0, 18, 3, 7),
    ((9, 2, 5), 0.5, 26, 4, 2),      # a side of 2: neighbours seen twice through the wrap
    ((2, 3, 3), 0.5, 18, 6, 4),      # fewer planes than the wavefront's lag
    ((17, 20, 22), 0.0, 18, 5, 10),
])
def test_marked_sweep_equals_plain_sweep_every_mcs(shape, kT, trial_neighbors, seed,
                                                   refresh_every):
    start = _voronoi(shape, 2 + seed % 2, seed)
    noise = np.random.default_rng(seed).random(shape) < 0.05  # lone sites to flip
    start[noise] = np.arange(noise.sum())
    plain, fast_volume = start.copy(), start.copy()
    full = _kernels.Stepper(plain, kT, seed, trial_neighbors, active_only=False)
    fast = _kernels.Stepper(fast_volume, kT, seed, trial_neighbors, marked_below=1.01,
                          refresh_every=refresh_every)  # only marked sites, from the start
    fractions = []
    for step in range(1, 41):
        assert fast.marked_only
        fractions.append(fast.marked_fraction())
        full.step(step)
        fast.step(step)
        assert np.array_equal(plain, fast_volume), step
    assert not np.array_equal(fast_volume, start)  # the lone sites, at least, were taken
    if min(shape) > 4:  # a test only when sites are actually skipped
        assert min(fractions) < 0.9, fractions


def test_marked_sweep_from_unique_ids():
    shape = (20, 21, 19)
    plain = potts.simulate(shape, 60, seed=8, kT=0.5, active_only=False, progress=False)
    volume = np.arange(np.prod(shape), dtype=np.int32).reshape(shape)
    fast = _kernels.Stepper(volume, 0.5, 8, 18, marked_below=1.01)
    for step in range(1, 61):
        fast.step(step)
    assert np.array_equal(volume, plain.volume)
    assert fast.marked_fraction() < 1.0


def test_switching_between_all_and_marked_sites_changes_nothing():
    """The default stepper tries every site while most are marked and only the marked
    ones after: the same volume as the plain sweep."""
    shape = (24, 24, 24)
    start = _voronoi(shape, 2, 9)
    start[::5, ::3, ::4] = 1  # noise: most sites marked at first, few later
    volumes, used = {}, {}
    for name, kwargs in (("plain", dict(active_only=False)),
                         ("mixed", dict(marked_below=0.3, check_every=3, refresh_every=2)),
                         ("marked", dict(marked_below=1.01))):
        volume = start.copy()
        stepper = _kernels.Stepper(volume, 0.5, 2, 18, **kwargs)
        modes = []
        for step in range(1, 31):
            modes.append(getattr(stepper, "marked_only", None))
            stepper.step(step)
        volumes[name], used[name] = volume, modes
    assert False in used["mixed"] and True in used["mixed"], used  # both sweeps were used
    assert np.array_equal(volumes["plain"], volumes["mixed"])
    assert np.array_equal(volumes["plain"], volumes["marked"])


@pytest.mark.parametrize("trial_neighbors", [18, 26])
def test_marks_hold_every_site_that_can_change(trial_neighbors):
    """Right after a refresh the marks are exactly the sites with a trial neighbour of
    another id; between refreshes they hold at least those."""
    volume = _voronoi((16, 18, 20), 4, 3)
    stepper = _kernels.Stepper(volume, 0.5, 1, trial_neighbors, marked_below=1.01,
                             refresh_every=4)
    for step in range(1, 13):
        stepper.step(step)
        marks = stepper.marks.reshape(volume.shape).astype(bool)
        exact = _exact_marks(volume, trial_neighbors)
        assert not (exact & ~marks).any(), step
        # a group of 8 flat sites is flagged when one of them is marked
        groups = np.pad(stepper.marks, (0, -volume.size % 8)).reshape(-1, 8).any(1)
        assert not (groups & ~stepper.groups.astype(bool)).any(), step
        if step % 4 == 0:
            assert np.array_equal(marks, exact), step
            assert np.array_equal(stepper.groups.astype(bool), groups), step
            assert stepper.marked_fraction() == pytest.approx(exact.mean())
    assert 0 < exact.mean() < 0.9  # some sites marked, some not


@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 4, 4), (9, 8, 7), (16, 6, 6), (21, 5, 4)])
def test_wavefront_tries_every_site_once_plane_by_plane(shape):
    colours = potts.sublattices(shape)
    rows, starts = _kernels.wavefront(shape, colours)
    tried = np.zeros(shape, int)
    colour_of = {}
    for c, (z0, nz, y0, ny, x0, nx) in enumerate(colours):
        for z in range(z0, z0 + 2 * nz, 2):
            for y in range(y0, y0 + 2 * ny, 2):
                colour_of[z, y, x0] = c
    done = []  # (sublattice, plane) of each phase
    for phase in range(len(starts) - 1):
        tasks = {(colour_of[z, y, x0], z) for z, y, x0, _ in rows[starts[phase]:starts[phase + 1]]}
        assert len(tasks) == 1  # one sublattice on one plane
        done.append(tasks.pop())
        for z, y, x0, nx in rows[starts[phase]:starts[phase + 1]]:
            tried[z, y, x0:x0 + 2 * nx:2] += 1
    assert (tried == 1).all()
    # the plain sweep's order where it matters: a sublattice on a plane comes after the
    # earlier sublattices and before the later ones on that plane and the next ones
    order = {task: i for i, task in enumerate(done)}
    lz = shape[0]
    for (c, z), i in order.items():
        for (c2, z2), j in order.items():
            near = min((z - z2) % lz, (z2 - z) % lz) <= 1
            if near and c2 < c:
                assert j < i, ((c2, z2), (c, z))


def test_fast_sweep_same_volume_with_two_threads():
    """Numba's thread count is fixed at start-up: a child process with 2 threads."""
    script = textwrap.dedent("""
        import hashlib, sys
        import numpy as np
        from grainlib.simulate import _kernels, potts
        sys.path.insert(0, "tests")
        from test_potts_scale import _voronoi
        volume = _voronoi((22, 23, 24), 5, 1)
        stepper = _kernels.Stepper(volume, 0.5, 6, 18, marked_below=1.01)
        for step in range(1, 31):
            stepper.step(step)
        print(hashlib.sha256(volume.tobytes()).hexdigest()[:16])
        print(hashlib.sha256(potts.simulate((19, 20, 21), 30, seed=6, progress=False)
                             .volume.tobytes()).hexdigest()[:16])
    """)
    env = {**os.environ, "NUMBA_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=300).stdout.split()
    volume = _voronoi((22, 23, 24), 5, 1)
    stepper = _kernels.Stepper(volume, 0.5, 6, 18, active_only=False)
    for step in range(1, 31):
        stepper.step(step)
    plain = potts.simulate((19, 20, 21), 30, seed=6, progress=False, active_only=False).volume
    assert out == [_digest(volume), _digest(plain)]


# --------------------------------------------------------------------------- checkpoints


class _Interrupt(Exception):
    pass


def _interrupt_after(monkeypatch, n_steps):
    """Make the next simulation stop with _Interrupt after ``n_steps`` MCS."""
    step = _kernels.Stepper.step
    calls = []

    def counted(self, mcs):
        if len(calls) == n_steps:
            raise _Interrupt
        calls.append(mcs)
        return step(self, mcs)

    monkeypatch.setattr(_kernels.Stepper, "step", counted)
    return calls


ARGS = dict(kT=0.5, seed=4, trial_neighbors=18, snapshots=[5, 12, 30], progress=False)


def test_interrupted_run_resumes_to_the_same_volume(tmp_path, monkeypatch):
    path = tmp_path / "run.checkpoint.h5"
    whole = potts.simulate((14, 15, 16), 30, **ARGS)
    _interrupt_after(monkeypatch, 17)
    with pytest.raises(_Interrupt):
        potts.simulate((14, 15, 16), 30, checkpoint=path, checkpoint_every=0, **ARGS)
    with h5py.File(path, "r") as f:
        assert f.attrs["done"] == 17 and sorted(f["snapshots"]) == ["12", "5"]
    monkeypatch.undo()
    calls = _interrupt_after(monkeypatch, 10**9)
    resumed = potts.simulate((14, 15, 16), 30, checkpoint=path, checkpoint_every=0, **ARGS)
    assert calls == list(range(18, 31))  # only the MCS left were run
    assert np.array_equal(resumed.volume, whole.volume)
    assert sorted(resumed.snapshots) == [5, 12, 30]
    assert all(np.array_equal(resumed.snapshots[s], whole.snapshots[s]) for s in (5, 12, 30))
    assert not path.exists()  # removed once the run is complete
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary file left either


def test_resume_after_kill_gives_the_same_volume(tmp_path):
    """A child process is killed with SIGKILL while it writes a checkpoint every MCS."""
    path = tmp_path / "killed.checkpoint.h5"
    shape, mcs = (32, 32, 32), 400
    script = textwrap.dedent(f"""
        from grainlib.simulate import potts
        potts.simulate({shape}, {mcs}, checkpoint={str(path)!r}, checkpoint_every=0,
                       **{ARGS!r})
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while not path.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(0.05)  # a few more MCS, checkpoints rewritten meanwhile
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with h5py.File(path, "r") as f:
        done = int(f.attrs["done"])
    assert 0 < done < mcs
    # as if the kill had come mid-write: the dead writer's temporary file is removed
    orphan = tmp_path / f".{path.name}.partial-{child.pid}"
    orphan.write_bytes(b"half a checkpoint")
    resumed = potts.simulate(shape, mcs, checkpoint=path, checkpoint_every=3600, **ARGS)
    whole = potts.simulate(shape, mcs, **ARGS)
    assert np.array_equal(resumed.volume, whole.volume)
    assert all(np.array_equal(resumed.snapshots[s], whole.snapshots[s]) for s in (5, 12, 30))
    assert list(tmp_path.iterdir()) == []  # checkpoint and orphan removed


class _Sink:
    """A snapshot sink that keeps a copy of what it is handed, and the order."""

    def __init__(self):
        self.steps, self.volumes = [], {}

    def __call__(self, step, volume):
        self.steps.append(step)
        self.volumes[step] = volume.copy()


def test_snapshot_sink_takes_each_snapshot_and_nothing_is_kept():
    whole = potts.simulate((14, 15, 16), 30, **ARGS)
    sink = _Sink()
    streamed = potts.simulate((14, 15, 16), 30, snapshot_sink=sink, **ARGS)
    assert streamed.snapshots == {} and sink.steps == [5, 12, 30]
    assert np.array_equal(streamed.volume, whole.volume)
    assert all(np.array_equal(sink.volumes[s], whole.snapshots[s]) for s in (5, 12, 30))
    with pytest.raises(ValueError, match="snapshot_sink must be None or a callable"):
        potts.simulate((4, 4, 4), 2, snapshot_sink="folder", progress=False)


def test_checkpoint_of_a_sink_records_its_snapshots_without_holding_them(tmp_path, monkeypatch):
    path = tmp_path / "run.checkpoint.h5"
    whole = potts.simulate((14, 15, 16), 30, **ARGS)
    _interrupt_after(monkeypatch, 17)
    with pytest.raises(_Interrupt):
        potts.simulate((14, 15, 16), 30, checkpoint=path, checkpoint_every=0,
                       snapshot_sink=_Sink(), **ARGS)
    with h5py.File(path, "r") as f:
        assert f.attrs["done"] == 17 and list(f["snapshots"]) == []
        assert f.attrs["streamed"] == "[5, 12]"
    monkeypatch.undo()
    kept = path.read_bytes()
    with pytest.raises(ValueError, match=r"handed its snapshots at MCS \[5, 12\] to a "
                                         r"snapshot sink; resume it with one"):
        potts.simulate((14, 15, 16), 30, checkpoint=path, **ARGS)
    assert path.read_bytes() == kept
    calls = _interrupt_after(monkeypatch, 10**9)
    sink = _Sink()
    resumed = potts.simulate((14, 15, 16), 30, checkpoint=path, checkpoint_every=0,
                             snapshot_sink=sink, **ARGS)
    assert calls == list(range(18, 31)) and sink.steps == [30]  # 5 and 12: not again
    assert np.array_equal(resumed.volume, whole.volume)
    assert np.array_equal(sink.volumes[30], whole.snapshots[30])
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_holding_snapshots_hands_them_to_a_sink(tmp_path, monkeypatch):
    """A checkpoint of a run without a sink (e.g. from before sinks) resumed with one."""
    path = tmp_path / "run.checkpoint.h5"
    whole = potts.simulate((14, 15, 16), 30, **ARGS)
    _interrupt_after(monkeypatch, 17)
    with pytest.raises(_Interrupt):
        potts.simulate((14, 15, 16), 30, checkpoint=path, checkpoint_every=0, **ARGS)
    monkeypatch.undo()
    sink = _Sink()
    resumed = potts.simulate((14, 15, 16), 30, checkpoint=path, snapshot_sink=sink, **ARGS)
    assert sink.steps == [5, 12, 30]
    assert all(np.array_equal(sink.volumes[s], whole.snapshots[s]) for s in (5, 12, 30))
    assert np.array_equal(resumed.volume, whole.volume)


def test_run_killed_while_streaming_snapshots_resumes_to_the_same_run(tmp_path):
    """potts.run in a child process killed with SIGKILL while it writes a checkpoint every
    MCS and its snapshots as they are taken; the next run resumes from both."""
    overrides = {"potts.shape": [32, 32, 32], "potts.mcs": 400,
                 "potts.snapshots": [5, 12, 30, 200]}
    script = textwrap.dedent(f"""
        from grainlib.core import config
        from grainlib.simulate import potts
        cfg = config.load("smoke", {overrides!r})
        cfg["cache_dir"] = {str(tmp_path)!r}
        potts.CHECKPOINT_EVERY = 0.0
        potts.run(cfg, progress=False)
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 120
        while (not list(tmp_path.glob("*.checkpoint.h5")) and child.poll() is None
               and time.monotonic() < deadline):
            time.sleep(0.002)
        time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    cfg = config.load("smoke", overrides)
    cfg["cache_dir"] = str(tmp_path)
    result = potts.run(cfg, progress=False)
    whole = potts.simulate((32, 32, 32), 400, kT=cfg["potts"]["kT"], seed=cfg["seed"],
                           trial_neighbors=cfg["potts"]["trial_neighbors"],
                           snapshots=[5, 12, 30, 200], progress=False)
    assert np.array_equal(result.volume, whole.volume)
    assert list(result.snapshots) == [5, 12, 30, 200, 400]
    assert all(np.array_equal(result.snapshots[s], whole.snapshots[s]) for s in (5, 12, 30, 200))
    assert [p.suffix for p in tmp_path.iterdir()] == [".h5"]  # the artifact, nothing else


SMALL = dict(shape=(10, 11, 12), mcs=20, kT=0.5, seed=4, trial_neighbors=18,
             snapshots=[5, 12, 20], progress=False)


def _simulate(**kwargs):
    args = {**SMALL, **kwargs}
    return potts.simulate(args.pop("shape"), args.pop("mcs"), **args)


@pytest.fixture
def checkpoint(tmp_path, monkeypatch):
    """A checkpoint of the run SMALL left after MCS 8."""
    path = tmp_path / "left.checkpoint.h5"
    _interrupt_after(monkeypatch, 8)
    with pytest.raises(_Interrupt):
        _simulate(checkpoint=path, checkpoint_every=0)
    monkeypatch.undo()
    return path


@pytest.mark.parametrize("change, message", [
    (dict(shape=(10, 11, 13)), r"shape \[10, 11, 12\] there, \[10, 11, 13\] here"),
    (dict(seed=5), "seed 4 there, 5 here"),
    (dict(kT=0.25), "kT 0.5 there, 0.25 here"),
    (dict(kT=0), "kT 0.5 there, 0.0 here"),
    (dict(trial_neighbors=26), "trial_neighbors 18 there, 26 here"),
    (dict(mcs=21), "mcs 20 there, 21 here"),
    (dict(snapshots=[5, 12]), r"snapshots \[5, 12, 20\] there, \[5, 12\] here"),
])
def test_checkpoint_of_another_run_is_refused(checkpoint, change, message):
    kept = checkpoint.read_bytes()
    with pytest.raises(ValueError, match=message) as error:
        _simulate(checkpoint=checkpoint, **change)
    assert "written by another run" in str(error.value) and str(checkpoint) in str(error.value)
    assert checkpoint.read_bytes() == kept  # never overwritten or removed
    # the run it belongs to resumes from it
    assert np.array_equal(_simulate(checkpoint=checkpoint).volume, _simulate().volume)


def test_corrupt_checkpoint_is_refused(checkpoint):
    whole = checkpoint.read_bytes()
    for damaged in (b"not an HDF5 file", whole[: len(whole) // 2], b""):
        checkpoint.write_bytes(damaged)
        with pytest.raises(ValueError, match="unreadable or incomplete"):
            _simulate(checkpoint=checkpoint)
        assert checkpoint.read_bytes() == damaged  # never overwritten or removed
    checkpoint.write_bytes(whole)
    with h5py.File(checkpoint, "a") as f:
        f.attrs["done"] = 25
    with pytest.raises(ValueError, match="inconsistent"):
        _simulate(checkpoint=checkpoint)


def _run_interrupted_after_mcs_5(tmp_path, monkeypatch) -> dict:
    """A small profile whose ``potts.run`` (snapshots 3 and 9 of 9 MCS, a checkpoint after
    every MCS, artifacts in ``tmp_path``) was interrupted after MCS 5; its profile."""
    cfg = config.load("smoke", {"potts.shape": [12, 13, 14], "potts.mcs": 9,
                                "potts.snapshots": [3, 9]})
    cfg["cache_dir"] = str(tmp_path)
    monkeypatch.setattr(potts, "CHECKPOINT_EVERY", 0.0)
    _interrupt_after(monkeypatch, 5)
    with pytest.raises(_Interrupt):
        potts.run(cfg, progress=False)
    return cfg


def test_run_resumes_from_the_checkpoint_beside_its_artifact(tmp_path, monkeypatch):
    cfg = _run_interrupted_after_mcs_5(tmp_path, monkeypatch)
    from grainlib.core.store import fingerprint

    name = f"potts-{fingerprint(potts.run_parameters(cfg))}"
    # the snapshot at MCS 3 was written out as it was taken, the checkpoint records it
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.checkpoint.h5",
                                                          f"{name}.snapshots"]
    assert [p.name for p in (tmp_path / f"{name}.snapshots").iterdir()] == ["3.h5"]
    with h5py.File(tmp_path / f"{name}.checkpoint.h5", "r") as f:
        assert list(f["snapshots"]) == [] and f.attrs["streamed"] == "[3]"
    monkeypatch.undo()
    monkeypatch.setattr(potts, "CHECKPOINT_EVERY", 0.0)
    calls = _interrupt_after(monkeypatch, 10**9)
    result = potts.run(cfg, progress=False)
    assert calls == [6, 7, 8, 9]
    direct = potts.simulate((12, 13, 14), 9, seed=cfg["seed"], kT=cfg["potts"]["kT"],
                            trial_neighbors=cfg["potts"]["trial_neighbors"], snapshots=[3, 9],
                            progress=False)
    assert np.array_equal(result.volume, direct.volume)
    assert sorted(result.snapshots) == [3, 9]
    assert all(np.array_equal(result.snapshots[s], direct.snapshots[s]) for s in (3, 9))
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.h5"]
    assert result.seconds > 0


def test_run_refuses_a_checkpoint_whose_snapshot_files_are_gone(tmp_path, monkeypatch):
    cfg = _run_interrupted_after_mcs_5(tmp_path, monkeypatch)
    (snapshot,) = tmp_path.glob("*.snapshots/3.h5")
    snapshot.unlink()
    (checkpoint,) = tmp_path.glob("*.checkpoint.h5")
    kept = checkpoint.read_bytes()
    with pytest.raises(ValueError, match=r"checkpoint .*checkpoint\.h5 records the snapshots "
                                         r"at MCS \[3\] as written to .*\.snapshots, which "
                                         r"does not hold them; delete the checkpoint"):
        potts.run(cfg, progress=False)
    assert checkpoint.read_bytes() == kept
    checkpoint.unlink()  # as the message says: the run starts afresh
    monkeypatch.undo()
    assert sorted(potts.run(cfg, progress=False).snapshots) == [3, 9]


def test_checkpoints_follow_checkpoint_every(tmp_path, monkeypatch):
    path = tmp_path / "new folder" / "run.checkpoint.h5"
    _interrupt_after(monkeypatch, 6)
    with pytest.raises(_Interrupt):  # no checkpoint due yet: nothing written
        _simulate(checkpoint=path, checkpoint_every=3600)
    assert not path.exists()
    monkeypatch.undo()
    _interrupt_after(monkeypatch, 6)
    with pytest.raises(_Interrupt):  # the folder is made when missing
        _simulate(checkpoint=path, checkpoint_every=0)
    with h5py.File(path, "r") as f:
        assert f.attrs["done"] == 6


def test_checkpoint_every_is_checked():
    with pytest.raises(ValueError, match="checkpoint_every"):
        potts.simulate((4, 4, 4), 2, checkpoint_every=-1, progress=False)

