"""Each chapter's closing Findings, written from the numbers of the run that executed it.

One function per chapter turns that chapter's results into a list of sentences, so a
reader of any executed notebook, at any profile, reads what this run found rather than
what some earlier run found; :func:`show` displays them as a Markdown list. Paired
comparisons (two training sets on the same test patches) are reported as the mean of the
per-patch differences with its standard error over patches.
"""

from __future__ import annotations

import math

import pandas as pd
from IPython.display import Markdown

from grainlib.learn import recipes, segment
from grainlib.view import gains


def show(sentences: list[str]) -> Markdown:
    """The sentences as a Markdown list under a "Findings" heading."""
    return Markdown("### Findings\n\n" + "\n".join(f"- {s}" for s in sentences))


def _direction(value: float, spread: float, up: str, down: str, level: str) -> str:
    """``up`` or ``down`` when ``value`` is beyond ``spread`` on that side, else ``level``."""
    if not math.isfinite(spread) or abs(value) <= spread:
        return level
    return up if value > 0 else down


def paired_difference(scores: pd.DataFrame, a: str, b: str, metric: str = "MAP") -> tuple:
    """Mean and standard error over test patches of ``metric`` of training set ``a`` minus
    that of ``b`` (U-Net rows of :func:`grainlib.score.evaluate.score`'s table, paired by
    patch); ``(nan, nan, 0)`` when either is missing. Returns (mean, se, patches)."""
    unet = scores[scores["method"] == "U-Net"]
    per_patch = unet.pivot_table(index="patch", columns="training_set", values=metric)
    if a not in per_patch or b not in per_patch:
        return float("nan"), float("nan"), 0
    diff = (per_patch[a] - per_patch[b]).dropna()
    se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    return float(diff.mean()), float(se), len(diff)


def _versus(scores, a: str, b: str, fraction: int) -> str:
    mean, se, n = paired_difference(scores, a, b)
    verdict = _direction(mean, 2 * se, "better than", "worse than", "level with")
    return (f"{segment.paper_name(a, fraction)} is {verdict} {segment.paper_name(b, fraction)}:"
            f" MAP {mean:+.3f} ± {se:.3f} (paired over {n} test patches, ± one standard "
            f"error; a difference counts beyond two)")


# --------------------------------------------------------------------------- chapters


def potts(table: pd.DataFrame, volume_fit, clock=None) -> list[str]:
    """Chapter 01: grain count and size at the end, the growth exponent, the MCS clock.

    Parameters
    ----------
    table : :func:`grainlib.simulate.kinetics.growth_table` of the snapshots (index MCS).
    volume_fit : (exponent, prefactor) of the mean grain volume, or None.
    clock : :class:`grainlib.simulate.mcs_clock.Comparison`, or None.
    """
    final = table.iloc[-1]
    out = [f"After {table.index[-1]} MCS the volume holds {final.grains:.0f} grains, "
           f"{final.mean_volume:.0f} sites each on average (sections: "
           f"{final.mean_section_area:.0f} px a grain)."]
    if volume_fit is not None:
        exponent = volume_fit[0]
        shape = ("close to" if abs(exponent - 1.5) <= 0.15 else
                 "faster than" if exponent > 1.5 else "slower than")
        out.append(f"The mean grain volume grows as MCS^{exponent:.2f}, {shape} the t^1.5 of "
                   f"ideal normal grain growth.")
    if clock is not None and len(clock.pairs):
        ratios = clock.pairs["MCS ratio"]
        out.append(f"One MCS of our sublattice sweep matches {ratios.min():.2f}-"
                   f"{ratios.max():.2f} MCS of the protocol's random-site order at equal "
                   f"grain size.")
        if len(clock.ks):
            worst = clock.ks["KS statistic"].max()
            same = worst <= 0.1
            out.append(f"At equal grain size the largest KS statistic between the two orders "
                       f"(volume, area and edge distributions, every pair) is {worst:.3f}: "
                       + ("the same microstructure, so MCS is a rescaled clock and chapter 02 "
                          "matches the simulation to the real data by grain size." if same else
                          "they differ somewhere; see the table above for which pair and "
                          "quantity (the earliest pairs are in the transient, the last have "
                          "few grains)."))
    return out


