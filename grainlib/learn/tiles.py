"""Fully convolutional inference over a large image in overlapping tiles, so that peak
memory follows the tile, not the image.

The image is cut into cores of ``tile`` x ``tile`` pixels; each core is run with a
``margin`` of real neighbouring pixels on every side (more on one side at the image's
edge, so that every window has one shape and memory is reused) and only the core of the
result is kept. Core and window origins fall on multiples of the
network's downsampling (``tile`` and ``margin`` are multiples of it), so every pooling
window of a tile is a pooling window of the whole image. A pixel's result then differs
from the whole image's only through what lies farther than ``margin`` from it; with 128 px
of context a depth-4 U-Net sees none of that, and the tiled probability is the whole
image's to float rounding (``tests/test_tiles.py``; 32 px of context leave differences
up to 5e-5 at the seams).
"""

from __future__ import annotations

from typing import Callable

import torch

from grainlib.learn.nets import pad_to_multiple


def windows(length: int, tile: int, margin: int) -> list[tuple[int, int, int, int]]:
    """The tiles along one axis of ``length`` pixels: (core start, core stop, window
    start, window stop). The cores, of ``tile`` pixels, cover 0..length once; every window
    is ``tile + 2 * margin`` pixels long (or the whole axis, if shorter), its core's
    widened by ``margin`` on both sides and shifted inwards at the ends of the axis, so
    that all windows have one shape."""
    size = min(tile + 2 * margin, length)
    out = []
    for start in range(0, length, tile):
        first = min(max(start - margin, 0), length - size)
        out.append((start, min(start + tile, length), first, first + size))
    return out


def apply(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int,
          margin: int, multiple: int = 1) -> torch.Tensor:
    """``fn(x)`` computed tile by tile.

    ``x`` is first padded to multiples of ``multiple`` as a one-pass network would pad it
    (:func:`grainlib.learn.nets.pad_to_multiple`), then cut into windows of one shape.

    Parameters
    ----------
    fn : a size-preserving map of (B, C, h, w) tensors to (B, K, h, w) tensors, such as
        a U-Net; called once per window, on sides that are multiples of ``multiple``.
    x : (B, C, H, W) tensor.
    tile : side of the cores (a multiple of ``multiple``).
    margin : context around each core, pixels (a multiple of ``multiple``).
    multiple : the network's total downsampling (2**depth).

    Returns
    -------
    (B, K, H, W) tensor on ``x``'s device, of ``fn``'s dtype.
    """
    if tile < 1 or tile % multiple or margin < 0 or margin % multiple:
        raise ValueError(f"tile ({tile}) and margin ({margin}) must be multiples of "
                         f"{multiple}, the tile at least {multiple}")
    padded, (h, w) = pad_to_multiple(x, multiple)
    out = None
    for r0, r1, wr0, wr1 in windows(padded.shape[-2], tile, margin):
        for c0, c1, wc0, wc1 in windows(padded.shape[-1], tile, margin):
            if r0 >= h or c0 >= w:
                continue  # a core of padding only
            y = fn(padded[..., wr0:wr1, wc0:wc1])
            if out is None:
                out = torch.empty((*x.shape[:-3], y.shape[-3], h, w), dtype=y.dtype,
                                  device=y.device)
            r1, c1 = min(r1, h), min(c1, w)
            out[..., r0:r1, c0:c1] = y[..., r0 - wr0:r1 - wr0, c0 - wc0:c1 - wc0]
    return out
