"""Convolutional VAE (Kingma & Welling, 2014) for small square RGB images.

Encoder and decoder are separate modules so each exports as its own graph: the app encodes a
picture to the posterior mean, and decodes latents to pictures in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    latent_dim: int = 64
    image_size: int = 32  # a power of two >= 8
    base_channels: int = 32  # channels after the first downsampling; doubles per step
    channels: int = 3

    @property
    def num_downsamples(self) -> int:
        return self.image_size.bit_length() - 3  # down to 4x4

    @property
    def bottleneck_channels(self) -> int:
        return self.base_channels * 2 ** (self.num_downsamples - 1)


def _block(c_in: int, c_out: int, down: bool) -> list[nn.Module]:
    conv: nn.Module = (
        nn.Conv2d(c_in, c_out, 4, 2, 1) if down else nn.ConvTranspose2d(c_in, c_out, 4, 2, 1)
    )
    return [conv, nn.GroupNorm(8, c_out), nn.SiLU()]


class VAEEncoder(nn.Module):
    """image (B, 3, S, S) in [-1, 1] -> (mean, log_var), each (B, latent_dim)."""

    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        c_in, c_out = config.channels, config.base_channels
        for _ in range(config.num_downsamples):
            layers += _block(c_in, c_out, down=True)
            c_in, c_out = c_out, c_out * 2
        self.body = nn.Sequential(*layers)  # (B, C, 4, 4)
        self.head = nn.Linear(c_in * 16, 2 * config.latent_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stats = self.head(self.body(image).flatten(1))  # (B, 2 * latent_dim)
        mean, log_var = stats.chunk(2, dim=1)
        return mean, log_var.clamp(-12.0, 8.0)


class VAEDecoder(nn.Module):
    """z (B, latent_dim) -> image (B, 3, S, S) in [-1, 1]."""

    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        width = config.bottleneck_channels
        self.head = nn.Linear(config.latent_dim, width * 16)
        layers: list[nn.Module] = []
        for _ in range(config.num_downsamples - 1):
            layers += _block(width, width // 2, down=False)
            width //= 2
        layers += [nn.ConvTranspose2d(width, config.channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        width = self.config.bottleneck_channels
        return self.body(self.head(z).view(-1, width, 4, 4))  # (B, w, 4, 4) -> (B, 3, S, S)
