"""Arbitrary style transfer with adaptive instance normalisation (Huang & Belongie 2017).

A fixed VGG-16 encoder (studio/nets/vgg.py) maps content and style images to relu4_1; AdaIN
gives the content features the style's per-channel mean and std (eq. 8); a decoder, the
encoder's mirror (nearest upsampling instead of pooling, reflection padding against border
artefacts), turns the result back into an image. Only the decoder is trained.

Two networks for the app:
- `Decoder`: features (B, 512, h, w) -> image (B, 3, 8h, 8w), unclamped (about [0, 1]).
  The app encodes the style once, mixes with numpy (`adain` below, or the same maths), and
  reruns only the decoder when the strength slider moves.
- `StyleTransfer`: content, style images and a strength -> stylised image in [0, 1], in one
  graph (encoder + AdaIN + decoder), for one-shot use.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from studio.nets.vgg import VGGConfig, VGGFeatures


def mean_std(x: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel statistics over space: x (B, C, H, W) -> mean, std (B, C, 1, 1).
    The std uses the biased variance (as instance norm does) plus `eps` against zero."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    std = (x.var(dim=(2, 3), keepdim=True, unbiased=False) + eps).sqrt()
    return mean, std


def adain(content: torch.Tensor, style: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """AdaIN(x, y) = std(y) * (x - mean(x)) / std(x) + mean(y) (paper eq. 8).
    content (B, C, H, W), style (B, C, H', W') -> (B, C, H, W); sizes may differ."""
    content_mean, content_std = mean_std(content, eps)
    style_mean, style_std = mean_std(style, eps)
    return style_std * (content - content_mean) / content_std + style_mean


@dataclass(frozen=True)
class DecoderConfig:
    in_channels: int = 512  # relu4_1
    width: int = 128  # channels after the first conv; the paper's decoder has 256
    # relu4_1 of these Caffe-scale VGG weights has std ~10 and peaks over 200: scaled to ~1
    # inside, or the first layers' ReLUs died within a few hundred steps
    input_scale: float = 0.1
    # widths then halve at each upsampling: 128 -> 64 -> 32 by default (paper 256 -> 128 -> 64)


class Decoder(nn.Module):
    """The paper's decoder at `width` / 256 of its channels:
    conv(512 -> w) up | conv(w) x3, conv(w -> w/2) up | conv(w/2), conv(w/2 -> w/4) up |
    conv(w/4), conv(w/4 -> 3); every conv 3x3 after a reflection pad, ReLU but the last."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        # (in, out, upsample after): reading order of the paper's Table/Code
        plan = [
            (config.in_channels, w, True),
            (w, w, False),
            (w, w, False),
            (w, w, False),
            (w, w // 2, True),
            (w // 2, w // 2, False),
            (w // 2, w // 4, True),
            (w // 4, w // 4, False),
            (w // 4, 3, False),
        ]
        convs = [nn.Conv2d(cin, cout, 3) for cin, cout, _ in plan]
        for conv in convs[:-1]:  # He init: the signal keeps its scale through the ReLUs
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)  # type: ignore[arg-type]
        nn.init.normal_(convs[-1].weight, std=0.01)
        # the output is a linear image in [0, 1]: start at ImageNet's mean colour, not black,
        # or Adam spends its first ~1,000 steps moving this bias by ~lr a step
        convs[-1].bias = nn.Parameter(torch.tensor([0.485, 0.456, 0.406]))
        self.convs = nn.ModuleList(convs)
        self.upsample_after = tuple(up for _, _, up in plan)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features (B, in_channels, h, w), h and w >= 2 -> image (B, 3, 8h, 8w), about [0, 1]
        (not clamped: the training loss sees the raw values)."""
        x = features * self.config.input_scale
        last = len(self.convs) - 1
        for index, (conv, up) in enumerate(zip(self.convs, self.upsample_after, strict=True)):
            x = conv(F.pad(x, (1, 1, 1, 1), mode="reflect"))
            if index < last:
                x = F.relu(x)
            if up:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C, 2h, 2w)
        return x


class StyleTransfer(nn.Module):
    """Encoder + AdaIN + decoder: the whole feed-forward transfer in one graph.
    State-dict keys: `encoder.*` (VGG, relu4_1 only) and `decoder.*`."""

    def __init__(self, config: DecoderConfig) -> None:
        super().__init__()
        self.encoder = VGGFeatures(VGGConfig(outputs=("relu4_1",)))
        self.decoder = Decoder(config)

    def forward(
        self,
        content: torch.Tensor,  # (B, 3, H, W) RGB in [0, 1], H and W >= 16
        style: torch.Tensor,  # (B, 3, H', W') RGB in [0, 1]
        strength: torch.Tensor,  # (B,) in [0, 1]: 0 rebuilds the content, 1 full style
    ) -> torch.Tensor:
        """-> stylised image (B, 3, 8 * ceil(H / 8), 8 * ceil(W / 8)) in [0, 1]; crop to
        (H, W) when H or W is not a multiple of 8."""
        (content_features,) = self.encoder(content)  # (B, 512, H/8, W/8)
        (style_features,) = self.encoder(style)
        target = adain(content_features, style_features)
        alpha = strength.view(-1, 1, 1, 1)
        mixed = alpha * target + (1 - alpha) * content_features  # paper eq. 13
        return self.decoder(mixed).clamp(0.0, 1.0)
