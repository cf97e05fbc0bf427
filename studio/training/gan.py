"""Pieces GAN recipes share: the hinge loss (Miyato et al., 2018) and BatchNorm
recalibration for averaged generators."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hinge_discriminator_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """mean(relu(1 - D(real))) + mean(relu(1 + D(fake))), from raw scores of any shape."""
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()


def hinge_generator_loss(d_fake: torch.Tensor) -> torch.Tensor:
    """-mean(D(fake))."""
    return -d_fake.mean()


@torch.no_grad()
def recalibrate_batchnorm(generator: torch.nn.Module, latent_dim: int, batches: int = 64) -> None:
    """Re-estimate BatchNorm statistics for the averaged weights (as SWA does), in place;
    leaves `generator` in eval mode.

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
