"""Differentiable augmentation for GAN training on small data sets.

DiffAugment (Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN
Training"): the same random colour, translation and cutout transforms are applied to real
and fake images before the discriminator sees them, so it cannot memorise ~2k emoji and the
generator still learns the un-augmented distribution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def diff_augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x (B, C, H, W) in [-1, 1] -> augmented copy, same shape; differentiable in x."""
    b, _, h, w = x.shape

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator, device=x.device)

    # colour: brightness, saturation, contrast (eq. in the paper's reference code)
    x = x + (rand(b, 1, 1, 1) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (rand(b, 1, 1, 1) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    x = (x - mean) * (rand(b, 1, 1, 1) + 0.5) + mean

    # translation by up to 1/8 of the side, zero padded
    shift = max(1, h // 8)
    padded = F.pad(x, [shift, shift, shift, shift])
    dy = (rand(b) * (2 * shift + 1)).long()
    dx = (rand(b) * (2 * shift + 1)).long()
    rows = torch.arange(h, device=x.device)[None, :] + dy[:, None]  # (B, H)
    cols = torch.arange(w, device=x.device)[None, :] + dx[:, None]  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    x = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    x = x.permute(0, 3, 1, 2)

    # cutout of a half-side square
    ch, cw = h // 2, w // 2
    cy = (rand(b) * (h - ch + 1)).long()
    cx = (rand(b) * (w - cw + 1)).long()
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    inside_y = (ys >= cy[:, None]) & (ys < cy[:, None] + ch)  # (B, H)
    inside_x = (xs >= cx[:, None]) & (xs < cx[:, None] + cw)  # (B, W)
    mask = ~(inside_y[:, :, None] & inside_x[:, None, :])  # (B, H, W)
    return x * mask[:, None].to(x.dtype)
