"""The forward process's noise schedule, shared by training and every sampler."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# eps_fn(x_t (B, C, H, W), t (B,) float32) -> predicted noise, same shape as x_t
NoisePredictor = Callable[[np.ndarray, np.ndarray], np.ndarray]


def linear_betas(steps: int = 1000, start: float = 1e-4, end: float = 0.02) -> np.ndarray:
    """β_t of Ho et al. (2020), §4: linear from 1e-4 to 0.02 over T = 1000 steps."""
    return np.linspace(start, end, steps, dtype=np.float64)


def alphas_cumprod(betas: np.ndarray) -> np.ndarray:
    """ᾱ_t = Π_{s<=t} (1 - β_s) (Ho et al., 2020, eq. 4)."""
    return np.cumprod(1.0 - betas)
