"""A small StyleGAN2 generator and discriminator for 32x32 RGBA sprites.

Karras et al., 2020, "Analyzing and Improving the Image Quality of StyleGAN" (StyleGAN2), with
the conditioning of StyleGAN2-ADA (Karras et al., 2020): our own code, written from the papers
and the maths of the reference implementation.

The generator is two networks so that truncation and style mixing happen outside them:

    Mapping      z (B, z_dim), category (B,)   -> w (B, w_dim)
    Synthesis    ws (B, num_ws, w_dim), noise  -> rgba (B, 4, 32, 32) in [-1, 1]

Synthesis takes one w per layer (ws index i drives the layers listed by `ws_resolutions`), so
mixing is "take rows of ws from another sample" and truncation is "lerp ws toward w_avg".
Noise is an explicit input, one channel per noisy conv packed in a single tensor: each layer
adds `strength * noise`, so a zero tensor switches noise off and scaling the input scales it.

Every weight uses the equalised learning rate: stored ~N(0, 1) / lr_mul, scaled by
lr_mul / sqrt(fan_in) at run time, so Adam's step is the same relative size for every layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

_GAIN = math.sqrt(2.0)  # keeps leaky-ReLU activations at unit variance


@dataclass(frozen=True)
class StyleGANConfig:
    z_dim: int = 128  # latent drawn from N(0, I)
    w_dim: int = 256  # intermediate latent (style) size
    num_categories: int = 3  # item, monster, terrain
    mapping_layers: int = 4  # fully connected layers after [z, embed(category)]
    mapping_lr_mul: float = 0.01  # StyleGAN2: the mapping net learns 100x slower
    resolution: int = 32  # output side; a power of two >= 8
    channels: int = 4  # RGBA
    # feature channels per resolution 4, 8, 16, 32 ... (one entry per block); measured on the
    # shared 2-core machine, one thread, batch 32: 256/256/128/64 ran ~11 img/s, this ~28
    widths: tuple[int, ...] = (128, 128, 64, 32)
    w_avg_beta: float = 0.995  # running average of w during training

    @property
    def resolutions(self) -> tuple[int, ...]:
        return tuple(4 * 2**i for i in range(self.resolution.bit_length() - 2))

    @property
    def num_ws(self) -> int:
        # 4x4 block: conv + toRGB; every later block: 2 convs + toRGB, its first conv sharing
        # the previous block's toRGB w (as in StyleGAN2): 2 + 2 per later block
        return 2 * len(self.resolutions)

    @property
    def num_noise(self) -> int:
        return 2 * len(self.resolutions) - 1  # one per 3x3 conv

    @property
    def ws_resolutions(self) -> tuple[int, ...]:
        """Resolution of the conv each ws index drives (the last one drives the final toRGB)."""
        out = [4]
        for r in self.resolutions[1:]:
            out += [r, r]
        return (*out, self.resolution)

    @property
    def noise_resolutions(self) -> tuple[int, ...]:
        return (4, *(r for r in self.resolutions[1:] for _ in (0, 1)))


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualLinear(nn.Module):
    """y = x W^T * (lr_mul / sqrt(in)) + b * lr_mul, optionally leaky-ReLU'd."""

    def __init__(
        self, d_in: int, d_out: int, lr_mul: float = 1.0, bias_init: float = 0.0, act: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((d_out,), bias_init / lr_mul))
        self.scale = lr_mul / math.sqrt(d_in)
        self.lr_mul = lr_mul
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(x, 0.2) * _GAIN if self.act else x


