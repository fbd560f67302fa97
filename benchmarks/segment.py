"""Time the segmentation U-Net: prediction of one 400 x 400 micrograph, and training
throughput, at the demo and paper network widths, on this machine's CPU (or CUDA).

Run: ``python benchmarks/segment.py [--threads N] [--repeats N] [--steps N] [--device cpu]``.
Prints, per network size, seconds per 400 x 400 micrograph without post-processing (the
U-Net's boundary probability, :func:`grainlib.learn.segment.probability`) and with it (plus
probability -> grains -> boundary map, threshold and watershed), and seconds per training
step at batch 8, on crops of the demo's side and of 128 x 128. Networks are untrained:
their cost does not depend on their weights. The post-processing is timed on the
probability map of a trained-looking U-Net (blurred boundaries of random Voronoi grains),
as its cost depends on the grains it finds; an untrained net's flat map has none.
Each figure is the median of ``--repeats`` runs after a warm-up.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from grainlib.core import config, grains  # noqa: E402
from grainlib.learn import postprocess, segment  # noqa: E402
from grainlib.learn.nets import SegmentationUNet  # noqa: E402

SIDE = 400


def voronoi_ids(rng, side, n_grains):
    """(side, side) int32 ids of random Voronoi grains."""
    rows, cols = np.indices((side, side))
    pixels = np.stack([rows.ravel(), cols.ravel()], 1)
    _, nearest = cKDTree(rng.uniform(0, side, (n_grains, 2))).query(pixels)
    return nearest.reshape(side, side).astype(np.int32)


def median_seconds(run, repeats):
    """Median wall time of ``run()`` over ``repeats`` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def postprocess_seconds(rng, repeats):
    """Seconds of probability -> grains -> boundary map for each post-processing, on a
    trained-looking 400 x 400 probability map (about 60 grains)."""
    boundary = grains.boundaries(voronoi_ids(rng, SIDE, 60)).astype(np.float32)
    prob = np.clip(ndimage.gaussian_filter(boundary, 1.0) * 2.5, 0, 1)
    times = {}
    for how in ("threshold", "watershed"):
        times[how] = median_seconds(
            lambda: grains.boundaries(postprocess.grain_ids(prob, how, threshold=0.5)), repeats)
        found = postprocess.grain_ids(prob, how, threshold=0.5).max()
        print(f"post-processing {how:<9}: {times[how]:.3f} s per {SIDE} x {SIDE} map "
              f"({found} grains found of 60)")
    return times


def training_seconds(params, crop, steps, rng):
    """Seconds per training step at batch 8 on ``crop`` x ``crop`` crops (whole patches
    when ``crop`` is the patches' side)."""
    side = max(crop, 128)
    boundaries = np.stack([grains.boundaries(voronoi_ids(rng, side, 12)) for _ in range(16)])
    images = np.where(boundaries, 60, 200).astype(np.uint8)
    start = [0.0]

    def mark(step, losses):
        if step == 0:  # the first step warms up
            start[0] = time.perf_counter()

    segment.train((images, boundaries), params={**params, "crop": crop, "batch_size": 8,
                                                "steps": steps + 1, "checkpoint_every": 0},
                  progress=False, callback=mark)
    return (time.perf_counter() - start[0]) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--repeats", type=int, default=3, help="timed predictions (median)")
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}")
    post = postprocess_seconds(rng, args.repeats)
    image = np.where(grains.boundaries(voronoi_ids(rng, SIDE, 60)), 60, 200).astype(np.uint8)
    demo_crop = config.load("demo")["segment"]["crop"]
    for profile in ("demo", "paper"):
        params = {**config.load(profile)["segment"], "device": args.device}
        torch.manual_seed(0)
        unet = SegmentationUNet(width=params["width"], depth=params["depth"])
        model = segment.Segmenter(unet.eval(), params)
        forward = median_seconds(
            lambda: segment.probability(model, image, device=args.device), args.repeats)
        print(f"{profile:>5}: U-Net width {params['width']}, depth {params['depth']}: "
              f"{forward:.3f} s per {SIDE} x {SIDE} micrograph without post-processing, "
              f"{forward + post['threshold']:.3f} s with threshold, "
              f"{forward + post['watershed']:.3f} s with watershed")
        for crop in (demo_crop, 128):
            seconds = training_seconds(params, crop, args.steps, rng)
            print(f"{profile:>5}: training, batch 8 of {crop} x {crop} crops: "
                  f"{seconds:.3f} s/step = {8 / seconds:.1f} patches/s")


if __name__ == "__main__":
    main()
