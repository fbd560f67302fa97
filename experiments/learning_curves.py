"""Where the segmentation U-Net stops improving: validation MAP against training steps,
and the fast path against float32.

Validation images are the training images outside Real_X% (no network here learns from
them; the test images, the iron test section 003 included, are never read). Three runs:

- ``curve``: one long training per training set (real, real+flips, real+synthetic),
  fraction and seed, at a constant learning rate, read at doubling step counts
  (snapshots of one run: the rate does not depend on the length); each snapshot scored
  on the validation patches. The budget is the first step count after which Real_X%
  alone gains under 0.01 MAP, at any later count of the curve (:func:`budget`).
- ``cosine``: Real_X% alone under warm-up then cosine decay, one training per budget
  (the rate depends on the length), against the constant rate's snapshot at that budget.
- ``equal``: Real_X% at the profile's budget, float32 against the fast path
  (:mod:`grainlib.learn.precision`), paired by seed.

    python experiments/learning_curves.py curve demo --fractions 5 35 --seeds 0
    python experiments/learning_curves.py cosine demo --fractions 5 --seeds 0
    python experiments/learning_curves.py equal demo --fractions 5 --seeds 0 1 2
    python experiments/learning_curves.py summary demo

Rows go to ``runs/<profile>/experiments/curves/*.csv`` as each network is scored (a
stopped run resumes); ``summary`` writes ``learning_curves.csv`` and ``.png`` and
``precision_equal.csv`` into the profile's figures folder (``GRAINLIB_FIGURES`` replaces
it: the committed iron ones are in ``figures/iron-sections``). Every network here trains at
the fast path (``precision: auto``) unless ``equal`` says float32.
"""

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from grainlib.core import config
from grainlib.data import datasets
from grainlib.learn import segment, transfer
from grainlib.score import metrics, paired

SETS = ("real", "real+flips", "real+synthetic")
FAST = {"segment.precision": "auto", "transfer.precision": "auto"}


def folder(cfg) -> Path:
    path = Path(cfg["run_dir"]) / "experiments" / "curves"
    path.mkdir(parents=True, exist_ok=True)
    return path


def validation(data, fraction):
    """The training patches of the images outside Real_X%."""
    return data.train.from_images(np.setdiff1d(data.train_indices, data.fractions[fraction]))


def scores(model, val) -> dict:
    means = metrics.evaluate(segment.predict(model, val.images), val.boundaries)[1]
    return {"map": float(means["map"]), "ari": float(means["ari"])}


