"""ipywidgets viewers for JupyterLab: volume sections, image/label pairs.

Each viewer is an ``ipywidgets.VBox`` with its controls as attributes, so a test (or a
notebook cell) can drive it by setting ``.value`` and read what it shows with
:meth:`frame`, an (H, W, 3) uint8 RGB array.
"""

from __future__ import annotations

import cv2
import ipywidgets as w
import numpy as np

from grainlib.core import grains

BOUNDARY_RGB = (230, 30, 30)
DISPLAY_PIXELS = 420  # small images are enlarged (nearest neighbour) to about this size


def overlay_boundaries(rgb: np.ndarray, boundary: np.ndarray, colour=BOUNDARY_RGB,
                       alpha: float = 1.0) -> np.ndarray:
    """``rgb`` (H, W, 3) uint8 with the True pixels of ``boundary`` (H, W) painted in ``colour``."""
    out = rgb.copy()
    out[boundary] = ((1 - alpha) * out[boundary] + alpha * np.asarray(colour)).astype(np.uint8)
    return out


def _grey_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(np.asarray(image, np.uint8)[..., None], 3, axis=2)


def _png(rgb: np.ndarray) -> bytes:
    scale = max(1, DISPLAY_PIXELS // max(rgb.shape[:2]))
    if scale > 1:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    ok, data = cv2.imencode(".png", np.ascontiguousarray(rgb[..., ::-1]))
    return data.tobytes()


def _as_boundary(label: np.ndarray, width: int) -> np.ndarray:
    label = np.asarray(label)
    return label.astype(bool) if label.dtype == bool else grains.boundaries(label, width)


class VolumeViewer(w.VBox):
    """Browse the sections of a 3D grain-id volume along z, y or x.

    Controls: ``axis`` (0, 1, 2), ``index`` (section), ``show_boundaries``.
    """

    def __init__(self, volume: np.ndarray, boundary_width: int = 2):
        volume = np.asarray(volume)
        if volume.ndim != 3 or not np.issubdtype(volume.dtype, np.integer):
            raise ValueError(f"volume must be a 3D integer grain-id array, got "
                             f"shape {volume.shape} dtype {volume.dtype}")
        self.volume, self.boundary_width = volume, boundary_width
        self.axis = w.ToggleButtons(options=[("z", 0), ("y", 1), ("x", 2)], value=0,
                                    description="axis")
        self.index = w.IntSlider(0, 0, volume.shape[0] - 1, description="section",
                                 continuous_update=True)
        self.show_boundaries = w.Checkbox(True, description="boundaries")
        self.info = w.HTML()
        self.image = w.Image(format="png")
        self.axis.observe(self._axis_changed, "value")
        for control in (self.index, self.show_boundaries):
            control.observe(self._redraw, "value")
        super().__init__([w.HBox([self.axis, self.show_boundaries]), self.index,
                          self.image, self.info])
        self._redraw()

    def _axis_changed(self, change):
        size = self.volume.shape[self.axis.value]
        self.index.max = size - 1
        self.index.value = min(self.index.value, size - 1)
        self._redraw()

    def section(self) -> np.ndarray:
        """The grain ids of the section shown, (H, W)."""
        return grains.section(self.volume, self.axis.value, self.index.value)

    def frame(self) -> np.ndarray:
        """What the viewer shows: (H, W, 3) uint8 RGB."""
        ids = self.section()
        rgb = grains.grain_colours(ids)
        if self.show_boundaries.value:
            rgb = overlay_boundaries(rgb, grains.boundaries(ids, self.boundary_width), (20, 20, 20))
        return rgb

    def _redraw(self, change=None):
        ids = self.section()
        self.image.value = _png(self.frame())
        self.info.value = (f"section {self.index.value} of {'zyx'[self.axis.value]}: "
                           f"{len(np.unique(ids))} grain ids, {ids.shape[0]} x {ids.shape[1]} px")


class PairViewer(w.VBox):
    """Browse image/label pairs with the label drawn over the image.

    Controls: ``index`` (pair), ``mode`` ('image', 'overlay', 'label'), ``alpha``.
    """

    def __init__(self, images, labels, titles=None, boundary_width: int = 2):
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim != 3 or images.shape != labels.shape:
            raise ValueError(f"images and labels must be (N, H, W) stacks of the same shape, "
                             f"got {images.shape} and {labels.shape}")
        if titles is not None and len(titles) != len(images):
            raise ValueError(f"{len(titles)} titles for {len(images)} pairs")
        self.images, self.labels, self.titles = images, labels, titles
        self.boundary_width = boundary_width
        self.index = w.IntSlider(0, 0, len(images) - 1, description="pair")
        self.mode = w.ToggleButtons(options=["image", "overlay", "label"], value="overlay")
        self.alpha = w.FloatSlider(0.8, min=0.0, max=1.0, step=0.05, description="opacity")
        self.info = w.HTML()
        self.image = w.Image(format="png")
        for control in (self.index, self.mode, self.alpha):
            control.observe(self._redraw, "value")
        super().__init__([w.HBox([self.mode, self.alpha]), self.index, self.image, self.info])
        self._redraw()

    def frame(self) -> np.ndarray:
        """What the viewer shows: (H, W, 3) uint8 RGB."""
        i = self.index.value
        boundary = _as_boundary(self.labels[i], self.boundary_width)
        if self.mode.value == "label":
            return _grey_rgb(np.where(boundary, 0, 255))
        rgb = _grey_rgb(self.images[i])
        if self.mode.value == "overlay":
            rgb = overlay_boundaries(rgb, boundary, alpha=self.alpha.value)
        return rgb

    def _redraw(self, change=None):
        self.image.value = _png(self.frame())
        i = self.index.value
        title = f"{self.titles[i]}: " if self.titles is not None else ""
        self.info.value = f"{title}pair {i + 1} of {len(self.images)}"


class SideBySide(w.VBox):
    """Browse several aligned stacks side by side: the same index in each.

    Controls: ``index``. Each panel is a stack of (H, W) uint8 grey images, bool boundary
    maps (white grains, black boundaries) or (H, W, 3) uint8 RGB pictures; ``notes``
    (one string per index) are shown under the panels.
    """

    def __init__(self, panels: dict, notes=None, gap: int = 6):
        stacks = {name: np.asarray(stack) for name, stack in panels.items()}
        lengths = {len(s) for s in stacks.values()}
        if not stacks or len(lengths) != 1 or 0 in lengths:
            raise ValueError("panels must be non-empty stacks of the same length, got "
                             + ", ".join(f"{k}: {len(v)}" for k, v in stacks.items()))
        n = lengths.pop()
        if notes is not None and len(notes) != n:
            raise ValueError(f"{len(notes)} notes for {n} items")
        self.stacks, self.notes, self.gap = stacks, notes, gap
        self.index = w.IntSlider(0, 0, n - 1, description="item")
        self.titles = w.HTML(" | ".join(f"<b>{name}</b>" for name in stacks))
        self.image = w.Image(format="png")
        self.info = w.HTML()
        self.index.observe(self._redraw, "value")
        super().__init__([self.index, self.titles, self.image, self.info])
        self._redraw()

    def panel(self, name: str) -> np.ndarray:
        """Panel ``name`` at the current index, as (H, W, 3) uint8 RGB."""
        item = self.stacks[name][self.index.value]
        if item.ndim == 3:
            return item.astype(np.uint8)
        if item.dtype == bool:
            return _grey_rgb(np.where(item, 0, 255))
        return _grey_rgb(item)

    def frame(self) -> np.ndarray:
        """What the viewer shows: the panels in a row, (H, W', 3) uint8 RGB."""
        pictures = [self.panel(name) for name in self.stacks]
        height = max(p.shape[0] for p in pictures)
        spacer = np.full((height, self.gap, 3), 255, np.uint8)
        row = []
        for picture in pictures:
            pad = np.full((height - picture.shape[0], picture.shape[1], 3), 255, np.uint8)
            row += [np.vstack([picture, pad]), spacer]
        return np.hstack(row[:-1])

    def _redraw(self, change=None):
        self.image.value = _png(self.frame())
        i = self.index.value
        note = f": {self.notes[i]}" if self.notes is not None else ""
        self.info.value = f"item {i + 1} of {self.index.max + 1}{note}"


def side_by_side(panels: dict, notes=None) -> SideBySide:
    """A viewer of aligned stacks side by side (e.g. label, flat image, synthetic images).

    Parameters
    ----------
    panels : {title: (N, H, W) uint8 images, bool boundary maps or (N, H, W, 3) RGB}.
    notes : optional N strings shown under the panels.
    """
    return SideBySide(panels, notes)


def volume_slices(volume: np.ndarray, boundary_width: int = 2) -> VolumeViewer:
    """A viewer of the sections of ``volume`` (Z, Y, X) int along each axis."""
    return VolumeViewer(volume, boundary_width)


def pairs(images, labels, titles=None, boundary_width: int = 2) -> PairViewer:
    """A viewer of image/label pairs.

    Parameters
    ----------
    images : (N, H, W) uint8 micrographs.
    labels : (N, H, W) integer grain ids, or bool boundary maps (True = boundary).
    titles : optional N strings shown under the image.
    """
    return PairViewer(images, labels, titles, boundary_width)
