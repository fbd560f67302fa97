"""Speed and growth figures of the Potts kernel (grainlib.potts); prints, asserts nothing.

    python benchmarks/potts.py            # everything (a few minutes on 2 cores)
    python benchmarks/potts.py --no-big   # skip the L = 400 run

1. Trials per second at L = 128 over the first 100 MCS from unique ids (the slowest
   phase: most sites sit on a boundary), with 1 thread and with all threads.
2. Wall time and peak memory of L = 400, 50 MCS (the paper's lattice).
3. Mean grain volume vs MCS at L = 100 (kT 0.5, 26 trial neighbours, as the reference
   code cited in `docs/method.md` section 2) and the fitted growth exponent (ideal 1.5).
"""

import argparse
import resource
import time

import numba
import numpy as np

from grainlib import grains, potts

REFERENCE_L100 = {50: 98, 100: 257, 200: 751, 500: 3534, 1000: 10417}


def trials_per_second(size, mcs, threads):
    numba.set_num_threads(threads)
    start, cpu_start = time.perf_counter(), time.process_time()
    potts.simulate((size,) * 3, mcs, progress=False)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    trials = size**3 * mcs
    return trials / seconds, trials / cpu_seconds, seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-big", action="store_true", help="skip L = 400, 50 MCS")
    parser.add_argument("--growth-mcs", type=int, default=1000,
                        help="MCS of the L = 100 growth run (default 1000)")
    args = parser.parse_args()

    all_threads = numba.config.NUMBA_NUM_THREADS
    start = time.perf_counter()
    potts.simulate((8, 8, 8), 1, progress=False)  # compile (or load the cache)
    print(f"warm-up (compile or cache load): {time.perf_counter() - start:.1f} s")

    print("\nL = 128, MCS 1-100 from unique ids:")
    # trials per CPU second is the figure least disturbed by other jobs on the machine
    for threads in sorted({1, all_threads}):
        rate, cpu_rate, seconds = trials_per_second(128, 100, threads)
        print(f"  {threads} thread(s): {rate / 1e6:6.1f} million trials/s ({seconds:.1f} s wall), "
              f"{cpu_rate / 1e6:.1f} million trials per CPU second")
    numba.set_num_threads(all_threads)

    if not args.no_big:
        start, cpu_start = time.perf_counter(), time.process_time()
        result = potts.simulate((400,) * 3, 50, progress=False)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nL = 400, 50 MCS, {all_threads} thread(s): {seconds:.1f} s "
              f"({400**3 * 50 / seconds / 1e6:.1f} million trials/s, "
              f"{400**3 * 50 / cpu_seconds / 1e6:.1f} million per CPU second), peak RSS {peak_mb:.0f} MB, "
              f"mean grain volume {grains.mean_grain_volume(result.volume):.0f} sites")
        del result

    steps = [s for s in (20, 50, 70, 100, 140, 200, 300, 500, 700, 1000) if s <= args.growth_mcs]
    start = time.perf_counter()
    result = potts.simulate((100,) * 3, args.growth_mcs, kT=0.5, trial_neighbors=26,
                            snapshots=steps, progress=False)
    seconds = time.perf_counter() - start
    means = {s: grains.mean_grain_volume(result.snapshots[s]) for s in steps}
    print(f"\nL = 100, kT 0.5, 26 trial neighbours, {args.growth_mcs} MCS in {seconds:.1f} s:")
    print("     MCS   mean grain volume   reference code")
    for s in steps:
        ref = REFERENCE_L100.get(s)
        print(f"  {s:6d}   {means[s]:17.0f}   {ref if ref else '':>14}")
    fit = [s for s in steps if s >= 50]
    exponent = np.polyfit(np.log(fit), np.log([means[s] for s in fit]), 1)[0]
    print(f"  growth exponent (log-log fit, MCS {fit[0]}-{fit[-1]}): {exponent:.2f} "
          f"(reference code 1.55, ideal 1.5)")


if __name__ == "__main__":
    main()
