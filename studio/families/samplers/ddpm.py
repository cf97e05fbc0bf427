"""DDPM ancestral sampling (Ho et al., 2020, Algorithm 2) over all T training steps, with
the posterior mean written through x̂_0 (eq. 7) so that x̂_0 can be clipped to the data range
as in the paper's code:

    x̂_0 = clip((x_t - sqrt(1 - ᾱ_t) ε_θ(x_t, t)) / sqrt(ᾱ_t))
    μ̃_t = sqrt(ᾱ_{t-1}) β_t / (1 - ᾱ_t) x̂_0 + sqrt(α_t) (1 - ᾱ_{t-1}) / (1 - ᾱ_t) x_t
    x_{t-1} = μ̃_t + σ_t z,   σ_t² = β_t

Without clipping μ̃_t equals eq. 11's 1/sqrt(α_t) (x_t - β_t / sqrt(1 - ᾱ_t) ε). Each step is a
yield: (steps done, x_{t-1}, x̂_0).
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import numpy.typing as npt

from studio.families.samplers.schedule import (
    Array,
    NoisePredictor,
    NoiseSource,
    alphas_cumprod,
    standard_noise,
)


def ddpm_sample(
    eps_fn: NoisePredictor,
    x_T: Array,
    betas: npt.NDArray[np.float64],
    noise_source: NoiseSource,
    clip: tuple[float, float] | None = (-1.0, 1.0),
) -> Generator[tuple[int, Array, Array], None, Array]:
    """Yields (steps done, x_t, predicted x_0) after each step; returns x_0."""
    abar = alphas_cumprod(betas)
    x = x_T.astype(np.float64)
    total = len(betas)
    for done, t in enumerate(reversed(range(total)), 1):
        eps = eps_fn(x.astype(np.float32), np.full(len(x), t, np.float32)).astype(np.float64)
        x0 = (x - np.sqrt(1.0 - abar[t]) * eps) / np.sqrt(abar[t])
        if clip is not None:
            x0 = np.clip(x0, *clip)
        abar_prev = abar[t - 1] if t > 0 else 1.0
        mean = (np.sqrt(abar_prev) * betas[t] / (1.0 - abar[t])) * x0 + (
            np.sqrt(1.0 - betas[t]) * (1.0 - abar_prev) / (1.0 - abar[t])
        ) * x
        noise = standard_noise(noise_source, x.shape) if t > 0 else 0.0
        x = mean + np.sqrt(betas[t]) * noise
        yield done, x.astype(np.float32), x0.astype(np.float32)
    return x.astype(np.float32)
