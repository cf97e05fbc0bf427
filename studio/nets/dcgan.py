"""DCGAN generator and discriminator for small square images (Radford et al., 2016).

The generator maps a latent vector to an image in [-1, 1]; it is the only part the app runs.
The discriminator exists for training (studio/training/gan_emoji.py) and is never exported.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


@dataclass(frozen=True)
class DCGANConfig:
    latent_dim: int = 128  # size of z, drawn from N(0, I)
    image_size: int = 32  # output is (3, image_size, image_size); a power of two >= 8
    base_channels: int = 48  # channels at the last hidden layer; doubles per step down
    channels: int = 3

    @property
    def num_upsamples(self) -> int:
        # 4x4 seed, then one x2 step per doubling up to image_size
        return self.image_size.bit_length() - 3


class Generator(nn.Module):
    """z (B, latent_dim) -> image (B, 3, S, S) in [-1, 1]."""

    def __init__(self, config: DCGANConfig = DCGANConfig()) -> None:
        super().__init__()
        self.config = config
        width = config.base_channels * 2 ** (config.num_upsamples - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(config.latent_dim, width, 4, 1, 0, bias=False),  # (B, w, 4, 4)
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        ]
        for _ in range(config.num_upsamples - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),  # doubles H and W
                nn.BatchNorm2d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, config.channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z[:, :, None, None])  # (B, latent_dim, 1, 1) -> (B, 3, S, S)

    def early_features(self, z: torch.Tensor) -> torch.Tensor:
        """Activations after the first block, (B, w*16): what GANSpace runs PCA on."""
        return self.body[:3](z[:, :, None, None]).flatten(1)


class Discriminator(nn.Module):
    """image (B, 3, S, S) -> realness logit (B,). Spectral norm keeps it Lipschitz."""

    def __init__(self, config: DCGANConfig = DCGANConfig()) -> None:
        super().__init__()
        width = config.base_channels
        layers: list[nn.Module] = [
            spectral_norm(nn.Conv2d(config.channels, width, 4, 2, 1)),  # halves H and W
            nn.LeakyReLU(0.2, inplace=True),
        ]
        for _ in range(config.num_upsamples - 1):
            layers += [
                spectral_norm(nn.Conv2d(width, width * 2, 4, 2, 1)),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            width *= 2
        layers += [spectral_norm(nn.Conv2d(width, 1, 4, 1, 0))]  # (B, 1, 1, 1)
        self.body = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.body(image).flatten()
