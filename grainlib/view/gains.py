"""Chapter 07's first figure: the gain of each training recipe over Real_X% alone, with
its interval over seeds, per real fraction and budget."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from grainlib.learn import recipes

VERDICT_COLOURS = {"helps": "tab:green", "hurts": "tab:red",
                   "no detectable effect": "tab:grey", "baseline": "black"}


def in_order(names, known) -> list:
    """``names`` in ``known``'s order, any others after them alphabetically."""
    known = list(known)
    return sorted(names, key=lambda name: (known.index(name) if name in known else len(known), name))


def gain_plot(summary: pd.DataFrame, baseline: str = "real", path=None, title: str = ""):
    """MAP gain over ``baseline`` (the paired mean over seeds, bars: its interval), one
    panel per budget, training sets down the side in :data:`grainlib.learn.recipes.ARMS`'
    order, one marker per real fraction, coloured by verdict; the panels in
    :data:`grainlib.learn.recipes.BUDGETS`' order, on one gain scale.

    Parameters
    ----------
    summary : :func:`grainlib.score.paired.summary`'s table.
    baseline : the training set the gains are measured from (drawn as the zero line).
    path : where to save the figure (PNG), or None.
    """
    budgets = in_order(set(summary["budget"]), recipes.BUDGETS)
    arms = in_order(set(summary["training_set"]) - {baseline}, recipes.ARMS)
    fractions = sorted(summary["fraction"].unique())
    fig, axes = plt.subplots(1, len(budgets), figsize=(4.6 * len(budgets), 0.5 * len(arms) + 1.6),
                             sharex=True, sharey=True, squeeze=False)
    markers = dict(zip(fractions, "osD^vP*X"))
    offsets = dict(zip(fractions, np.linspace(-0.25, 0.25, len(fractions))
                       if len(fractions) > 1 else [0.0]))
    for ax, budget in zip(axes[0], budgets):
        rows = summary[(summary["budget"] == budget) & (summary["training_set"] != baseline)]
        for row in rows.itertuples():
            y = arms.index(row.training_set) + offsets[row.fraction]
            low, high = row.gain_map_ci_low, row.gain_map_ci_high
            colour = VERDICT_COLOURS.get(row.verdict, "tab:blue")
            if np.isfinite(low):
                ax.plot([low, high], [y, y], color=colour, lw=2)
            ax.plot(row.gain_map, y, markers[row.fraction], color=colour, ms=6)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(f"{budget}", fontsize=10)
        ax.set_xlabel(f"MAP gain over {baseline} (mean over seeds, {int(summary['n_seeds'].max())}"
                      " seeds, 95 % interval)", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].set_yticks(range(len(arms)), arms)
    axes[0, 0].invert_yaxis()
    handles = [plt.Line2D([], [], marker=markers[f], ls="", color="black", label=f"Real_{f}%")
               for f in fractions]
    handles += [plt.Line2D([], [], color=c, lw=2, label=v) for v, c in VERDICT_COLOURS.items()
                if v != "baseline"]
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=len(handles), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig
