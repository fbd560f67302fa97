import pytest
import torch

from grainlib.learn import nets


@pytest.mark.parametrize("size", [(32, 32), (48, 80), (37, 53), (17, 16)])
def test_generator_any_size_through_padding(size):
    net = nets.UNetGenerator(width=4, depth=3).eval()
    x = torch.rand(2, 1, *size) * 2 - 1
    padded, original = nets.pad_to_multiple(x, net.multiple)
    assert padded.shape[-2] % 8 == 0 and padded.shape[-1] % 8 == 0
    assert torch.equal(padded[..., : size[0], : size[1]], x)
    with torch.no_grad():
        y = nets.crop_to(net(padded), original)
    assert y.shape == x.shape
    assert y.abs().max() <= 1  # tanh output


def test_generator_needs_multiples_without_padding():
    net = nets.UNetGenerator(width=4, depth=3)
    assert net.multiple == 8
    assert net(torch.zeros(1, 1, 16, 24)).shape == (1, 1, 16, 24)
    with pytest.raises(RuntimeError):
        net(torch.zeros(1, 1, 20, 20))  # 20 is not a multiple of 8: the skips do not fit


def test_generator_widths_are_capped_and_dropout_is_inside():
    net = nets.UNetGenerator(width=8, depth=4, max_width=16)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert max(c.out_channels for c in convs) == 16
    dropouts = [m for m in net.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 3  # bottleneck and the two deepest levels
    with pytest.raises(ValueError, match="depth"):
        nets.UNetGenerator(depth=0)


@pytest.mark.parametrize("layers, side, out", [(3, 70, 6), (3, 128, 14), (2, 64, 14)])
def test_patch_discriminator_output(layers, side, out):
    net = nets.PatchDiscriminator(width=4, layers=layers)
    y = net(torch.zeros(2, 2, side, side))
    assert y.shape == (2, 1, out, out)


def test_patch_discriminator_receptive_field_is_70():
    """One output logit depends on exactly a 70 x 70 window of the input."""
    net = nets.PatchDiscriminator(width=2, layers=3).eval()
    x = torch.zeros(1, 2, 140, 140, requires_grad=True)
    net(x)[0, 0, 5, 5].backward()
    rows = torch.nonzero(x.grad.abs().sum((0, 1, 3)))
    cols = torch.nonzero(x.grad.abs().sum((0, 1, 2)))
    assert int(rows.max() - rows.min()) + 1 == 70
    assert int(cols.max() - cols.min()) + 1 == 70


@pytest.mark.parametrize("size", [(64, 64), (50, 70), (33, 31)])
def test_segmentation_unet_shapes(size):
    net = nets.SegmentationUNet(width=4, depth=3, classes=2).eval()
    x, original = nets.pad_to_multiple(torch.randn(1, 1, *size), net.multiple)
    with torch.no_grad():
        y = nets.crop_to(net(x), original)
    assert y.shape == (1, 2, *size)


def test_pad_to_multiple_small_images_fall_back_to_replicate():
    x = torch.arange(6.0).reshape(1, 1, 2, 3)
    padded, size = nets.pad_to_multiple(x, 16)
    assert padded.shape == (1, 1, 16, 16) and size == (2, 3)
    assert torch.equal(nets.crop_to(padded, size), x)
