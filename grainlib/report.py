"""Figures and tables of the paper, drawn from the run's artifacts.

Each function takes arrays or tables, draws one figure (returns the matplotlib Figure)
and, given ``path``, saves it. The paper's own numbers appear only labelled as the paper's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from . import grains
from .widgets import grain_colours


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
        rgb = grain_colours(ids).astype(float) * light
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
    axes[1].imshow(grain_colours(ids), interpolation="nearest")
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
    table : from :func:`grainlib.kinetics.growth_table` (index ``mcs``).
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
