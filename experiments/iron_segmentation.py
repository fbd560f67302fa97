"""The segmentation checks on real iron (iron-sections profile).

- ``full``: Real_100% (the four training sections) against the four classical
  baselines, on the held-out test section (003).
- ``scarce``: one real training section (Real_25%): "real", "real+flips" and
  "real+synthetic" over seeds 0, 1, 2, on the test section.
- ``crossval``: leave one section out, five times: a U-Net ("real", the profile's
  settings, seed 0) trained on random patches of four sections, scored with the
  baselines on the 5 x 5 grid of the fifth, so that every section is a test section once;
  then every post-processing of ``POSTPROCESS_GRID`` on the folds whose held-out section
  is not the test section (how the profile's was chosen).
- ``validate``: the choices of the profile, made without the test section. U-Nets trained
  on sections 001, 002 and 004 are scored on section 005, beside the baselines, each with
  every post-processing of ``POSTPROCESS_GRID`` (threshold, or watershed from grain
  cores); learning rates 1e-4 and the profile's, and with ``--steps`` also longer
  trainings and flips. The U-Nets are kept in runs/iron-sections/experiments/validate/.

Every model of ``full`` and ``scarce`` is made by grainlib.learn.segment.build (and
grainlib.learn.transfer.build for the synthetic images), stored in runs/iron-sections/, so a
second run only re-reads them. Needs the iron sections (python -m grainlib data fetch
iron-sections). CPU, one thread each: full 7 min, scarce 25 min per seed, crossval 35 min.

    python experiments/iron_segmentation.py full|scarce|crossval|validate [--threads 1]
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from grainlib.core import config, grains
from grainlib.data import datasets, patches
from grainlib.learn import segment
from grainlib.learn.postprocess import grain_ids
from grainlib.score import baselines, evaluate, metrics


def _mean_scores(preds, truths):
    table, _ = metrics.evaluate(list(preds), list(truths))
    return round(table["map"].mean(), 3), round(table["ari"].mean(), 3)


def _baseline_rows(cfg, images, truths):
    return [(name, *["-"] * 6, *_mean_scores([method(i) for i in images], truths))
            for name, method in baselines.configured(cfg).items()]


# Post-processing variants scored for every validation U-Net: (postprocess, threshold,
# marker_depth). Post-processing does not change the weights, so one model serves all.
POSTPROCESS_GRID = ([("threshold", t, 0.0) for t in (0.5, 0.6, 0.7, 0.8, 0.9)]
                    + [("watershed", t, d) for t in (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98)
                       for d in (2.0, 3.0, 4.0, 5.0, 6.0)])


def _validation_model(cfg, fit, folder, lr, steps, flips):
    """A U-Net of the validation, stored in ``folder`` and re-read on the next call."""
    params = {**cfg["segment"], "lr": lr, "steps": steps}
    path = folder / f"lr{lr:g}-steps{steps}-flips{int(flips)}.pt"
    if path.exists():
        return segment.load(path)
    model = segment.train((fit.images, fit.boundaries), params=params, seed=0,
                          progress=False, augment=flips)
    segment.save(model, path)
    return model


def validate(cfg, data, steps, folder):
    """Learning rate, steps, flips and post-processing, chosen on a training section (005),
    never the test section: U-Nets trained on 001, 002 and 004, scored on all 36 training
    patches of 005, each with every post-processing of :data:`POSTPROCESS_GRID`. The
    U-Nets are kept in ``folder``, so a second run only re-scores them."""
    fit = data.train.from_images(data.train_indices[:-1])
    held = data.train.from_images(data.train_indices[-1:])
    folder.mkdir(parents=True, exist_ok=True)
    rows = _baseline_rows(cfg, held.images, held.boundaries)
    lr = cfg["segment"]["lr"]
    variants = [(rate, cfg["segment"]["steps"], False) for rate in sorted({1e-4, lr})]
    variants += [(lr, n, flips) for n in steps for flips in (False, True)
                 if (lr, n, flips) not in variants]
    for rate, n, flips in variants:
        model = _validation_model(cfg, fit, folder, rate, n, flips)
        prob = segment.probability(model, held.images)
        for postprocess, threshold, depth in POSTPROCESS_GRID:
            preds = [grains.boundaries(grain_ids(p, postprocess, threshold, depth),
                                       cfg["data"]["boundary_width"]) for p in prob]
            rows.append(("U-Net", rate, n, flips, postprocess, threshold, depth,
                         *_mean_scores(preds, held.boundaries)))
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows, columns=["method", "lr", "steps", "flips", "postprocess",
                                        "threshold", "marker_depth", "MAP", "ARI"])
    print(f"Trained on sections {list(data.train_indices[:-1] + 1)}, scored on "
          f"{list(data.train_indices[-1:] + 1)} ({len(held)} patches)")
    print(table.to_string(index=False))
    return table


def full(cfg):
    """Real_100% against the baselines on the test section, and the U-Net's MAP minus each
    baseline's, paired by patch (mean, standard error, patches where the U-Net is ahead)."""
    scores = evaluate.score(cfg, 100, 0, training_sets=["real"], include_baselines=True)
    table = evaluate.summary(scores)
    print("Real_100% U-Net against the baselines, held-out section, mean (std) over patches")
    print(table.to_string(), flush=True)
    by_patch = scores.pivot(index="patch", columns="method", values="MAP")
    gaps = by_patch.drop(columns="U-Net").rsub(by_patch["U-Net"], axis=0)
    paired = pd.DataFrame({"mean": gaps.mean(), "se": gaps.std() / np.sqrt(len(gaps)),
                           "U-Net ahead on": (gaps > 0).sum(), "patches": len(gaps)})
    print("\nU-Net MAP minus the baseline's, paired by patch")
    print(paired.round(3).to_string(), flush=True)
    return table


