"""Time MAP + ARI per 400 x 400 pair (about 60 grains): grainlib.score.metrics vs the plain loop.

Run: ``python benchmarks/metrics.py [--pairs N]``. Prints milliseconds per pair for
``scores`` (MAP and ARI from one contingency table, the path ``evaluate`` takes), for two
separate calls ``map_score`` + ``ari`` (each labels the grains and counts its own table),
for ``evaluate`` (MAP, ARI and VI), and for the plain reference in
``tests/reference_metrics.py``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from reference_metrics import reference_ari, reference_map  # noqa: E402

from grainlib.core import grains  # noqa: E402
from grainlib.score import metrics  # noqa: E402


def random_pair(rng, shape=(400, 400), n_grains=60):
    """A Voronoi truth and a perturbed prediction (erased gaps, noise), both bool."""
    seeds = rng.uniform(0, 1, (n_grains, 2)) * shape
    rows, cols = np.indices(shape)
    _, nearest = cKDTree(seeds).query(np.stack([rows.ravel(), cols.ravel()], 1))
    truth = grains.boundaries(nearest.reshape(shape).astype(np.int32))
    pred = np.roll(truth, 1, axis=0)
    for r, c in rng.integers(0, shape[0] - 10, (5, 2)):
        pred[r:r + 10, c:c + 10] = False
    return pred ^ (rng.random(shape) < 0.001), truth


def per_pair_ms(function, pairs, repeats):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for pred, truth in pairs:
            function(pred, truth)
        best = min(best, (time.perf_counter() - start) / len(pairs))
    return best * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    pairs = [random_pair(rng) for _ in range(args.pairs)]
    grains_found = np.mean([metrics.grain_labels(t).max() for _, t in pairs])
    fast = per_pair_ms(metrics.scores, pairs, 5)
    separate = per_pair_ms(lambda p, t: (metrics.map_score(p, t), metrics.ari(p, t)), pairs, 5)
    table = per_pair_ms(lambda p, t: metrics.evaluate([p], [t]), pairs, 5)
    plain = per_pair_ms(lambda p, t: (reference_map(p, t), reference_ari(p, t)), pairs[:5], 1)
    print(f"{args.pairs} pairs of 400 x 400, {grains_found:.0f} true grains each (best of repeats)")
    print(f"{'implementation':<40}{'ms / pair':>10}")
    print(f"{'grainlib scores (MAP + ARI, one table)':<40}{fast:>10.2f}")
    print(f"{'grainlib map_score() + ari(), two calls':<40}{separate:>10.2f}")
    print(f"{'grainlib evaluate (MAP, ARI, VI)':<40}{table:>10.2f}")
    print(f"{'plain loop (tests/reference_metrics)':<40}{plain:>10.2f}")
    print(f"speed-up of MAP + ARI over the plain loop: {plain / fast:.0f} x "
          f"(two separate calls: {plain / separate:.0f} x)")


if __name__ == "__main__":
    main()
