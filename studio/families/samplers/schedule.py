"""The forward process's noise schedule, shared by training and every sampler."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float32]
# eps_fn(x_t (B, C, H, W), t (B,) float32) -> predicted noise, same shape as x_t
NoisePredictor = Callable[[Array, Array], npt.NDArray[np.floating]]
# where a sampler's own noise comes from: one generator for the whole batch, or one per batch
# row, so that row k's noise does not depend on the rows beside it (a grid's cell k is then
# the picture of seed + k alone)
NoiseSource = np.random.Generator | Sequence[np.random.Generator]


def standard_noise(source: NoiseSource, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """(B, ...) standard normal draws: from one generator, or row k from generator k."""
    if isinstance(source, np.random.Generator):
        return source.standard_normal(shape)
    if len(source) != shape[0]:
        raise ValueError(f"{len(source)} noise generators for a batch of {shape[0]}")
    return np.stack([rng.standard_normal(shape[1:]) for rng in source])


def linear_betas(
    steps: int = 1000, start: float = 1e-4, end: float = 0.02
) -> npt.NDArray[np.float64]:
    """β_t of Ho et al. (2020), §4: linear from 1e-4 to 0.02 over T = 1000 steps."""
    return np.linspace(start, end, steps, dtype=np.float64)


def alphas_cumprod(betas: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """ᾱ_t = Π_{s<=t} (1 - β_s) (Ho et al., 2020, eq. 4)."""
    return np.cumprod(1.0 - betas, dtype=np.float64)
