"""The networks: the pix2pix U-Net generator, the PatchGAN discriminator, and the
segmentation U-Net.

All three are fully convolutional and take (B, C, H, W) float tensors. The two U-Nets
need sides that are multiples of their total downsampling (:attr:`UNetGenerator.multiple`,
:attr:`SegmentationUNet.multiple`); :func:`pad_to_multiple` and :func:`crop_to` make any
size work. The generator comes in two variants: ``"ours"`` (the default, with our
choices) and ``"authors"`` (the authors' ``unet_16`` as their pix2pix code builds it).
See docs/method.md (style transfer, segmentation) for the choices.

References: P. Isola et al., *Image-to-image translation with conditional adversarial
networks*, CVPR 2017 (pix2pix: U-Net generator, PatchGAN); O. Ronneberger et al.,
*U-Net*, MICCAI 2015.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad the last two axes of ``x`` up to multiples of ``multiple`` by reflection.

    Parameters
    ----------
    x : (B, C, H, W) tensor.
    multiple : the sides of the result are the smallest multiples of it >= H, W.

    Returns
    -------
    padded : (B, C, H', W') tensor, ``x`` in its top-left corner.
    size : (H, W), for :func:`crop_to`.
    """
    h, w = x.shape[-2:]
    pad_h, pad_w = -h % multiple, -w % multiple
    if pad_h or pad_w:
        # reflection needs the pad to be smaller than the side; replicate covers the rest
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The top-left (H, W) of ``x`` (B, C, H', W'): undoes :func:`pad_to_multiple`."""
    return x[..., : size[0], : size[1]]


# --------------------------------------------------------------------------- pix2pix


class NoiseInjection(nn.Module):
    """Adds one map of Gaussian noise per image, scaled per channel by learnt weights
    (zero at first): ``x + w[c] * n``, ``n ~ N(0, 1)`` of shape (B, 1, H, W) (Karras et al.,
    *A style-based generator architecture for GANs*, CVPR 2019). Gives the decoder a source
    of detail that the label does not fix; draws from torch's global random state.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        return x + self.weight[None, :, None, None] * noise



class _SkipBlock(nn.Module):
    """One level of our pix2pix U-Net: down, the levels inside, up, and the skip.

    ``x -> [x, up(inner(down(x)))]`` (the outermost level returns only ``up(...)``).
    Down: LeakyReLU(0.2), 4 x 4 stride-2 convolution, batch norm. Up: ReLU, bilinear
    2x upsampling and a 3 x 3 convolution (where pix2pix has a 4 x 4 stride-2 transposed
    convolution), batch norm, optional noise (:class:`NoiseInjection`), optional
    dropout. The innermost level keeps the size:
    3 x 3 stride-1 convolutions and no batch norm on its way down. Unlike
    :class:`_AuthorsBlock`, the skip passes ``x`` itself, not its activation.
    """

    def __init__(self, outer: int, inner: int, inside: nn.Module | None = None,
                 outermost: bool = False, dropout: bool = False, in_channels: int | None = None,
                 out_channels: int | None = None, noise: bool = False):
        super().__init__()
        innermost = inside is None
        kernel, stride = (3, 1) if innermost else (4, 2)
        down_in = in_channels or outer
        up_out = out_channels or outer
        down = [nn.Conv2d(down_in, inner, kernel, stride, 1, bias=False)]
        if not outermost:
            down.insert(0, nn.LeakyReLU(0.2))
        if not (outermost or innermost):
            down.append(nn.BatchNorm2d(inner))
        up_in = inner if innermost else 2 * inner
        up = [nn.ReLU()]
        if not innermost:
            # resize then convolve: a stride-2 transposed convolution leaves a checkerboard
            # of period 2 (Odena et al., Distill 2016) that short trainings do not remove
            up.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
        up.append(nn.Conv2d(up_in, up_out, 3, 1, 1, bias=outermost))
        if outermost:
            up.append(nn.Tanh())
        else:
            up.append(nn.BatchNorm2d(up_out))
            if noise:
                up.append(NoiseInjection(up_out))
            if dropout:
                up.append(nn.Dropout(0.5))
        self.outermost = outermost
        self.down, self.inside, self.up = nn.Sequential(*down), inside, nn.Sequential(*up)

    def forward(self, x):
        y = self.down(x)
        if self.inside is not None:
            y = self.inside(y)
        y = self.up(y)
        return y if self.outermost else torch.cat([x, y], 1)


