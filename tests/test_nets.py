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


# --------------------------------------------------------------------------- two variants


def state_digest(net) -> str:
    """sha256 of a network's state: its keys and the bytes of every tensor."""
    import hashlib

    h = hashlib.sha256()
    for key, value in net.state_dict().items():
        h.update(key.encode())
        h.update(value.cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def test_our_networks_are_unchanged():
    """The demo's generator and discriminator at seed 0, as recorded before the authors'
    variant existed: stored generators must keep loading and giving the same images."""
    torch.manual_seed(0)
    net = nets.UNetGenerator(width=32, depth=4, max_width=256).eval()
    disc = nets.PatchDiscriminator(32, 3)
    assert nets.parameter_count(net) == 2_644_865
    assert nets.parameter_count(disc) == 694_177
    assert state_digest(net) == "3be2f83bb37fddaa"
    assert state_digest(disc) == "08132cb6bd59d288"
    x = torch.linspace(-1, 1, 2 * 32 * 32).reshape(2, 1, 32, 32)
    with torch.no_grad():
        y = net(x)
    assert float(y.sum()) == pytest.approx(-193.6372, abs=1e-3)
    torch.testing.assert_close(y[0, 0, 0, :4], torch.tensor(
        [-0.0042484, -0.0732482, -0.0675961, -0.0560449]), atol=1e-5, rtol=0)
    torch.testing.assert_close(y[1, 0, -1, -4:], torch.tensor(
        [-0.1550981, -0.1607425, -0.1617090, -0.0921488]), atol=1e-5, rtol=0)
    assert net.variant == "ours" and nets.UNetGenerator(variant="ours").multiple == 16


def unet16_parameters(width=64, cap=512, channels=1) -> int:
    """The authors' unet_16 counted by hand: per level the down convolution (4 x 4, no
    bias) with its batch norm, and the up transposed convolution (4 x 4) with its batch
    norm; the innermost 3 x 3 both ways; the outer ends without batch norm, the outermost
    transposed convolution with a bias."""
    w = [min(width * 2 ** level, cap) for level in range(4)]  # 64, 128, 256, 512
    total = channels * w[0] * 16 + 2 * w[0] * channels * 16 + channels  # outermost
    for outer, inner in zip(w[:-1], w[1:]):
        total += outer * inner * 16 + 2 * inner + 2 * inner * outer * 16 + 2 * outer
    return total + 2 * w[-1] * w[-1] * 9 + 2 * w[-1]  # innermost


def test_authors_generator_is_their_unet16():
    net = nets.UNetGenerator(width=64, depth=4, max_width=512, variant="authors")
    assert nets.parameter_count(net) == unet16_parameters() == 12_982_913
    layers = [(type(m).__name__, m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0],
               m.bias is not None)
              for m in net.modules()
              if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert layers == [  # outermost to innermost, each level's down then its inner levels' ...
        ("Conv2d", 1, 64, 4, 2, False),
        ("Conv2d", 64, 128, 4, 2, False),
        ("Conv2d", 128, 256, 4, 2, False),
        ("Conv2d", 256, 512, 4, 2, False),
        ("Conv2d", 512, 512, 3, 1, False),
        ("ConvTranspose2d", 512, 512, 3, 1, False),  # ... then the ups, innermost first
        ("ConvTranspose2d", 1024, 256, 4, 2, False),
        ("ConvTranspose2d", 512, 128, 4, 2, False),
        ("ConvTranspose2d", 256, 64, 4, 2, False),
        ("ConvTranspose2d", 128, 1, 4, 2, True),
    ]
    kinds = [type(m) for m in net.modules()]
    assert torch.nn.Dropout not in kinds and torch.nn.Upsample not in kinds
    assert kinds.count(torch.nn.BatchNorm2d) == 7 and kinds.count(torch.nn.Tanh) == 1
    assert net.multiple == 16


def test_authors_generator_maps_400_to_400_in_minus_one_one():
    net = nets.UNetGenerator(width=4, depth=4, max_width=32, variant="authors").eval()
    with torch.no_grad():
        y = net(torch.rand(1, 1, 400, 400) * 2 - 1)
    assert y.shape == (1, 1, 400, 400) and y.abs().max() <= 1


@torch.no_grad()
def test_authors_weights_are_normal_002():
    torch.manual_seed(0)
    net = nets.UNetGenerator(width=64, depth=4, max_width=512, variant="authors")
    convs = [m for m in net.modules()
             if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    weights = torch.cat([c.weight.flatten() for c in convs])
    assert abs(float(weights.mean())) < 1e-3
    assert float(weights.std()) == pytest.approx(0.02, rel=0.01)
    norms = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    gammas = torch.cat([n.weight for n in norms])
    assert float(gammas.mean()) == pytest.approx(1, abs=5e-3)
    assert float(gammas.std()) == pytest.approx(0.02, rel=0.1)
    assert all(not b.bias.any() for b in [*convs, *norms] if b.bias is not None)
    disc = nets.init_normal(nets.PatchDiscriminator(64, 3))
    assert float(disc.model[0].weight.std()) == pytest.approx(0.02, rel=0.1)


@pytest.mark.parametrize("variant", ["authors", "ours"])
def test_what_the_skips_carry(variant):
    """The authors' block activates its input in place, which changes the tensor its skip
    passes on: what is concatenated is LeakyReLU(x), not x. Ours passes x itself."""
    net = nets.UNetGenerator(width=4, depth=3, variant=variant)
    seen = {}
    net.model.inside.register_forward_hook(lambda m, args, out: seen.update(x=args[0], out=out))
    net(torch.randn(2, 1, 16, 16))
    x = seen["x"]
    skip = torch.nn.functional.leaky_relu(x, 0.2) if variant == "authors" else x
    torch.testing.assert_close(seen["out"][:, : x.shape[1]], skip)


def test_unknown_variant_raises():
    with pytest.raises(ValueError, match="variant"):
        nets.UNetGenerator(variant="official")


@pytest.mark.parametrize("variant", nets.VARIANTS)
def test_noise_is_injected_at_every_scale_but_the_outermost(variant):
    plain = nets.UNetGenerator(8, 3, 32, variant=variant)
    noisy = nets.UNetGenerator(8, 3, 32, variant=variant, noise=True)
    injected = [m for m in noisy.modules() if isinstance(m, nets.NoiseInjection)]
    assert [m.weight.numel() for m in injected] == [32, 16, 8]  # deepest level first
    assert all((m.weight == 0).all() for m in injected)  # no noise until it is learnt
    assert nets.parameter_count(noisy) == nets.parameter_count(plain) + 56
    noisy.eval()
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    torch.manual_seed(0)
    quiet = noisy(x)
    with torch.no_grad():
        for m in injected:
            m.weight.fill_(1.0)
    torch.manual_seed(0)
    a = noisy(x)
    torch.manual_seed(0)
    assert torch.equal(a, noisy(x)) and not torch.equal(a, noisy(x))
    assert not torch.equal(a, quiet)
