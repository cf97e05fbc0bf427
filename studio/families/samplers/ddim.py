"""DDIM sampling (Song et al., 2021, eq. 12) on a subsequence τ of the training steps:

    x̂_0 = (x_t - sqrt(1 - ᾱ_t) ε_θ(x_t, t)) / sqrt(ᾱ_t)
    x_{t'} = sqrt(ᾱ_{t'}) x̂_0 + sqrt(1 - ᾱ_{t'} - σ²) ε_θ(x_t, t) + σ z
    σ = η sqrt((1 - ᾱ_{t'}) / (1 - ᾱ_t)) sqrt(1 - ᾱ_t / ᾱ_{t'})       (eq. 16)

η = 0 is deterministic (the initial noise is then a latent code); η = 1 matches DDPM's
variance. x̂_0 is clipped to the data range, as in Ho et al.'s and diffusers' samplers: early
steps divide by sqrt(ᾱ_t) ~ 0.006, so small noise-prediction errors would otherwise blow up.
Each step is a yield: (steps done, x_t', x̂_0).
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


def ddim_timesteps(train_steps: int, steps: int) -> np.ndarray:
    """τ: `steps` evenly spaced training steps, descending, ending at 0."""
    return np.linspace(0, train_steps - 1, steps).round().astype(int)[::-1]


def ddim_sample(
    eps_fn: NoisePredictor,
    x_T: Array,
    betas: npt.NDArray[np.float64],
    steps: int,
    eta: float,
    noise_source: NoiseSource,
    clip: tuple[float, float] | None = (-1.0, 1.0),
) -> Generator[tuple[int, Array, Array], None, Array]:
    """Yields (steps done, x_t', x̂_0) after each step; returns x_0. σ z is drawn from
    `noise_source`: with one generator per row of x_T, each row's draws are its own."""
    abar = alphas_cumprod(betas)
    taus = ddim_timesteps(len(betas), steps)
    x = x_T.astype(np.float64)
    x0 = x
    for done, (k, t) in enumerate(enumerate(taus), 1):
        eps = eps_fn(x.astype(np.float32), np.full(len(x), t, np.float32)).astype(np.float64)
        x0 = (x - np.sqrt(1.0 - abar[t]) * eps) / np.sqrt(abar[t])
        if clip is not None:
            x0 = np.clip(x0, *clip)
            eps = (x - np.sqrt(abar[t]) * x0) / np.sqrt(1.0 - abar[t])  # consistent with x̂_0
        abar_next = abar[taus[k + 1]] if k + 1 < len(taus) else 1.0
        sigma = eta * np.sqrt((1 - abar_next) / (1 - abar[t]) * (1 - abar[t] / abar_next))
        direction = np.sqrt(max(1.0 - abar_next - sigma**2, 0.0)) * eps
        noise = sigma * standard_noise(noise_source, x.shape) if sigma > 0 else 0.0
        x = np.sqrt(abar_next) * x0 + direction + noise
        yield done, x.astype(np.float32), x0.astype(np.float32)
    return x.astype(np.float32)
