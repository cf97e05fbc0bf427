"""Train the DCGAN emoji generator.

Hinge loss with a spectral-normalised discriminator (Miyato et al., 2018), DiffAugment on both
real and fake images, and an exponential moving average of the generator's weights, which is
what gets exported (it gives visibly cleaner samples than the raw generator).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from studio.nets.dcgan import DCGANConfig, Discriminator, Generator
from studio.training.augment import diff_augment


@dataclass(frozen=True)
class GANTrainConfig:
    net: DCGANConfig = field(default_factory=DCGANConfig)
    batch_size: int = 64
    learning_rate: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    ema_decay: float = 0.999
    max_steps: int = 200_000
    max_minutes: float = 40.0
    seed: int = 0


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


@torch.no_grad()
def _update_ema(ema: Generator, live: Generator, decay: float) -> None:
    for e, p in zip(ema.parameters(), live.parameters(), strict=True):
        e.lerp_(p, 1.0 - decay)


@torch.no_grad()
def recalibrate_batchnorm(generator: Generator, latent_dim: int, batches: int = 64) -> None:
    """Re-estimate BatchNorm statistics for the averaged weights (as SWA does).

    The EMA generator's weights never ran forward, so the running statistics copied from the
    live generator do not match them; averaging over fresh prior samples fixes that.
    """
    rng = torch.Generator().manual_seed(1234)
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # cumulative average over all batches
    generator.train()
    for _ in range(batches):
        generator(torch.randn(256, latent_dim, generator=rng))
    generator.eval()


def train_gan(
    images: np.ndarray,
    config: GANTrainConfig,
    on_progress: Callable[[int, float, float, Generator], None] | None = None,
    progress_every: int = 500,
) -> tuple[Generator, int]:
    """Train on uint8 images (N, H, W, 3); returns the EMA generator (eval mode) and steps.

    `on_progress(step, d_loss, g_loss, ema_generator)` is called every `progress_every` steps
    (checkpoints, sample grids).
    """
    torch.manual_seed(config.seed)
    rng = torch.Generator().manual_seed(config.seed)
    data = images_to_tensor(images)
    generator = Generator(config.net)
    discriminator = Discriminator(config.net)
    ema = copy.deepcopy(generator).eval()
    opt_g = torch.optim.Adam(generator.parameters(), config.learning_rate, config.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), config.learning_rate, config.betas)
    latent_dim = config.net.latent_dim
    deadline = time.monotonic() + config.max_minutes * 60
    step = 0
    while step < config.max_steps and time.monotonic() < deadline:
        real = data[torch.randint(len(data), (config.batch_size,), generator=rng)]
        z = torch.randn(config.batch_size, latent_dim, generator=rng)
        fake = generator(z)

        d_real = discriminator(diff_augment(real, rng))
        d_fake = discriminator(diff_augment(fake.detach(), rng))
        d_loss = F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()

        g_loss = -discriminator(diff_augment(fake, rng)).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        _update_ema(ema, generator, config.ema_decay)
        step += 1
        if on_progress is not None and step % progress_every == 0:
            snapshot = copy.deepcopy(ema)
            recalibrate_batchnorm(snapshot, latent_dim, batches=8)
            on_progress(step, d_loss.item(), g_loss.item(), snapshot)
    recalibrate_batchnorm(ema, latent_dim)
    return ema, step
