"""Speed and growth figures of the Potts kernel (grainlib.simulate.potts); prints, asserts nothing.

    python benchmarks/potts.py            # everything (the L = 400 part: tens of minutes
                                          # the first time, which stores a late state)
    python benchmarks/potts.py --no-big   # skip the L = 400 part
    python benchmarks/potts.py --only scale --size 48 --late-mcs 200   # a quick check
    python benchmarks/potts.py --only scale --measure-mcs 5000   # + the paper's run, once

1. rate: trials per second at L = 128 over the first 100 MCS from unique ids (the
   slowest phase: most sites sit on a boundary), with 1 thread and with all threads.
2. scale (the paper's lattice, L = --size, default 400; kT 0.5, 18 trial neighbours):
   seconds per MCS early (MCS 1-50 and 51-100 from unique ids) and late (20 MCS from a
   stored state at MCS --late-mcs, computed and stored under runs/benchmarks the first
   time), the default stepper (the wavefront sweep, trying only the marked sites once
   few are marked) against the plain sweep, sublattice after sublattice; the projected
   wall time of 5000 MCS; peak memory; with --measure-mcs N, the measured wall time and
   peak memory of N MCS run by ``potts.simulate`` in a child process.
3. growth: mean grain volume vs MCS at L = 100 (kT 0.5, 26 trial neighbours, as the
   reference code cited in `docs/method.md` section 2) and the fitted growth exponent
   (ideal 1.5).
4. kinetics (the paper's parameters: kT 0.5, 18 trial neighbours): mean grain volume
   and section area at L = --kinetics-size (default 256) up to --kinetics-mcs (default
   5000) MCS, and the growth exponents fitted over MCS 200 and after (ideal 1.5 and 1).
5. clock: mean grain volume at equal MCS, sublattice sweep over the plain random-site
   kernel (grainlib.simulate.mcs_clock), at L = 48; chapter 01, "The MCS clock", adds the
   comparison at equal grain size.
6. memory (only when asked: --only memory): peak resident memory of ``potts.run`` with 9
   snapshots, as the paper profile keeps, at L = --memory-size (default 160) over
   --memory-mcs MCS (default 45), each in a child process of its own: the run computed and
   stored, then its snapshots read back one by one as chapter 01 reads them; beside it
   ``potts.simulate`` keeping no snapshot, the floor. Run it with PYTHONPATH naming
   another checkout to measure that code.
"""

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

from grainlib.core import grains
from grainlib.simulate import _kernels, kinetics, mcs_clock, potts

BENCH_DIR = Path(__file__).resolve().parents[1] / "runs" / "benchmarks"
PAPER = dict(kT=0.5, seed=0, trial_neighbors=18)  # the paper profile's Potts parameters

REFERENCE_L100 = {50: 98, 100: 257, 200: 751, 500: 3534, 1000: 10417}


