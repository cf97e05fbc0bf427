"""Image arrays for training: uint8 pictures to tensors, and tensors back to preview grids."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def to_unit_range(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def dequantise(batch: np.ndarray, rng: torch.Generator | None) -> torch.Tensor:
    """uint8 (B, H, W, 3) -> float (B, 3, H, W) in [0, 1): (pixel + u) / 256, u ~ U[0, 1).
    With rng None, u = 0.5 (bin centres), for deterministic evaluation."""
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    noise = torch.rand(x.shape, generator=rng) if rng is not None else torch.full_like(x, 0.5)
    return (x + noise) / 256.0


def grid_image(images: torch.Tensor, low: float, high: float, rows: int = 8) -> Image.Image:
    """(rows*rows, 3, S, S) in [low, high] -> one tiled PIL image."""
    x = ((images.clamp(low, high) - low) / (high - low) * 255).round().byte()
    s = x.shape[-1]
    grid = x[: rows * rows].reshape(rows, rows, 3, s, s).permute(0, 3, 1, 4, 2)
    return Image.fromarray(grid.reshape(rows * s, rows * s, 3).numpy())
