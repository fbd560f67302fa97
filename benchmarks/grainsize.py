"""Time grainsize.measure on a 2048 x 2048 Voronoi boundary map.

Usage: python benchmarks/grainsize.py [size] [mean grain area in px^2]
"""

import sys
import time

import numpy as np
from scipy.spatial import cKDTree

from grainlib.score import grainsize


def voronoi_boundaries(size, grain_area, seed=0):
    """(size, size) bool map: 1-px boundaries of a Poisson-Voronoi tessellation."""
    rng = np.random.default_rng(seed)
    pad = 3 * int(np.sqrt(grain_area))
    n_seeds = int((size + 2 * pad) ** 2 / grain_area)
    seeds = rng.uniform(-pad, size + pad, (n_seeds, 2))
    yy, xx = np.mgrid[:size, :size]
    _, owner = cKDTree(seeds).query(np.column_stack([yy.ravel(), xx.ravel()]), workers=-1)
    owner = owner.reshape(size, size)
    boundary = np.zeros((size, size), bool)
    boundary[:, :-1] |= owner[:, :-1] != owner[:, 1:]
    boundary[:-1, :] |= owner[:-1, :] != owner[1:, :]
    return boundary


def best_of(fn, repeat=5):
    """Best and median wall time, and best CPU time (less sensitive to a busy machine)."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), float(np.median(wall)), min(cpu)


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    grain_area = float(sys.argv[2]) if len(sys.argv) > 2 else 900.0
    boundary = voronoi_boundaries(size, grain_area)
    result = grainsize.measure(boundary, pixel_size=0.5)
    print(f"{size}x{size} Voronoi, ~{grain_area:.0f} px^2 per grain, "
          f"{result['n_grains']} grains, {result['n_intersections']:.0f} intersections")
    print(f"mean intercept {result['mean_intercept']:.2f} um  G_intercept "
          f"{result['G_intercept']:.2f}  G_planimetric {result['G_planimetric']:.2f}")
    for label, fn in [
        ("measure, grid (default)", lambda: grainsize.measure(boundary, 0.5)),
        ("measure, grid spacing=8", lambda: grainsize.measure(boundary, 0.5, spacing=8)),
        ("measure, e112 pattern", lambda: grainsize.measure(boundary, 0.5, pattern="e112")),
        ("intercepts, grid", lambda: grainsize.intercepts(boundary)),
    ]:
        best, median, cpu = best_of(fn)
        print(f"{label:26s} wall best {best * 1e3:7.1f} ms, median {median * 1e3:7.1f} ms;"
              f"  cpu best {cpu * 1e3:7.1f} ms")


if __name__ == "__main__":
    main()