def trials_per_second(size, mcs, threads):
    numba.set_num_threads(threads)
    start, cpu_start = time.perf_counter(), time.process_time()
    potts.simulate((size,) * 3, mcs, progress=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    trials = size**3 * mcs
    return trials / seconds, trials / cpu_seconds, seconds


def peak_mb():
    """Peak resident memory of this process so far, in MB (Linux: ru_maxrss in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_steps(volume, first, n_steps, active_only=True):
    """Run MCS first .. first + n_steps - 1 on ``volume`` (int32, in place).

    Returns (wall seconds per MCS, CPU seconds per MCS, share of marked sites after).
    """
    stepper = _kernels.Stepper(volume, PAPER["kT"], PAPER["seed"], PAPER["trial_neighbors"],
                             active_only=active_only)
    start, cpu_start = time.perf_counter(), time.process_time()
    for step in range(first, first + n_steps):
        stepper.step(step)
    return ((time.perf_counter() - start) / n_steps,
            (time.process_time() - cpu_start) / n_steps, stepper.marked_fraction())


def late_state(size, mcs):
    """(size,)*3 int32 volume after ``mcs`` MCS of the paper's parameters, stored as .npy
    under runs/benchmarks (computed with a checkpoint the first time)."""
    path = BENCH_DIR / f"potts-L{size}-mcs{mcs}-seed{PAPER['seed']}.npy"
    if path.exists():
        return np.load(path), None
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    print(f"  computing the late state (L = {size}, {mcs} MCS; stored for later runs) ...")
    result = potts.simulate((size,) * 3, mcs, checkpoint=path.with_suffix(".checkpoint.h5"),
                            **PAPER)
    np.save(path, result.volume)
    return result.volume, result.seconds


def project(points, mcs):
    """Seconds of MCS 1..mcs from per-MCS times measured at a few MCS.

    points : [(mcs at the middle of a measurement, seconds per MCS)], increasing mcs.
    The per-MCS time is interpolated linearly in log(MCS) and held constant outside the
    measured range: beyond the last point it keeps falling as grains grow, so the
    projection errs long.
    """
    centres = np.log([c for c, _ in points])
    per_mcs = np.interp(np.log(np.arange(1, mcs + 1)), centres, [t for _, t in points])
    return float(per_mcs.sum())


def scale(size, late_mcs, measure_mcs):
    threads = numba.get_num_threads()
    print(f"\nL = {size}, kT 0.5, 18 trial neighbours, {threads} thread(s), seconds per MCS "
          f"(wall; CPU):")
    volume = np.arange(size**3, dtype=np.int32).reshape((size,) * 3)
    early = time_steps(volume, 1, 50)
    mid = time_steps(volume, 51, 50)
    print(f"  MCS 1-50 from unique ids:   {early[0]:8.4f} ; {early[1]:8.4f}   "
          f"(marked sites after: {early[2]:.0%})")
    print(f"  MCS 51-100:                 {mid[0]:8.4f} ; {mid[1]:8.4f}   "
          f"(marked sites after: {mid[2]:.0%})")
    print(f"  peak memory so far (Python, numba, one volume and its stepper): {peak_mb():.0f} MB")
    del volume
    state, seconds = late_state(size, late_mcs)
    if seconds is not None:
        print(f"  (the late state took {seconds:.0f} s)")
    active = time_steps(state.copy(), late_mcs + 1, 20)
    plain = time_steps(state.copy(), late_mcs + 1, 20, active_only=False)
    print(f"  MCS {late_mcs + 1}-{late_mcs + 20}, default:       {active[0]:8.4f} ; "
          f"{active[1]:8.4f}   (marked sites: {active[2]:.0%}; mean grain volume "
          f"{grains.mean_grain_volume(state):.0f} sites)")
    print(f"  MCS {late_mcs + 1}-{late_mcs + 20}, plain sweep:   {plain[0]:8.4f} ; "
          f"{plain[1]:8.4f}   (speed-up of the default: {plain[0] / active[0]:.2f} wall, "
          f"{plain[1] / active[1]:.2f} CPU)")
    points = [(25.5, early[0]), (75.5, mid[0]), (late_mcs + 10.5, active[0])]
    print(f"  projected wall time of 5000 MCS: {project(points, 5000) / 60:.1f} min "
          f"(plain sweep late: "
          f"{project(points[:2] + [(late_mcs + 10.5, plain[0])], 5000) / 60:.1f} min)")
    if measure_mcs:
        measure(size, measure_mcs)


def measure(size, mcs):
    """Time ``mcs`` MCS of the (size,)*3 lattice from unique ids, as ``simulate`` runs
    them (checkpointed under runs/benchmarks, so a killed measurement resumes), in a
    child process whose peak memory is its own."""
    checkpoint = BENCH_DIR / f"potts-L{size}-measure.checkpoint.h5"
    script = (f"import resource\n"
              f"from grainlib.core import grains\n"
              f"from grainlib.simulate import potts\n"
              f"r = potts.simulate({(size,) * 3}, {mcs}, checkpoint={str(checkpoint)!r}, "
              f"**{PAPER!r})\n"
              f"peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
              f"print(r.seconds, peak, grains.mean_grain_volume(r.volume))\n")
    out = subprocess.run([sys.executable, "-c", script], check=True, stdout=subprocess.PIPE,
                         text=True).stdout.split()
    seconds, simulate_mb, mean_volume = map(float, out[-3:])
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  measured: {mcs} MCS in {seconds / 60:.1f} min (earlier parts of a resumed run "
          f"included), peak memory {simulate_mb:.0f} MB while simulating ({child_mb:.0f} MB "
          f"with the grain count after), mean grain volume {mean_volume:.0f} sites")


_MEMORY_SCRIPT = """
import resource, sys, tempfile
from grainlib.core import config
from grainlib.simulate import potts
size, mcs, floor = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "floor"
steps = sorted({max(1, round(mcs * k / 9)) for k in range(1, 10)})
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
cfg = config.load("smoke", {"potts.shape": [size] * 3, "potts.mcs": mcs, "potts.snapshots": steps})
with tempfile.TemporaryDirectory() as cache:
    cfg["cache_dir"] = cache
    if floor:
        potts.simulate((size,) * 3, mcs, kT=cfg["potts"]["kT"], seed=cfg["seed"],
                       trial_neighbors=cfg["potts"]["trial_neighbors"], progress=False)
        print(len(steps), peak(), peak())
    else:
        result = potts.run(cfg, progress=False)
        after_run = peak()
        for step in result.snapshots:
            volume = result.snapshots[step]
        print(len(result.snapshots), after_run, peak())
"""


def memory(size, mcs):
    """Peak resident memory of ``potts.run`` with 9 snapshots at L = ``size``, and of
    ``potts.simulate`` alone, each in a child process (see the module docstring, 6.)."""
    volume_mb = size**3 * 4 / 2**20
    print(f"\nmemory: L = {size} ({volume_mb:.0f} MB a volume), {mcs} MCS, 9 snapshots; "
          f"peak resident memory of a child process:")
    checkout = Path(potts.__file__).resolve().parents[2]  # the code this process imported
    for what in ("floor", "run"):
        out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(size), str(mcs), what],
                             check=True, stdout=subprocess.PIPE, text=True,
                             cwd=checkout).stdout.split()
        count, after_run, after_read = int(out[-3]), float(out[-2]), float(out[-1])
        if what == "floor":
            print(f"  potts.simulate, no snapshot kept:        {after_run:7.0f} MB")
        else:
            print(f"  potts.run, computed and stored:          {after_run:7.0f} MB")
            print(f"  ... then its {count} snapshots read one by one: {after_read:7.0f} MB")


def clock(size, steps):
    sweep = potts.simulate((size,) * 3, max(steps), snapshots=steps, progress=False, **PAPER)
    plain = mcs_clock.simulate_random_site((size,) * 3, max(steps), snapshots=steps, **PAPER)
    table = mcs_clock.mcs_table(mcs_clock.mean_volumes(sweep.snapshots),
                                mcs_clock.mean_volumes(plain.snapshots))
    print(f"\nMCS clock, L = {size}, kT 0.5, 18 trial neighbours: mean grain volume "
          f"(random site: {plain.seconds:.1f} s, serial)")
    print(table.round(2).to_string())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("rate", "scale", "growth", "kinetics", "clock",
                                           "memory"), action="append",
                        help="run only these parts (repeatable); default: all")
    parser.add_argument("--no-big", action="store_true", help="skip the scale part")
    parser.add_argument("--size", type=int, default=400,
                        help="side of the scale part's lattice (default 400, the paper's)")
    parser.add_argument("--late-mcs", type=int, default=1000,
                        help="MCS of the scale part's stored late state (default 1000)")
    parser.add_argument("--measure-mcs", type=int, default=0,
                        help="also run this many MCS of the scale part's lattice and time "
                             "them (the paper's profile: 5000; default 0: no)")
    parser.add_argument("--kinetics-size", type=int, default=256,
                        help="side of the kinetics part's lattice (default 256)")
    parser.add_argument("--kinetics-mcs", type=int, default=5000,
                        help="MCS of the kinetics part (default 5000)")
    parser.add_argument("--growth-mcs", type=int, default=1000,
                        help="MCS of the L = 100 growth run (default 1000)")
    parser.add_argument("--memory-size", type=int, default=160,
                        help="side of the memory part's lattice (default 160)")
    parser.add_argument("--memory-mcs", type=int, default=45,
                        help="MCS of the memory part's run (default 45)")
    args = parser.parse_args()
    parts = set(args.only or ("rate", "scale", "growth", "kinetics", "clock"))
    if args.no_big:
        parts.discard("scale")

    all_threads = numba.config.NUMBA_NUM_THREADS
    start = time.perf_counter()
    # compile (or load the cache of) both sweeps: the plain one, and the wavefront one,
    # here with its marked-sites path, which a run from unique ids only reaches late
    potts.simulate((8, 8, 8), 1, progress=False, active_only=False)
    _kernels.Stepper(np.zeros((8, 8, 8), np.int32), 0.5, 0, 18, marked_below=1.01).step(1)
    print(f"warm-up (compile or cache load): {time.perf_counter() - start:.1f} s")

    if "rate" in parts:
        print("\nL = 128, MCS 1-100 from unique ids:")
        # trials per CPU second is the figure least disturbed by other jobs on the machine
        for threads in sorted({1, all_threads}):
            rate, cpu_rate, seconds = trials_per_second(128, 100, threads)
            print(f"  {threads} thread(s): {rate / 1e6:6.1f} million trials/s ({seconds:.1f} s "
                  f"wall), {cpu_rate / 1e6:.1f} million trials per CPU second")
        numba.set_num_threads(all_threads)

    if "scale" in parts:
        scale(args.size, args.late_mcs, args.measure_mcs)

    if "growth" in parts:
        growth(args.growth_mcs)

    if "kinetics" in parts:
        kinetics_run(args.kinetics_size, args.kinetics_mcs)

    if "clock" in parts:
        clock(48, [25, 50, 100, 200])

    if "memory" in (args.only or ()):
        memory(args.memory_size, args.memory_mcs)


def growth(growth_mcs):
    steps = [s for s in (20, 50, 70, 100, 140, 200, 300, 500, 700, 1000) if s <= growth_mcs]
    start = time.perf_counter()
    result = potts.simulate((100,) * 3, growth_mcs, kT=0.5, trial_neighbors=26,
                            snapshots=steps, progress=False)
    seconds = time.perf_counter() - start
    means = {s: grains.mean_grain_volume(result.snapshots[s]) for s in steps}
    print(f"\nL = 100, kT 0.5, 26 trial neighbours, {growth_mcs} MCS in {seconds:.1f} s:")
    print("     MCS   mean grain volume   reference code")
    for s in steps:
        ref = REFERENCE_L100.get(s)
        print(f"  {s:6d}   {means[s]:17.0f}   {ref if ref else '':>14}")
    fit = [s for s in steps if s >= 50]
    exponent = np.polyfit(np.log(fit), np.log([means[s] for s in fit]), 1)[0]
    print(f"  growth exponent (log-log fit, MCS {fit[0]}-{fit[-1]}): {exponent:.2f} "
          f"(reference code 1.55, ideal 1.5)")


def kinetics_run(size, mcs, fit_from=200):
    """Mean grain volume and section area of the paper's parameters at L = ``size``,
    measured at log-spaced MCS up to ``mcs`` on the stepping volume (no snapshots kept),
    and the exponents fitted from MCS ``fit_from`` on."""
    steps = sorted({int(s) for s in np.geomspace(10, mcs, 16).round()} | {fit_from, mcs})
    volume = np.arange(size**3, dtype=np.int32).reshape((size,) * 3)
    stepper = _kernels.Stepper(volume, PAPER["kT"], PAPER["seed"], PAPER["trial_neighbors"])
    print(f"\nL = {size}, kT 0.5, 18 trial neighbours, {mcs} MCS:")
    print("     MCS   mean grain volume   mean section area   grains   seconds")
    rows, start = [], time.perf_counter()
    for step in range(1, mcs + 1):
        stepper.step(step)
        if step in steps:
            count = grains.grain_count_3d(volume)
            rows.append((step, volume.size / count, kinetics.mean_section_area(volume)))
            print(f"  {step:6d}   {rows[-1][1]:17.0f}   {rows[-1][2]:17.1f}   {count:6d}   "
                  f"{time.perf_counter() - start:7.0f}", flush=True)
    t, mean_volume, mean_area = np.array(rows).T
    volume_exponent = kinetics.power_law_fit(t, mean_volume, fit_from)[0]
    area_exponent = kinetics.power_law_fit(t, mean_area, fit_from)[0]
    print(f"  fitted over MCS {fit_from}-{mcs}: volume ~ t^{volume_exponent:.2f} (ideal 1.5), "
          f"section area ~ t^{area_exponent:.2f} (ideal 1.0); {count} grains left")


if __name__ == "__main__":
    main()