def stored(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def append(path: Path, rows: list[dict]):
    pd.concat([stored(path), pd.DataFrame(rows)], ignore_index=True).to_csv(path, index=False)


def sets_of(cfg, data, training_set, fraction, seed):
    """(real, synthetic, augment) as segment.train takes them."""
    real = data.real_fraction(fraction)
    pair = (real.images, real.boundaries)
    if training_set == "real+synthetic":
        built = transfer.build(cfg, fraction, seed, progress=False)
        return pair, (built.synthetic.images, built.synthetic.boundaries), False
    return pair, None, training_set == "real+flips"


def params_of(cfg, **changes) -> dict:
    return {**cfg["segment"], "line_width": cfg["data"]["boundary_width"],
            "checkpoint_every": 1e9, **changes}


def curve(cfg, data, fraction, training_set, seed, steps):
    path = folder(cfg) / "curve.csv"
    done = stored(path)
    if len(done) and ((done["fraction"] == fraction) & (done["training_set"] == training_set)
                      & (done["seed"] == seed)).any():
        return
    val = validation(data, fraction)
    real, synthetic, augment = sets_of(cfg, data, training_set, fraction, seed)
    model = segment.train(real, synthetic, params_of(cfg, steps=max(steps)), seed=seed,
                          progress=False, augment=augment, snapshots=steps)
    seconds = model.history["seconds"]
    rows = []
    for step in sorted(model.snapshots):
        rows.append({"fraction": fraction, "training_set": training_set, "seed": seed,
                     "schedule": "constant", "steps": step,
                     "precision": model.params["precision"],
                     "train_seconds": seconds[step - 1],
                     **scores(segment.at_step(model, step), val)})
        print(rows[-1], flush=True)
    append(path, rows)


def trained_scores(cfg, data, fraction, seed, steps, **changes) -> dict:
    val = validation(data, fraction)
    real = data.real_fraction(fraction)
    model = segment.train((real.images, real.boundaries), None, params_of(cfg, steps=steps,
                          **changes), seed=seed, progress=False, augment=False)
    return {"precision": model.params["precision"], "train_seconds": model.train_seconds,
            **scores(model, val)}


def cosine(cfg, data, fraction, seed, steps):
    path = folder(cfg) / "cosine.csv"
    for n in steps:
        done = stored(path)
        if len(done) and ((done["fraction"] == fraction) & (done["seed"] == seed)
                          & (done["steps"] == n)).any():
            continue
        row = {"fraction": fraction, "training_set": "real", "seed": seed,
               "schedule": "cosine", "steps": n,
               **trained_scores(cfg, data, fraction, seed, n, lr_schedule="cosine",
                                warmup_steps=max(n // 20, 1))}
        print(row, flush=True)
        append(path, [row])


def equal(cfg, data, fraction, seeds):
    path = folder(cfg) / "equal.csv"
    for seed in seeds:
        for precision in ("float32", "auto"):
            done = stored(path)
            if len(done) and ((done["fraction"] == fraction) & (done["seed"] == seed)
                              & (done["asked"] == precision)).any():
                continue
            row = {"fraction": fraction, "seed": seed, "asked": precision,
                   "steps": cfg["segment"]["steps"],
                   **trained_scores(cfg, data, fraction, seed, cfg["segment"]["steps"],
                                    precision=precision)}
            print(row, flush=True)
            append(path, [row])


def budget(table: pd.DataFrame, tolerance: float = 0.01) -> int | None:
    """The first step count whose mean MAP no later step count of the curve beats by
    ``tolerance`` or more (a doubling that gains less, followed by one that gains more,
    is a pause, not the end); None when none qualifies before the last."""
    mean = table.groupby("steps")["map"].mean().sort_index()
    for n, m in mean.items():
        later = mean[mean.index > n]
        if len(later) and later.max() - m < tolerance:
            return int(n)
    return None


def summary(cfg):
    figures = Path(cfg["figures_dir"])
    figures.mkdir(parents=True, exist_ok=True)
    curves = stored(folder(cfg) / "curve.csv")
    cos = stored(folder(cfg) / "cosine.csv")
    table = pd.concat([curves, cos], ignore_index=True)
    table.sort_values(["fraction", "training_set", "schedule", "seed", "steps"]).to_csv(
        figures / "learning_curves.csv", index=False, float_format="%.4f")
    fractions = sorted(curves["fraction"].unique())
    fig, axes = plt.subplots(1, len(fractions), figsize=(5 * len(fractions), 3.8),
                             squeeze=False, sharey=True)
    for ax, fraction in zip(axes[0], fractions):
        for name, group in curves[curves["fraction"] == fraction].groupby("training_set"):
            mean = group.groupby("steps")["map"].mean()
            ax.plot(mean.index, mean.values, "o-", label=name)
        c = cos[cos["fraction"] == fraction] if len(cos) else cos
        if len(c):
            mean = c.groupby("steps")["map"].mean()
            ax.plot(mean.index, mean.values, "s--", label="real, cosine")
        chosen = budget(curves[(curves["fraction"] == fraction)
                               & (curves["training_set"] == "real")])
        if chosen:
            ax.axvline(chosen, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        steps = sorted(curves["steps"].unique())
        ax.set_xticks(steps, [str(n) for n in steps])
        ax.minorticks_off()
        ax.set_title(f"{cfg['profile']}: Real_{fraction}%, seed 0 "
                     + (f"(Real_X% stops at {chosen})" if chosen else
                        f"(Real_X% still rising at {max(steps)})"), fontsize=10)
        ax.set_xlabel("training steps (constant rate unless said)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("MAP on validation images")
    fig.tight_layout()
    fig.savefig(figures / "learning_curves.png", dpi=120)
    eq = stored(folder(cfg) / "equal.csv")
    if len(eq):
        wide = eq.pivot_table(index=["fraction", "seed"], columns="asked", values="map")
        mean, lo, hi = paired.interval((wide["auto"] - wide["float32"]).to_numpy())
        eq.to_csv(figures / "precision_equal.csv", index=False, float_format="%.4f")
        print(f"fast - float32 MAP: {mean:+.4f} [{lo:+.4f}, {hi:+.4f}] over {len(wide)} "
              f"seeds; float32 {wide['float32'].mean():.4f} (seed SD "
              f"{wide['float32'].std(ddof=1):.4f}), fast {wide['auto'].mean():.4f} "
              f"(SD {wide['auto'].std(ddof=1):.4f}); seconds per network: "
              + ", ".join(f"{k} {v:.0f}" for k, v in
                          eq.groupby("asked")["train_seconds"].mean().items()))
    for fraction in fractions:
        print(f"Real_{fraction}%: budget", budget(curves[(curves["fraction"] == fraction)
                                                          & (curves["training_set"] == "real")]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("curve", "cosine", "equal", "summary"))
    parser.add_argument("profile")
    parser.add_argument("--fractions", type=int, nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--steps", type=int, nargs="+")
    args = parser.parse_args()
    cfg = config.load(args.profile, None if args.what == "equal" else FAST)
    if args.what == "summary":
        return summary(cfg)
    data = datasets.build(cfg, progress=False)
    for fraction in args.fractions:
        for seed in args.seeds:
            if args.what == "curve":
                for training_set in args.sets:
                    curve(cfg, data, fraction, training_set, seed, args.steps)
            elif args.what == "cosine":
                cosine(cfg, data, fraction, seed, args.steps)
        if args.what == "equal":
            equal(cfg, data, fraction, args.seeds)


if __name__ == "__main__":
    main()