class Mapping(nn.Module):
    """z (B, z_dim) float32, category (B,) int64 -> w (B, w_dim).

    The category's learned embedding and z are each normalised to unit second moment and
    concatenated. `w_avg` is the running mean of w over training (the global "average
    sprite"); it moves only in train mode.
    """

    def __init__(self, config: StyleGANConfig = StyleGANConfig()) -> None:
        super().__init__()
        self.config = config
        c = config
        self.embed = nn.Parameter(torch.randn(c.num_categories, c.w_dim))  # one row per class
        dims = [c.z_dim + c.w_dim] + [c.w_dim] * c.mapping_layers
        self.layers = nn.ModuleList(
            EqualLinear(a, b, lr_mul=c.mapping_lr_mul, act=True) for a, b in pairwise(dims)
        )
        self.w_avg: torch.Tensor
        self.register_buffer("w_avg", torch.zeros(c.w_dim))

    def forward(self, z: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        y = normalize_2nd_moment(self.embed[category])  # (B, w_dim)
        x = torch.cat([normalize_2nd_moment(z), y], dim=1)  # (B, z_dim + w_dim)
        for layer in self.layers:
            x = layer(x)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(0).lerp(self.w_avg, self.config.w_avg_beta))
        return x  # (B, w_dim)


class ModulatedConv(nn.Module):
    """StyleGAN2 modulated convolution, in the form that modulates activations.

    conv(x * s, W) * d equals conv(x, W') with the per-sample weight W' = W * s * d of the
    paper (eq. 1-3), without grouped convolution, so it exports with a dynamic batch.
    d = 1 / sqrt(sum_{i,k} (W_oik s_i)^2 + eps) is the demodulation (skipped for toRGB).
    """

    def __init__(
        self, c_in: int, c_out: int, w_dim: int, kernel: int, demodulate: bool = True
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)  # style s, starts near 1
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)
        self.demodulate = demodulate
        self.padding = kernel // 2

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # (B, c_in)
        weight = self.weight * self.scale  # (c_out, c_in, k, k)
        if not self.demodulate:  # toRGB: fold the fan-in scale into the style instead
            return F.conv2d(x * s[:, :, None, None], weight, padding=self.padding)
        x = F.conv2d(x * s[:, :, None, None], weight, padding=self.padding)  # (B, c_out, H, W)
        d = (s.square() @ weight.square().sum(dim=(2, 3)).T + 1e-8).rsqrt()  # (B, c_out)
        return x * d[:, :, None, None]


