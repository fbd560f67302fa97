"""The generator's budget curve: how realistic the synthetic images get, and how much they
help a scarce-data U-Net, as pix2pix trains longer.

For the smallest real fraction X of a profile, one long pix2pix training per variant and
seed, read at several step counts (``transfer.train(snapshots=...)``). At each snapshot:

- **realism** (``grainlib.score.realism.realism``) of the synthetic images of the
  simulated labels, and of the generator's images of the validation labels, against the
  validation images, beside the real-real floor (the validation images split in two);
- **usefulness**: MAP and ARI on the validation patches of a U-Net trained on
  Mixed(Real_X% + Synthetic) against one trained on Real_X% alone (the profile's U-Net
  budget; U-Net seeds ``--unet-seeds``, none for realism alone), and the paired gain.

The validation images are the training images outside Real_X%: neither network learns
from them, and the test images (the iron test section 003) are never read. Every
generator is trained on random ``--crop`` x ``--crop`` crops (at least the 70 px window
of the discriminator) in batches of ``--batch``.

Variants (:data:`VARIANTS`): ``ours`` (resize-convolution decoder, dropout, LSGAN,
evaluation-mode generation), ``authors`` (their unet_16: transposed convolutions, vanilla
GAN, N(0, 0.02) weights, training-mode generation) and ``stochastic`` (ours with noise
injected into the decoder, the texture term, and a lower L1 weight).

    python experiments/generator_budget.py run demo ours --seed 0 [--steps 300 1000 3000]
    python experiments/generator_budget.py baseline demo
    python experiments/generator_budget.py summary demo

``run`` writes ``runs/<profile>/experiments/budget/<variant>-seed<seed>.csv`` (and keeps
each snapshot's generator and every U-Net's scores beside it, so a stopped run resumes;
``baseline`` trains the Real_X% U-Nets beside the variants' runs); ``summary`` gathers the
CSVs into the profile's figures folder: ``generator_budget.csv`` (per variant and step) and
``generator_budget.png``, which chapter 03 shows. One variant at 3000 steps of 4 x 96 x 96
crops: about 20 min of one core (``benchmarks/transfer.py``), plus some 2 min per snapshot
for the scores.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from grainlib.core import config
from grainlib.data import datasets
from grainlib.learn import segment, transfer
from grainlib.score import metrics, realism
from grainlib.view import report

VARIANTS = {
    "ours": {"variant": "ours"},
    "authors": {"variant": "authors"},
    "stochastic": {"variant": "ours", "noise": True, "texture_weight": 100.0, "l1_weight": 10.0},
}
MEASURES = ("high_frequency_share", "core_sd", "boundary_darkness_median",
            "boundary_darkness_cv", "faint_boundary_share", "specks_per_10k",
            "histogram_distance", "auc_vs_reference")


def folder(cfg) -> Path:
    return Path(cfg["run_dir"]) / "experiments" / "budget"


def validation(cfg, data, fraction):
    """The training patches of the images outside Real_X%."""
    others = np.setdiff1d(data.train_indices, data.fractions[fraction])
    return data.train.from_images(others)


def unet_scores(cfg, real, synthetic, val, seed):
    """(MAP, ARI) on ``val`` of a U-Net trained on ``real`` (+ ``synthetic``)."""
    params = {**cfg["segment"], "line_width": cfg["data"]["boundary_width"]}
    model = segment.train((real.images, real.boundaries), synthetic, params, seed=seed,
                          progress=False, augment=False)
    means = metrics.evaluate(segment.predict(model, val.images), val.boundaries)[1]
    return float(means["map"]), float(means["ari"])


def cached_scores(path, key, compute) -> tuple:
    """(MAP, ARI) of the U-Net named by ``key`` (a dict column -> value): read from the CSV
    at ``path`` when there, else ``compute()``d and added, so a stopped run resumes."""
    def stored():
        return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=[*key, "map", "ari"])

    done = stored()
    found = done[(done[list(key)] == pd.Series(key)).all(axis=1)]
    if len(found):
        return tuple(float(v) for v in found.iloc[0][["map", "ari"]])
    scores = compute()
    row = pd.DataFrame([{**key, "map": scores[0], "ari": scores[1]}])
    # read again: a parallel run (another variant) may have added rows meanwhile
    pd.concat([stored(), row], ignore_index=True).to_csv(path, index=False)
    return scores


def real_alone(cfg, real, val, seed) -> tuple:
    """Real_X%'s validation scores of one U-Net seed, kept in a CSV beside the curves."""
    return cached_scores(folder(cfg) / "real_alone.csv", {"unet_seed": seed},
                         lambda: unet_scores(cfg, real, None, val, seed))


