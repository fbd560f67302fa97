"""Figures and tables of the paper, drawn from the run's artifacts.

Each function takes arrays or tables, draws one figure (returns the matplotlib Figure)
and, given ``path``, saves it. The paper's own numbers appear only labelled as the paper's.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter, ScalarFormatter

from grainlib.core import grains
from grainlib.learn import segment


def _save(fig, path):
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def cube_projection(volume: np.ndarray, depth: float = 0.5, scale: int = 3) -> np.ndarray:
    """An oblique view of a grain volume's three visible faces, coloured by grain.

    The front face is ``volume[:, 0, :]``, the top face ``volume[0]`` and the right face
    ``volume[:, :, -1]``; the top is drawn lighter and the side darker, as if lit from above.

    Parameters
    ----------
    volume : (Z, Y, X) integer grain ids.
    depth : length of the receding (y) edges relative to their true length.
    scale : pixels per lattice site in the picture.

    Returns
    -------
    (H, W, 4) uint8 RGBA image, transparent outside the cube.
    """
    Z, Y, X = (s * scale for s in volume.shape)
    dx = dy = depth * np.sqrt(0.5)
    faces = {
        "front": (volume[:, 0, :], 1.0, [[1, 0, 0], [0, 1, dy * Y]]),
        "top": (volume[0], 1.15, [[1, dx, 0], [0, -dy, dy * Y]]),
        "right": (volume[:, :, -1], 0.8, [[dx, 0, X], [-dy, 1, dy * Y]]),
    }
    size = (int(np.ceil(X + dx * Y)), int(np.ceil(Z + dy * Y)))
    canvas = np.zeros((size[1], size[0], 4), np.uint8)
    for ids, light, matrix in faces.values():
        rgb = grains.grain_colours(ids).astype(float) * light
        rgb = _shade_boundaries(rgb, ids)
        rgba = np.dstack([np.clip(rgb, 0, 255).astype(np.uint8), np.full(ids.shape, 255, np.uint8)])
        rgba = cv2.resize(rgba, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        warped = cv2.warpAffine(rgba, np.array(matrix, float), size, flags=cv2.INTER_NEAREST)
        drawn = warped[..., 3] > 0
        canvas[drawn] = warped[drawn]
    return canvas


def _shade_boundaries(rgb: np.ndarray, ids: np.ndarray, factor: float = 0.35) -> np.ndarray:
    """Darken the 1-pixel boundaries of ``ids`` (H, W) in ``rgb`` (H, W, 3) float."""
    edge = grains.boundaries(ids, width=1)
    rgb[edge] *= factor
    return rgb


def potts_overview(volume: np.ndarray, axis: int = 0, index: int | None = None,
                   boundary_width: int = 2, path=None):
    """The paper's Fig. 1c-e: the simulated cube, one section, and its boundary label.

    Parameters
    ----------
    volume : (Z, Y, X) integer grain ids.
    axis, index : the section shown (default: the middle one along ``axis``).
    """
    index = volume.shape[axis] // 2 if index is None else index
    ids = grains.section(volume, axis, index)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    axes[0].imshow(cube_projection(volume))
    axes[0].set_title(f"(c) 3D Potts volume {' x '.join(map(str, volume.shape))}")
    axes[1].imshow(grains.grain_colours(ids), interpolation="nearest")
    axes[1].set_title(f"(d) section {'zyx'[axis]} = {index}")
    axes[2].imshow(~grains.boundaries(ids, boundary_width), cmap="gray", interpolation="nearest")
    axes[2].set_title("(e) boundary label")
    for ax in axes:
        ax.set_axis_off()
    fig.tight_layout()
    return _save(fig, path)


def growth_kinetics(table: pd.DataFrame, volume_fit=None, area_fit=None, t_min: float = 0,
                    path=None):
    """Mean 3D grain volume and mean section area against MCS, log-log, with power-law fits.

    Parameters
    ----------
    table : from :func:`grainlib.simulate.kinetics.growth_table` (index ``mcs``).
    volume_fit, area_fit : (exponent, prefactor) pairs to draw for MCS >= ``t_min``.
    """
    fig, ax = plt.subplots(figsize=(6, 4.5))
    t = table.index.to_numpy(float)
    for column, fit, marker, label in (("mean_volume", volume_fit, "o", "mean 3D grain volume (sites)"),
                                       ("mean_section_area", area_fit, "s", "mean section grain area (px)")):
        line, = ax.loglog(t, table[column], marker, label=label)
        if fit is not None:
            tt = t[t >= t_min]
            ax.loglog(tt, fit[1] * tt ** fit[0], "-", color=line.get_color(),
                      label=f"fit: $\\propto t^{{{fit[0]:.2f}}}$")
    ax.set_xlabel("Monte Carlo steps (MCS)")
    ax.set_ylabel("grain size")
    ax.set_title("Normal grain growth (ideal: volume $t^{1.5}$, area $t^{1}$)")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def mcs_clock(sweep: dict, random_site: dict, ks: pd.DataFrame | None = None,
              names=("sublattice sweep", "random site"), path=None):
    """Cumulative distributions of the three normalised grain statistics of two volumes
    of equal mean grain size: the sweep's and the random-site kernel's (chapter 01, "The
    MCS clock").

    Parameters
    ----------
    sweep, random_site : from :func:`grainlib.simulate.mcs_clock.normalised_distributions`
        (``volume``, ``area``: values over their mean; ``edges``: neighbour counts).
    ks : optional table indexed by quantity (``grainlib.simulate.mcs_clock.QUANTITIES``) with a
        column ``KS statistic``, e.g. one pair's rows of ``Comparison.ks``; written in the
        panel titles.
    names : legend names of the two volumes.
    path : where to save the figure (PNG), or None.

    Returns
    -------
    matplotlib Figure with three panels.
    """
    panels = (("volume", "volume / mean", "3D grain volume / mean", "upper left"),
              ("area", "area / mean", "section grain area / mean", "lower right"),
              ("edges", "edges", "neighbours of a section grain", "lower right"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (key, quantity, label, corner) in zip(axes, panels):
        for values, name, colour in ((sweep[key], names[0], "C0"),
                                     (random_site[key], names[1], "C3")):
            ax.ecdf(values, color=colour, lw=1.5, label=f"{name} ({len(values)} grains)")
        title = label if ks is None else f"{label} (KS {ks.loc[quantity, 'KS statistic']:.3f})"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc=corner)
    axes[0].set_xscale("log")
    axes[0].set_ylabel("cumulative share of grains")
    axes[2].xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    fig.tight_layout()
    return _save(fig, path)


def fig5_grain_statistics(real: pd.DataFrame, simulated: pd.DataFrame, ks: pd.DataFrame | None = None,
                          names=("real", "simulated"), path=None):
    """Fig. 5: normalised grain area and grain edge-number distributions, real vs simulated.

    Parameters
    ----------
    real, simulated : tables from :func:`grainlib.data.datasets.grain_statistics` (columns
        ``normalised_area`` and ``edges``, one row per grain).
    ks : optional table from :func:`grainlib.data.datasets.ks_table`; its KS statistics are
        written in the panel titles.
    names : legend names of the two datasets.
    path : where to save the figure (PNG), or None.

    Returns
    -------
    matplotlib Figure with two panels.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    top = max(4.0, float(np.ceil(max(real["normalised_area"].quantile(0.99),
                                     simulated["normalised_area"].quantile(0.99)))))
    bins = np.linspace(0, top, int(top / 0.2) + 1)
    for table, name, colour in ((real, names[0], "C0"), (simulated, names[1], "C3")):
        left.hist(table["normalised_area"], bins=bins, density=True, histtype="step", lw=2,
                  color=colour, label=f"{name} ({len(table)} grains)")
    left.set_xlabel("normalised grain area $A / \\langle A \\rangle$")
    left.set_ylabel("probability density")
    edges = np.arange(0, int(max(real["edges"].max(), simulated["edges"].max())) + 2)
    for shift, (table, name, colour) in zip((-0.2, 0.2), ((real, names[0], "C0"),
                                                           (simulated, names[1], "C3"))):
        share = np.bincount(table["edges"].astype(int), minlength=edges.size)[:edges.size]
        right.bar(edges + shift, share / max(share.sum(), 1), width=0.4, color=colour, label=name)
    right.set_xlabel("number of grain edges")
    right.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    right.set_ylabel("fraction of grains")
    titles = ["Grain area distribution", "Grain edge-number distribution"]
    if ks is not None:
        titles = [f"{t} (KS {ks.loc[c, 'KS statistic']:.3f})"
                  for t, c in zip(titles, ("normalised_area", "edges"))]
    for ax, title in zip((left, right), titles):
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def dataset_examples(rows: dict, n: int = 3, path=None):
    """Example patches of several datasets: each image beside its boundary label.

    Parameters
    ----------
    rows : {name: (images, boundaries)} with (M, S, S) uint8 images and (M, S, S) bool
        boundary maps (True = boundary); the first ``n`` of each are drawn.
    n : pairs per row.
    path : where to save the figure (PNG), or None.

    Returns
    -------
    matplotlib Figure, one row per dataset, ``2 n`` panels a row (image, label).
    """
    fig, axes = plt.subplots(len(rows), 2 * n, figsize=(2.2 * 2 * n, 2.3 * len(rows)),
                             squeeze=False)
    for r, (name, (images, boundaries)) in enumerate(rows.items()):
        for k in range(n):
            image_ax, label_ax = axes[r, 2 * k], axes[r, 2 * k + 1]
            if k < len(images):
                image_ax.imshow(images[k], cmap="gray", vmin=0, vmax=255)
                label_ax.imshow(~np.asarray(boundaries[k], bool), cmap="gray", vmin=0, vmax=1)
            image_ax.set_title(f"{name}: image" if k == 0 else "", fontsize=9, loc="left")
            label_ax.set_title("label" if k == 0 else "", fontsize=9, loc="left")
            image_ax.set_axis_off()
            label_ax.set_axis_off()
    fig.tight_layout()
    return _save(fig, path)


def loss_curves(history: dict, path=None, smooth: int = 25, title: str = ""):
    """Training losses against the step, raw (faint) and as a running mean.

    Parameters
    ----------
    history : {loss name: [value per step]}; a ``seconds`` entry is left out.
    smooth : window of the running mean, in steps.
    path : where to save the figure (PNG), or None.
    """
    names = [k for k in history if k != "seconds"]
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 2.8), squeeze=False)
    for ax, name in zip(axes[0], names):
        values = np.asarray(history[name], float)
        steps = np.arange(1, values.size + 1)
        ax.plot(steps, values, color="0.75", lw=0.6)
        if values.size >= smooth:
            mean = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
            ax.plot(steps[smooth - 1:], mean, color="C0", lw=1.5)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def fig3_datasets(columns: dict, n: int = 3, path=None):
    """The paper's Fig. 3: one example per row, one dataset per column.

    Parameters
    ----------
    columns : {title: (M, S, S) stack}, in column order, e.g. real image, simulated
        image, simulated label, synthetic image; uint8 images or bool boundary maps
        (drawn white grains, black boundaries).
    n : rows (examples).
    path : where to save the figure (PNG), or None.
    """
    fig, axes = plt.subplots(n, len(columns), figsize=(2.3 * len(columns), 2.3 * n),
                             squeeze=False)
    for c, (title, stack) in enumerate(columns.items()):
        stack = np.asarray(stack)
        for r in range(n):
            ax = axes[r, c]
            if r < len(stack):
                shown = ~stack[r] if stack.dtype == bool else stack[r]
                ax.imshow(shown, cmap="gray", vmin=0, vmax=1 if stack.dtype == bool else 255)
            ax.set_axis_off()
        axes[0, c].set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


