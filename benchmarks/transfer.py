"""Time pix2pix: generation of one 400 x 400 synthetic image, and training throughput, at
the demo and paper network widths, on this machine's CPU (or CUDA when present).

Run: ``python benchmarks/transfer.py [--steps N] [--device cpu]``. Prints seconds per
generated 400 x 400 image (the paper's figure: about 0.1 s on a GPU) and training patches
per second, each after a warm-up. Training runs a few steps of ``transfer.train`` on
random Voronoi labels: the networks' cost does not depend on what the images show.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grainlib.core import config, grains  # noqa: E402
from grainlib.learn import transfer  # noqa: E402


def voronoi_boundaries(rng, n, side, n_grains):
    """(n, side, side) bool boundary maps of random Voronoi grains."""
    rows, cols = np.indices((side, side))
    pixels = np.stack([rows.ravel(), cols.ravel()], 1)
    maps = []
    for _ in range(n):
        _, nearest = cKDTree(rng.uniform(0, side, (n_grains, 2))).query(pixels)
        maps.append(grains.boundaries(nearest.reshape(side, side).astype(np.int32)))
    return np.stack(maps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=5, help="timed training steps")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    labels400 = voronoi_boundaries(rng, 4, 400, 60)
    for profile in ("demo", "paper"):
        params = {**config.load(profile)["transfer"], "device": args.device,
                  "steps": args.steps + 1}
        side = params["crop"] or (128 if profile == "demo" else 400)
        labels = voronoi_boundaries(rng, 16, max(side, 128), 60 if side >= 400 else 12)
        images = np.where(labels, 60, 230).astype(np.uint8)
        start = [0.0]

        def mark(step, losses):
            if step == 0:  # the first step warms up
                start[0] = time.perf_counter()

        model = transfer.train(labels, images, params, progress=False, callback=mark)
        seconds = (time.perf_counter() - start[0]) / args.steps
        transfer.generate(model, labels400[:1], device=args.device)  # warm-up
        t0 = time.perf_counter()
        transfer.generate(model, labels400, batch_size=1, device=args.device)
        generate = (time.perf_counter() - t0) / len(labels400)
        crop = f"{side} x {side} crops" if params["crop"] else f"{side} x {side} patches"
        print(f"{profile:>5}: generator width {params['width']}, batch {params['batch_size']} "
              f"of {crop}: {seconds:.3f} s/step = {params['batch_size'] / seconds:.1f} patches/s; "
              f"generation {generate:.3f} s per 400 x 400 image")


if __name__ == "__main__":
    main()