class StyleLayer(nn.Module):
    """Optional x2 bilinear upsample, modulated 3x3 conv, + strength * noise, bias, lReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, up: bool) -> None:
        super().__init__()
        self.up = up
        self.conv = ModulatedConv(c_in, c_out, w_dim, 3)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = self.conv(x, w) + self.noise_strength * noise  # noise (B, 1, H, W)
        return F.leaky_relu(x + self.bias[None, :, None, None], 0.2) * _GAIN


class ToRGBA(nn.Module):
    """Modulated 1x1 conv to the output channels, no demodulation (StyleGAN2 skip output)."""

    def __init__(self, c_in: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv(c_in, channels, w_dim, 1, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class Synthesis(nn.Module):
    """ws (B, num_ws, w_dim), noise (B, num_noise, R, R) -> rgba (B, 4, R, R), about [-1, 1].

    Noise channel j feeds 3x3 conv j (resolutions in `config.noise_resolutions`); a layer at
    r x r reads the top-left r x r of its channel. The output is not clamped (training needs
    the gradient); clamp to [-1, 1] before display.
    """

    def __init__(self, config: StyleGANConfig = StyleGANConfig()) -> None:
        super().__init__()
        self.config = config
        c, widths = config, config.widths
        if len(widths) != len(c.resolutions):
            raise ValueError(f"widths {widths} needs one entry per resolution {c.resolutions}")
        self.const = nn.Parameter(torch.randn(widths[0], 4, 4))
        self.layers = nn.ModuleList([StyleLayer(widths[0], widths[0], c.w_dim, up=False)])
        self.to_rgba = nn.ModuleList([ToRGBA(widths[0], c.channels, c.w_dim)])
        for a, b in pairwise(widths):
            self.layers.append(StyleLayer(a, b, c.w_dim, up=True))
            self.layers.append(StyleLayer(b, b, c.w_dim, up=False))
            self.to_rgba.append(ToRGBA(b, c.channels, c.w_dim))

    def forward(self, ws: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)  # (B, C4, 4, 4)
        x = self.layers[0](x, ws[:, 0], noise[:, 0:1, :4, :4])
        img = self.to_rgba[0](x, ws[:, 1])  # (B, 4, 4, 4)
        for block in range(1, len(self.to_rgba)):
            i = 2 * block - 1  # first conv of the block; its w is the previous toRGB's
            r = 4 * 2**block
            x = self.layers[i](x, ws[:, i], noise[:, i : i + 1, :r, :r])  # (B, C, r, r)
            x = self.layers[i + 1](x, ws[:, i + 1], noise[:, i + 1 : i + 2, :r, :r])
            img = F.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False)
            img = img + self.to_rgba[block](x, ws[:, i + 2])  # (B, 4, r, r)
        return img


def random_noise(config: StyleGANConfig, batch: int, generator: torch.Generator) -> torch.Tensor:
    """Fresh noise input (B, num_noise, R, R) ~ N(0, 1)."""
    r = config.resolution
    return torch.randn(batch, config.num_noise, r, r, generator=generator)


class MinibatchStd(nn.Module):
    """Appends the std over groups of samples, averaged to one channel (Karras et al., 2018)."""

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.group, b)
        if b % g:
            g = 1
        y = x.reshape(g, b // g, c, h, w)  # (G, M, C, H, W)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (M,)
        y = y.reshape(1, b // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(b, 1, h, w)
        return torch.cat([x, y], dim=1)


class EqualConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = 1 / math.sqrt(c_in * kernel * kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


class DBlock(nn.Module):
    """Residual block: two 3x3 convs and a 2x2 average pool, plus a pooled 1x1 skip."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv0 = EqualConv(c_in, c_in, 3)
        self.conv1 = EqualConv(c_in, c_out, 3)
        self.skip = EqualConv(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        x = F.leaky_relu(self.conv0(x), 0.2) * _GAIN
        x = F.avg_pool2d(F.leaky_relu(self.conv1(x), 0.2) * _GAIN, 2)
        return (x + skip) * math.sqrt(0.5)  # (B, c_out, H/2, W/2)


class Discriminator(nn.Module):
    """rgba (B, 4, R, R), category (B,) -> realness logit (B,); training only.

    Residual (StyleGAN2 config E/F), minibatch std at 4x4, conditioned by projection: the
    logit is <features, embed(category)> / sqrt(dim) (as StyleGAN2-ADA's cmap).
    """

    def __init__(self, config: StyleGANConfig = StyleGANConfig(), cmap_dim: int = 128) -> None:
        super().__init__()
        widths = config.widths[::-1]  # (64, 128, 256, 256) from 32x32 down to 4x4
        self.from_rgba = EqualConv(config.channels, widths[0], 1)
        self.blocks = nn.ModuleList(DBlock(a, b) for a, b in pairwise(widths))
        self.mbstd = MinibatchStd()
        self.conv = EqualConv(widths[-1] + 1, widths[-1], 3)
        self.fc = EqualLinear(widths[-1] * 16, widths[-1], act=True)
        self.out = EqualLinear(widths[-1], cmap_dim)
        self.embed = nn.Parameter(torch.randn(config.num_categories, cmap_dim))
        self.cmap_dim = cmap_dim

    def forward(self, rgba: torch.Tensor, category: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.from_rgba(rgba), 0.2) * _GAIN
        for block in self.blocks:
            x = block(x)  # (B, C, 4, 4) after the last
        x = F.leaky_relu(self.conv(self.mbstd(x)), 0.2) * _GAIN
        x = self.out(self.fc(x.flatten(1)))  # (B, cmap_dim)
        return (x * self.embed[category]).sum(dim=1) / math.sqrt(self.cmap_dim)