def data(datasets, ks: pd.DataFrame) -> list[str]:
    """Chapter 02: what the datasets hold and how alike real and simulated grains are.

    Parameters
    ----------
    datasets : :class:`grainlib.data.datasets.Datasets`.
    ks : :func:`grainlib.data.datasets.ks_table` of real against simulated grains.
    """
    chosen = datasets.snapshot_areas.loc[datasets.snapshot_areas["chosen"], "mean_area"]
    out = [f"{len(datasets.train)} real training patches and {len(datasets.test)} test "
           f"patches of {datasets.train.size} px, split by image; {len(datasets.simulated)} "
           f"simulated patches cut from the Potts snapshot at MCS {datasets.simulated_mcs}, "
           f"whose mean grain area ({chosen.iloc[0]:.0f} px) is the nearest to the real "
           f"training patches' ({datasets.real_mean_area:.0f} px)."]
    for quantity, name in (("normalised_area", "grain area over its mean"),
                           ("edges", "number of neighbours")):
        if quantity in ks.index:
            row = ks.loc[quantity]
            alike = "are close" if row["KS statistic"] < 0.1 else "differ"
            out.append(f"Real and simulated {name} {alike}: KS {row['KS statistic']:.3f} "
                       f"(p {row['p-value']:.3f} over {row['real grains']:.0f} and "
                       f"{row['simulated grains']:.0f} grains; means {row['real mean']:.2f} "
                       f"real, {row['simulated mean']:.2f} simulated).")
    return out


def transfer(looks: pd.DataFrame, built, texture: pd.DataFrame | None = None) -> list[str]:
    """Chapter 03: how far the synthetic images are from the real test images.

    Parameters
    ----------
    looks : :func:`grainlib.score.appearance.compare` with rows "real test",
        "simulated (flat)" and "synthetic from the real test labels".
    built : :class:`grainlib.learn.transfer.Built`.
    texture : :func:`grainlib.score.realism.realism`, with a row per synthetic set and its
        ``floor`` row, or None.
    """
    out = [f"The generator trained on Real_{built.fraction}% for {built.model.steps} steps "
           f"({'trained in this run' if built.trained_now else 'read back from the run folder'})"
           f" made {len(built.synthetic)} synthetic images."]
    rows = {"simulated (flat)": "flat simulated images",
            "synthetic from the real test labels": "synthetic images of the real test labels"}
    real = looks.loc["real test"]
    for name, what in rows.items():
        if name in looks.index:
            row = looks.loc[name]
            out.append(f"The {what} lie {row['histogram_distance']:.1f} grey levels from the "
                       f"real test images (earth mover's distance of the grey histograms), "
                       f"boundary darkness {row['boundary_darkness']:.1f} against "
                       f"{real['boundary_darkness']:.1f}.")
    if texture is not None:
        synthetic = [n for n in texture.index if str(n).startswith("synthetic")]
        real_row, floor = texture.loc["real test"], texture.loc["floor"]
        for name in synthetic:
            row = texture.loc[name]
            out.append(
                f"Texture of the {name} images: grey SD inside grain cores {row['core_sd']:.1f}"
                f" against {real_row['core_sd']:.1f} real, high-frequency power share "
                f"{row['high_frequency_share']:.3f} against {real_row['high_frequency_share']:.3f};"
                f" a classifier tells them from real patches with AUC "
                f"{row['auc_vs_reference']:.2f} (0.5: indistinguishable), "
                + (f"where two halves of the real images give {floor['auc_vs_reference']:.2f}."
                   if math.isfinite(floor["auc_vs_reference"]) else
                   "with too few real test images to measure two halves against each other."))
    return out


def segmentation(scores: pd.DataFrame, fraction: int) -> list[str]:
    """Chapters 04 and 05: which training set segments the real test patches best at this
    fraction, and the paper's comparisons, paired by patch.

    Parameters
    ----------
    scores : :func:`grainlib.score.evaluate.score`'s table for this fraction and seed.
    fraction : the real fraction X.
    """
    unet = scores[scores["method"] == "U-Net"]
    means = unet.groupby("training_set")["MAP"].mean().sort_values(ascending=False)
    best = means.index[0]
    out = [f"Best U-Net at X = {fraction} %: {segment.paper_name(best, fraction)}, test MAP "
           f"{means.iloc[0]:.3f}; " + ", ".join(
               f"{segment.paper_name(name, fraction)} {value:.3f}"
               for name, value in means.iloc[1:].items()) + "."]
    for a, b in (("real+synthetic", "real"), ("real+flips", "real"),
                 ("real+simulated", "real"), ("simulated", "real")):
        if a in means and b in means:
            out.append(_versus(scores, a, b, fraction) + ".")
    if "dG" in unet:
        size = unet.assign(abs_dG=unet["dG"].abs()).groupby("training_set")["abs_dG"].mean()
        size = size.dropna().sort_values()
        if len(size):
            out.append(f"Grain size (ASTM E112 G from the mean lineal intercept, against the "
                       f"labels'): {segment.paper_name(size.index[0], fraction)} comes closest,"
                       f" mean |ΔG| {size.iloc[0]:.2f} over the test patches; " + ", ".join(
                           f"{segment.paper_name(n, fraction)} {v:.2f}"
                           for n, v in size.iloc[1:].items()) + ".")
    others = scores[scores["method"] != "U-Net"]
    if len(others):
        baseline = others.groupby("method")["MAP"].mean().sort_values(ascending=False)
        out.append(f"Best classical method: {baseline.index[0]}, MAP {baseline.iloc[0]:.3f} "
                   f"({'below' if baseline.iloc[0] < means.iloc[0] else 'above'} the best "
                   f"U-Net).")
    return out


