"""DDPM ancestral sampling (Ho et al., 2020, Algorithm 2 / eq. 11):

    x_{t-1} = 1/sqrt(α_t) * (x_t - β_t / sqrt(1 - ᾱ_t) * ε_θ(x_t, t)) + σ_t z,   σ_t² = β_t

over every one of the T training steps. Each step is a yield: (step index, x_t after it).
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np

from studio.families.samplers.schedule import NoisePredictor, alphas_cumprod


def ddpm_sample(
    eps_fn: NoisePredictor, x_T: np.ndarray, betas: np.ndarray, rng: np.random.Generator
) -> Generator[tuple[int, np.ndarray, np.ndarray], None, np.ndarray]:
    """Yields (steps done, x_t, predicted x_0) after each step; returns x_0."""
    abar = alphas_cumprod(betas)
    x = x_T.astype(np.float64)
    total = len(betas)
    for done, t in enumerate(reversed(range(total)), 1):
        eps = eps_fn(x.astype(np.float32), np.full(len(x), t, np.float32)).astype(np.float64)
        alpha = 1.0 - betas[t]
        mean = (x - betas[t] / np.sqrt(1.0 - abar[t]) * eps) / np.sqrt(alpha)
        noise = rng.standard_normal(x.shape) if t > 0 else 0.0
        x = mean + np.sqrt(betas[t]) * noise
        x0 = (x - np.sqrt(1.0 - abar[t]) * eps) / np.sqrt(abar[t]) if t > 0 else x
        yield done, x.astype(np.float32), x0.astype(np.float32)
    return x.astype(np.float32)