def scarce(cfg, seeds):
    """One real training section: real, real+flips, real+synthetic, per seed."""
    scores = pd.concat([evaluate.score(cfg, 25, seed, training_sets=["real", "real+flips",
                                                                     "real+synthetic"],
                                       include_baselines=False)
                        for seed in seeds], ignore_index=True)
    per_seed = scores.groupby(["training_set", "seed"])[["MAP", "ARI"]].mean()
    print("One real training section (Real_25%), mean over patches, per seed")
    print(per_seed.unstack("seed").round(3).to_string())
    print("\nMean and std over seeds")
    over_seeds = per_seed.groupby("training_set").agg(["mean", "std"]).round(3)
    print(over_seeds.to_string())
    return over_seeds


def crossval(cfg, data, folder, sections=None, seed=0):
    """Leave one section out: train on random patches of four sections, score on the grid
    of the fifth, every section (or those of ``sections``, numbered from 1) in turn; the
    baselines on the same grids. The U-Nets are kept in ``folder``: a second run, or one
    after a change of post-processing, only re-scores them. Returns the per-patch scores
    and :func:`postprocess_choice` of the folds other than the test section's."""
    d = cfg["data"]
    cut = {"size": d["patch_size"], "boundary_width": d["boundary_width"]}
    everything = range(len(data.real_images))
    folder.mkdir(parents=True, exist_ok=True)
    rows, folds = [], {}
    for held in [s - 1 for s in sections] if sections else everything:
        others = [i for i in everything if i != held]
        fit = patches.random_crops(data.real_images, data.real_grain_ids,
                                   per_image=d["train_per_image"], seed=seed,
                                   image_indices=others, **cut)
        grid = patches.grid_crops(data.real_images, data.real_grain_ids,
                                  per_image=d["test_per_image"], image_indices=[held], **cut)
        key = segment.model_key(cfg["segment"], seed, [fit.images, fit.boundaries],
                                held_out=held + 1)
        path = folder / f"without-{held + 1:03d}-seed{seed}.pt"
        model = segment.stored_model(path, key, (fit.images, fit.boundaries), None,
                                     cfg["segment"], seed, False, False)
        preds = segment.predict(model, grid.images, line_width=d["boundary_width"])
        for method, found in [("U-Net", preds), *[
                (name, [f(i) for i in grid.images])
                for name, f in baselines.configured(cfg).items()]]:
            table, _ = metrics.evaluate(list(found), list(grid.boundaries))
            rows.append(pd.DataFrame({"section": held + 1, "method": method,
                                      "patch": np.arange(len(table)),
                                      "MAP": table["map"], "ARI": table["ari"]}))
        print(pd.concat(rows).query("section == @held + 1").groupby("method")[["MAP", "ARI"]]
              .mean().round(3).T.to_string(), flush=True)
        if held not in data.test_indices:
            folds[held + 1] = (segment.probability(model, grid.images), grid.boundaries)
    scores = pd.concat(rows, ignore_index=True)
    per_section = scores.groupby(["method", "section"])["MAP"].mean().unstack("section")
    per_section["mean"] = per_section.mean(axis=1)
    print("\nLeave one section out: MAP per held-out section (mean over its 25 patches)")
    print(per_section.round(3).to_string())
    return scores, postprocess_choice(cfg, folds)


def postprocess_choice(cfg, folds):
    """MAP of every post-processing of :data:`POSTPROCESS_GRID` on the leave-one-out folds
    whose held-out section is not the test section: ``folds`` maps a section (from 1) to
    the (probabilities, true boundaries) of its grid patches under the U-Net trained
    without it. One row per post-processing, one column per section, and their mean."""
    if not folds:
        return pd.DataFrame()
    rows = []
    for postprocess, threshold, depth in POSTPROCESS_GRID:
        row = {"postprocess": postprocess, "threshold": threshold, "marker_depth": depth}
        for section, (prob, truths) in folds.items():
            preds = [grains.boundaries(grain_ids(p, postprocess, threshold, depth),
                                       cfg["data"]["boundary_width"]) for p in prob]
            row[f"{section:03d}"] = _mean_scores(preds, truths)[0]
        row["mean"] = round(float(np.mean([row[f"{k:03d}"] for k in folds])), 3)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("mean", ascending=False)
    print(f"\nPost-processing on the folds of sections {sorted(folds)} (not the test "
          "section), MAP, best first")
    print(table.head(12).to_string(index=False))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=["full", "scarce", "crossval", "validate"])
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="scarce: training seeds")
    parser.add_argument("--sections", type=int, nargs="+", default=None,
                        help="crossval: only these held-out sections (1-5)")
    parser.add_argument("--steps", type=int, nargs="*", default=[],
                        help="validate: also these step counts, without and with flips")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = config.load("iron-sections")
    data = datasets.build(cfg, progress=False)
    out = Path(cfg["run_dir"]) / "experiments"
    out.mkdir(parents=True, exist_ok=True)
    if args.part == "validate":
        validate(cfg, data, args.steps, out / "validate").to_csv(out / "validate.csv",
                                                             index=False)
    elif args.part == "full":
        full(cfg).to_csv(out / "real100_vs_baselines.csv")
    elif args.part == "scarce":
        scarce(cfg, args.seeds).to_csv(out / "scarce_over_seeds.csv")
    else:
        scores, choice = crossval(cfg, data, out / "crossval", args.sections)
        scores.to_csv(out / "crossval.csv", index=False)
        choice.to_csv(out / "crossval_postprocess.csv", index=False)


if __name__ == "__main__":
    main()
