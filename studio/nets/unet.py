"""A small UNet that predicts the noise in a diffused image (Ho et al., 2020, appendix B),
without attention to fit a CPU budget. It only predicts; samplers own the step maths."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class UNetConfig:
    image_size: int = 32
    channels: int = 3
    base_channels: int = 64
    multipliers: tuple[int, ...] = (1, 2, 2)  # one resolution per entry, halving each time
    time_dim: int = 128
    patch: int = 2  # pixels folded into channels first (space-to-depth): 4x cheaper per layer


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (B,) float timesteps -> (B, dim) (Vaswani et al., 2017)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    angles = t[:, None] * freqs[None, :]  # (B, half)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, time_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(8, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(time_dim, c_out)
        self.norm2 = nn.GroupNorm(8, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, t_emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = h + self.time(t_emb)[:, :, None, None]  # (B, C, 1, 1) broadcast over space
        h = self.conv2(self.act(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    """(x (B, 3, S, S), t (B,) float in [0, T)) -> predicted noise (B, 3, S, S)."""

    def __init__(self, config: UNetConfig = UNetConfig()) -> None:
        super().__init__()
        self.config = config
        widths = [config.base_channels * m for m in config.multipliers]
        self.time_mlp = nn.Sequential(
            nn.Linear(config.time_dim, config.time_dim),
            nn.SiLU(),
            nn.Linear(config.time_dim, config.time_dim),
        )
        folded = config.channels * config.patch**2
        self.stem = nn.Conv2d(folded, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        c = widths[0]
        for k, width in enumerate(widths):
            self.down.append(ResBlock(c, width, config.time_dim))
            c = width
            last = k == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(c, c, 3, 2, 1))
        self.middle = ResBlock(c, c, config.time_dim)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for k, width in reversed(list(enumerate(widths))):
            self.up.append(ResBlock(c + width, width, config.time_dim))  # skip concatenated
            c = width
            first = k == 0
            self.upsample.append(
                nn.Identity()
                if first
                else nn.Sequential(
                    nn.Upsample(scale_factor=2.0), nn.Conv2d(c, widths[k - 1], 3, padding=1)
                )
            )
            if not first:
                c = widths[k - 1]
        self.out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, folded, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t_emb = self.time_mlp(timestep_embedding(t, self.config.time_dim))
        p = self.config.patch
        h = self.stem(nn.functional.pixel_unshuffle(x, p) if p > 1 else x)  # (B, 3p², S/p, S/p)
        skips = []
        for block, down in zip(self.down, self.downsample, strict=True):
            h = block(h, t_emb)
            skips.append(h)  # (B, C_k, S / 2^k, S / 2^k)
            h = down(h)
        h = self.middle(h, t_emb)
        for block, up in zip(self.up, self.upsample, strict=True):
            h = block(torch.cat([h, skips.pop()], dim=1), t_emb)
            h = up(h)
        out = self.out(h)
        return nn.functional.pixel_shuffle(out, p) if p > 1 else out  # (B, 3, S, S)