class _AuthorsBlock(nn.Module):
    """One level of the authors' U-Net, as their pix2pix code builds it.

    ``x -> [a, up(inner(down(a)))]`` with ``a = LeakyReLU(0.2)(x)``: the reference block
    activates its input in place, so its skip passes on ``a``, not ``x``. The outermost
    level takes ``x`` as it is and returns only ``up(...)``. Down: a 4 x 4 stride-2
    convolution, batch norm. Up: ReLU, a 4 x 4 stride-2 transposed convolution, batch norm
    (outermost: tanh). The innermost level keeps the size: a 3 x 3 stride-1 convolution
    and transposed convolution, no batch norm on its way down. No dropout. ``noise``
    (not the authors'): a :class:`NoiseInjection` after the decoder's batch norm.
    """

    def __init__(self, outer: int, inner: int, inside: nn.Module | None = None,
                 outermost: bool = False, noise: bool = False):
        super().__init__()
        innermost = inside is None
        kernel, stride = (3, 1) if innermost else (4, 2)
        down = [nn.Conv2d(outer, inner, kernel, stride, 1, bias=False)]
        if not (outermost or innermost):
            down.append(nn.BatchNorm2d(inner))
        up = [nn.ReLU(), nn.ConvTranspose2d(inner if innermost else 2 * inner, outer, kernel,
                                            stride, 1, bias=outermost),
              nn.Tanh() if outermost else nn.BatchNorm2d(outer)]
        if noise and not outermost:
            up.append(NoiseInjection(outer))
        self.outermost = outermost
        self.act = nn.Identity() if outermost else nn.LeakyReLU(0.2)
        self.down, self.inside, self.up = nn.Sequential(*down), inside, nn.Sequential(*up)

    def forward(self, x):
        x = self.act(x)
        y = self.down(x)
        if self.inside is not None:
            y = self.inside(y)
        y = self.up(y)
        return y if self.outermost else torch.cat([x, y], 1)


VARIANTS = ("ours", "authors")


class UNetGenerator(nn.Module):
    """The pix2pix generator: a U-Net from a label map to a micrograph.

    ``depth`` levels each halve the image with 4 x 4 stride-2 convolutions and double it
    again, with skip connections around them, and a bottleneck of 3 x 3 stride-1
    convolutions at the bottom (depth 4 is the authors' ``unet_16``: the image shrinks
    16-fold, so 400 x 400 works). Widths double from ``width`` per level up to
    ``max_width``; batch norm everywhere but the outer ends; tanh output in [-1, 1].

    ``variant="ours"`` (our choices, not the authors'): the decoder doubles the size by
    bilinear upsampling and a 3 x 3 convolution; dropout 0.5 in the decoders of the
    bottleneck and the two deepest levels (the pix2pix paper's noise source); PyTorch's
    default initialisation. ``variant="authors"``: the authors' ``unet_16`` as their code
    builds it (:class:`_AuthorsBlock`): 4 x 4 stride-2 transposed convolutions in the
    decoder, no dropout, weights N(0, 0.02) (:func:`init_normal`); 12,982,913 parameters
    at width 64, depth 4, max_width 512.

    ``noise=True`` makes either variant stochastic: a :class:`NoiseInjection` in the
    decoder of every level but the outermost (every scale from 1/2 down to 1/2**depth),
    so that one label gives different images, each drawn from torch's random state.

    Parameters
    ----------
    width : channels of the first level (pix2pix: 64).
    depth : number of stride-2 levels (>= 1); inputs need sides divisible by 2**depth.
    max_width : cap on the channels of any level (pix2pix: 512).
    channels : input and output channels (1: boundary map in, grey image out).
    variant : "ours" or "authors".
    noise : inject noise into the decoder.

    Input (B, channels, H, W) float in [-1, 1]; output the same shape, in [-1, 1].
    """

    def __init__(self, width: int = 64, depth: int = 4, max_width: int = 512, channels: int = 1,
                 variant: str = "ours", noise: bool = False):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        widths = [min(width * 2 ** level, max_width) for level in range(depth)]
        if variant == "authors":
            block = _AuthorsBlock(widths[-1], widths[-1], noise=noise)
            for level in range(depth - 1, 0, -1):
                block = _AuthorsBlock(widths[level - 1], widths[level], block, noise=noise)
            self.model = init_normal(_AuthorsBlock(channels, widths[0], block, outermost=True))
        else:
            block = _SkipBlock(widths[-1], widths[-1], dropout=True, noise=noise)  # bottleneck
            for level in range(depth - 1, 0, -1):
                block = _SkipBlock(widths[level - 1], widths[level], block,
                                   dropout=level >= depth - 2 and depth > 2, noise=noise)
            self.model = _SkipBlock(channels, widths[0], block, outermost=True,
                                    in_channels=channels, out_channels=channels)
        self.multiple = 2 ** depth
        self.variant, self.noise = variant, noise

    def forward(self, x):
        return self.model(x)