def trained_snapshots(cfg, real, variant, seed, steps, crop, batch) -> dict:
    """{step: StyleTransfer} of one long training on the PatchSet ``real``, each snapshot
    stored as a model file."""
    paths = {s: folder(cfg) / f"{variant}-seed{seed}-step{s}.pt" for s in steps}
    if all(p.is_file() for p in paths.values()):
        return {s: transfer.load(p) for s, p in paths.items()}
    params = {**cfg["transfer"], **VARIANTS[variant], "steps": max(steps), "crop": crop,
              "batch_size": batch}
    model = transfer.train(real.boundaries, real.images, params, seed=seed, snapshots=steps)
    out = {}
    for s, path in paths.items():
        out[s] = transfer.at_step(model, s)
        transfer.save(out[s], path)
    return out


def scarce_data(cfg):
    """(data, Real_X% PatchSet, validation PatchSet) at the profile's smallest fraction."""
    data = datasets.load(cfg)
    fraction = min(cfg["data"]["fractions"])
    real, val = data.real_fraction(fraction), validation(cfg, data, fraction)
    folder(cfg).mkdir(parents=True, exist_ok=True)
    print(f"{cfg['profile']}: Real_{fraction}% {len(real)} patches; validation "
          f"{len(np.unique(val.image_index))} images, {len(val)} patches", flush=True)
    return data, real, val


def baseline(cfg, unet_seeds):
    """Real_X% alone per U-Net seed: run beside the variants' ``run``s, which then read it."""
    _, real, val = scarce_data(cfg)
    for unet_seed in unet_seeds:
        print(f"Real alone, U-Net seed {unet_seed}: MAP, ARI "
              f"{real_alone(cfg, real, val, unet_seed)}", flush=True)


def run(cfg, variant, seed, steps, unet_seeds, crop, batch):
    data, real, val = scarce_data(cfg)
    rows = []
    for step, model in trained_snapshots(cfg, real, variant, seed, steps, crop, batch).items():
        start = time.perf_counter()
        synthetic = transfer.generate(model, data.simulated.boundaries, seed=seed)
        of_val = transfer.generate(model, val.boundaries, seed=seed)
        measured = realism.realism({
            "validation": (val.images, val.grain_ids, val.image_index),
            "synthetic": (synthetic, data.simulated.grain_ids, data.simulated.image_index),
            "validation labels": (of_val, val.grain_ids, val.image_index)},
            reference="validation", seed=seed)
        row = {"variant": variant, "seed": seed, "step": step,
               "train_seconds": model.train_seconds,
               "generate_seconds": (time.perf_counter() - start) / (len(synthetic) + len(val))}
        for name, key in (("validation", "real"), ("synthetic", "syn"),
                          ("validation labels", "vallab"), ("floor", "floor")):
            row.update({f"{key}_{m}": measured.loc[name, m] for m in MEASURES})
        gains = []
        for unet_seed in unet_seeds:
            mixed = cached_scores(
                folder(cfg) / f"mixed_{variant}_seed{seed}.csv",
                {"step": step, "unet_seed": unet_seed},
                lambda: unet_scores(cfg, real, (synthetic, data.simulated.boundaries), val,
                                    unet_seed))
            alone = real_alone(cfg, real, val, unet_seed)
            rows.append({**row, "unet_seed": unet_seed, "map_real": alone[0],
                         "ari_real": alone[1], "map_mixed": mixed[0], "ari_mixed": mixed[1]})
            gains.append(mixed[0] - alone[0])
        if not unet_seeds:  # realism alone
            rows.append({**row, "unet_seed": np.nan, "map_real": np.nan, "ari_real": np.nan,
                         "map_mixed": np.nan, "ari_mixed": np.nan})
        print(f"{variant} seed {seed} step {step}: AUC {row['syn_auc_vs_reference']:.2f} "
              f"(floor {row['floor_auc_vs_reference']:.2f}), core SD "
              f"{row['syn_core_sd']:.2f} (real {row['real_core_sd']:.2f}), high-frequency "
              f"share {row['syn_high_frequency_share']:.3f} (real "
              f"{row['real_high_frequency_share']:.3f}), MAP gain "
              f"{np.mean(gains) if gains else np.nan:+.3f}", flush=True)
    table = pd.DataFrame(rows)
    table.to_csv(folder(cfg) / f"{variant}-seed{seed}.csv", index=False)
    return table


