"""The segmentation checks on real iron (iron-sections profile), held-out section 003.

1. Real_100% (the four training sections) against the four classical baselines.
2. The scarce case, one real training section (Real_25%): "real", "real+flips" and
   "real+synthetic" over seeds 0, 1, 2.

With ``--validate``, instead: the choice of the learning rate, made without the test
section. U-Nets trained on sections 001, 002 and 004 at the profile's settings and at
the paper's learning rate (1e-4) are scored on section 005, beside the baselines, at
several thresholds.

Every model is made by grainlib.segment.build (and grainlib.transfer.build for the
synthetic images), stored in runs/iron-sections/, so a second run only re-reads them.
Needs the iron sections (python -m grainlib data fetch iron-sections). CPU: about an
hour and a half on one core.

    python experiments/iron_segmentation.py [--threads 1] [--validate]
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from grainlib import baselines, config, datasets, evaluate, metrics, segment


def _mean_scores(preds, truths):
    table, _ = metrics.evaluate(list(preds), list(truths))
    return round(table["map"].mean(), 3), round(table["ari"].mean(), 3)


def validate(cfg, data):
    """Learning rates and thresholds, chosen on a training section (005), never the test."""
    fit = data.train.from_images(data.train_indices[:-1])
    held = data.train.from_images(data.train_indices[-1:])
    every_other = np.arange(0, len(held), 2)
    images, truths = held.images[every_other], held.boundaries[every_other]
    rows = [(name, "-", "-", *_mean_scores([method(i) for i in images], truths))
            for name, method in baselines.configured(cfg).items()]
    for lr in sorted({1e-4, cfg["segment"]["lr"]}):
        model = segment.train((fit.images, fit.boundaries), params={**cfg["segment"], "lr": lr},
                              seed=0, progress=False)
        for threshold in (0.3, 0.5, 0.7):
            preds = segment.predict(model, images, threshold=threshold,
                                    line_width=cfg["data"]["boundary_width"])
            rows.append(("U-Net", lr, threshold, *_mean_scores(preds, truths)))
    table = pd.DataFrame(rows, columns=["method", "lr", "threshold", "MAP", "ARI"])
    print(f"Trained on sections {list(data.train_indices[:-1] + 1)}, scored on "
          f"{list(data.train_indices[-1:] + 1)} ({len(images)} patches)")
    print(table.to_string(index=False))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--validate", action="store_true",
                        help="choose the learning rate on a training section instead")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = config.load("iron-sections")
    data = datasets.build(cfg, progress=False)
    if args.validate:
        return validate(cfg, data)
    out = Path(cfg["run_dir"]) / "experiments"
    out.mkdir(parents=True, exist_ok=True)

    full = evaluate.score(cfg, 100, 0, training_sets=["real"], include_baselines=True)
    table = evaluate.summary(full)
    table.to_csv(out / "real100_vs_baselines.csv")
    print("Real_100% U-Net against the baselines, held-out section, mean (std) over patches")
    print(table.to_string(), flush=True)

    scarce = pd.concat([evaluate.score(cfg, 25, seed, training_sets=["real", "real+flips",
                                                                    "real+synthetic"],
                                       include_baselines=False)
                        for seed in args.seeds], ignore_index=True)
    per_seed = (scarce.groupby(["training_set", "seed"])[["MAP", "ARI"]].mean()
                .unstack("seed").round(3))
    over_seeds = (scarce.groupby(["training_set", "seed"])[["MAP", "ARI"]].mean()
                  .groupby("training_set").agg(["mean", "std"]).round(3))
    per_seed.to_csv(out / "scarce_per_seed.csv")
    over_seeds.to_csv(out / "scarce_over_seeds.csv")
    print("\nOne real training section (Real_25%), mean over patches, per seed")
    print(per_seed.to_string())
    print("\nMean and std over seeds")
    print(over_seeds.to_string())


if __name__ == "__main__":
    main()