def fidelity(table: pd.DataFrame) -> list[str]:
    """Chapter 05's label-fidelity check: the Real_X% U-Net on real test patches against
    on synthetic images (:func:`grainlib.score.evaluate.label_fidelity`)."""
    by_set = table.groupby("images", sort=False)["MAP"].mean()
    real = by_set.get("real test")
    synthetic = [name for name in by_set.index if name.startswith("Synthetic")]
    if real is None or not synthetic:
        return []
    gap = by_set[synthetic[0]] - real
    easier = ("easier than the real ones: they lack some of what makes real micrographs hard"
              if gap > 0.05 else "harder than the real ones: their boundaries stray from "
              "their labels, or they do not look like micrographs to this model"
              if gap < -0.05 else "about as hard as the real ones")
    return [f"The U-Net trained on real patches alone scores MAP {by_set[synthetic[0]]:.3f} on "
            f"the synthetic images against {real:.3f} on the real test patches: the synthetic "
            f"images are {easier}."]


def tables(verdicts: pd.DataFrame) -> list[str]:
    """Chapter 06: one sentence per claim of the paper, with its verdict and evidence
    (:func:`grainlib.score.tables.verdicts`)."""
    return [f"{claim} is {row['verdict']}: {row['claim']} ({row['evidence']})."
            for claim, row in verdicts.iterrows()]


def augmentation(summary: pd.DataFrame, baseline: str = "real") -> list[str]:
    """Chapter 07: per budget (in :data:`grainlib.learn.recipes.BUDGETS`' order) and
    fraction, which recipes help, which hurt, which show no detectable effect over
    ``baseline``, from :func:`grainlib.score.paired.summary`."""
    sentences = []
    for budget in gains.in_order(set(summary["budget"]), recipes.BUDGETS):
        sentences += _verdicts(summary[summary["budget"] == budget], budget, baseline)
    for fraction, rows in summary.groupby("fraction", sort=False):
        sentences += _long_run_control(rows, fraction, baseline)
    if not sentences:
        sentences.append(f"No fraction holds both {baseline} and another recipe yet.")
    return sentences


def _verdicts(summary: pd.DataFrame, budget: str, baseline: str) -> list[str]:
    """One budget's sentence per fraction: the baseline, the best recipe, the verdicts."""
    sentences = []
    for fraction, rows in summary.groupby("fraction", sort=False):
        base = rows[rows["training_set"] == baseline]
        others = rows[rows["training_set"] != baseline].sort_values("gain_map", ascending=False)
        if base.empty or others.empty:
            continue
        n = int(rows["n_seeds"].max())
        best = others.iloc[0]
        parts = []
        for word in ("helps", "hurts", "no detectable effect"):
            names = others[others["verdict"] == word]["training_set"].tolist()
            if names:
                parts.append(f"{word}: {', '.join(names)}")
        sentences.append(
            f"Real_{fraction}%, {budget} ({n} seed{'s' if n > 1 else ''}): {baseline} alone "
            f"scores MAP {base['map_mean'].iloc[0]:.3f}; the best recipe is "
            f"{best['training_set']}, {best['gain_map']:+.3f} ({_interval(best)}). Verdicts: "
            + "; ".join(parts) + ".")
    return sentences


def _long_run_control(rows: pd.DataFrame, fraction, baseline: str) -> list[str]:
    """Where a fraction was run under ``epoch-rule`` and its control ``long-steps``: how
    much of each mixed set's gain under the epoch rule the longer run explains."""
    table = rows.set_index(["budget", "training_set"])
    if not {("epoch-rule", baseline), ("long-steps", baseline)} <= set(table.index):
        return []
    short, long = (table.loc[(b, baseline), "map_mean"] for b in ("epoch-rule", "long-steps"))
    sentences = [f"Real_{fraction}%, the epoch rule's control: trained as long as Mixed "
                 f"(long-steps), {baseline} alone scores MAP {long:.3f} against {short:.3f} "
                 f"in its short decaying run ({long - short:+.3f})."]
    for name in rows["training_set"].unique():
        if name in recipes.REAL_ONLY or ("long-steps", name) not in table.index \
                or ("epoch-rule", name) not in table.index:
            continue
        epoch, control = table.loc[("epoch-rule", name)], table.loc[("long-steps", name)]
        sentences.append(
            f"{name}: {epoch['gain_map']:+.3f} over {baseline} under the epoch rule, "
            f"{control['gain_map']:+.3f} ({_interval(control)}, {control['verdict']}) "
            f"once {baseline} trains as long.")
    return sentences


def _interval(row) -> str:
    if math.isnan(row["gain_map_ci_low"]):
        return "one seed: no interval"
    return f"95 % interval {row['gain_map_ci_low']:+.3f} to {row['gain_map_ci_high']:+.3f}"