def summary(cfg) -> pd.DataFrame:
    """Per variant and step: realism ratios and the Mixed gain (mean and SD over seeds)."""
    frames = [pd.read_csv(p) for p in sorted(folder(cfg).glob("*-seed*.csv"))]
    if not frames:
        raise SystemExit(f"no curves in {folder(cfg)}: run `run` first")
    table = pd.concat(frames, ignore_index=True)
    table["map_gain"] = table["map_mixed"] - table["map_real"]
    table["ari_gain"] = table["ari_mixed"] - table["ari_real"]
    for m in ("high_frequency_share", "core_sd"):
        table[f"syn_{m}_ratio"] = table[f"syn_{m}"] / table[f"real_{m}"]
        table[f"vallab_{m}_ratio"] = table[f"vallab_{m}"] / table[f"real_{m}"]
    first = ["train_seconds", "syn_auc_vs_reference", "floor_auc_vs_reference",
             "vallab_auc_vs_reference", "syn_high_frequency_share_ratio", "syn_core_sd_ratio",
             "vallab_high_frequency_share_ratio", "vallab_core_sd_ratio",
             "syn_histogram_distance", "syn_boundary_darkness_cv", "real_boundary_darkness_cv"]
    grouped = table.groupby(["variant", "step"])
    out = grouped[first].mean()
    out["map_real"] = grouped["map_real"].mean()
    out["map_gain_mean"] = grouped["map_gain"].mean()
    out["map_gain_sd"] = grouped["map_gain"].std(ddof=1)
    out["ari_gain_mean"] = grouped["ari_gain"].mean()
    out["ari_gain_sd"] = grouped["ari_gain"].std(ddof=1)
    out["runs"] = grouped.size()
    figures = Path(cfg["figures_dir"])
    figures.mkdir(parents=True, exist_ok=True)
    out.to_csv(figures / "generator_budget.csv")
    report.budget_curve(out, path=figures / "generator_budget.png",
                        title=f"{cfg['profile']}: pix2pix on Real_{min(cfg['data']['fractions'])}%")
    examples(cfg, table, figures / "generator_budget_examples.png")
    return out


def examples(cfg, table, path, n=3):
    """Fig. 3 for the curve: validation images, their labels, and each variant's image of
    those labels at its largest budget (generator seed 0 where there)."""
    data = datasets.load(cfg)
    val = validation(cfg, data, min(cfg["data"]["fractions"]))
    picks = np.linspace(0, len(val) - 1, n).astype(int)
    columns = {"validation image": val.images[picks], "its label": val.boundaries[picks]}
    for variant, rows in table.groupby("variant"):
        seed, step = int(rows["seed"].min()), int(rows["step"].max())
        model = transfer.load(folder(cfg) / f"{variant}-seed{seed}-step{step}.pt")
        columns[f"{variant}, {step} steps"] = transfer.generate(model, val.boundaries[picks],
                                                                seed=seed)
    report.fig3_datasets(columns, n=n, path=path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("run", "baseline", "summary"))
    parser.add_argument("profile")
    parser.add_argument("variant", nargs="?", choices=tuple(VARIANTS))
    parser.add_argument("--seed", type=int, default=0, help="generator seed")
    parser.add_argument("--steps", type=int, nargs="+", default=[300, 1000, 3000])
    parser.add_argument("--unet-seeds", type=int, nargs="*", default=[0, 1, 2],
                        help="U-Net seeds of the Mixed gain; none: realism alone")
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = config.load(args.profile)
    if args.command == "summary":
        with pd.option_context("display.width", 250, "display.max_columns", 30):
            print(summary(cfg).round(3))
        return
    if args.command == "baseline":
        baseline(cfg, args.unet_seeds)
        return
    if args.variant is None:
        parser.error("run needs a variant")
    run(cfg, args.variant, args.seed, args.steps, args.unet_seeds, args.crop, args.batch)


if __name__ == "__main__":
    main()