# The paper's Table 1: seconds per 400 x 400 image.
PAPER_TABLE1 = {"real experiment": 1200.0, "simulation": 12.0,
                "style-transfer training": 3.0, "synthetic image generation": 0.1}


def table1(simulation: float, training: float, generation: float, image_side: int) -> pd.DataFrame:
    """The paper's Table 1 (seconds per image) beside ours.

    Parameters
    ----------
    simulation : seconds of Potts simulation per simulated image.
    training : seconds of style-transfer training per synthetic image.
    generation : seconds to generate one synthetic image.
    image_side : side of our images in pixels (the paper's are 400).

    Returns
    -------
    DataFrame indexed by procedure: ``ours_s`` (NaN for the real experiment, which we do
    not run), ``paper_s``, ``ours_image_px``.
    """
    ours = {"real experiment": float("nan"), "simulation": simulation,
            "style-transfer training": training, "synthetic image generation": generation}
    table = pd.DataFrame({"ours_s": ours, "paper_s": PAPER_TABLE1})
    table.index.name = "procedure"
    table["ours_image_px"] = f"{image_side} x {image_side}"
    return table


def fig_fractions(table: pd.DataFrame, paper: dict | None = None, path=None):
    """Scores against the real fraction: MAP and ARI of each training set, mean over
    seeds with the seed-to-seed standard deviation as error bars, the paper's dashed.

    Parameters
    ----------
    table : :func:`grainlib.score.tables.table4` (columns ``fraction``, ``method``,
        ``map_mean``, ``map_sd``, ``ari_mean``, ``ari_sd``).
    paper : {method: {fraction: (MAP, ARI)}}, the paper's curves
        (:data:`grainlib.score.tables.PAPER_TABLE4`), drawn dashed in the colour of the method.
    path : where to save the figure (PNG), or None.
    """
    paper = paper or {}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    # evenly spaced fractions, as the paper's table lists them (5 ... 35 and 100)
    fractions = sorted(set(table["fraction"].dropna().astype(int))
                       | {f for curve in paper.values() for f in curve})
    at = {f: k for k, f in enumerate(fractions)}
    for ax, (metric, name) in zip(axes, (("map", "MAP"), ("ari", "ARI"))):
        for k, (method, rows) in enumerate(table.groupby("method", sort=False)):
            rows = rows.dropna(subset=[f"{metric}_mean"])
            ax.errorbar([at[int(f)] for f in rows["fraction"]], rows[f"{metric}_mean"],
                        yerr=rows[f"{metric}_sd"].fillna(0), color=f"C{k}", marker="o",
                        ms=4, capsize=3, lw=1.5, label=method)
            if method in paper:
                xs = sorted(paper[method])
                ax.plot([at[x] for x in xs], [paper[method][x][metric == "ari"] for x in xs],
                        color=f"C{k}", ls="--", lw=1, alpha=0.8, label=f"{method}, paper")
        ax.set_xticks(range(len(fractions)), [str(f) for f in fractions])
        ax.set_xlabel("real fraction X (% of the training images)")
        ax.set_ylabel(f"{name} on the real test patches")
        ax.grid(True, alpha=0.3)
    axes[1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return _save(fig, path)


MISSED_RGB = (230, 60, 40)     # true boundary no prediction comes near: red
SPURIOUS_RGB = (40, 110, 230)  # predicted boundary far from any true one: blue


def boundary_errors(pred: np.ndarray, truth: np.ndarray, tolerance: int = 2):
    """Missed and spurious boundary pixels of a predicted boundary map.

    Parameters
    ----------
    pred, truth : (H, W) bool boundary maps.
    tolerance : a boundary pixel within this many pixels (chessboard distance) of a
        boundary of the other map counts as found.

    Returns
    -------
    missed : (H, W) bool, true boundary pixels with no predicted boundary within reach.
    spurious : (H, W) bool, predicted boundary pixels with no true boundary within reach.
    """
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    if pred.shape != truth.shape or pred.ndim != 2:
        raise ValueError(f"pred {pred.shape} and truth {truth.shape} must be (H, W) maps of "
                         "the same shape")
    kernel = np.ones((2 * tolerance + 1,) * 2, np.uint8)
    near_pred = cv2.dilate(pred.view(np.uint8), kernel).astype(bool)
    near_truth = cv2.dilate(truth.view(np.uint8), kernel).astype(bool)
    return truth & ~near_pred, pred & ~near_truth


def fig4_segmentation(images: np.ndarray, truths: np.ndarray, preds: dict, scores=None,
                      n: int = 3, tolerance: int = 2, path=None):
    """The paper's Fig. 4: test patches, their true boundaries, and each method's
    prediction with its errors marked.

    Parameters
    ----------
    images : (N, H, W) uint8 test patches.
    truths : (N, H, W) bool true boundary maps.
    preds : {method: (N, H, W) bool predicted boundary maps}, in column order; the names
        are the column titles (long ones wrapped, :func:`wrap_title`). Each map is drawn
        black on white, pixel for pixel, with missed true boundaries in red and spurious
        predicted ones in blue (:func:`boundary_errors`), explained in a legend below.
    scores : optional {method: (N,) MAP per patch}, written over each panel.
    n : rows (the first ``n`` patches).
    path : where to save the figure (PNG), or None.
    """
    columns = 2 + len(preds)
    n = min(n, len(images))
    fig, axes = plt.subplots(n, columns, figsize=(2.2 * columns, 2.3 * n), squeeze=False)
    for r in range(n):
        axes[r, 0].imshow(images[r], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        axes[r, 1].imshow(~np.asarray(truths[r], bool), cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")
        for c, (name, stack) in enumerate(preds.items(), start=2):
            pred = np.asarray(stack[r], bool)
            missed, spurious = boundary_errors(pred, truths[r], tolerance)
            rgb = np.repeat(np.where(pred, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
            rgb[missed] = MISSED_RGB
            rgb[spurious] = SPURIOUS_RGB
            axes[r, c].imshow(rgb, interpolation="nearest")
            if scores is not None:
                axes[r, c].set_title(f"MAP {scores[name][r]:.2f}", fontsize=8, loc="left")
        for ax in axes[r]:
            ax.set_axis_off()
    for c, title in enumerate(["image", "truth", *preds]):
        axes[0, c].text(0.5, 1.12 if scores is not None else 1.02, wrap_title(title),
                        fontsize=9, ha="center", va="bottom", transform=axes[0, c].transAxes)
    fig.tight_layout()
    fig.legend(handles=[Patch(color="black", label="predicted boundary"),
                        Patch(color=np.array(MISSED_RGB) / 255, label="missed true boundary"),
                        Patch(color=np.array(SPURIOUS_RGB) / 255,
                              label="spurious predicted boundary")],
               loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, fontsize=9,
               frameon=False)
    return _save(fig, path)


def wrap_title(title: str, width: int = 18) -> str:
    """A panel title broken into lines of about ``width`` characters, after each " + "
    first: the paper's long training-set names, e.g. "Mixed(Real_5% + Synthetic^5_100%)",
    in two lines."""
    parts = title.split(" + ")
    lines = []
    for k, part in enumerate(parts):
        text = part + (" +" if k < len(parts) - 1 else "")
        lines.extend(textwrap.wrap(text, width, break_long_words=False) or [""])
    return "\n".join(lines)


def map_distributions(table: pd.DataFrame, path=None):
    """Per-patch MAP of each method and training set as box plots, the training sets
    under the paper's names (a :func:`grainlib.score.evaluate.score` table: columns
    ``method``, ``training_set``, ``fraction``, ``MAP``)."""
    groups = table.groupby(["method", "training_set", "fraction"], sort=False)["MAP"]
    names = [m if t == "-" else f"{m}\n{wrap_title(segment.paper_name(t, x), 16)}"
             for m, t, x in groups.groups]
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 1, 3.2))
    ax.boxplot([values.to_numpy() for _, values in groups], showmeans=True)
    ax.set_xticks(range(1, len(names) + 1), names, fontsize=8)
    ax.set_ylabel("MAP per test patch")
    ax.set_ylim(0, 1)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


# The paper's Supplementary Table 1 (Supplementary Note 3): a U-Net trained and tested on
# simulated data, split 2.8 : 1.
PAPER_SUPP_TABLE1 = {"MAP": 0.9591, "ARI": 0.9986}


def supplementary_table1(table: pd.DataFrame, n_train: int, profile: str = "") -> pd.DataFrame:
    """The paper's Supplementary Table 1 beside ours: train and test on simulated data.

    Parameters
    ----------
    table : per-test-patch scores, columns ``MAP`` and ``ARI``
        (``grainlib.score.evaluate.simulated_only(...).table``).
    n_train : simulated patches the U-Net was trained on.
    profile : named in our row's label.

    Returns
    -------
    DataFrame with two rows, ours (means over the test patches) and the paper's:
    ``MAP``, ``ARI``, ``MAP sd`` (over test patches; NaN for the paper, which does not
    give it), ``train patches``, ``test patches`` (Int64; <NA> for the paper, which gives
    only the ratio), ``split`` (train : test).
    """
    if len(table) == 0 or not {"MAP", "ARI"} <= set(table.columns):
        raise ValueError("table must hold at least one test patch with MAP and ARI columns")
    ours = f"ours ({profile})" if profile else "ours"
    rows = {ours: {"MAP": table["MAP"].mean(), "ARI": table["ARI"].mean(),
                   "MAP sd": table["MAP"].std(), "train patches": int(n_train),
                   "test patches": len(table),
                   "split": f"{int(n_train) / len(table):.2f} : 1"},
            "paper": {**PAPER_SUPP_TABLE1, "MAP sd": float("nan"), "train patches": None,
                      "test patches": None, "split": "2.8 : 1"}}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out[["MAP", "ARI", "MAP sd"]] = out[["MAP", "ARI", "MAP sd"]].astype(float)
    out[["train patches", "test patches"]] = out[["train patches", "test patches"]].astype("Int64")
    out.index.name = "simulated train and test"
    return out


def budget_curve(table, path=None, title: str = ""):
    """Realism and usefulness of the synthetic images against pix2pix's training steps.

    ``table``: a DataFrame indexed by (variant, step), or the path of its CSV, with the
    columns ``syn_auc_vs_reference``,
    ``floor_auc_vs_reference``, ``syn_core_sd_ratio``, ``syn_high_frequency_share_ratio``,
    ``map_gain_mean`` and ``map_gain_sd`` (experiments/generator_budget.py). Three panels:
    the two-sample AUC (the real-real floor dashed), the texture ratios to the real images
    (1 is real; the band 0.67-1.5 shaded), and the MAP gain of Mixed over Real_X% (bars:
    one SD over the U-Net seeds).
    """
    if not isinstance(table, pd.DataFrame):
        table = pd.read_csv(table, index_col=["variant", "step"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for n, (variant, rows) in enumerate(table.groupby(level="variant")):
        rows = rows.droplevel("variant").sort_index()
        colour = f"C{n}"
        axes[0].plot(rows.index, rows["syn_auc_vs_reference"], "o-", color=colour, label=variant)
        axes[0].plot(rows.index, rows["floor_auc_vs_reference"], ":", color=colour)
        axes[1].plot(rows.index, rows["syn_core_sd_ratio"], "o-", color=colour,
                     label=f"{variant}: core SD")
        axes[1].plot(rows.index, rows["syn_high_frequency_share_ratio"], "s--", color=colour,
                     label=f"{variant}: high-frequency share")
        scored = rows[np.isfinite(rows["map_gain_mean"])]
        if len(scored):
            axes[2].errorbar(scored.index, scored["map_gain_mean"], scored["map_gain_sd"],
                             fmt="o-", color=colour, capsize=3, label=variant)
    axes[0].set(ylabel="two-sample AUC (dotted: real-real floor)", ylim=(0.3, 1.02))
    axes[1].axhspan(0.67, 1.5, color="0.9")
    axes[1].axhline(1, color="0.5", lw=0.8)
    axes[1].set(ylabel="synthetic / real", yscale="log", yticks=[0.25, 0.5, 1, 2])
    axes[2].set(ylabel="MAP: Mixed - Real_X%")
    if not np.isfinite(table["map_gain_mean"]).any():
        axes[2].text(0.5, 0.5, "no U-Net trained", ha="center", transform=axes[2].transAxes)
        axes[2].set_xlim(min(table.index.get_level_values("step")) / 1.5,
                         max(table.index.get_level_values("step")) * 1.5)
    axes[2].axhline(0, color="0.5", lw=0.8)
    steps = sorted(table.index.get_level_values("step").unique())
    for ax in axes:
        ax.set(xscale="log", xlabel="pix2pix steps", xticks=steps)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_formatter(NullFormatter())
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    return fig
