"""Gated PixelCNN (van den Oord et al., 2016, "Conditional Image Generation with PixelCNN
Decoders") over palette indices: each pixel is one of `palette_size` colours, predicted from
the pixels above and to the left. Vertical and horizontal stacks avoid the blind spot.

Input: one-hot palette indices (B, K, S, S). Output: logits (B, K, S, S); the logits at pixel
(i, j) depend only on pixels (i', j') with i' < i, or i' == i and j' < j.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class PixelCNNConfig:
    image_size: int = 32
    palette_size: int = 32
    channels: int = 32
    layers: int = 8
    kernel: int = 3  # odd


class GatedLayer(nn.Module):
    """One gated layer with a vertical stack (rows above) and a horizontal stack (pixels to
    the left in the same row), eq. 2 of the paper. `first` masks out the current pixel."""

    def __init__(self, channels: int, kernel: int, first: bool) -> None:
        super().__init__()
        half = kernel // 2
        self.first = first
        self.reach = half
        # vertical: a (half + 1) x kernel window over this row and the rows above
        self.vertical = nn.Conv2d(channels, 2 * channels, (half + 1, kernel))
        # horizontal: a 1 x (half + 1) window over this row's pixels up to this one
        self.horizontal = nn.Conv2d(channels, 2 * channels, (1, half + 1))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        size = v.shape[-1]
        half = self.reach
        # vertical: output row i sees input rows i - half .. i of v
        v_feat = self.vertical(F.pad(v, (half, half, half, 0)))  # (B, 2C, S, S)
        if self.first:
            # the raw input's row i is the current row: shift down so row i sees rows < i.
            # Every later layer's v then carries only rows above, and needs no shift.
            v_feat = F.pad(v_feat, (0, 0, 1, 0))[:, :, :size, :]
            # horizontal: output column j sees columns j - half - 1 .. j - 1 (not itself)
            h_feat = self.horizontal(F.pad(h, (half + 1, 0, 0, 0)))[:, :, :, :size]
        else:
            h_feat = self.horizontal(F.pad(h, (half, 0, 0, 0)))  # columns j - half .. j
        h_feat = h_feat + self.v_to_h(v_feat)
        v_a, v_b = v_feat.chunk(2, dim=1)
        h_a, h_b = h_feat.chunk(2, dim=1)
        v_out = torch.tanh(v_a) * torch.sigmoid(v_b)
        h_gated = self.h_out(torch.tanh(h_a) * torch.sigmoid(h_b))
        return v_out, h_gated if self.first else h + h_gated  # no residual of the raw input


class PixelCNN(nn.Module):
    def __init__(self, config: PixelCNNConfig = PixelCNNConfig()) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Conv2d(config.palette_size, config.channels, 1)
        self.layers = nn.ModuleList(
            GatedLayer(config.channels, config.kernel, first=(k == 0)) for k in range(config.layers)
        )
        self.head = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(config.channels, config.channels, 1),
            nn.ReLU(),
            nn.Conv2d(config.channels, config.palette_size, 1),
        )

    def forward(self, onehot: torch.Tensor) -> torch.Tensor:
        """onehot (B, K, S, S) -> logits (B, K, S, S)."""
        x = self.embed(onehot)
        v, h = x, x
        for layer in self.layers:
            v, h = layer(v, h)
        return self.head(h)
