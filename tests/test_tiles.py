"""Tiled inference (grainlib.learn.tiles) against whole-image inference."""

import numpy as np
import pytest
import torch

from grainlib.learn import segment, tiles
from grainlib.learn.nets import SegmentationUNet, crop_to, pad_to_multiple


def test_windows_cover_the_axis_once_and_have_one_shape():
    assert tiles.windows(700, 256, 64) == [(0, 256, 0, 384), (256, 512, 192, 576),
                                           (512, 700, 316, 700)]
    assert tiles.windows(100, 256, 64) == [(0, 100, 0, 100)]


def test_tiles_and_margins_must_keep_the_pooling_grid():
    with pytest.raises(ValueError, match="multiples of 16"):
        tiles.apply(lambda x: x, torch.zeros(1, 1, 64, 64), 40, 16, 16)
    with pytest.raises(ValueError, match="multiples of 16"):
        tiles.apply(lambda x: x, torch.zeros(1, 1, 64, 64), 32, 20, 16)


def test_tiling_a_local_map_changes_nothing():
    """A 3 x 3 mean (radius 1) tiled with a margin of 16 is the one-pass result on the
    image padded to multiples of 16 (as a U-Net pads it) exactly, seams included; with no
    margin, it differs at the seams only."""
    x = torch.rand(1, 1, 100, 90, dtype=torch.float64)

    def mean3(t):
        return torch.nn.functional.avg_pool2d(t, 3, 1, 1, count_include_pad=False)

    padded, size = pad_to_multiple(x, 16)
    whole = crop_to(mean3(padded), size)
    assert torch.equal(tiles.apply(mean3, x, 32, 16, 16), whole)
    seams = tiles.apply(mean3, x, 32, 0, 16)
    differs = (seams != whole)[0, 0].nonzero()
    assert len(differs) > 0
    assert all(min(abs(int(r) - s) for s in (31, 32, 63, 64, 95, 96)) <= 1 or
               min(abs(int(c) - s) for s in (31, 32, 63, 64)) <= 1 for r, c in differs)


def _unet_with_statistics(seed=0):
    torch.manual_seed(seed)
    net = SegmentationUNet(width=4, depth=4).eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.1)
                module.running_var.uniform_(0.5, 2.0)
    return segment.Segmenter(net, {"precision": "float32"}, mean=0.5, std=0.25)


def test_tiled_probability_equals_the_whole_image(monkeypatch):
    """A 700 x 650 image in tiles of 256 px: with the U-Net's context (8 x 16 px) it is
    the one-pass probability to float rounding (oneDNN picks its kernels by tensor
    size, so the last bits may move); with a thin margin (1 x 16 px) it is so only away
    from the seams, and differs near them."""
    model = _unet_with_statistics()
    image = np.random.default_rng(0).integers(0, 256, (700, 650), dtype=np.uint8)
    whole = segment.probability(model, image)  # under segment.WHOLE: one pass
    monkeypatch.setattr(segment, "WHOLE", 0)
    monkeypatch.setattr(segment, "TILE", 16)  # cores of 256 px, 128 px of context
    tiled = segment.probability(model, image)
    assert tiled.shape == image.shape and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-6)
    monkeypatch.setattr(segment, "MARGIN", 1)
    thin = segment.probability(model, image)
    inner = np.ones(image.shape, bool)
    for seam in (256, 512):
        inner[seam - 64:seam + 64] = False
        inner[:, seam - 64:seam + 64] = False
    np.testing.assert_allclose(thin[inner], whole[inner], rtol=0, atol=1e-6)
    assert np.abs(thin - whole)[~inner].max() > 1e-4


def test_a_stack_of_large_images_is_tiled_one_by_one(monkeypatch):
    model = _unet_with_statistics(1)
    images = np.random.default_rng(1).integers(0, 256, (2, 300, 280), dtype=np.uint8)
    whole = segment.probability(model, images)
    monkeypatch.setattr(segment, "WHOLE", 0)
    monkeypatch.setattr(segment, "TILE", 8)
    np.testing.assert_allclose(segment.probability(model, images), whole, rtol=0, atol=1e-6)
