"""A tiny, untrained DCGAN model folder for tests and for trying the import path."""

from __future__ import annotations

from pathlib import Path

import torch

from studio.nets.dcgan import DCGANConfig, Generator
from studio.training import gan_emoji


def build_tiny_gan(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    generator = Generator(DCGANConfig(latent_dim=8, image_size=8, base_channels=4)).eval()
    gan_emoji.export_model(
        generator,
        folder,
        steps=0,
        minutes=0.0,
        model_id="tiny-gan",
        name="Tiny GAN (untrained)",
        num_directions=4,
    )
    return folder