def init_normal(net: nn.Module, std: float = 0.02) -> nn.Module:
    """pix2pix's ``normal`` initialisation, in place: convolution weights N(0, std),
    batch-norm weights N(1, std), biases 0. Returns ``net``."""
    for module in net.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
    return net


class PatchDiscriminator(nn.Module):
    """The PatchGAN discriminator: real/fake logits for overlapping image patches.

    ``layers`` 4 x 4 stride-2 convolutions (widths doubling from ``width``, at most 8x),
    then two 4 x 4 stride-1 convolutions; LeakyReLU(0.2) and batch norm (not on the first).
    With ``layers = 3`` each output logit sees a 70 x 70 patch of its input. The authors'
    discriminator is the same stack with a sigmoid on top; here the sigmoid lives in the
    vanilla GAN loss (binary cross-entropy on logits, the same function computed stably),
    and their N(0, 0.02) weights are :func:`init_normal` (PyTorch's default otherwise).

    Parameters
    ----------
    width : channels of the first convolution (pix2pix: 64).
    layers : stride-2 convolutions (3: the 70 x 70 PatchGAN).
    channels : input channels (2: the label and the image, concatenated).

    Input (B, channels, H, W); output (B, 1, H', W') logits, about H / 2**layers per side.
    """

    def __init__(self, width: int = 64, layers: int = 3, channels: int = 2):
        super().__init__()
        stack = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        outer = width
        for n in range(1, layers + 1):
            inner = width * min(2 ** n, 8)
            stride = 2 if n < layers else 1
            stack += [nn.Conv2d(outer, inner, 4, stride, 1, bias=False), nn.BatchNorm2d(inner),
                      nn.LeakyReLU(0.2)]
            outer = inner
        stack.append(nn.Conv2d(outer, 1, 4, 1, 1))
        self.model = nn.Sequential(*stack)

    def forward(self, x):
        return self.model(x)

    def features(self, x) -> list[torch.Tensor]:
        """The activations after each LeakyReLU, (B, C_k, H_k, W_k) from shallow to deep:
        what the texture loss compares."""
        out = []
        for layer in self.model:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                out.append(x)
        return out


def gram(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices (B, C, C) of feature maps (B, C, H, W), divided by H * W: the
    channels' second moments over the image, blind to where a texture lies (Gatys et al.,
    *Image style transfer using convolutional neural networks*, CVPR 2016)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


# --------------------------------------------------------------------------- segmentation


def _double_conv(inner: int, outer: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inner, outer, 3, padding=1, bias=False), nn.BatchNorm2d(outer),
                         nn.ReLU(inplace=True),
                         nn.Conv2d(outer, outer, 3, padding=1, bias=False), nn.BatchNorm2d(outer),
                         nn.ReLU(inplace=True))


class SegmentationUNet(nn.Module):
    """The segmentation U-Net: a micrograph in, boundary/grain logits out.

    ``depth`` times: two 3 x 3 conv-BN-ReLU, then 2 x 2 max pooling (widths doubling from
    ``width``); a bottleneck; then back up with 2 x 2 transposed convolutions, the skip
    concatenated, two conv-BN-ReLU; a 1 x 1 convolution to ``classes`` logits.
    Weights are Xavier-uniform initialised, as in the authors' code.

    Parameters
    ----------
    width : channels of the first level (Ronneberger et al.: 64).
    depth : number of poolings; inputs need sides divisible by 2**depth.
    classes : output channels (2: grain, boundary).

    Input (B, 1, H, W) float; output (B, classes, H, W) logits.
    """

    def __init__(self, width: int = 16, depth: int = 4, classes: int = 2):
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        widths = [width * 2 ** level for level in range(depth + 1)]
        self.encoders = nn.ModuleList(
            _double_conv(1 if level == 0 else widths[level - 1], widths[level])
            for level in range(depth))
        self.bottleneck = _double_conv(widths[depth - 1], widths[depth])
        self.ups = nn.ModuleList(nn.ConvTranspose2d(widths[level + 1], widths[level], 2, 2)
                                 for level in reversed(range(depth)))
        self.decoders = nn.ModuleList(_double_conv(2 * widths[level], widths[level])
                                      for level in reversed(range(depth)))
        self.head = nn.Conv2d(widths[0], classes, 1)
        self.multiple = 2 ** depth
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def forward(self, x):
        skips = []
        for encoder in self.encoders:
            x = encoder(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = decoder(torch.cat([skip, up(x)], 1))
        return self.head(x)


def parameter_count(net: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)
